"""sklosses: the loss function as a first-class, swappable part of scikit-learn."""

from . import losses
from ._estimators import LossClassifier, LossRegressor

__version__ = "0.1.0"

__all__ = ["LossClassifier", "LossRegressor", "losses"]

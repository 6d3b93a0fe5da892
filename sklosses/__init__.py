"""sklosses: the loss function as a first-class, swappable part of scikit-learn."""

from . import losses
from ._conformal import ConformalRegressor
from ._cv import LossClassifierCV, LossRegressorCV
from ._diagnostics import PenaltyDominatesWarning
from ._estimators import LossClassifier, LossRegressor
from .losses import make_loss
from .model_selection import LossComparison, compare_losses, make_loss_scorer

__version__ = "0.1.0"

__all__ = [
    "ConformalRegressor",
    "LossClassifier",
    "LossRegressor",
    "LossClassifierCV",
    "LossRegressorCV",
    "losses",
    "make_loss",
    "make_loss_scorer",
    "compare_losses",
    "LossComparison",
    "PenaltyDominatesWarning",
]

"""Loss objects: value, gradient, link and best constant of each loss."""

from ._base import BaseLoss, ClassificationLoss, RegressionLoss
from ._classification import *  # noqa: F403
from ._classification import __all__ as _classification_names
from ._custom import CustomClassificationLoss, CustomLoss, GradientCheckWarning, make_loss
from ._domain import REAL_LINE, ClassIndices, Interval, ProbabilityRows, TargetDomain
from ._expectile import Expectile
from ._hessian import ElementwiseHessian, RawHessian, SoftmaxHessian
from ._link import (
    BaseLink,
    IdentityLink,
    Log1pLink,
    LogitLink,
    LogLink,
    SoftmaxLink,
)
from ._regression import *  # noqa: F403
from ._regression import __all__ as _regression_names

__all__ = [
    "BaseLoss",
    "RegressionLoss",
    "ClassificationLoss",
    "BaseLink",
    "IdentityLink",
    "LogLink",
    "Log1pLink",
    "LogitLink",
    "SoftmaxLink",
    "TargetDomain",
    "Interval",
    "ProbabilityRows",
    "ClassIndices",
    "REAL_LINE",
    *_regression_names,
    *_classification_names,
    "Expectile",
    "make_loss",
    "CustomLoss",
    "CustomClassificationLoss",
    "GradientCheckWarning",
    "RawHessian",
    "ElementwiseHessian",
    "SoftmaxHessian",
]

"""Links: maps between raw predictions and predictions.

A loss owns its link. The model produces ``raw`` (logits, log-mean, ...);
the link's ``inverse`` turns it into a prediction in the target's space
(a value, a mean, a probability); ``link`` goes the other way.
"""

import math
from abc import ABC, abstractmethod

import numpy as np
from scipy.special import expit, logit, softmax

from ._domain import REAL_LINE, Interval, ProbabilityRows


class BaseLink(ABC):
    """Map between raw predictions and predictions.

    Subclasses implement :meth:`link` (prediction to raw) and :meth:`inverse`
    (raw to prediction). Both preserve the dtype of a floating input.

    Attributes
    ----------
    name : str
        The link's name (``"identity"``, ``"log"``, ...).
    prediction_domain : TargetDomain
        Where ``inverse`` can land for finite raw values (the means of the
        log link are positive), as scikit-learn's ``interval_y_pred``.
    """

    name = None
    prediction_domain = REAL_LINE

    @abstractmethod
    def link(self, y_pred):
        """Map predictions to raw predictions."""

    @abstractmethod
    def inverse(self, raw):
        """Map raw predictions to predictions."""

    def __call__(self, y_pred):
        return self.link(y_pred)

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


def _as_float(a):
    a = np.asarray(a)
    return a if np.issubdtype(a.dtype, np.floating) else a.astype(np.float64)


class IdentityLink(BaseLink):
    """Identity: ``raw == prediction``."""

    name = "identity"

    def link(self, y_pred):
        return _as_float(y_pred)

    def inverse(self, raw):
        return _as_float(raw)


class LogLink(BaseLink):
    """Log link: ``raw = log(mean)``, ``mean = exp(raw)``."""

    name = "log"
    prediction_domain = Interval(0.0, math.inf)

    def link(self, y_pred):
        with np.errstate(divide="ignore"):
            return np.log(_as_float(y_pred))

    def inverse(self, raw):
        with np.errstate(over="ignore"):
            return np.exp(_as_float(raw))


class Log1pLink(BaseLink):
    """Log1p link: ``raw = log1p(prediction)``, ``prediction = expm1(raw)``."""

    name = "log1p"
    prediction_domain = Interval(-1.0, math.inf)

    def link(self, y_pred):
        with np.errstate(divide="ignore"):
            return np.log1p(_as_float(y_pred))

    def inverse(self, raw):
        with np.errstate(over="ignore"):
            return np.expm1(_as_float(raw))


class SoftmaxLink(BaseLink):
    """Softmax link on rows: ``prediction = softmax(raw, axis=1)``.

    The inverse of softmax is defined up to a constant per row; :meth:`link`
    returns the centred log-probabilities (each row sums to zero).
    """

    name = "softmax"
    prediction_domain = ProbabilityRows()

    def link(self, y_pred):
        with np.errstate(divide="ignore"):
            log_p = np.log(_as_float(y_pred))
        return log_p - log_p.mean(axis=1, keepdims=True)

    def inverse(self, raw):
        return softmax(_as_float(raw), axis=1)


class LogitLink(BaseLink):
    """Logit link for binary (1-D raw) and its multinomial form (2-D raw).

    For 1-D input this is the logistic function, ``p = expit(raw)``, the
    probability of class 1. For 2-D input of shape ``(n_samples, n_classes)``
    it is the softmax over each row (multinomial logit).
    """

    name = "logit"
    # 1-D: the probability of class 1; 2-D raw gives rows as the softmax.
    prediction_domain = Interval(0.0, 1.0)

    def link(self, y_pred):
        y_pred = _as_float(y_pred)
        if y_pred.ndim == 2:
            return SoftmaxLink().link(y_pred)
        return logit(y_pred)

    def inverse(self, raw):
        raw = _as_float(raw)
        if raw.ndim == 2:
            return softmax(raw, axis=1)
        return expit(raw)


LINKS = {
    cls.name: cls for cls in (IdentityLink, LogLink, Log1pLink, SoftmaxLink, LogitLink)
}


def get_link(link):
    """Return a link instance from a name or an instance."""
    if isinstance(link, BaseLink):
        return link
    if isinstance(link, str) and link in LINKS:
        return LINKS[link]()
    raise ValueError(
        f"Unknown link {link!r}. Use one of {sorted(LINKS)} or a BaseLink instance."
    )

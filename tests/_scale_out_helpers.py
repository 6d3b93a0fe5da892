"""Module-level pieces for tests/test_scale_out.py.

Dask and Ray workers, ``pickle`` and ``cloudpickle`` find a custom loss's
function by its module and name, so these live at module level in an
importable module (not in a test function, not as lambdas), as the docs tell
users to do.
"""

import os

import numpy as np

from sklosses import make_loss


def pseudo_huber(y_true, y_pred):
    """Pseudo-Huber loss with delta 1: quadratic near 0, linear in the tails."""
    r = y_pred - y_true
    return np.sqrt(1.0 + r * r) - 1.0


def brier(y_true, y_pred):
    """Squared error of one class probability: the Brier score's term for a class."""
    return (y_true - y_pred) ** 2


def custom_regression_loss():
    """A :func:`sklosses.make_loss` regression loss over a module-level function."""
    return make_loss(pseudo_huber, name="pseudo_huber")


def custom_classification_loss():
    """A probabilistic :func:`sklosses.make_loss` classification loss (Brier score)."""
    return make_loss(brier, task="classification", link="logit", name="brier")


def score_and_pid(estimator, X, y):
    """A multi-metric scorer: the estimator's own score, and which process fitted it.

    The process id tells the tests that the fits ran in the backend's
    workers rather than in the test process.
    """
    return {"score": estimator.score(X, y), "pid": os.getpid()}

"""Strings and "auto" -> component instances: the one place that maps names."""

import numbers

import numpy as np
from sklearn.base import clone

from . import losses as _losses
from .losses import BaseLoss
from .models import LinearModel
from .penalties import make_penalty
from .solvers import LBFGS, SmoothingContinuation, make_minibatch_solver

ALIASES = {
    "mse": "squared_error",
    "mae": "absolute_error",
    "msle": "squared_log_error",
    "pinball": "quantile",
    "cross_entropy": "log_loss",
    "binary_crossentropy": "log_loss",
}


def loss_registry():
    """Mapping of every loss name to its class."""
    registry = {}
    registry.update(getattr(_losses._regression, "REGRESSION_LOSSES", {}))
    registry.update(getattr(_losses._classification, "CLASSIFICATION_LOSSES", {}))
    return registry


def loss_names(task=None):
    """Sorted loss names (and aliases) for ``task`` or for every task."""
    registry = loss_registry()
    names = [n for n, cls in registry.items() if task is None or cls.task == task]
    aliases = [a for a, n in ALIASES.items() if n in names]
    return sorted(names) + sorted(aliases)


def resolve_loss(loss, task=None):
    """A fresh loss instance from a name, an alias or a loss object.

    Parameters
    ----------
    loss : str or BaseLoss
        The loss as the user gave it.
    task : {"regression", "classification"} or None
        Refuse a loss meant for the other task.
    """
    if isinstance(loss, str):
        registry = loss_registry()
        name = ALIASES.get(loss, loss)
        if name not in registry:
            raise ValueError(
                f"Unknown loss {loss!r}. Valid loss names"
                f"{' for ' + task if task else ''}: {', '.join(loss_names(task))}; "
                "or pass a loss object from sklosses.losses or sklosses.make_loss."
            )
        instance = registry[name]()
    elif isinstance(loss, BaseLoss):
        instance = clone(loss)
    else:
        raise ValueError(
            f"loss must be a loss name or a sklosses loss object, got {loss!r} "
            f"of type {type(loss).__name__}. Valid names: {', '.join(loss_names(task))}."
        )
    if task is not None and instance.task != task:
        estimator = "LossRegressor" if instance.task == "regression" else "LossClassifier"
        raise ValueError(
            f"Loss {loss!r} is a {instance.task} loss; use it with {estimator}, or "
            f"choose a {task} loss: {', '.join(loss_names(task))}."
        )
    return instance


def resolve_model(hidden_layer_sizes, activation, n_features, n_outputs,
                  fit_intercept, dtype):
    """The model component: linear for ``()``, else an MLP."""
    if len(hidden_layer_sizes) == 0:
        return LinearModel(n_features, n_outputs, fit_intercept=fit_intercept,
                           dtype=dtype)
    from .models import MLP  # noqa: PLC0415 - only when asked for

    return MLP(n_features, n_outputs, hidden_layer_sizes=hidden_layer_sizes,
               activation=activation, fit_intercept=fit_intercept, dtype=dtype)


def resolve_penalty(alpha, l1_ratio):
    """The penalty component for ``alpha`` and ``l1_ratio``."""
    return make_penalty(alpha, l1_ratio)


SOLVERS = ("auto", "lbfgs", "proximal", "sgd", "adam")


def resolve_solver(solver, loss, penalty, *, max_iter, tol, verbose, early_stopping=False,
                   learning_rate=1e-3, batch_size="auto", n_iter_no_change=10,
                   random_state=None):
    """The solver component for ``solver`` (``"auto"`` applies the rule).

    Rule for ``"auto"``: smooth penalty (L2 or none) -> L-BFGS.
    A non-smooth loss is wrapped in the smoothing continuation.
    """
    name = solver
    if early_stopping and name in ("lbfgs", "proximal"):
        raise ValueError(
            f"early_stopping=True needs solver='sgd' or 'adam' (or 'auto', which then "
            f"uses adam), got solver={solver!r}: early stopping monitors a held-out "
            "validation loss after every epoch of a minibatch solver."
        )
    if name == "auto" and early_stopping:
        name = "adam"
    if name in ("sgd", "adam"):
        # Minibatch: subgradients for non-smooth losses, prox for L1; no wrapper.
        return make_minibatch_solver(
            name, batch_size=batch_size, learning_rate=learning_rate, max_iter=max_iter,
            tol=tol, n_iter_no_change=n_iter_no_change, random_state=random_state,
            verbose=verbose,
        )
    if name == "auto":
        name = "lbfgs"
    if name == "lbfgs":
        if not penalty.is_smooth:
            raise ValueError(
                f"solver='lbfgs' cannot handle an L1 penalty (l1_ratio="
                f"{penalty.l1_ratio}); use solver='proximal' or 'auto'."
            )
        inner = LBFGS(max_iter=max_iter, tol=tol, verbose=verbose)
    else:
        raise ValueError(f"solver={solver!r} is not available yet.")
    if not loss.is_smooth:
        return SmoothingContinuation(inner)
    return inner


def check_number(name, value, *, low=None, high=None, low_open=False,
                 high_open=False, integer=False, hint=""):
    """Raise a clear ValueError unless ``value`` is a number in the range."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or np.isnan(value):
        what = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {what}, got {value!r}. {hint}".strip())
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(
            f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}. {hint}".strip()
        )

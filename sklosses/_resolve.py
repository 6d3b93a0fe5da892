"""Strings and "auto" -> component instances: the one place that maps names."""

import numbers

import numpy as np
from sklearn.base import clone

from . import losses as _losses
from .losses import BaseLoss
from .models import LinearModel
from .penalties import make_penalty
from .solvers import LBFGS, ProximalGradient, SmoothingContinuation, make_minibatch_solver

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
    registry.update(getattr(_losses._expectile, "EXPECTILE_LOSSES", {}))
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
                  fit_intercept, dtype, output_order=None):
    """The model component: linear for ``()``, else an MLP.

    ``output_order="non-decreasing"`` (declared by a loss with a list of
    levels, ``loss.output_order``) asks for a model whose outputs are ordered
    for every input: see :func:`sklosses.models._monotone.make_monotone_model`.
    """
    if output_order == "non-decreasing" and n_outputs > 1:
        from .models._monotone import make_monotone_model  # noqa: PLC0415

        return make_monotone_model(tuple(hidden_layer_sizes), activation, n_features,
                                   n_outputs, fit_intercept, dtype)
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
                   random_state=None, hidden_layer_sizes=(), n_samples=None,
                   n_features=None):
    """The solver component for ``solver`` (``"auto"`` applies the rule).

    Rule for ``"auto"`` (measured in ``benchmarks/``; see its README):

    - ``early_stopping=True`` -> ``"adam"`` (early stopping monitors a
      held-out loss after each epoch of a minibatch solver);
    - an MLP (``hidden_layer_sizes`` non-empty) on at least 10 000 samples
      -> ``"adam"``; on fewer, ``"lbfgs"``, which reached a better fit in the
      same number of epochs there (Friedman #1, 5 000 samples: test R2 0.988
      versus 0.953 after 200 iterations / epochs; at 50 000 samples Adam led,
      0.995 versus 0.984), as scikit-learn's ``MLPRegressor`` advises;
    - a linear model with a smooth loss and an L1 part in the penalty and
      more features than samples -> ``"proximal"``: there FISTA needed 2-3x
      less time than L-BFGS on the ``2 * n_features`` split variables;
    - every other linear model -> ``"lbfgs"``: with L2 or no penalty, and
      also with an L1 part (split ``w = u - v``, ``u, v >= 0``, under
      L-BFGS-B bounds), where it was 2-4x faster than FISTA on tall data
      (L1 logistic, 50 000 x 500) and on every smoothed non-smooth loss.

    A non-smooth loss (absolute, quantile, epsilon-insensitive, hinge) under
    a full-batch solver is wrapped in :class:`~sklosses.solvers.SmoothingContinuation`,
    which reaches the non-smooth optimum with relative accuracy ``tol``.
    The minibatch solvers use subgradients and need no wrapper.

    Parameters
    ----------
    solver : {"auto", "lbfgs", "proximal", "sgd", "adam"}
        The estimator's ``solver``.
    loss : BaseLoss
        The resolved loss; ``loss.is_smooth`` selects the smoothing wrapper.
    penalty : BasePenalty
        The resolved penalty; ``penalty.is_smooth`` enters the rule.
    max_iter, tol, verbose : int, float, int
        Passed to the solver.
    early_stopping, learning_rate, batch_size, n_iter_no_change, random_state
        Options of the minibatch solvers.
    hidden_layer_sizes : tuple of int, default=()
        ``()`` for a linear model, else an MLP.
    n_samples, n_features : int, default=None
        Shape of the training data; None counts as tall data.

    Returns
    -------
    solver : BaseSolver
    """
    if early_stopping and solver in ("lbfgs", "proximal"):
        raise ValueError(
            f"early_stopping=True needs solver='sgd' or 'adam' (or 'auto', which then "
            f"uses adam), got solver={solver!r}: early stopping monitors a held-out "
            "validation loss after every epoch of a minibatch solver."
        )
    name = solver
    if name == "auto":
        name = _auto_solver(loss, penalty, early_stopping=early_stopping,
                            hidden_layer_sizes=hidden_layer_sizes,
                            n_samples=n_samples, n_features=n_features)
    if name in ("sgd", "adam"):
        # Minibatch: subgradients for non-smooth losses, prox for L1; no wrapper.
        return make_minibatch_solver(
            name, batch_size=batch_size, learning_rate=learning_rate, max_iter=max_iter,
            tol=tol, n_iter_no_change=n_iter_no_change, random_state=random_state,
            verbose=verbose,
        )
    if name == "lbfgs":
        inner = LBFGS(max_iter=max_iter, tol=tol, verbose=verbose)
    elif name == "proximal":
        inner = ProximalGradient(max_iter=max_iter, tol=tol, verbose=verbose)
    else:
        raise ValueError(
            f"solver must be one of {', '.join(map(repr, SOLVERS))}, got {solver!r}."
        )
    if not loss.is_smooth:
        return SmoothingContinuation(inner)
    return inner


# Below this many samples L-BFGS trains an MLP better than Adam in the same
# number of iterations (see resolve_solver).
_ADAM_MIN_SAMPLES = 10_000


def _auto_solver(loss, penalty, *, early_stopping, hidden_layer_sizes, n_samples,
                 n_features):
    """The ``solver="auto"`` rule of :func:`resolve_solver`."""
    if early_stopping:
        return "adam"
    if len(hidden_layer_sizes) > 0:
        small = n_samples is not None and n_samples < _ADAM_MIN_SAMPLES
        return "lbfgs" if small else "adam"
    wide = n_samples is not None and n_features is not None and n_features > n_samples
    if not penalty.is_smooth and loss.is_smooth and wide:
        return "proximal"
    return "lbfgs"


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

"""Checks of the estimators' constructor arguments, run at fit time."""

import numbers

from ._resolve import SOLVERS, check_number

ACTIVATIONS = ("relu", "tanh", "logistic", "identity")


def check_hyperparameters(est):
    """Raise a ValueError naming the argument, its valid range and a fix."""
    check_number("alpha", est.alpha, low=0,
                 hint="Use alpha=0 for no penalty, a larger alpha for a stronger one.")
    check_number("l1_ratio", est.l1_ratio, low=0, high=1,
                 hint="l1_ratio=0 is ridge (L2), 1 is lasso (L1), between is elastic net.")
    if est.solver not in SOLVERS:
        raise ValueError(
            f"solver must be one of {', '.join(map(repr, SOLVERS))}, got {est.solver!r}."
        )
    check_hidden_layer_sizes(est.hidden_layer_sizes)
    if est.activation not in ACTIVATIONS:
        raise ValueError(
            f"activation must be one of {', '.join(map(repr, ACTIVATIONS))}, "
            f"got {est.activation!r}."
        )
    check_number("learning_rate", est.learning_rate, low=0, low_open=True,
                 hint="Try learning_rate=1e-3 for adam, 1e-2 for sgd.")
    if not (isinstance(est.batch_size, str) and est.batch_size == "auto"):
        check_number("batch_size", est.batch_size, low=1, integer=True,
                     hint="Use batch_size='auto' for min(200, n_samples).")
    check_number("max_iter", est.max_iter, low=1, integer=True)
    check_number("tol", est.tol, low=0)
    check_number("validation_fraction", est.validation_fraction, low=0, high=1,
                 low_open=True, high_open=True,
                 hint="It is the share of training rows held out for early stopping.")
    check_number("n_iter_no_change", est.n_iter_no_change, low=1, integer=True)
    check_number("verbose", est.verbose, low=0, integer=True)


def check_hidden_layer_sizes(sizes):
    """``hidden_layer_sizes`` must be a sequence of positive integers."""
    try:
        sizes = tuple(sizes)
    except TypeError:
        raise ValueError(
            f"hidden_layer_sizes must be a tuple of positive integers such as (64,) "
            f"or () for a linear model, got {sizes!r}."
        ) from None
    bad = [s for s in sizes if isinstance(s, bool) or not isinstance(s, numbers.Integral)
           or s < 1]
    if bad:
        raise ValueError(
            f"hidden_layer_sizes must contain positive integers, got {sizes!r} "
            f"(invalid: {bad!r}). Use e.g. (64,) or (64, 32), or () for a linear model."
        )
    return sizes

"""Checks of the estimators' constructor arguments, run at fit time."""

import math
import numbers

import numpy as np

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
    _check_finite("alpha", est.alpha,
                  "alpha=inf would make every weight zero at an infinite objective; use "
                  "a large finite alpha.")
    _check_finite("learning_rate", est.learning_rate,
                  "Try learning_rate=1e-3 for adam, 1e-2 for sgd.")
    _check_finite("tol", est.tol, "Use tol=1e-4, or a larger finite tol for a rougher fit.")


def _check_finite(name, value, hint):
    """The range checks let infinity through; it is never a usable setting."""
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}. {hint}")


def check_class_weight(class_weight, classes):
    """Per-class weights in the order of ``classes`` from a dict, checked.

    Parameters
    ----------
    class_weight : dict
        ``{label: weight}``; labels not named get weight 1.
    classes : ndarray of shape (n_classes,)
        The classes of the fit.

    Returns
    -------
    per_class : ndarray of shape (n_classes,)
        Finite, non-negative weights.

    Raises
    ------
    ValueError
        When ``class_weight`` is not a dict, names a label that is not in
        ``classes``, or holds a weight that is not a finite number >= 0
        (a negative weight makes the objective unbounded below; NaN and
        infinity have no meaning as a weight).
    """
    if not isinstance(class_weight, dict):
        raise ValueError(
            "class_weight must be 'balanced', a dict {label: weight} or None, "
            f"got {class_weight!r}."
        )
    known = set(classes.tolist())
    unknown = [c for c in class_weight if c not in known]
    if unknown:
        raise ValueError(
            f"class_weight names labels {unknown!r} that are not in y "
            f"(classes: {classes.tolist()!r})."
        )
    for label, weight in class_weight.items():
        ok = isinstance(weight, numbers.Real) and not isinstance(weight, bool)
        if not ok or not math.isfinite(weight) or weight < 0:
            raise ValueError(
                f"class_weight[{label!r}] must be a finite number >= 0, got {weight!r}. "
                "A negative weight makes the objective unbounded below; use 0 to drop "
                "a class, and scale all weights by a common factor instead of inf."
            )
    return np.array([float(class_weight.get(c, 1.0)) for c in classes])


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

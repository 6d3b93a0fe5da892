"""Diagnostics of a fitted objective: fits that are optimal but not what was meant.

:func:`warn_if_penalty_dominates` tells the user when ``alpha`` flattens a fit
because of the units of the targets: a loss whose gradient is bounded
(Huber, absolute, quantile, log-cosh, epsilon-insensitive) cannot pull the
weights against an L2 term that grows with them, so on targets in dollars
(~1e5) the default ``alpha`` shrinks the model to nearly a constant. That is
the optimum of the stated objective, so the fit is not changed; the user is
told, with the remedies.
"""

import warnings

import numpy as np

from .models import LinearModel

# The weights are stretched by these factors (keeping the mean prediction) to
# see whether the loss alone would fall much further.
_STRETCHES = tuple(2.0**k for k in range(1, 11))
# The probe fires when a stretch cuts the data loss by half or more ...
_PROBE_DROP = 0.5
# ... and the warning when the fit on targets of unit spread explains at least
# twice the share of the loss (compared to the best constant) that this one does.
_UNITS_FACTOR = 2.0


class PenaltyDominatesWarning(UserWarning):
    """The penalty, at this ``alpha`` and these target units, flattens the fit.

    Examples
    --------
    >>> from sklosses._diagnostics import PenaltyDominatesWarning
    >>> issubclass(PenaltyDominatesWarning, UserWarning)
    True
    """


def warn_if_penalty_dominates(objective, params, solver, *, stacklevel=2):
    r"""Warn when ``alpha`` flattens a linear fit because of the targets' units.

    Criterion, in two steps (the second only when the first fires):

    1. *Probe*: stretching the fitted weights by 2, 4, ..., 1024 (intercepts
       moved so that the mean prediction stays) lowers the data loss by half
       or more. At a well-posed optimum the penalty holds the weights where
       the loss barely changes; here it holds them far from where the loss
       wants them.
    2. *Units*: the same fit (same ``alpha``, same solver) on the targets
       divided by their standard deviation explains at least twice the share
       of the loss that this fit explains, measured against the best
       constant. A strong penalty chosen on purpose shrinks the rescaled fit
       alike and stays quiet; so does every loss that is homogeneous in the
       targets (squared error, expectile), whose fit does not depend on
       their units.

    Parameters
    ----------
    objective : Objective
        The objective that was minimised.
    params : ndarray of shape (n_params,)
        The fitted parameters.
    solver : BaseSolver
        The full-batch solver used (refits the rescaled problem in step 2).
    stacklevel : int, default=2
        Passed to :func:`warnings.warn`.

    Returns
    -------
    warned : bool
        Whether the warning was issued.
    """
    penalty, model = objective.penalty, objective.model
    y = np.asarray(objective.y)
    if not (getattr(penalty, "alpha", 0.0) > 0 and isinstance(model, LinearModel)
            and np.issubdtype(y.dtype, np.floating)):
        return False
    params = np.asarray(params, dtype=np.float64)
    # The probe first: at a well-posed optimum it costs two loss evaluations.
    if not _stretch_helps(objective, params):
        return False
    fitted_share = _explained_share(objective, params)
    if fitted_share is None:
        return False
    spread = _target_spread(objective)
    if np.all(np.abs(np.log10(spread)) < 0.5):
        return False  # already of unit spread: no change of units to suggest
    rescaled = objective.with_targets(y / spread.astype(y.dtype))
    start = model.set_output_intercept(
        model.zeros().astype(np.float64),
        np.asarray(rescaled.loss.init_raw(rescaled.y, rescaled.sample_weight)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the rescaled fit is only a yardstick
        result = solver.solve(rescaled, start)
    rescaled_share = _explained_share(rescaled, np.asarray(result.x, dtype=np.float64))
    if rescaled_share is None or rescaled_share < _UNITS_FACTOR * max(fitted_share, 0.0):
        return False
    scale = float(np.max(spread))
    warnings.warn(
        f"alpha={penalty.alpha:g} flattens the fit of loss {objective.loss} on targets "
        f"of scale {scale:.3g}: the penalty outgrows the loss's gradient, so the "
        f"weights are shrunk towards a constant model (the fit explains "
        f"{fitted_share:.0%} of the best constant's loss; on targets of unit spread "
        f"it would explain {rescaled_share:.0%}). Scale y (e.g. divide it by its "
        "standard deviation), lower alpha, or choose alpha by cross-validation with "
        "LossRegressorCV.",
        PenaltyDominatesWarning,
        stacklevel=stacklevel,
    )
    return True


def _data_loss(objective, params):
    value = objective.data_loss(params)
    return value if np.isfinite(value) else np.inf


def _best_constant(objective):
    """Parameters of the best constant model (zero weights, fitted intercepts)."""
    model = objective.model
    raw0 = np.asarray(objective.loss.init_raw(objective.y, objective.sample_weight))
    return model.set_output_intercept(model.zeros().astype(np.float64), raw0)


def _explained_share(objective, params):
    """``1 - L(fit) / L(best constant)`` of the data loss, None if undefined."""
    if not objective.model.fit_intercept:
        return None
    null = _data_loss(objective, _best_constant(objective))
    if not (np.isfinite(null) and null > 0):
        return None
    return 1.0 - _data_loss(objective, params) / null


def _stretch_helps(objective, params):
    """Whether stretching the weights, mean prediction kept, halves the data loss.

    Settled without touching the data where convexity bounds the stretches'
    losses (:func:`_stretch_cannot_help`); else the raw predictions are
    those of the solver's last evaluation when it ended there, or one
    forward pass, and every stretch is an elementwise evaluation of the loss.
    """
    model = objective.model
    W, b = model.unpack(params)
    if b is None or not np.any(W):
        return False
    last = objective._last_at(np.asarray(params, dtype=model.dtype))
    if _stretch_cannot_help(objective, params, last):
        return False
    weight = objective._normalised_weight
    if last is not None:
        # X W^T + b centred is X W^T centred: the weights sum to 1.
        fitted = np.asarray(last.raw, dtype=np.float64)
        spread = fitted - weight @ fitted
    else:
        weights_only = params.copy()
        weights_only[objective.weights_slice.stop:] = 0.0
        spread = np.asarray(objective.raw(weights_only), dtype=np.float64)
        fitted = spread + (b[0] if objective._ravel_raw else b)
        # Centred, so that stretching keeps the mean prediction.
        spread = spread - weight @ spread

    def data_loss(raw):
        with np.errstate(all="ignore"):
            value = float(np.sum(objective.loss.loss(
                objective.y, raw.astype(model.dtype), weight)))
        return value if np.isfinite(value) else np.inf

    base = previous = data_loss(fitted)
    for factor in _STRETCHES:
        value = data_loss(fitted + (factor - 1.0) * spread)
        if value <= _PROBE_DROP * base:
            return True
        if value >= previous:
            # A convex loss along the ray only grows from here: at a
            # well-posed optimum this is the first stretch.
            return False
        previous = value
    return False


def _stretch_cannot_help(objective, params, last):
    r"""Whether convexity alone rules the stretch probe out, from the last evaluation.

    Along the stretches, :math:`\varphi(t) = L(f + (t - 1) s)` (``f`` the
    fitted raw predictions, ``s`` their centred part) is convex for a loss
    convex in raw, so :math:`\varphi(t) \ge \varphi(1) + (t - 1)
    \varphi'(1)`, with :math:`\varphi'(1) = \sum_k g_{W_k} \cdot W_k -
    g_{b_k} (c \cdot W_k)` from the data gradient ``g`` and the column means
    ``c``. When even the largest stretch cannot fall to half of
    :math:`\varphi(1)` by that bound (with a factor 2 to spare for
    rounding), the probe would not fire. Needs the solver's last evaluation
    at ``params`` (``last``) and the column means the change of variables
    computed (``objective._column_means``); without them, False.
    """
    means = getattr(objective, "_column_means", None)
    if last is None or means is None or not getattr(objective.loss, "is_convex", False):
        return False
    value = float(last.value)
    if not (np.isfinite(value) and value > 0):
        return False
    model = objective.model
    W, _ = model.unpack(np.asarray(params, dtype=np.float64))
    g_W, g_b = model.unpack(np.asarray(last.grad, dtype=np.float64))
    centres = W @ means  # c . W_k per output
    slope = float(np.sum(g_W * W) - g_b @ centres)
    # The gradient's rounding, in the dtype it was computed in.
    slack = 16 * model.n_params * np.finfo(model.dtype).eps * float(
        np.sum(np.abs(g_W * W)) + np.abs(g_b) @ np.abs(centres))
    drop = (_STRETCHES[-1] - 1.0) * (max(-slope, 0.0) + slack)
    if not np.isfinite(drop):
        return False
    return drop <= 0.5 * (1.0 - _PROBE_DROP) * value


def _target_spread(objective):
    """Weighted standard deviation of the targets (per column; 1 where it is 0)."""
    y = np.asarray(objective.y, dtype=np.float64)
    w = objective._normalised_weight
    columns = y.reshape(y.shape[0], -1)
    spread = np.sqrt(w @ (columns - w @ columns) ** 2)
    spread = np.where(spread > 0, spread, 1.0)
    return spread if y.ndim == 2 else spread[0]

r"""The concomitant residual scale of a robust loss (Owen, 2007).

A loss with a residual scale :math:`\sigma` estimated together with the model,

.. math::
    \ell(r; \sigma) = \sigma \left(\tfrac12 + h_\delta(r / \sigma)\right),

is the perspective of the Huber function :math:`h_\delta` plus
:math:`\sigma/2`: jointly convex in the prediction and :math:`\sigma > 0`. For
a fixed model, the weighted mean over the rows is minimised in :math:`\sigma`
where its derivative vanishes,

.. math::
    \tfrac12 - \tfrac12\,\textstyle\sum_i w_i \min\big((r_i/\sigma)^2, \delta^2\big) = 0
    \quad (\textstyle\sum_i w_i = 1),

so the optimal scale is the root of :math:`\sum_i w_i \min((r_i/\sigma)^2,
\delta^2) = 1`, which exists and is unique for :math:`\delta > 1`. The
function is piecewise :math:`S/\sigma^2 + \delta^2 W` with the residuals
inside and outside :math:`\delta\sigma` fixed between two breakpoints, so
the root is found exactly on the sorted residuals.

Minimising over :math:`\sigma` for every model (the *profile*) keeps the
problem convex in the model, and by the envelope theorem its gradient is the
gradient at the optimal :math:`\sigma` with :math:`\sigma` held fixed. The
loss can therefore hand any solver the profiled value and gradient: solvers
need not know that a scale exists.

References
----------
A. B. Owen, "A robust hybrid of lasso and ridge regression", Contemporary
Mathematics 443, 59-72 (2007).
"""

import numpy as np


def _column_scale_newton(a, w, delta, start=None, max_iter=60):
    """Root of ``sum w min((a / s)^2, delta^2) = 1`` for ``a >= 0``, ``sum w = 1``,
    by Newton's method in ``t = 1 / s^2`` (see the module docstring); None when it
    has not landed within ``max_iter`` steps.

    ``start`` (a scale, e.g. the previous evaluation's) saves steps: from the
    root's right a step lands at or left of the root (the tangent of a concave
    function lies above it), or at ``t <= 0``, where the climb restarts from 0.
    """
    a2 = a * a
    edge2 = delta * delta
    if edge2 * w[a2 > 0].sum() <= 1.0:
        return 0.0  # no root: the scale tends to 0 (as in _column_scale)
    with np.errstate(over="ignore", divide="ignore"):
        t = 1.0 / np.float64(start) ** 2 if start is not None and start > 0 else 0.0
    if not np.isfinite(t):
        t = 0.0
    t = float(t)
    weighted = w * a2
    for _ in range(max_iter):
        inside = a2 * t <= edge2
        # Masked sums, no copies of the selected entries.
        slope = float(np.add.reduce(weighted, where=inside))
        value = t * slope + edge2 * (1.0 - float(np.add.reduce(w, where=inside)))
        if value > 1.0:  # right of the root: step back (to 0 if past it)
            back = t - (value - 1.0) / slope if slope > 0 else 0.0
            t = back if back > 0 else 0.0
            continue
        if slope <= 0:
            return None
        step = (1.0 - value) / slope
        if step <= 1e-15 * t:  # on the root's linear piece: exact
            return float(1.0 / np.sqrt(t))
        t += step
    return None


def _column_scale(a, w, delta):
    """Root of ``sum w min((a / s)^2, delta^2) = 1`` for sorted ``a >= 0``, ``sum w = 1``."""
    a2 = a * a
    # With the k smallest residuals inside delta * s: S_k / s^2 + delta^2 W_out = 1.
    inside_sum = np.concatenate([[0.0], np.cumsum(w * a2)])
    outside_weight = 1.0 - np.concatenate([[0.0], np.cumsum(w)])
    denominator = 1.0 - delta * delta * outside_weight
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.sqrt(inside_sum / denominator)
    lower = np.concatenate([[0.0], a])  # a_{k-1}: must be inside
    upper = np.concatenate([a, [np.inf]])  # a_k: must be outside
    valid = (denominator > 0) & (inside_sum > 0) & (delta * s >= lower * (1 - 1e-12)) \
        & (delta * s <= upper * (1 + 1e-12))
    if not np.any(valid):
        return 0.0  # most of the weight has zero residual: the scale tends to 0
    return float(s[np.argmax(valid)])


def huber_joint_scale(residual, delta, sample_weight=None, start=None):
    r"""The scale minimising the weighted mean of :math:`\sigma(\frac12 + h_\delta(r/\sigma))`.

    Parameters
    ----------
    residual : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Residuals ``raw - y``; one scale per output column.
    delta : float
        Huber threshold in units of the scale, > 1.
    sample_weight : ndarray of shape (n_samples,), default=None
        Row weights (normalised here).
    start : float or ndarray of shape (n_outputs,), default=None
        A guess of the scale (the previous one of a solver's iterations):
        fewer steps to the same root.

    Returns
    -------
    scale : float or ndarray of shape (n_outputs,)
        Positive: floored at ``1e-12`` times the largest absolute residual
        (or 1.0 when every residual is zero), where the optimum is at
        :math:`\sigma \to 0` because more than :math:`1 - 1/\delta^2` of the
        weight sits on residuals that are exactly zero.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses._scale import huber_joint_scale
    >>> r = np.array([-1.0, 1.0, -1.0, 1.0])
    >>> float(huber_joint_scale(r, delta=2.0))  # every residual inside: the RMS
    1.0
    """
    r = np.asarray(residual, dtype=np.float64)
    w = np.ones(r.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
    keep = w > 0
    w = w[keep] / w[keep].sum()
    columns = r[keep].reshape(int(keep.sum()), -1)
    scales = []
    guesses = np.broadcast_to(np.nan if start is None else np.asarray(start, dtype=float),
                              (columns.shape[1],))
    for column, guess in zip(columns.T, guesses):
        a = np.abs(column)
        s = _column_scale_newton(a, w, delta, None if np.isnan(guess) else float(guess))
        if s is None:
            order = np.argsort(a, kind="stable")
            s = _column_scale(a[order], w[order], delta)
        largest = float(a.max(initial=0.0))
        scales.append(max(s, 1e-12 * largest) if largest > 0 else 1.0)
    return scales[0] if r.ndim == 1 else np.array(scales)


def huber_perspective(residual, delta, scale):
    r"""Per-element :math:`\sigma(\frac12 + h_\delta(r/\sigma))` and its derivative in ``r``.

    Written with ``r`` rather than ``r / sigma`` so that a tiny scale does
    not overflow: inside :math:`|r| \le \delta\sigma` it is
    :math:`\sigma/2 + r^2/(2\sigma)`, outside
    :math:`\sigma/2 + \delta|r| - \delta^2\sigma/2`.

    Parameters
    ----------
    residual : ndarray
        Residuals ``raw - y``.
    delta : float
        Threshold in units of the scale.
    scale : float or ndarray broadcasting against ``residual``'s last axis
        The residual scale, > 0.

    Returns
    -------
    loss, derivative : ndarray
        Shaped like ``residual``, in its dtype; the derivative is
        ``clip(r / sigma, -delta, delta)``.
    """
    dtype = residual.dtype
    s = np.asarray(scale, dtype=dtype)
    a = np.abs(residual)
    edge = delta * s
    inside = a <= edge
    clipped = np.minimum(a, edge)  # keeps the unused branch finite
    loss = 0.5 * s + np.where(inside, clipped * clipped / (2 * s),
                              delta * a - 0.5 * delta * edge)
    with np.errstate(over="ignore"):
        derivative = np.clip(residual / s, -delta, delta)
    return loss.astype(dtype, copy=False), derivative.astype(dtype, copy=False)

"""Expectile loss: asymmetric squared error, one level or several."""

from functools import partial

import numpy as np

from ._levels import _LevelsMixin
from ._regression import _elementwise_gradient_hessian, _positive_weights, _RegressionLoss

__all__ = ["Expectile"]


def _weighted_expectile(y, tau, sample_weight=None):
    """The ``tau``-expectile of ``y``: the minimiser of ``sum_i w_i l_tau(y_i - c)``.

    ``g(c) = sum_i w_i a_i(c) (y_i - c)`` with ``a_i = 1 - tau`` below ``c`` and
    ``tau`` above is decreasing and linear between consecutive sorted ``y``:
    with the ``j`` smallest values below ``c`` its root is
    ``((1 - tau) S_j + tau (S - S_j)) / ((1 - tau) W_j + tau (W - W_j))``
    (``S``, ``W``: sums of ``w y`` and ``w``), valid when it falls between the
    ``j``-th and ``j+1``-th values. Every segment's candidate is computed at
    once and the valid one returned: exact, without iterations.
    """
    y, w = _positive_weights(np.asarray(y, dtype=float), sample_weight)
    order = np.argsort(y, kind="stable")
    ys, ws = y[order], w[order]
    # prefix sums over the j smallest values, j = 0..n
    W = np.concatenate([[0.0], np.cumsum(ws)])
    S = np.concatenate([[0.0], np.cumsum(ws * ys)])
    below = 1.0 - tau
    candidates = (below * S + tau * (S[-1] - S)) / (below * W + tau * (W[-1] - W))
    lower = np.concatenate([[-np.inf], ys])
    upper = np.concatenate([ys, [np.inf]])
    # distance of each candidate from its own segment; the root has distance 0
    # (up to rounding, hence the argmin rather than an exact test)
    miss = np.maximum(lower - candidates, 0) + np.maximum(candidates - upper, 0)
    return float(candidates[int(np.argmin(miss))])


class Expectile(_LevelsMixin, _RegressionLoss):
    r"""Expectile loss (asymmetric squared error) with the identity link.

    .. math:: \ell(y, p) = |\tau - 1\{r < 0\}| \, r^2, \qquad r = y - p,

    the loss whose minimiser is the ``tau``-expectile (Newey and Powell,
    1987): residuals above the prediction weigh ``tau``, those below weigh
    ``1 - tau``. ``expectile=0.5`` is half the squared error and estimates
    the mean. The loss is continuously differentiable with a
    ``2 max(tau, 1 - tau)``-Lipschitz gradient, so it counts as smooth. The
    best constant, the weighted expectile of ``y``, is computed exactly.

    A list of ``K`` levels works as for :class:`Quantile`: one joint fit with
    ``K`` outputs of shape ``(n_samples, K)``, non-decreasing along the
    columns for every input (expectiles increase with ``tau`` as quantiles
    do), and the per-sample loss is the mean over levels.

    Parameters
    ----------
    expectile : float or array-like of shape (K,), default=0.5
        The level ``tau`` in (0, 1), or strictly increasing levels.
    noncrossing : {"monotone", "sort"}, default="monotone"
        How a list of levels is kept from crossing; see :class:`Quantile`.

    Attributes
    ----------
    expectiles_ : ndarray of shape (K,)
        The levels as an array (``K = 1`` for a scalar level).

    References
    ----------
    .. [1] W. K. Newey and J. L. Powell, "Asymmetric least squares estimation
       and testing", Econometrica 55(4), 819-847 (1987).

    Examples
    --------
    >>> from sklosses.losses import Expectile
    >>> loss = Expectile(expectile=0.9)
    >>> loss([1.0, 1.0], [0.0, 2.0])
    0.5
    >>> Expectile(expectile=0.5).init_raw([0.0, 1.0, 5.0])
    2.0
    """

    name = "expectile"
    _level_name = "expectile"
    _level_hint = "expectile=0.5 estimates the mean."

    def __init__(self, expectile=0.5, *, noncrossing="monotone"):
        self.expectile = expectile
        self.noncrossing = noncrossing

    @property
    def expectiles_(self):
        """The levels, an ndarray of shape (K,)."""
        return self._level_array()

    def _check_params(self):
        return self._check_levels()

    def _elementwise(self, y, raw):
        tau = self._levels_for(raw.dtype)
        d = raw - y  # = -r: d > 0 means the prediction is above y (r < 0)
        weight = np.where(d > 0, 1 - tau, tau + 0 * d)
        wd = weight * d
        return wd * d, 2 * wd

    @property
    def gradient_hessian(self):
        """Gradient and diagonal Hessian with respect to ``raw`` (one level only).

        The loss is piecewise quadratic: its second derivative
        ``2 |tau - 1{r < 0}|`` is at least ``2 min(tau, 1 - tau) > 0``, so
        Newton's steps are iteratively reweighted least squares, the classical
        fit of Newey and Powell, and ``solver="auto"`` chooses Newton as for
        every smooth loss with second derivatives. A list of levels is fitted
        by the non-crossing location-shift model, which gives no Gauss-Newton
        matrix, so this attribute then does not exist and L-BFGS fits it.

        Returns
        -------
        gradient_hessian : callable
            ``gradient_hessian(y_true, raw, sample_weight=None)`` returning
            the gradient shaped like ``raw`` and an ``ElementwiseHessian``.
        """
        if self.n_levels >= 2:
            raise AttributeError(
                "gradient_hessian: a list of expectile levels is fitted by the "
                "location-shift model, which has no Gauss-Newton matrix")
        return partial(_elementwise_gradient_hessian, self)

    def _second_derivatives(self, y, raw):
        tau = self._levels_for(raw.dtype)
        d = raw - y
        weight = np.where(d > 0, 1 - tau, tau + 0 * d)
        return 2 * weight * d, 2 * weight

    def _init_raw(self, y_true, sample_weight):
        if self.n_levels >= 2:
            return self._per_level(_weighted_expectile, y_true, sample_weight)
        tau = float(self._level_array()[0])
        y = np.asarray(y_true, dtype=float)
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        if y.ndim == 1:
            return _weighted_expectile(y, tau, sw)
        return np.array([_weighted_expectile(y[:, j], tau, sw) for j in range(y.shape[1])])


EXPECTILE_LOSSES = {Expectile.name: Expectile}

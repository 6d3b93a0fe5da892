"""Regression losses.

Conventions
-----------
- ``r = y - p`` is the residual of a prediction ``p``; element-wise code
  works with ``raw - y`` because gradients are taken with respect to ``raw``.
- Multi-output targets of shape ``(n_samples, n_outputs)``: the per-sample
  loss is the mean over outputs (scikit-learn's
  ``multioutput="uniform_average"``). :class:`KLDivergence` is the exception:
  its rows are distributions and the per-sample loss is the sum over classes.
- Loss values equal scikit-learn's metrics of the same name, without hidden
  factors of one half: ``SquaredError()(y, p) == mean_squared_error(y, p)``.
- Hyper-parameters are checked when the loss is used (``_check_params``), not
  in ``__init__``, following scikit-learn's convention.
- Parameters are read as Python floats before they meet arrays, so that
  float32 inputs give float32 outputs (NumPy treats Python scalars as weak).
"""

import math
import numbers
from abc import abstractmethod

import numpy as np
from scipy.optimize import brentq
from scipy.special import xlogy

from ._base import RegressionLoss, apply_sample_weight, as_float_array, check_numeric_target
from ._domain import REAL_LINE, Interval, ProbabilityRows
from ._hessian import ElementwiseHessian, SoftmaxHessian, weighted
from ._kernels import GammaKernel, PoissonKernel
from ._levels import _LevelsMixin
from ._link import Log1pLink, LogLink, SoftmaxLink
from ._piecewise import PiecewiseLinear
from ._scale import huber_joint_scale, huber_perspective

__all__ = [
    "SquaredError",
    "AbsoluteError",
    "Huber",
    "LogCosh",
    "SquaredLogError",
    "Quantile",
    "EpsilonInsensitive",
    "Poisson",
    "Gamma",
    "Tweedie",
    "KLDivergence",
]

# A zero weighted mean has log -inf as best raw value; the starting intercept
# is clipped to this floor instead (log(floor) is about -33.7).
_MEAN_FLOOR = 10 * float(np.finfo(np.float64).eps)
_LOG2 = math.log(2.0)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _real_param(loss, name, value):
    """Return ``value`` as a Python float, or raise a clear ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{type(loss).__name__}: {name} must be a real number, got {value!r}.")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{type(loss).__name__}: {name} must be finite, got {value}.")
    return value


def _check_mu(loss, mu):
    mu = _real_param(loss, "mu", mu)
    if mu <= 0:
        raise ValueError(
            f"{type(loss).__name__}: the smoothing parameter mu must be > 0 (got mu={mu})."
        )
    return mu


def _same_shape(y_true, y_pred):
    """Return ``y_true`` and ``y_pred`` as arrays of one shape.

    A column vector and a 1-D array of the same length are accepted together,
    as scikit-learn's metrics accept them.
    """
    y = np.asarray(y_true)
    p = np.asarray(y_pred)
    if y.shape == p.shape:
        return y, p
    if y.ndim == 1 and p.shape == (y.shape[0], 1):
        return y, p[:, 0]
    if p.ndim == 1 and y.shape == (p.shape[0], 1):
        return y[:, 0], p
    raise ValueError(
        f"y_true has shape {y.shape} but the predictions have shape {p.shape}; "
        "they must have the same number of samples and outputs."
    )


def _column_apply(func, y, sample_weight):
    """Apply ``func(y_column, sample_weight)`` to each output of ``y``."""
    y = as_float_array(y, np.float64)
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if y.ndim == 1:
        return float(func(y, sw))
    return np.array([func(y[:, j], sw) for j in range(y.shape[1])])


def _positive_weights(y, sample_weight):
    """Drop zero-weight rows; return ``(y, w)`` with ``w > 0``."""
    w = np.ones_like(y) if sample_weight is None else sample_weight
    keep = w > 0
    if not np.any(keep):
        raise ValueError("sample_weight sums to zero; give some rows positive weight.")
    return y[keep], w[keep]


def _weighted_quantile(y, q, sample_weight=None):
    """Minimiser of the weighted pinball loss ``sum_i w_i rho_q(y_i - c)``.

    It is the smallest ``y`` whose cumulative weight reaches ``q`` times the
    total. When the cumulative weight hits that level exactly, every point up
    to the next value is optimal and the midpoint is returned, so that the
    unweighted median equals :func:`numpy.median`.
    """
    return float(_weighted_quantiles(y, np.array([q]), sample_weight)[0])


def _weighted_quantiles(y, levels, sample_weight=None):
    """:func:`_weighted_quantile` at each of ``levels``, from one sort of ``y``."""
    y, w = _positive_weights(y, sample_weight)
    order = np.argsort(y, kind="stable")
    ys, cw = y[order], np.cumsum(w[order])
    target = np.asarray(levels, dtype=float) * cw[-1]
    tol = 1e-12 * cw[-1]
    k = np.minimum(np.searchsorted(cw, target - tol, side="left"), ys.size - 1)
    out = ys[k].astype(float)
    tie = (cw[k] <= target + tol) & (k + 1 < ys.size)
    out[tie] = 0.5 * (ys[k[tie]] + ys[k[tie] + 1])
    return out


def _huber_location(y, sample_weight, delta):
    """Exact minimiser of the weighted Huber loss over a constant.

    ``g(c) = sum_i w_i clip(y_i - c, -delta, delta)`` is non-increasing and
    linear between the breakpoints ``y_i +- delta``: a binary search finds the
    segment where it changes sign, then the root is solved for exactly.
    """
    y, w = _positive_weights(y, sample_weight)
    knots = np.sort(np.concatenate([y - delta, y + delta]))

    def g(c):
        return float(np.dot(w, np.clip(y - c, -delta, delta)))

    lo, hi = 0, knots.size - 1  # g(knots[lo]) > 0 >= g(knots[hi])
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if g(knots[mid]) > 0:
            lo = mid
        else:
            hi = mid
    g_lo, g_hi = g(knots[lo]), g(knots[hi])
    return knots[lo] + g_lo / (g_lo - g_hi) * (knots[hi] - knots[lo])


def _log_cosh_location(y, sample_weight):
    """Minimiser of the weighted log-cosh loss: root of sum w tanh(y - c)."""
    y, w = _positive_weights(y, sample_weight)
    lo, hi = float(y.min()), float(y.max())
    if lo == hi:
        return lo
    return brentq(
        lambda c: float(np.dot(w, np.tanh(y - c))),
        lo,
        hi,
        xtol=1e-14 * max(1.0, hi - lo),
        rtol=4 * np.finfo(float).eps,
    )


def _log_weighted_mean(y, sample_weight):
    """Log of the weighted mean, clipped from below (best log-link constant)."""
    mean = np.average(y, axis=0, weights=sample_weight)
    return np.log(np.maximum(mean, _MEAN_FLOOR))


def _smooth_abs(r, mu):
    """Smoothed ``|r|``: ``r**2 / (4 mu)`` if ``|r| <= 2 mu`` else ``|r| - mu``.

    It is below ``|r|`` by at most ``mu`` (the gap is ``mu`` for ``|r| >= 2
    mu``) and its derivative is ``1 / (2 mu)``-Lipschitz.

    Returns
    -------
    value, derivative : ndarray
        Both shaped like ``r``.
    """
    a = np.abs(r)
    inside = a <= 2 * mu
    c = np.minimum(a, 2 * mu)  # keeps the unused branch from overflowing
    value = np.where(inside, c * c / (4 * mu), a - mu)
    derivative = np.where(inside, r / (2 * mu), np.sign(r))
    return value, derivative


def _residual_form(y_true, knots, slopes):
    """The :class:`PiecewiseLinear` form of a loss of the residual ``y - raw``."""
    y = np.asarray(y_true, dtype=float)
    return PiecewiseLinear(knots=knots, slopes=slopes, offset=y, scale=-np.ones_like(y),
                           combine="mean")


def _param_error(loss, name, requirement, advice):
    """The error for hyper-parameter ``name`` of ``loss`` outside ``requirement``."""
    value = getattr(loss, name)
    return ValueError(
        f"{type(loss).__name__} requires {requirement} (got {name}={value!r}); {advice}"
    )


def _elementwise_gradient_hessian(self, y_true, raw, sample_weight=None):
    """Gradient and Hessian of the per-sample loss with respect to ``raw``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
        True targets (not checked here: call :meth:`validate_target` once).
    raw : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Raw predictions.
    sample_weight : array-like of shape (n_samples,), default=None
        Multiplies both outputs row-wise when given.

    Returns
    -------
    gradient : ndarray shaped like ``raw``
        As :meth:`loss_gradient` gives it.
    hessian : ElementwiseHessian
        The loss acts on each raw entry separately, so every per-sample
        Hessian is diagonal: its diagonal is shaped like ``raw``, divided by
        the number of outputs as the loss is.
    """
    self._check_params()
    y_true, raw = _same_shape(y_true, raw)
    raw = as_float_array(raw)
    y = as_float_array(y_true, raw.dtype)
    gradient, hessian = self._second_derivatives(y, raw)
    if raw.ndim == 2:
        gradient = gradient / raw.shape[1]
        hessian = hessian / raw.shape[1]
    return weighted(gradient, sample_weight), ElementwiseHessian(weighted(hessian, sample_weight))


# ---------------------------------------------------------------------------
# Private base
# ---------------------------------------------------------------------------


class _RegressionLoss(RegressionLoss):
    """Regression loss with parameter, shape and domain checks.

    Subclasses implement ``_elementwise``, declare ``target_domain`` (the
    domain of ``y``, checked by :meth:`validate_target`) and may override
    ``_check_params`` (hyper-parameters) and ``_check_prediction`` (the
    domain of predictions).
    """

    name = None

    def _check_params(self):
        """Raise ``ValueError`` for invalid hyper-parameters."""

    def _check_prediction(self, y_pred):
        """Raise ``ValueError`` for predictions no model of this loss can make."""
        if np.any(np.isnan(y_pred)):
            raise ValueError(
                f"{type(self).__name__}: the predictions contain NaN; check the "
                "model that produced them."
            )

    def validate_target(self, y):
        """Raise ``ValueError`` when ``y`` is outside the loss's domain.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        """
        self._check_params()
        y = np.asarray(y)
        check_numeric_target(
            y,
            type(self).__name__,
            " Convert y to numbers, or use LossClassifier for class labels.",
        )
        super().validate_target(y)

    def pointwise(self, y_true, y_pred):
        """Per-sample losses of predictions.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets, checked with :meth:`validate_target`.
        y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Predictions (``link.inverse(raw)``).

        Returns
        -------
        loss : ndarray of shape (n_samples,)
            Mean over outputs for multi-output targets.
        """
        y_true, y_pred = self._checked_metric_inputs(y_true, y_pred)
        return super().pointwise(y_true, y_pred)

    def _checked_metric_inputs(self, y_true, y_pred):
        """Check parameters, shapes and both domains; ``y_pred`` as floats.

        ``pointwise`` is the metric a user calls on any arrays, so it checks
        everything; ``loss_gradient``, on the solvers' hot path, does not.
        """
        self._check_params()
        y_true, y_pred = _same_shape(y_true, y_pred)
        self.validate_target(y_true)
        y_pred = as_float_array(y_pred)
        self._check_prediction(y_pred)
        return y_true, y_pred

    def loss_gradient(self, y_true, raw, sample_weight=None):
        """Per-sample loss and its gradient with respect to ``raw``.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets (not checked here: call :meth:`validate_target` once).
        raw : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Raw predictions.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies both outputs row-wise when given.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
            Per-sample loss (mean over outputs), in the dtype of ``raw``.
        gradient : ndarray shaped like ``raw``
            Its gradient with respect to ``raw``, in the dtype of ``raw``.
        """
        self._check_params()
        y_true, raw = _same_shape(y_true, raw)
        return super().loss_gradient(y_true, raw, sample_weight)

    def init_raw(self, y_true, sample_weight=None):
        """Best constant raw prediction: the starting intercept.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        raw : float or ndarray of shape (n_outputs,)
            The constant minimising the weighted mean loss, per output.
        """
        self._check_params()
        return self._init_raw(y_true, sample_weight)

    def _init_raw(self, y_true, sample_weight):
        return super().init_raw(y_true, sample_weight)


class _NonSmoothMixin:
    """Shared flags of the losses with kinks: each defines :meth:`smoothed`."""

    is_smooth = False
    has_smoothed_surrogate = True


# ---------------------------------------------------------------------------
# Identity-link losses
# ---------------------------------------------------------------------------


class SquaredError(_RegressionLoss):
    r"""Squared error, :math:`\ell(y, p) = (y - p)^2`, with the identity link.

    Equals :func:`sklearn.metrics.mean_squared_error` (no factor one half).
    The best constant is the weighted mean.

    Examples
    --------
    >>> from sklosses.losses import SquaredError
    >>> loss = SquaredError()
    >>> loss([1.0, 2.0], [1.5, 2.0])
    0.125
    >>> loss.init_raw([1.0, 2.0, 6.0])
    3.0
    """

    target_domain = REAL_LINE

    name = "squared_error"
    rows_independent = True  # element-wise: a row's loss uses its own raw only

    def _elementwise(self, y, raw):
        r = raw - y
        return r * r, 2 * r

    def _init_raw(self, y_true, sample_weight):
        return _column_apply(lambda y, w: np.average(y, weights=w), y_true, sample_weight)

    #: Second derivatives do not depend on the data: one Newton step is exact.
    has_constant_hessian = True

    gradient_hessian = _elementwise_gradient_hessian

    def _second_derivatives(self, y, raw):
        r = raw - y
        return 2 * r, np.full_like(r, 2)


class AbsoluteError(_NonSmoothMixin, _RegressionLoss):
    r"""Absolute error, :math:`\ell(y, p) = |y - p|`, with the identity link.

    Equals :func:`sklearn.metrics.mean_absolute_error`. The best constant is
    the weighted median. The loss is not smooth; :meth:`smoothed` gives a
    smooth surrogate within ``mu``, and the gradient at ``y == p`` is 0.

    Examples
    --------
    >>> from sklosses.losses import AbsoluteError
    >>> loss = AbsoluteError()
    >>> loss([1.0, 2.0], [1.5, 4.0])
    1.25
    >>> loss.init_raw([1.0, 2.0, 6.0])
    2.0
    """

    target_domain = REAL_LINE

    name = "absolute_error"

    def _elementwise(self, y, raw):
        r = raw - y
        return np.abs(r), np.sign(r)

    def _init_raw(self, y_true, sample_weight):
        return _column_apply(lambda y, w: _weighted_quantile(y, 0.5, w), y_true, sample_weight)

    def piecewise_linear(self, y_true):
        """This loss as data for exact solvers: ``|r|`` on the residual ``y - p``.

        Parameters
        ----------
        y_true : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        form : PiecewiseLinear
            One knot at 0 with slopes -1 and 1, argument ``y - raw``.
        """
        return _residual_form(y_true, knots=(0.0,), slopes=(-1.0, 1.0))

    def smoothed(self, mu):
        """Smooth surrogate ``l_mu`` with ``0 <= l - l_mu <= mu``.

        Parameters
        ----------
        mu : float
            Smoothing level, > 0.

        Returns
        -------
        loss : RegressionLoss
            ``r**2 / (4 mu)`` for ``|r| <= 2 mu`` and ``|r| - mu`` otherwise.
        """
        return _SmoothedAbsoluteError(mu=mu)


class Huber(_RegressionLoss):
    r"""Huber loss with the identity link.

    .. math::

        \ell(y, p) = \begin{cases}
            \frac12 r^2 & |r| \le \delta \\
            \delta (|r| - \frac12 \delta) & |r| > \delta
        \end{cases}, \qquad r = y - p,

    as :class:`torch.nn.HuberLoss`. It is continuously differentiable with a
    1-Lipschitz gradient, so it counts as smooth. The best constant (Huber's
    M-estimate of location) is computed exactly.

    With ``scale="joint"`` a residual scale :math:`\sigma > 0` is estimated
    with the model (a concomitant scale, Owen 2007) and the loss becomes

    .. math::

        \ell(y, p) = \sigma\left(\tfrac12 + h_\delta(r / \sigma)\right),

    :math:`h_\delta` the function above: half of
    :class:`~sklearn.linear_model.HuberRegressor`'s
    :math:`\sigma + \sigma H_\epsilon(r/\sigma)` (its :math:`H` is
    :math:`2h`), so with ``alpha=0`` both have the same minimiser, and
    ``LossRegressor(loss=Huber(delta=eps, scale="joint"), alpha=a / n)``
    equals ``HuberRegressor(epsilon=eps, alpha=a)``. It is jointly convex.
    The scale is profiled out: for the current residuals the optimal
    :math:`\sigma` solves :math:`\sum_i w_i \min((r_i/\sigma)^2, \delta^2) =
    \sum_i w_i` exactly (module ``sklosses.losses._scale``), and the loss
    hands solvers the value and gradient at that :math:`\sigma`, so every
    solver, penalty and model (MLPs too) works unchanged; minibatch solvers
    profile it per minibatch. The fitted :math:`\sigma` is ``scale_`` of the
    estimator's ``loss_``. As a metric (``__call__``), the scale is the
    optimal one for the residuals scored.

    Parameters
    ----------
    delta : float, default=1.0
        Residual size where the loss turns from quadratic to linear; > 0. With
        ``scale="joint"`` it is in units of :math:`\sigma` and must be > 1
        (1.35 gives 95 % efficiency under normal errors, as
        ``HuberRegressor``'s default ``epsilon``).
    scale : {None, "joint"}, default=None
        ``None`` keeps ``delta`` in the target's units (as torch and Keras);
        ``"joint"`` estimates the residual scale with the model.

    Attributes
    ----------
    scale_ : float or ndarray of shape (n_outputs,)
        ``scale="joint"`` only, set by the fit: the residual scale at the
        fitted model (one per output).

    Examples
    --------
    >>> from sklosses.losses import Huber
    >>> loss = Huber(delta=1.0)
    >>> loss([0.0, 0.0], [0.5, 3.0])
    1.3125
    >>> import numpy as np
    >>> from sklosses import LossRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 2))
    >>> y = X @ [1.0, 2.0] + 50.0 * rng.standard_t(3, size=200)
    >>> reg = LossRegressor(loss=Huber(delta=1.35, scale="joint")).fit(X, y)
    >>> bool(30 < reg.loss_.scale_ < 80)
    True
    """

    target_domain = REAL_LINE

    name = "huber"

    def __init__(self, delta=1.0, scale=None):
        self.delta = delta
        self.scale = scale

    @property
    def has_joint_scale(self):
        """Whether the residual scale is estimated with the model."""
        return isinstance(self.scale, str) and self.scale == "joint"

    def _check_params(self):
        delta = _real_param(self, "delta", self.delta)
        if delta <= 0:
            raise _param_error(
                self,
                "delta",
                "delta > 0",
                "delta is the residual size where the loss turns from quadratic to linear.",
            )
        if self.scale is not None and not self.has_joint_scale:
            raise _param_error(
                self, "scale", 'scale=None or scale="joint"',
                "None keeps delta in the target's units; 'joint' estimates a residual "
                "scale with the model.",
            )
        if self.has_joint_scale and delta <= 1:
            raise _param_error(
                self, "delta", 'delta > 1 with scale="joint"',
                "delta is then in units of the fitted scale (1.35 gives 95% "
                "efficiency under normal errors, as HuberRegressor's epsilon).",
            )
        return delta

    def _joint_scale(self, r, sample_weight, *, remember=False):
        """The optimal scale of the residuals ``r``.

        ``remember=True`` (a solver's evaluations: ``loss_gradient`` and
        ``gradient_hessian``): successive calls have nearby scales, often the
        same residuals, so the last scale starts the root finding (the same
        root, in fewer steps). Metric calls do not touch it.
        """
        previous = getattr(self, "_last_scale", None) if remember else None
        if previous is not None and np.shape(previous) != np.shape(r)[1:]:
            previous = None
        scale = huber_joint_scale(r, float(self.delta), sample_weight, start=previous)
        if remember:
            self._last_scale = scale
        return scale

    def _joint(self, y, raw, sample_weight, *, remember=False):
        """Per-element loss and derivative at the optimal scale for these residuals."""
        r = raw - y
        scale = self._joint_scale(r, sample_weight, remember=remember)
        return huber_perspective(r, float(self.delta), scale)

    def loss_gradient(self, y_true, raw, sample_weight=None):
        if not self.has_joint_scale:
            return super().loss_gradient(y_true, raw, sample_weight)
        self._check_params()
        y_true, raw = _same_shape(y_true, raw)
        raw = as_float_array(raw)
        loss, gradient = self._joint(as_float_array(y_true, raw.dtype), raw, sample_weight,
                                     remember=True)
        if raw.ndim == 2:
            loss, gradient = loss.mean(axis=1), gradient / raw.shape[1]
        return apply_sample_weight(loss, gradient, sample_weight)

    def __call__(self, y_true, y_pred, sample_weight=None):
        if not self.has_joint_scale:
            return super().__call__(y_true, y_pred, sample_weight)
        y, pred = self._checked_metric_inputs(y_true, y_pred)
        loss = self._joint(as_float_array(y, pred.dtype), pred, sample_weight)[0]
        return float(np.average(loss.mean(axis=1) if loss.ndim == 2 else loss,
                                weights=sample_weight))

    def fit_scale(self, y_true, raw, sample_weight=None):
        """Set ``scale_`` to the optimal scale of the residuals ``raw - y_true``.

        Called once by the solver wrapper at the fitted parameters.

        Returns
        -------
        self : Huber
        """
        y_true, raw = _same_shape(y_true, raw)
        raw = as_float_array(raw)
        self.scale_ = huber_joint_scale(raw - as_float_array(y_true, raw.dtype),
                                        float(self.delta), sample_weight)
        return self

    def _elementwise(self, y, raw):
        if self.has_joint_scale:  # unweighted: the scale of these very residuals
            return self._joint(y, raw, None)
        delta = float(self.delta)
        r = raw - y
        a = np.abs(r)
        loss = np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))
        return loss, np.clip(r, -delta, delta)

    def _init_raw(self, y_true, sample_weight):
        if self.has_joint_scale:  # no closed form: a 1-D convex minimisation
            return super()._init_raw(y_true, sample_weight)
        delta = float(self.delta)
        return _column_apply(lambda y, w: _huber_location(y, w, delta), y_true, sample_weight)

    def gradient_hessian(self, y_true, raw, sample_weight=None):
        """Gradient and (generalised) Hessian with respect to ``raw``.

        With ``scale="joint"`` the gradient is the profiled loss's (the one
        :meth:`loss_gradient` gives: the weighted residuals' optimal scale
        held fixed, by the envelope theorem) and the Hessian the fixed-scale
        one, ``1 / scale`` inside the quadratic zone: it bounds the profile's
        curvature from above, so Newton's steps along it are descent steps
        to the joint optimum. Otherwise as every elementwise loss.
        """
        if not self.has_joint_scale:
            return _elementwise_gradient_hessian(self, y_true, raw, sample_weight)
        self._check_params()
        y_true, raw = _same_shape(y_true, raw)
        raw = as_float_array(raw)
        r = raw - as_float_array(y_true, raw.dtype)
        delta = float(self.delta)
        scale = np.asarray(self._joint_scale(r, sample_weight, remember=True),
                           dtype=raw.dtype)
        _, gradient = huber_perspective(r, delta, scale)
        with np.errstate(divide="ignore", over="ignore"):
            hessian = np.where(np.abs(r) <= delta * scale, 1.0 / scale, 0.0).astype(raw.dtype)
        if raw.ndim == 2:
            gradient, hessian = gradient / raw.shape[1], hessian / raw.shape[1]
        return (weighted(gradient, sample_weight),
                ElementwiseHessian(weighted(hessian, sample_weight)))

    def _second_derivatives(self, y, raw):
        # The generalised Hessian: 1 inside the quadratic zone, 0 outside.
        delta = float(self.delta)
        r = raw - y
        return np.clip(r, -delta, delta), (np.abs(r) <= delta).astype(r.dtype)


class LogCosh(_RegressionLoss):
    r"""Log-cosh loss, :math:`\ell(y, p) = \log\cosh(y - p)`, identity link.

    As Keras' ``LogCosh``. It is computed as ``log1p(2 sinh(|r|/2)**2)`` for
    small residuals (accurate near zero, where it is about ``r**2 / 2``) and
    as ``|r| + log1p(exp(-2|r|)) - log 2`` otherwise (no overflow). The
    gradient with respect to the prediction is ``tanh(p - y)``.

    Examples
    --------
    >>> from sklosses.losses import LogCosh
    >>> loss = LogCosh()
    >>> round(loss([0.0], [1.0]), 6)
    0.433781
    """

    target_domain = REAL_LINE

    name = "log_cosh"

    def _elementwise(self, y, raw):
        r = raw - y
        a = np.abs(r)
        s = np.sinh(0.5 * np.minimum(a, 1.0))
        small = np.log1p(2 * s * s)
        large = a + np.log1p(np.exp(-2 * a)) - _LOG2
        return np.where(a < 1.0, small, large), np.tanh(r)

    def _init_raw(self, y_true, sample_weight):
        return _column_apply(_log_cosh_location, y_true, sample_weight)

    gradient_hessian = _elementwise_gradient_hessian

    def _second_derivatives(self, y, raw):
        t = np.tanh(raw - y)
        return t, 1 - t * t


class Quantile(_LevelsMixin, _NonSmoothMixin, _RegressionLoss):
    r"""Pinball (quantile) loss with the identity link; one level or several.

    .. math:: \ell(y, p) = \max(q r, (q - 1) r), \qquad r = y - p.

    Equals :func:`sklearn.metrics.mean_pinball_loss` with ``alpha=quantile``.
    The best constant is the weighted ``quantile``-quantile of ``y``. The loss
    is not smooth; the gradient at ``y == p`` is 0 (a subgradient).

    With a list of ``K`` levels ``q_1 < ... < q_K``, one fit estimates them
    all: the model has ``K`` outputs, predictions have shape
    ``(n_samples, K)`` (column ``k`` is level ``q_k``), the per-sample loss
    is the mean of the ``K`` pinball losses, and the predictions are
    non-decreasing along the columns for **every** input (see
    ``noncrossing``). A list of one level is the scalar level.

    Parameters
    ----------
    quantile : float or array-like of shape (K,), default=0.5
        The quantile to estimate, strictly between 0 and 1, or strictly
        increasing levels in (0, 1).
    noncrossing : {"monotone", "sort"}, default="monotone"
        How a list of levels is kept from crossing (ignored for one level).

        - ``"monotone"``: the model's outputs are ordered by construction,
          so ``q_1(x) <= ... <= q_K(x)`` holds exactly, in floating point,
          for every ``x`` in R^p. A linear model is a *location-shift*
          model: one weight vector shared by every level and increasing
          intercepts (``coef_`` has ``K`` equal rows). This is forced: two
          linear functions with different slopes cross somewhere in R^p.
          The problem stays convex in the intercepts and weights. An MLP
          outputs the lowest level and the gaps to the next ones through a
          softplus, ``q_k(x) = q_{k-1}(x) + softplus(z_k(x))``, so its
          levels may spread with ``x`` (heteroscedastic quantiles); with
          ``activation="identity"`` this is a linear lowest level plus
          non-negative, softplus-of-linear gaps.
        - ``"sort"``: ``K`` free outputs (one independent model per level,
          fitted jointly) whose predictions are sorted along the columns
          (rearrangement, Chernozhukov et al. 2010): non-decreasing for
          every ``x`` too, but a column of ``predict`` is then not the fitted
          function of its level where the fits cross.

    Attributes
    ----------
    quantiles_ : ndarray of shape (K,)
        The levels as an array (``K = 1`` for a scalar level).

    Examples
    --------
    >>> from sklosses.losses import Quantile
    >>> loss = Quantile(quantile=0.9)
    >>> loss([1.0, 1.0], [0.0, 2.0])
    0.5
    >>> levels = Quantile(quantile=[0.1, 0.9])
    >>> levels([1.0, 1.0], [[0.0, 0.0], [2.0, 2.0]])
    0.5
    """

    target_domain = REAL_LINE

    name = "quantile"
    _level_name = "quantile"
    _level_hint = "for example quantile=0.5 estimates the median."

    def __init__(self, quantile=0.5, *, noncrossing="monotone"):
        self.quantile = quantile
        self.noncrossing = noncrossing

    @property
    def quantiles_(self):
        """The levels, an ndarray of shape (K,)."""
        return self._level_array()

    def _check_params(self):
        return self._check_levels()

    def _elementwise(self, y, raw):
        q = self._levels_for(raw.dtype)
        r = y - raw
        loss = np.maximum(q * r, (q - 1) * r)
        zero = np.zeros_like(r)
        gradient = np.where(r > 0, zero - q, np.where(r < 0, zero + (1 - q), zero))
        return loss, gradient

    def _init_raw(self, y_true, sample_weight):
        if self.n_levels >= 2:
            # One sort for all levels (they share the target).
            y = as_float_array(y_true, np.float64).reshape(-1)
            w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
            return _weighted_quantiles(y, self._level_array(), w)
        q = float(self._level_array()[0])
        return _column_apply(lambda y, w: _weighted_quantile(y, q, w), y_true, sample_weight)

    def piecewise_linear(self, y_true):
        """This loss as data for exact solvers: pinball on the residual ``y - p``.

        Parameters
        ----------
        y_true : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        form : PiecewiseLinear
            One knot at 0 with slopes ``quantile - 1`` and ``quantile``.
        """
        q = self._check_params()
        if np.ndim(q):
            # One form has one pair of slopes; K levels have K pairs.
            raise ValueError(
                f"{self} has {np.size(q)} levels, one pinball form each: use "
                "piecewise_linear_levels(y_true)."
            )
        return _residual_form(y_true, knots=(0.0,), slopes=(q - 1.0, q))

    def piecewise_linear_levels(self, y_true):
        """One pinball form per level, for exact solvers of a list of levels.

        Parameters
        ----------
        y_true : ndarray of shape (n_samples,) or (n_samples, 1)
            The target, shared by every level.

        Returns
        -------
        forms : tuple of PiecewiseLinear
            ``K`` forms on the residual ``y - raw_k``, one knot at 0 with
            slopes ``q_k - 1`` and ``q_k`` (one form for a scalar level).
        """
        y = np.asarray(y_true, dtype=float).reshape(-1)
        return tuple(_residual_form(y, knots=(0.0,), slopes=(q - 1.0, q))
                     for q in self._level_array())

    def smoothed(self, mu):
        """Smooth surrogate ``l_mu`` with ``0 <= l - l_mu <= mu``.

        The pinball loss is ``|r| / 2 + (q - 1/2) r``; its absolute value is
        replaced by a quadratic piece within ``2 mu``.

        Parameters
        ----------
        mu : float
            Smoothing level, > 0.

        Returns
        -------
        loss : RegressionLoss
        """
        return _SmoothedQuantile(quantile=self.quantile, mu=mu)


class EpsilonInsensitive(_NonSmoothMixin, _RegressionLoss):
    r"""Epsilon-insensitive loss, :math:`\max(0, |y - p| - \varepsilon)`.

    The loss of linear support vector regression, with the identity link. The
    best constant is the weighted median of the values ``y - epsilon`` and
    ``y + epsilon`` (each with the weight of its row), because
    ``max(0, |r| - e) = (|r - e| + |r + e|) / 2 - e``.

    Parameters
    ----------
    epsilon : float, default=0.1
        Half-width of the insensitive tube; >= 0 (0 gives the absolute error).

    Examples
    --------
    >>> from sklosses.losses import EpsilonInsensitive
    >>> loss = EpsilonInsensitive(epsilon=0.5)
    >>> loss([0.0, 0.0], [0.25, 2.0])
    0.75
    """

    target_domain = REAL_LINE

    name = "epsilon_insensitive"

    def __init__(self, epsilon=0.1):
        self.epsilon = epsilon

    def _check_params(self):
        eps = _real_param(self, "epsilon", self.epsilon)
        if eps < 0:
            raise _param_error(
                self,
                "epsilon",
                "epsilon >= 0",
                "epsilon is the half-width of the tube where errors cost nothing.",
            )
        return eps

    def _elementwise(self, y, raw):
        eps = float(self.epsilon)
        r = raw - y
        excess = np.abs(r) - eps
        outside = excess > 0
        return np.where(outside, excess, 0 * excess), np.where(outside, np.sign(r), 0)

    def _init_raw(self, y_true, sample_weight):
        eps = float(self.epsilon)

        def center(y, w):
            w2 = None if w is None else np.concatenate([w, w])
            return _weighted_quantile(np.concatenate([y - eps, y + eps]), 0.5, w2)

        return _column_apply(center, y_true, sample_weight)

    def piecewise_linear(self, y_true):
        """This loss as data for exact solvers: a tube on the residual ``y - p``.

        Parameters
        ----------
        y_true : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Targets.

        Returns
        -------
        form : PiecewiseLinear
            Knots at ``-epsilon`` and ``epsilon`` with slopes -1, 0 and 1
            (``epsilon=0`` is the absolute error: one knot at 0).
        """
        eps = self._check_params()
        if eps == 0:
            return _residual_form(y_true, knots=(0.0,), slopes=(-1.0, 1.0))
        return _residual_form(y_true, knots=(-eps, eps), slopes=(-1.0, 0.0, 1.0))

    def smoothed(self, mu):
        """Smooth surrogate ``l_mu`` with ``0 <= l - l_mu <= mu``.

        Both kinks, at ``r = +-epsilon``, are replaced by quadratic pieces.

        Parameters
        ----------
        mu : float
            Smoothing level, > 0.

        Returns
        -------
        loss : RegressionLoss
        """
        return _SmoothedEpsilonInsensitive(epsilon=self.epsilon, mu=mu)


# ---------------------------------------------------------------------------
# Smoothed surrogates of the non-smooth losses (used by solvers' continuation)
# ---------------------------------------------------------------------------


class _SmoothedLoss(_RegressionLoss):
    """Base of the smooth surrogates: a non-smooth loss's parameters plus ``mu``.

    A surrogate checks its parameters as the loss it approximates does, and
    starts from that loss's best constant, which is ``mu``-optimal for the
    surrogate too. Subclasses implement :meth:`_unsmoothed` and
    ``_elementwise``.
    """

    @abstractmethod
    def _unsmoothed(self):
        """The non-smooth loss this surrogate approximates."""

    def _check_params(self):
        self._unsmoothed()._check_params()
        return _check_mu(self, self.mu)

    def _init_raw(self, y_true, sample_weight):
        return self._unsmoothed().init_raw(y_true, sample_weight)


class _SmoothedAbsoluteError(_SmoothedLoss):
    """Absolute error with its kink replaced by a quadratic piece.

    ``r**2 / (4 mu)`` for ``|r| <= 2 mu``, ``|r| - mu`` otherwise: below the
    absolute error by at most ``mu``, with a ``1 / (2 mu)``-Lipschitz gradient.
    Its starting intercept is the weighted median, which is ``mu``-optimal.
    """

    name = "smoothed_absolute_error"

    def __init__(self, mu=1e-3):
        self.mu = mu

    def _unsmoothed(self):
        return AbsoluteError()

    def _elementwise(self, y, raw):
        return _smooth_abs(raw - y, float(self.mu))


class _SmoothedQuantile(_LevelsMixin, _SmoothedLoss):
    """Pinball loss with its kink replaced by a quadratic piece.

    ``rho_q(r) = |r| / 2 + (q - 1/2) r`` with ``|r|`` smoothed at level
    ``2 mu``: the gap to the pinball loss is in ``[0, mu]`` and the gradient is
    ``1 / (8 mu)``-Lipschitz. The starting intercept is the weighted quantile,
    which is ``mu``-optimal.
    """

    name = "smoothed_quantile"
    _level_name = "quantile"

    def __init__(self, quantile=0.5, mu=1e-3):
        self.quantile = quantile
        self.mu = mu

    def _unsmoothed(self):
        return Quantile(self.quantile)

    def _elementwise(self, y, raw):
        q, mu = self._levels_for(raw.dtype), float(self.mu)
        # with d = raw - y (= -r): rho_q = |d| / 2 - (q - 1/2) d, and |d| smoothed
        # at level m = 2 mu. With g = clip(d / (2 m), -1, 1), the smoothed |d| is
        # g (d - m g) (d^2 / (4 m) inside, |d| - m outside) and its derivative g:
        # a few in-place passes, which matter on (n_samples, K) arrays of levels.
        m = 2 * mu
        d = raw - y
        g = np.multiply(d, 1 / (2 * m))
        np.clip(g, -1, 1, out=g)
        value = d - m * g
        value *= g
        value *= 0.5
        value -= (q - 0.5) * d
        g *= 0.5
        g -= q - 0.5
        return value, g


class _SmoothedEpsilonInsensitive(_SmoothedLoss):
    """Epsilon-insensitive loss with both kinks replaced by quadratic pieces.

    ``max(0, |r| - e) = (|r - e| + |r + e|) / 2 - e`` with each absolute value
    smoothed at level ``mu``: the gap is in ``[0, mu]`` and the gradient is
    ``1 / (2 mu)``-Lipschitz. The starting intercept is the unsmoothed
    optimum, which is ``mu``-optimal.
    """

    name = "smoothed_epsilon_insensitive"

    def __init__(self, epsilon=0.1, mu=1e-3):
        self.epsilon = epsilon
        self.mu = mu

    def _unsmoothed(self):
        return EpsilonInsensitive(self.epsilon)

    def _elementwise(self, y, raw):
        eps, mu = float(self.epsilon), float(self.mu)
        d = raw - y
        v1, g1 = _smooth_abs(d - eps, mu)
        v2, g2 = _smooth_abs(d + eps, mu)
        return 0.5 * (v1 + v2) - eps, 0.5 * (g1 + g2)


# ---------------------------------------------------------------------------
# Log1p link
# ---------------------------------------------------------------------------


class SquaredLogError(_RegressionLoss):
    r"""Squared logarithmic error with the log1p link.

    .. math:: \ell(y, p) = (\log(1 + y) - \log(1 + p))^2,

    with ``raw = log1p(p)``, so the loss is the squared error of ``raw``
    against ``log1p(y)``. Equals :func:`sklearn.metrics.mean_squared_log_error`.
    Targets must be > -1; a prediction of exactly -1 has infinite loss. The
    best constant is the weighted mean of ``log1p(y)``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import SquaredLogError
    >>> loss = SquaredLogError()
    >>> float(np.round(loss([np.e - 1], [0.0]), 12))
    1.0
    """

    target_domain = Interval(
        -1.0, math.inf, advice="shift the targets, or use 'squared_error' or 'huber'."
    )

    name = "squared_log_error"
    link = Log1pLink()

    def _check_prediction(self, y_pred):
        super()._check_prediction(y_pred)
        if np.any(y_pred < -1):
            raise ValueError(
                "SquaredLogError requires predictions >= -1 (found min prediction "
                f"= {np.min(y_pred)}); log1p(prediction) is undefined below -1."
            )

    def _elementwise(self, y, raw):
        with np.errstate(divide="ignore"):
            r = raw - np.log1p(y)
        return r * r, 2 * r

    def _init_raw(self, y_true, sample_weight):
        return _column_apply(
            lambda y, w: np.average(np.log1p(y), weights=w), y_true, sample_weight
        )

    #: Second derivatives do not depend on the data: one Newton step is exact.
    has_constant_hessian = True

    gradient_hessian = _elementwise_gradient_hessian

    def _second_derivatives(self, y, raw):
        with np.errstate(divide="ignore"):
            r = raw - np.log1p(y)
        return 2 * r, np.full_like(r, 2)


# ---------------------------------------------------------------------------
# Log-link deviances
# ---------------------------------------------------------------------------


def _poisson_raw(y, raw):
    mu = np.exp(raw)
    loss = 2 * (xlogy(y, y) - y * raw - y + mu)
    return loss, 2 * (mu - y)


def _poisson_pred(y, mu):
    return 2 * (xlogy(y, y / mu) - y + mu)


def _gamma_raw(y, raw):
    # With t = log(y / mu): deviance 2 (e^t - 1 - t), accurate near t = 0.
    t = np.log(y) - raw
    em1 = np.expm1(t)
    return 2 * (em1 - t), -2 * em1


def _gamma_pred(y, mu):
    t = np.log(y / mu)
    return 2 * (np.expm1(t) - t)


def _tweedie_raw(y, raw, power):
    if power == 0:
        mu = np.exp(raw)
        r = mu - y
        return r * r, 2 * mu * r
    if power == 1:
        return _poisson_raw(y, raw)
    if power == 2:
        return _gamma_raw(y, raw)
    # mu**(1 - p) and mu**(2 - p) as exponentials of raw: no log of mu needed.
    mu1 = np.exp((1 - power) * raw)
    mu2 = np.exp((2 - power) * raw)
    y0 = np.maximum(y, 0) if power < 0 else y
    loss = 2 * (
        y0 ** (2 - power) / ((1 - power) * (2 - power)) - y * mu1 / (1 - power) + mu2 / (2 - power)
    )
    return loss, 2 * (mu2 - y * mu1)


def _tweedie_pred(y, mu, power):
    if power == 0:
        return (y - mu) ** 2
    if power == 1:
        return _poisson_pred(y, mu)
    if power == 2:
        return _gamma_pred(y, mu)
    y0 = np.maximum(y, 0) if power < 0 else y
    return 2 * (
        y0 ** (2 - power) / ((1 - power) * (2 - power))
        - y * mu ** (1 - power) / (1 - power)
        + mu ** (2 - power) / (2 - power)
    )


class _LogLinkLoss(_RegressionLoss):
    """Deviance with the log link; the best constant is log of the mean."""

    link = LogLink()

    def _check_prediction(self, y_pred):
        super()._check_prediction(y_pred)
        if np.any(y_pred < 0):
            raise ValueError(
                f"{type(self).__name__} predicts means mu = exp(raw) > 0, but the "
                f"predictions contain negative values (min {np.min(y_pred)}); "
                "pass link.inverse(raw), not raw."
            )

    def _elementwise_pred(self, y, y_pred):
        # Direct formulas in mu (as scikit-learn's metrics): going through
        # log(mu) would lose the exact form and break at mu == 0.
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            return self._deviance_pred(y, y_pred)

    def _init_raw(self, y_true, sample_weight):
        return _column_apply(_log_weighted_mean, y_true, sample_weight)


class Poisson(_LogLinkLoss):
    r"""Poisson deviance with the log link, ``mu = exp(raw)``.

    .. math:: \ell(y, \mu) = 2 (y \log(y / \mu) - y + \mu),

    with :math:`y \log y = 0` at :math:`y = 0`. Equals
    :func:`sklearn.metrics.mean_poisson_deviance`. Targets must be >= 0. The
    best constant is the log of the weighted mean (clipped when the mean is
    0). The gradient with respect to raw is ``2 (mu - y)``.

    Examples
    --------
    >>> from sklosses.losses import Poisson
    >>> loss = Poisson()
    >>> loss([0.0, 2.0], [1.0, 2.0])
    1.0
    """

    target_domain = Interval(
        0.0,
        math.inf,
        low_inclusive=True,
        advice="use a loss defined for negative targets such as 'squared_error' or 'huber'.",
    )

    name = "poisson"
    rows_independent = True  # element-wise: a row's loss uses its own raw only

    def _elementwise(self, y, raw):
        with np.errstate(over="ignore"):
            return _poisson_raw(y, raw)

    def _deviance_pred(self, y, mu):
        return _poisson_pred(y, mu)

    def _weighted_kernel(self, y, weight):
        return PoissonKernel(y, weight) if np.ndim(y) == 1 else None

    gradient_hessian = _elementwise_gradient_hessian

    def _second_derivatives(self, y, raw):
        with np.errstate(over="ignore"):
            mu = np.exp(raw)
        return 2 * (mu - y), 2 * mu


class Gamma(_LogLinkLoss):
    r"""Gamma deviance with the log link, ``mu = exp(raw)``.

    .. math:: \ell(y, \mu) = 2 (\log(\mu / y) + y / \mu - 1).

    Equals :func:`sklearn.metrics.mean_gamma_deviance`. Targets must be > 0.
    The best constant is the log of the weighted mean.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import Gamma
    >>> loss = Gamma()
    >>> float(np.round(loss([1.0], [2.0]), 6))
    0.386294
    """

    target_domain = Interval(
        0.0,
        math.inf,
        advice="use 'poisson' or 'tweedie' with 1 <= power < 2 for targets that can be 0, "
        "or 'squared_error' or 'huber' for any real target.",
    )

    name = "gamma"
    rows_independent = True  # element-wise: a row's loss uses its own raw only

    def _elementwise(self, y, raw):
        with np.errstate(over="ignore", divide="ignore"):
            return _gamma_raw(y, raw)

    def _deviance_pred(self, y, mu):
        return _gamma_pred(y, mu)

    def _weighted_kernel(self, y, weight):
        return GammaKernel(y, weight) if np.ndim(y) == 1 else None

    gradient_hessian = _elementwise_gradient_hessian

    def _second_derivatives(self, y, raw):
        # y / mu = exp(t), t = log(y) - raw: gradient 2 (1 - y / mu), Hessian 2 y / mu.
        with np.errstate(over="ignore", divide="ignore"):
            em1 = np.expm1(np.log(y) - raw)
        return -2 * em1, 2 * (em1 + 1)


class Tweedie(_LogLinkLoss):
    r"""Tweedie deviance with the log link, ``mu = exp(raw)``.

    For power :math:`p \notin \{0, 1, 2\}`,

    .. math::

        \ell(y, \mu) = 2 \left(\frac{\max(y, 0)^{2-p}}{(1-p)(2-p)}
            - \frac{y \mu^{1-p}}{1-p} + \frac{\mu^{2-p}}{2-p}\right),

    and the limits ``(y - mu)**2`` (p = 0), the Poisson deviance (p = 1) and
    the Gamma deviance (p = 2). Equals
    :func:`sklearn.metrics.mean_tweedie_deviance` with ``power=power``, with
    the same domains: any y for p <= 0, y >= 0 for 1 <= p < 2, y > 0 for
    p >= 2; powers in (0, 1) have no distribution. The gradient with respect
    to raw is ``2 mu**(1 - p) (mu - y)``. The best constant is the log of the
    weighted mean, clipped when the mean is not positive.

    Parameters
    ----------
    power : float, default=1.5
        Tweedie power; not in the open interval (0, 1).

    Examples
    --------
    >>> from sklosses.losses import Tweedie
    >>> loss = Tweedie(power=0)
    >>> loss([1.0, 3.0], [2.0, 2.0])
    1.0
    """

    @property
    def target_domain(self):
        """Target domain for this power, as ``mean_tweedie_deviance``'s.

        Every real y for power <= 0, y >= 0 for 1 <= power < 2 and y > 0 for
        power >= 2.
        """
        power = self._check_params()
        if power <= 0:
            return REAL_LINE
        condition = f"for power={self.power}"
        if power < 2:
            return Interval(
                0.0, math.inf, low_inclusive=True, condition=condition,
                advice="use power <= 0 or 'squared_error' for negative targets.",
            )
        return Interval(
            0.0, math.inf, condition=condition,
            advice="use 1 <= power < 2 for targets that can be 0, or power <= 0 or "
            "'squared_error' for negative targets.",
        )

    name = "tweedie"

    @property
    def is_convex(self):
        """Convex in the raw prediction (the log of the mean) for ``1 <= power <= 2``."""
        return 1 <= self.power <= 2

    def __init__(self, power=1.5):
        self.power = power

    def _check_params(self):
        power = _real_param(self, "power", self.power)
        if 0 < power < 1:
            raise _param_error(
                self,
                "power",
                "power <= 0 or power >= 1",
                "no Tweedie distribution exists for 0 < power < 1. Use power=1 "
                "(Poisson) or 1 < power < 2 (compound Poisson).",
            )
        return power

    def _check_prediction(self, y_pred):
        if float(self.power) == 0:
            # the normal deviance is defined for any real prediction
            return _RegressionLoss._check_prediction(self, y_pred)
        return super()._check_prediction(y_pred)

    def _elementwise(self, y, raw):
        with np.errstate(over="ignore", divide="ignore"):
            return _tweedie_raw(y, raw, float(self.power))

    def _deviance_pred(self, y, mu):
        return _tweedie_pred(y, mu, float(self.power))

    gradient_hessian = _elementwise_gradient_hessian

    def _second_derivatives(self, y, raw):
        # gradient 2 (mu^(2-p) - y mu^(1-p)); one formula holds for every power.
        power = float(self.power)
        with np.errstate(over="ignore"):
            mu1 = np.exp((1 - power) * raw)
            mu2 = np.exp((2 - power) * raw)
        gradient = 2 * (mu2 - y * mu1)
        return gradient, 2 * ((2 - power) * mu2 - (1 - power) * y * mu1)


# ---------------------------------------------------------------------------
# Distributions
# ---------------------------------------------------------------------------


class KLDivergence(_RegressionLoss):
    r"""Kullback-Leibler divergence of predicted from target distributions.

    Each row of ``y`` is a probability distribution over ``K`` classes and
    the prediction is ``p = softmax(raw)`` per row:

    .. math:: \ell(y, p) = \sum_k y_k \log(y_k / p_k),

    with :math:`0 \log 0 = 0`, as Keras' ``KLDivergence``. The per-sample loss
    is the sum over the ``K`` classes (not the mean). It is computed from
    ``log p = raw - logsumexp(raw)``, so it stays finite for large raw values.
    The gradient with respect to raw is ``p * sum_k y_k - y``. The best
    constant is the log of the weighted mean distribution, centred.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import KLDivergence
    >>> loss = KLDivergence()
    >>> y = np.array([[1.0, 0.0], [0.5, 0.5]])
    >>> float(np.round(loss(y, [[0.5, 0.5], [0.5, 0.5]]), 6))
    0.346574
    """

    target_domain = ProbabilityRows()

    name = "kl_divergence"
    link = SoftmaxLink()

    def _check_prediction(self, y_pred):
        super()._check_prediction(y_pred)
        if y_pred.ndim != 2 or np.any(y_pred < 0):
            raise ValueError(
                "KLDivergence expects predictions of shape (n_samples, n_classes) "
                "holding probabilities; pass link.inverse(raw), not raw."
            )

    def _elementwise(self, y, raw):
        # per-element terms y_k log(y_k / p_k), summed per row by the callers
        shifted = raw - raw.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        terms = xlogy(y, y) - y * log_p
        gradient = np.exp(log_p) * y.sum(axis=1, keepdims=True) - y
        return terms, gradient

    def _elementwise_pred(self, y, y_pred):
        with np.errstate(divide="ignore"):
            return xlogy(y, y) - xlogy(y, y_pred)

    def pointwise(self, y_true, y_pred):
        """Per-sample divergences of predicted probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples, n_classes)
            Target distributions (rows sum to 1).
        y_pred : array-like of shape (n_samples, n_classes)
            Predicted probabilities.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
            Sum over classes of ``y log(y / p)``.
        """
        y_true, y_pred = self._checked_metric_inputs(y_true, y_pred)
        y = as_float_array(y_true, y_pred.dtype)
        return self._elementwise_pred(y, y_pred).sum(axis=1)

    def loss_gradient(self, y_true, raw, sample_weight=None):
        """Per-sample divergence and its gradient with respect to ``raw``.

        Parameters
        ----------
        y_true : array-like of shape (n_samples, n_classes)
            Target distributions.
        raw : ndarray of shape (n_samples, n_classes)
            Raw predictions (logits).
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies both outputs row-wise when given.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
        gradient : ndarray of shape (n_samples, n_classes)
        """
        y_true, raw = _same_shape(y_true, raw)
        raw = as_float_array(raw)
        if raw.ndim != 2:
            raise ValueError(
                "KLDivergence needs raw predictions of shape (n_samples, n_classes),"
                f" got shape {raw.shape}."
            )
        y = as_float_array(y_true, raw.dtype)
        terms, gradient = self._elementwise(y, raw)
        return apply_sample_weight(terms.sum(axis=1), gradient, sample_weight)

    def _init_raw(self, y_true, sample_weight):
        y = as_float_array(y_true, np.float64)
        log_mean = _log_weighted_mean(y, sample_weight)
        return log_mean - log_mean.mean()

    def gradient_hessian(self, y_true, raw, sample_weight=None):
        """Gradient and Hessian of the divergence with respect to ``raw``.

        Parameters
        ----------
        y_true : array-like of shape (n_samples, n_classes)
            Target distributions.
        raw : ndarray of shape (n_samples, n_classes)
            Raw predictions (logits).
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies both outputs row-wise when given.

        Returns
        -------
        gradient : ndarray of shape (n_samples, n_classes)
        hessian : SoftmaxHessian
            ``sum_k y_k (diag(p) - p p^T)`` per sample.
        """
        y_true, raw = _same_shape(y_true, raw)
        raw = as_float_array(raw)
        y = as_float_array(y_true, raw.dtype)
        _, gradient = self._elementwise(y, raw)
        proba = gradient + y
        total = y.sum(axis=1)
        proba /= np.where(total > 0, total, 1)[:, None]
        gradient = weighted(gradient, sample_weight)
        return gradient, SoftmaxHessian(proba, weighted(total, sample_weight))


REGRESSION_LOSSES = {
    cls.name: cls
    for cls in (
        SquaredError,
        AbsoluteError,
        Huber,
        LogCosh,
        SquaredLogError,
        Quantile,
        EpsilonInsensitive,
        Poisson,
        Gamma,
        Tweedie,
        KLDivergence,
    )
}

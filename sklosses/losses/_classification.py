"""Classification losses: log loss, focal loss and margin losses.

Conventions
-----------
- ``y_true`` holds class indices: ``{0, 1}`` for binary problems and
  ``0..K-1`` for ``K > 2`` classes. Margin losses also accept ``{-1, +1}``
  for binary problems and map ``{0, 1}`` to ``{-1, +1}`` themselves.
- ``raw`` is 1-D of shape ``(n_samples,)`` for a binary problem and of shape
  ``(n_samples, K)`` otherwise.
- Probabilistic losses (:class:`LogLoss`, :class:`Focal`) take probabilities
  in ``__call__`` and ``pointwise``: the 1-D probability of class 1 for a
  binary problem (as :func:`sklearn.metrics.log_loss` accepts) or rows of
  ``K`` probabilities. Probabilities are clipped to ``[eps, 1 - eps]`` with
  ``eps`` the machine precision of their dtype, as scikit-learn does.
- Margin losses take decision values in ``__call__`` and ``pointwise``.
- Every computation keeps the dtype of ``raw`` (float32 in, float32 out).
"""

import numbers

import numpy as np
from scipy.special import expit

from ._base import (
    ClassificationLoss,
    apply_sample_weight,
    as_float_array,
    minimize_constant,
)
from ._domain import ClassIndices
from ._hessian import ElementwiseHessian, SoftmaxHessian, weighted
from ._kernels import BinaryLogLossKernel
from ._link import IdentityLink, LogitLink
from ._piecewise import MaxOfClassMargins, PiecewiseLinear

__all__ = [
    "LogLoss",
    "Focal",
    "Hinge",
    "SquaredHinge",
    "ModifiedHuber",
    "Exponential",
    "SmoothedHinge",
]

# Smallest class frequency used by closed-form constants, so that a class
# absent from y gives a large finite intercept instead of an infinite one.
_TINY = np.finfo(np.float64).eps


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _labels(y_true):
    """Class indices as an integer array."""
    return np.asarray(y_true).astype(np.intp, copy=False)


def _binary_log_loss_gradient(y, raw, eps):
    """Binary log-loss and its gradient with one exponential per sample.

    With the smoothed target ``t`` of class 1 and ``e = exp(-|z|)``:
    ``loss = log1p(e) + t * max(-z, 0) + (1 - t) * max(z, 0)`` (a sum of
    non-negative terms, so no cancellation) and
    ``gradient = (1 - t) * expit(z) - t * expit(-z)`` with
    ``expit(|z|) = 1 / (1 + e)`` and ``expit(-|z|) = e / (1 + e)``. This is the
    hot path of binary logistic fits, hence the in-place arithmetic.
    Without smoothing (``t`` in {0, 1}) it is shorter still: the loss is
    ``log1p(e) + max(z, 0) - t z`` (exact: the last two cancel only to 0)
    and the gradient ``(1 - 2 t) * e_or_1 / (1 + e)``, whose numerator is
    ``e`` exactly when the sample is on its class's side (``z >= 0`` for
    class 1), so small gradients keep their relative precision.
    """
    if not eps:
        positive = raw >= 0
        e = np.abs(raw)
        np.negative(e, out=e)
        np.exp(e, out=e)
        t = y.astype(raw.dtype)
        # max(z, 0) - t z first: it is exactly 0 on the class's side, and
        # log1p(e) is then added without rounding against z.
        loss = np.maximum(raw, 0)
        loss -= t * raw
        loss += np.log1p(e)
        on_side = positive == (y == 1)
        gradient = np.where(on_side, e, raw.dtype.type(1))
        gradient *= 1 - 2 * t
        e += 1
        gradient /= e
        return loss, gradient
    positive = raw >= 0
    e = np.abs(raw)
    np.negative(e, out=e)
    np.exp(e, out=e)
    big = 1 / (1 + e)  # expit(|z|)
    small = e * big  # expit(-|z|)
    loss = np.log1p(e, out=e)
    t = y.astype(raw.dtype)
    if eps:
        t *= 1 - eps
        t += eps / 2
    hinge_pos = np.maximum(raw, 0)
    hinge_neg = hinge_pos - raw  # max(-z, 0)
    loss += t * hinge_neg + (1 - t) * hinge_pos
    expit_z = np.where(positive, big, small)
    expit_neg_z = np.where(positive, small, big)
    gradient = (1 - t) * expit_z - t * expit_neg_z
    return loss, gradient


def _binary_signs(y_true, dtype):
    """Map labels in ``{0, 1}`` or ``{-1, +1}`` to signs ``{-1, +1}``."""
    return np.where(np.asarray(y_true) > 0, 1, -1).astype(dtype)


def _ovr_signs(y_true, n_classes, dtype):
    """One-vs-rest signs: +1 in the column of the true class, -1 elsewhere."""
    y = _labels(y_true)
    hit = y[:, None] == np.arange(n_classes)
    return np.where(hit, 1, -1).astype(dtype)


def _binary_parts(y, z):
    """Stable pieces of the binary logistic model for labels ``y`` in {0, 1}.

    With ``u = s * z`` and ``s = +1`` for class 1, ``-1`` for class 0, returns
    ``s``, ``p_y = expit(u)``, ``q = 1 - p_y = expit(-u)`` and
    ``nlp = -log p_y = log(1 + exp(-u))``. ``q`` is computed as ``expit(-u)``
    rather than ``1 - expit(u)`` so that it keeps full relative precision
    when ``p_y`` is close to one.
    """
    s = np.where(y == 1, 1, -1).astype(z.dtype)
    u = s * z
    return s, expit(u), expit(-u), np.logaddexp(0, -u)


def _softmax_parts(y, raw):
    """Stable pieces of the multinomial logistic model.

    Returns ``p = softmax(raw)``, ``log_p`` (log-softmax), ``q = 1 - p_y`` and
    ``nlp = -log p_y``. ``q`` is the sum of the other classes' probabilities
    and, when the true class has the largest raw value, ``nlp`` is
    ``log1p(q_unnormalised)``: both keep full relative precision when
    ``p_y`` is close to one, which the focal loss's gradient needs.
    """
    n = raw.shape[0]
    rows = np.arange(n)
    m = raw.max(axis=1, keepdims=True)
    e = np.exp(raw - m)
    s = e.sum(axis=1, keepdims=True)
    p = e / s
    log_p = (raw - m) - np.log(s)
    e_rest = e.copy()
    e_rest[rows, y] = 0
    rest = e_rest.sum(axis=1)
    q = rest / s[:, 0]
    is_max = raw[rows, y] == m[:, 0]
    nlp = np.where(is_max, np.log1p(rest), -log_p[rows, y])
    log_p[rows, y] = -nlp
    return p, log_p, q, nlp


def _multinomial_log_loss_gradient(y, raw, eps, sample_weight=None):
    """Multinomial log-loss and its gradient, ``softmax(raw) - t``, in few passes.

    The hot path of multinomial fits: one temporary of shape (n, K) that
    becomes the gradient in place, instead of the several that
    :func:`_softmax_parts` holds. ``q = 1 - p_y`` is ``(s - e_y) / s``
    (``e = exp(raw - max)``, ``s = sum(e)``), which cancels when ``p_y`` is
    near one: those rows are recomputed by :func:`_softmax_parts`, so losses
    and gradients keep full relative precision there too. Sample weights are
    folded into the normalisation, which saves a pass over ``(n, K)``.
    """
    n, n_classes = raw.shape
    rows = np.arange(n)
    # Reductions along a short row are slow in NumPy: the maximum goes
    # column by column and the row sum is a product with ones (BLAS).
    m = raw[:, 0].copy()
    for k in range(1, n_classes):
        np.maximum(m, raw[:, k], out=m)
    e = raw - m[:, None]
    shifted_y = e[rows, y]
    np.exp(e, out=e)
    s = e @ np.ones(n_classes, dtype=e.dtype)
    e_y = e[rows, y]
    q = (s - e_y) / s
    loss = np.log(s) - shifted_y
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=raw.dtype)
    e *= (1 / s if sw is None else sw / s)[:, None]
    gradient = e
    gradient[rows, y] = -q if sw is None else -q * sw
    confident = q < 1e-3  # s - e_y lost more than three digits
    if np.any(confident):
        idx = np.flatnonzero(confident)
        p_c, _, q_c, nlp_c = _softmax_parts(y[idx], raw[idx])
        p_c[np.arange(idx.size), y[idx]] = -q_c
        if sw is not None:
            p_c *= sw[idx, None]
        gradient[idx] = p_c
        loss[idx] = nlp_c
    if eps:
        # -sum_k log p_k = K (max + log s) - sum_k raw_k
        sum_log_p = raw.sum(axis=1) - n_classes * (m + np.log(s))
        loss = (1 - eps) * loss - eps / n_classes * sum_log_p
        shift = np.full(n, eps, dtype=raw.dtype) if sw is None else eps * sw
        gradient[rows, y] += shift
        gradient -= (shift / n_classes)[:, None]
    if sw is not None:
        loss *= sw
    return loss, gradient


def _clipped_proba(y_pred):
    """Probabilities as an (n, K) matrix clipped as scikit-learn's log_loss."""
    y_pred = as_float_array(y_pred)
    if y_pred.ndim == 1:
        y_pred = np.column_stack([1 - y_pred, y_pred])
    eps = np.finfo(y_pred.dtype).eps
    return np.clip(y_pred, eps, 1 - eps)


def _check_real(value, name, owner, *, low=None, high=None, low_open=False):
    """Raise a clear ValueError unless ``value`` is a real number in range."""
    ok = isinstance(value, numbers.Real) and np.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        bracket = "(" if low_open else "["
        raise ValueError(
            f"{owner}: {name} must be a real number in {bracket}{lo}, {hi}]; "
            f"got {value!r}."
        )


def _margin_gradient_hessian(self, y_true, raw, sample_weight=None):
    """Gradient and Hessian of a margin loss with respect to decision values.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Labels in ``{0, 1}`` or ``{-1, +1}`` (binary) or class indices.
    raw : ndarray of shape (n_samples,) or (n_samples, K)
        Decision values.
    sample_weight : array-like of shape (n_samples,), default=None
        Multiplies both outputs row-wise.

    Returns
    -------
    gradient : ndarray shaped like ``raw``
    hessian : ElementwiseHessian
        ``phi''(y z)`` per decision value (``y^2 = 1``); one-vs-rest columns
        are separate binary problems, so the per-sample Hessians are
        diagonal. At a kink the value is the one-sided second derivative
        (a generalised Hessian, which a semismooth Newton method uses).
    """
    self._check_params()
    raw = as_float_array(raw)
    if raw.ndim == 2:
        signs = _ovr_signs(y_true, raw.shape[1], raw.dtype)
    else:
        signs = _binary_signs(y_true, raw.dtype)
    deriv, second = self._margin_second_derivatives(signs * raw)
    gradient = weighted(signs * deriv, sample_weight)
    return gradient, ElementwiseHessian(weighted(second, sample_weight))


# --------------------------------------------------------------------------
# probabilistic losses
# --------------------------------------------------------------------------


class _LogisticLoss(ClassificationLoss):
    """Base of the losses of class probabilities under the logistic model.

    Raw predictions are the log-odds of class 1 (1-D, binary) or logits whose
    softmax gives the ``K`` class probabilities.
    """

    link = LogitLink()
    is_probabilistic = True

    def proba(self, raw):
        """Class probabilities, an ndarray of shape (n_samples, K).

        For a binary problem (1-D raw) the columns are ``[1 - p, p]`` with
        ``p = expit(raw)``.
        """
        raw = as_float_array(raw)
        if raw.ndim == 2:
            return self.link.inverse(raw)
        # expit(-z) instead of 1 - expit(z) keeps small probabilities of class 0.
        return np.column_stack([expit(-raw), expit(raw)])


class LogLoss(_LogisticLoss):
    r"""Log loss (cross-entropy), binary and multinomial.

    For a sample of class :math:`y` with predicted probabilities :math:`p`,

    .. math::
        \ell(y, p) = -\sum_k t_k \log p_k, \qquad
        t = (1 - \varepsilon)\,\mathrm{onehot}(y) + \varepsilon / K,

    which is :math:`-\log p_y` without label smoothing (:math:`\varepsilon=0`).
    Binary problems use :math:`K = 2`, a 1-D raw prediction (the log-odds of
    class 1) and the logistic link; ``K > 2`` classes use raw of shape
    ``(n_samples, K)`` and the softmax.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        :math:`\varepsilon \in [0, 1]`: the targets become
        ``(1 - eps) * onehot(y) + eps / K`` (as ``torch.nn.CrossEntropyLoss``
        and Keras).

    Notes
    -----
    ``__call__`` equals :func:`sklearn.metrics.log_loss` (probabilities are
    clipped to ``[eps, 1 - eps]`` as there). The gradient with respect to
    raw is ``expit(z) - t_1`` (binary) and ``softmax(raw) - t`` (multiclass),
    computed with ``log1p(exp(.))`` and log-sum-exp, so raw values of
    ``+-1e3`` give finite losses and gradients in float32 and float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import LogLoss
    >>> loss = LogLoss()
    >>> round(loss([0, 1, 1], [0.2, 0.7, 0.9]), 4)
    0.2284
    >>> value, grad = loss.loss_gradient(np.array([0, 1]), np.array([0.0, 2.0]))
    >>> np.round(grad, 4)
    array([ 0.5   , -0.1192])
    >>> round(loss.init_raw(np.array([0, 1, 1, 1])), 4)  # log(3)
    1.0986
    """

    name = "log_loss"
    rows_independent = True  # a row's loss and gradient use only its own raw

    def _weighted_kernel(self, y, weight):
        # Binary labels without smoothing (the kernel's formula).
        if self.label_smoothing or np.ndim(y) != 1:
            return None
        return BinaryLogLossKernel(y, weight)

    @property
    def optimum_at_infinity(self):
        """True without label smoothing: then -log p only tends to 0."""
        return not self.label_smoothing

    def __init__(self, label_smoothing=0.0):
        self.label_smoothing = label_smoothing

    def _check_params(self):
        _check_real(self.label_smoothing, "label_smoothing", "LogLoss", low=0, high=1)

    def pointwise(self, y_true, y_pred):
        """Per-sample cross-entropy of predicted probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices.
        y_pred : array-like of shape (n_samples,) or (n_samples, K)
            Probability of class 1 (binary) or rows of class probabilities.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
        """
        self._check_params()
        proba = _clipped_proba(y_pred)
        y = _labels(y_true)
        n, n_classes = proba.shape
        log_p = np.log(proba)
        eps = proba.dtype.type(self.label_smoothing)
        loss = -log_p[np.arange(n), y]
        if eps:
            loss = (1 - eps) * loss - eps / n_classes * log_p.sum(axis=1)
        return loss

    def loss_gradient(self, y_true, raw, sample_weight=None):
        """Per-sample loss and gradient with respect to raw.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices.
        raw : ndarray of shape (n_samples,) or (n_samples, K)
            Log-odds of class 1 (binary) or unnormalised log-probabilities.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies both outputs row-wise.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
        gradient : ndarray shaped like ``raw``
        """
        self._check_params()
        raw = as_float_array(raw)
        y = _labels(y_true)
        eps = raw.dtype.type(self.label_smoothing)
        if raw.ndim == 1:
            loss, gradient = _binary_log_loss_gradient(y, raw, eps)
        else:
            return _multinomial_log_loss_gradient(y, raw, eps, sample_weight)
        return apply_sample_weight(loss, gradient, sample_weight)

    def init_raw(self, y_true, sample_weight=None):
        """Log-odds (binary) or centred log of the weighted class frequencies.

        With label smoothing the frequencies are smoothed the same way as
        the targets. A class with zero frequency is given frequency
        ``2.2e-16`` (float64 machine precision) so the result stays finite.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        raw : float or ndarray of shape (K,)
        """
        self._check_params()
        y = _labels(y_true)
        n_classes = max(int(y.max()) + 1, 2) if y.size else 2
        counts = np.bincount(y, weights=sample_weight, minlength=n_classes)
        freq = counts / counts.sum()
        eps = float(self.label_smoothing)
        freq = np.clip((1 - eps) * freq + eps / n_classes, _TINY, None)
        log_freq = np.log(freq)
        if n_classes == 2:
            return float(log_freq[1] - log_freq[0])
        return log_freq - log_freq.mean()

    def gradient_hessian(self, y_true, raw, sample_weight=None):
        """Gradient and Hessian of the log loss with respect to raw.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices.
        raw : ndarray of shape (n_samples,) or (n_samples, K)
            Log-odds of class 1 (binary) or unnormalised log-probabilities.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies both outputs row-wise.

        Returns
        -------
        gradient : ndarray shaped like ``raw``
        hessian : ElementwiseHessian or SoftmaxHessian
            ``p (1 - p)`` (binary) or ``diag(p) - p p^T`` (multiclass) per
            sample; label smoothing leaves it unchanged (the smoothed targets
            sum to one).
        """
        _, gradient = self.loss_gradient(y_true, raw)
        raw = as_float_array(raw)
        if raw.ndim == 1:
            e = np.exp(-np.abs(raw))
            hessian = e / ((1 + e) * (1 + e))  # p (1 - p), without cancellation
            return (weighted(gradient, sample_weight),
                    ElementwiseHessian(weighted(hessian, sample_weight)))
        proba = self.link.inverse(raw)
        scale = np.ones(raw.shape[0], dtype=raw.dtype)
        return (weighted(gradient, sample_weight),
                SoftmaxHessian(proba, weighted(scale, sample_weight)))


class Focal(_LogisticLoss):
    r"""Focal loss (Lin et al., 2017), binary and multinomial.

    .. math::
        \ell(y, p) = -\alpha_y \, (1 - p_y)^\gamma \log p_y

    with :math:`p` the logistic (binary, 1-D raw) or softmax (multiclass,
    raw of shape ``(n_samples, K)``) probabilities. The factor
    :math:`(1 - p_y)^\gamma` down-weights well-classified samples.

    Parameters
    ----------
    gamma : float, default=2.0
        Focusing parameter :math:`\gamma \ge 0`. ``gamma=0`` with
        ``alpha=None`` is the log loss.
    alpha : None, float or array-like of shape (K,), default=None
        Class weighting. ``None`` weighs no class; a float in ``[0, 1]``
        (binary only) weighs class 1 by ``alpha`` and class 0 by
        ``1 - alpha`` (torchvision's ``sigmoid_focal_loss``); an array
        weighs class ``k`` by ``alpha[k]``.

    Notes
    -----
    The gradient with respect to raw is analytic. With :math:`q = 1 - p_y`
    and :math:`r = -\log(p_y) / q` (which tends to 1 as :math:`q \to 0`),

    .. math::
        \frac{\partial \ell}{\partial \mathrm{raw}_k}
        = \alpha_y \, q^\gamma \, (1 + \gamma \, p_y \, r)\,
          (p_k - [k = y]),

    which avoids the :math:`q^{\gamma-1}` factor that overflows for
    :math:`\gamma < 1` as :math:`p_y \to 1`. :math:`q` and :math:`\log p_y`
    come from log-sigmoid / log-softmax, so raw values of ``+-1e3`` give
    finite results. The best constant (:meth:`init_raw`) is found
    numerically.

    References
    ----------
    .. [1] T.-Y. Lin, P. Goyal, R. Girshick, K. He and P. Dollar, "Focal Loss
       for Dense Object Detection", ICCV 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import Focal
    >>> loss = Focal(gamma=2.0, alpha=0.25)
    >>> value, grad = loss.loss_gradient(np.array([0, 1]), np.array([0.0, 0.0]))
    >>> np.round(value, 4)
    array([0.13  , 0.0433])
    >>> round(Focal(gamma=0.0)([0, 1], [0.2, 0.9]), 4)  # the log loss
    0.1643
    """

    name = "focal"
    optimum_at_infinity = True

    @property
    def is_convex(self):
        """Convex in the raw prediction only without focusing (``gamma=0``: log-loss)."""
        return self.gamma == 0

    def __init__(self, gamma=2.0, alpha=None):
        self.gamma = gamma
        self.alpha = alpha

    def _check_params(self):
        _check_real(self.gamma, "gamma", "Focal", low=0)
        if self.alpha is None:
            return
        if np.ndim(self.alpha) == 0:
            _check_real(self.alpha, "alpha", "Focal", low=0, high=1)
            return
        alpha = np.asarray(self.alpha)
        if (
            alpha.ndim != 1
            or not np.issubdtype(alpha.dtype, np.number)
            or not np.all(np.isfinite(alpha))
            or np.any(alpha < 0)
        ):
            raise ValueError(
                "Focal: alpha must be None, a float in [0, 1] or a 1-D array of "
                f"non-negative class weights; got {self.alpha!r}."
            )

    def _alpha_y(self, y, n_classes, dtype):
        """Weight of each sample's class, or None when alpha is None."""
        if self.alpha is None:
            return None
        alpha = np.asarray(self.alpha, dtype=dtype)
        if alpha.ndim == 0:
            if n_classes != 2:
                raise ValueError(
                    f"Focal: a float alpha is for binary problems; with "
                    f"{n_classes} classes pass an array of {n_classes} class "
                    "weights."
                )
            alpha = np.array([1 - alpha, alpha], dtype=dtype)
        elif alpha.shape != (n_classes,):
            raise ValueError(
                f"Focal: alpha has {alpha.shape[0]} entries but there are "
                f"{n_classes} classes."
            )
        return alpha[y]

    def pointwise(self, y_true, y_pred):
        """Per-sample focal loss of predicted probabilities.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices.
        y_pred : array-like of shape (n_samples,) or (n_samples, K)
            Probability of class 1 (binary) or rows of class probabilities.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
        """
        self._check_params()
        proba = _clipped_proba(y_pred)
        y = _labels(y_true)
        n, n_classes = proba.shape
        p_y = proba[np.arange(n), y]
        gamma = proba.dtype.type(self.gamma)
        loss = -np.power(1 - p_y, gamma) * np.log(p_y)
        alpha_y = self._alpha_y(y, n_classes, proba.dtype)
        return loss if alpha_y is None else alpha_y * loss

    def loss_gradient(self, y_true, raw, sample_weight=None):
        """Per-sample loss and gradient with respect to raw.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices.
        raw : ndarray of shape (n_samples,) or (n_samples, K)
            Log-odds of class 1 (binary) or unnormalised log-probabilities.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies both outputs row-wise.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
        gradient : ndarray shaped like ``raw``
        """
        self._check_params()
        raw = as_float_array(raw)
        y = _labels(y_true)
        gamma = raw.dtype.type(self.gamma)
        if raw.ndim == 1:
            s, p_y, q, nlp = _binary_parts(y, raw)
            q_gamma = np.power(q, gamma)
            loss = q_gamma * nlp
            # d loss / d(s z) = -q^gamma (q + gamma p_y nlp): the q^(gamma-1)
            # of the chain rule cancels against dq/du = -q p_y.
            gradient = -s * q_gamma * (q + gamma * p_y * nlp)
            n_classes = 2
        else:
            n, n_classes = raw.shape
            rows = np.arange(n)
            p, _, q, nlp = _softmax_parts(y, raw)
            p_y = p[rows, y]
            q_gamma = np.power(q, gamma)
            loss = q_gamma * nlp
            # r = -log(p_y) / q -> 1 as q -> 0 (q == 0 only by underflow).
            ratio = np.ones_like(q)
            np.divide(nlp, q, out=ratio, where=q > 0)
            factor = q_gamma * (1 + gamma * p_y * ratio)
            gradient = p * factor[:, None]
            gradient[rows, y] = -q * factor
        alpha_y = self._alpha_y(y, n_classes, raw.dtype)
        if alpha_y is not None:
            loss = loss * alpha_y
            gradient *= alpha_y[:, None] if gradient.ndim == 2 else alpha_y
        return apply_sample_weight(loss, gradient, sample_weight)

    def init_raw(self, y_true, sample_weight=None):
        """Best constant raw prediction, found numerically.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        raw : float or ndarray of shape (K,)
        """
        self._check_params()
        return super().init_raw(y_true, sample_weight)

    def gradient_hessian(self, y_true, raw, sample_weight=None):
        r"""Gradient and Hessian of the focal loss with respect to raw.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices.
        raw : ndarray of shape (n_samples,) or (n_samples, K)
            Log-odds of class 1 (binary) or unnormalised log-probabilities.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies both outputs row-wise.

        Returns
        -------
        gradient : ndarray shaped like ``raw``
        hessian : ElementwiseHessian or SoftmaxHessian
            Binary, with :math:`u = s z`, :math:`q = 1 - p_y` and
            :math:`r = -\log(p_y) / q`:
            :math:`q^{\gamma+1} p_y (1 + 2\gamma + \gamma r (\gamma p_y - q))`.
            Multiclass: ``a (diag(p) - p p^T) + b v v^T`` with
            ``v = (e_y - p) / q``, ``a = q^gamma (1 + gamma p_y r)`` (the
            gradient's factor) and
            ``b = gamma p_y q^(gamma+1) ((gamma - 1) p_y r + 2 - q r)``.
            The focal loss is not convex for ``gamma > 0``: the Hessian may
            be indefinite.
        """
        _, gradient = self.loss_gradient(y_true, raw)
        raw = as_float_array(raw)
        y = _labels(y_true)
        gamma = raw.dtype.type(self.gamma)
        if raw.ndim == 1:
            s, p_y, q, nlp = _binary_parts(y, raw)
            n_classes = 2
        else:
            n, n_classes = raw.shape
            rows = np.arange(n)
            p, _, q, nlp = _softmax_parts(y, raw)
            p_y = p[rows, y]
        # r = -log(p_y) / q -> 1 as q -> 0 (q == 0 only by underflow).
        ratio = np.ones_like(q)
        np.divide(nlp, q, out=ratio, where=q > 0)
        q_gamma = np.power(q, gamma)
        if raw.ndim == 1:
            hessian = q_gamma * q * p_y * (1 + 2 * gamma + gamma * ratio * (gamma * p_y - q))
            scale = rank_one = None
        else:
            scale = q_gamma * (1 + gamma * p_y * ratio)
            rank_one = gamma * p_y * q_gamma * q * ((gamma - 1) * p_y * ratio + 2 - q * ratio)
            direction = np.zeros_like(p)
            np.divide(-p, q[:, None], out=direction, where=q[:, None] > 0)
            direction[rows, y] = 1
        alpha_y = self._alpha_y(y, n_classes, raw.dtype)
        weight = alpha_y
        if sample_weight is not None:
            sw = np.asarray(sample_weight, dtype=raw.dtype)
            weight = sw if weight is None else weight * sw
        gradient = weighted(gradient, sample_weight)
        if raw.ndim == 1:
            return gradient, ElementwiseHessian(weighted(hessian, weight))
        return gradient, SoftmaxHessian(p, weighted(scale, weight),
                                        weighted(rank_one, weight), direction)


# --------------------------------------------------------------------------
# margin losses
# --------------------------------------------------------------------------


class _MarginLoss(ClassificationLoss):
    """Base of margin losses ``phi(y * z)`` on decision values ``z``.

    Binary problems: 1-D raw, labels in ``{0, 1}`` or ``{-1, +1}``. ``K > 2``
    classes: raw of shape ``(n_samples, K)`` and one-vs-rest, the per-sample
    loss being the sum over ``k`` of ``phi(y_k z_k)`` with ``y_k = +1`` for
    the true class and ``-1`` otherwise. Subclasses implement :meth:`_margin`
    and :meth:`_best_constant`.
    """

    link = IdentityLink()
    target_domain = ClassIndices(signed=True)
    is_margin = True

    def _check_params(self):
        """Validate hyper-parameters (called at use, not in ``__init__``)."""

    def _margin(self, u):
        """Element-wise ``phi(u)`` and ``phi'(u)`` for margins ``u = y z``."""
        raise NotImplementedError

    def _best_constant(self, w_pos, w_neg):
        """Minimiser over ``c`` of ``w_pos phi(c) + w_neg phi(-c)``."""
        raise NotImplementedError

    def _multiclass(self, y_true, raw):
        """Per-sample loss and gradient for raw of shape (n, K): one-vs-rest."""
        signs = _ovr_signs(y_true, raw.shape[1], raw.dtype)
        loss, deriv = self._margin(signs * raw)
        return loss.sum(axis=1), signs * deriv

    def _multiclass_constant(self, w_pos, w_neg):
        """Best constant for raw of shape (n, K): one-vs-rest, column by column."""
        return self._best_constant(w_pos, w_neg)

    def loss_by_output(self, y_true, raw, sample_weight=None):
        """Each one-vs-rest column's loss summed over samples, shape (K,).

        The per-sample loss of ``K > 2`` classes is the sum of these
        columns' (see :meth:`loss_gradient`): a solver of the ``K`` decoupled
        problems judges each one's step by its own share.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices.
        raw : ndarray of shape (n_samples, K)
            Decision values.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies each sample's losses.

        Returns
        -------
        loss : ndarray of shape (K,), float64
        """
        self._check_params()
        raw = as_float_array(raw)
        signs = _ovr_signs(y_true, raw.shape[1], raw.dtype)
        loss = self._margin(signs * raw)[0]
        if sample_weight is not None:
            loss = loss * np.asarray(sample_weight, dtype=loss.dtype)[:, None]
        return loss.sum(axis=0, dtype=np.float64)

    def _n_raw_outputs_for(self, y):
        # Labels -1 count as class 0, so {-1, +1} is a binary problem.
        return super()._n_raw_outputs_for(np.where(y > 0, y, 0))

    def pointwise(self, y_true, y_pred):
        """Per-sample loss of decision values.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Labels in ``{0, 1}`` or ``{-1, +1}`` (binary) or class indices.
        y_pred : array-like of shape (n_samples,) or (n_samples, K)
            Decision values.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
        """
        return self.loss_gradient(y_true, y_pred)[0]

    def loss_gradient(self, y_true, raw, sample_weight=None):
        """Per-sample loss and (sub)gradient with respect to decision values.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Labels in ``{0, 1}`` or ``{-1, +1}`` (binary) or class indices.
        raw : ndarray of shape (n_samples,) or (n_samples, K)
            Decision values.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies both outputs row-wise.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
        gradient : ndarray shaped like ``raw``
        """
        self._check_params()
        raw = as_float_array(raw)
        if raw.ndim == 2:
            loss, gradient = self._multiclass(y_true, raw)
        else:
            signs = _binary_signs(y_true, raw.dtype)
            loss, deriv = self._margin(signs * raw)
            gradient = signs * deriv
        return apply_sample_weight(loss, gradient, sample_weight)

    def _class_weights(self, y_true, sample_weight):
        """Weights of the positive and negative side of each raw column."""
        y = np.asarray(y_true)
        sw = (
            np.ones(y.shape[0])
            if sample_weight is None
            else np.asarray(sample_weight, dtype=float)
        )
        if self._n_raw_outputs_for(y) == 0:
            w_pos = np.array([sw[y > 0].sum()])
            return w_pos, sw.sum() - w_pos, True
        counts = np.bincount(_labels(y), weights=sw)
        return counts, sw.sum() - counts, False

    def init_raw(self, y_true, sample_weight=None):
        """Best constant decision value (per class for one-vs-rest).

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Labels in ``{0, 1}`` or ``{-1, +1}`` (binary) or class indices.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        raw : float or ndarray of shape (K,)
        """
        self._check_params()
        w_pos, w_neg, binary = self._class_weights(y_true, sample_weight)
        if binary:
            return float(self._best_constant(w_pos, w_neg)[0])
        return self._multiclass_constant(w_pos, w_neg)


def _balance(w_pos, w_neg):
    """``(w_pos - w_neg) / (w_pos + w_neg)``, 0 where both are zero."""
    total = w_pos + w_neg
    out = np.zeros_like(total, dtype=float)
    np.divide(w_pos - w_neg, total, out=out, where=total > 0)
    return out


def _hinge_elementwise(u, margin):
    t = margin - u
    return np.maximum(t, 0), -(t > 0).astype(u.dtype)


def _quadratic_hinge_elementwise(u, margin, mu):
    """Hinge with its kink replaced by a parabola of curvature ``1/(2 mu)``."""
    t = margin - u
    quad = t * t / (4 * mu)
    loss = np.where(t <= 0, 0, np.where(t <= 2 * mu, quad, t - mu)).astype(u.dtype)
    return loss, -np.clip(t / (2 * mu), 0, 1)


def _check_multiclass(multiclass, owner):
    if multiclass not in ("ovr", "crammer_singer"):
        raise ValueError(
            f"{owner}: multiclass must be 'ovr' or 'crammer_singer'; "
            f"got {multiclass!r}."
        )


def _crammer_singer_parts(y_true, raw, margin):
    """Margins ``margin + z_k - z_y`` with the true class's slot set to 0."""
    y = _labels(y_true)
    rows = np.arange(raw.shape[0])
    values = margin + raw - raw[rows, y][:, None]
    values[rows, y] = 0
    return y, rows, values


class Hinge(_MarginLoss):
    r"""Hinge loss of support vector machines.

    Binary problems (1-D decision values :math:`z`, labels mapped to
    :math:`y \in \{-1, +1\}`):

    .. math::
        \ell(y, z) = \max(0, m - y z).

    For ``K > 2`` classes (decision values of shape ``(n_samples, K)``):

    - ``multiclass="ovr"`` (one-vs-rest): the per-sample loss is the **sum**
      over classes of :math:`\max(0, m - y_k z_k)` with :math:`y_k = +1` for
      the true class and :math:`-1` otherwise, so the joint problem
      decouples into ``K`` binary problems with the same penalty.
    - ``multiclass="crammer_singer"``:
      :math:`\max(0, m + \max_{k \ne y} z_k - z_y)`, which with ``m=1`` equals
      :func:`sklearn.metrics.hinge_loss` for multiclass targets.

    Parameters
    ----------
    margin : float, default=1.0
        The margin :math:`m > 0`.
    multiclass : {"ovr", "crammer_singer"}, default="ovr"
        How ``K > 2`` classes are handled (see above). Binary problems always
        use the binary hinge.

    Notes
    -----
    The loss is not smooth (``is_smooth = False``); the gradient returned is
    a subgradient (zero at the kink). :meth:`smoothed` gives a smooth
    surrogate for solvers that need one. With ``margin=1`` ``__call__``
    equals :func:`sklearn.metrics.hinge_loss`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import Hinge
    >>> loss = Hinge()
    >>> loss([0, 1, 1], [-2.0, 0.5, 3.0])  # labels {0, 1} or {-1, +1}
    0.16666666666666666
    >>> value, grad = loss.loss_gradient(np.array([-1, 1]), np.array([0.5, 0.5]))
    >>> value, grad
    (array([1.5, 0.5]), array([ 1., -1.]))
    """

    name = "hinge"
    is_smooth = False
    has_smoothed_surrogate = True

    def __init__(self, margin=1.0, multiclass="ovr"):
        self.margin = margin
        self.multiclass = multiclass

    def _check_params(self):
        _check_real(self.margin, "margin", "Hinge", low=0, low_open=True)
        _check_multiclass(self.multiclass, "Hinge")

    def _margin(self, u):
        return _hinge_elementwise(u, u.dtype.type(self.margin))

    def _multiclass(self, y_true, raw):
        if self.multiclass == "ovr":
            return super()._multiclass(y_true, raw)
        y, rows, values = _crammer_singer_parts(
            y_true, raw, raw.dtype.type(self.margin)
        )
        # The true class's slot holds 0, so the argmax over the row is the
        # worst competitor whenever the loss is positive.
        worst = values.argmax(axis=1)
        loss = values[rows, worst]
        active = (loss > 0).astype(raw.dtype)
        gradient = np.zeros_like(raw)
        gradient[rows, worst] += active
        gradient[rows, y] -= active
        return loss, gradient

    def _best_constant(self, w_pos, w_neg):
        # On [-m, m] the loss is linear in c with slope w_neg - w_pos and it
        # only grows outside, so the optimum is an end point.
        return float(self.margin) * np.sign(w_pos - w_neg)

    def _multiclass_constant(self, w_pos, w_neg):
        if self.multiclass == "ovr":
            return super()._multiclass_constant(w_pos, w_neg)
        return _crammer_singer_constant(w_pos, float(self.margin))

    def init_raw(self, y_true, sample_weight=None):
        """Best constant decision value.

        Binary and one-vs-rest in closed form (``+-margin`` towards the
        heavier side, 0 on a tie); Crammer-Singer by a small linear program.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Labels in ``{0, 1}`` or ``{-1, +1}`` (binary) or class indices.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        raw : float or ndarray of shape (K,)
        """
        return super().init_raw(y_true, sample_weight)

    def piecewise_linear(self, y_true):
        """This loss as data for exact solvers: ``max(0, margin - u)`` of the margin.

        Binary and one-vs-rest: the argument is the margin ``u = s z`` with
        the label sign ``s = +-1`` of each raw column, and one-vs-rest sums
        the columns. Crammer-Singer couples the columns of a sample: it is
        the largest of the classes' margins, declared as such.

        Parameters
        ----------
        y_true : ndarray of shape (n_samples,)
            Labels in ``{0, 1}`` or ``{-1, +1}`` (binary) or class indices.

        Returns
        -------
        form : PiecewiseLinear or MaxOfClassMargins
            One knot at ``margin`` with slopes -1 and 0; for
            ``multiclass="crammer_singer"`` on more than two classes, a
            :class:`~sklosses.losses._piecewise.MaxOfClassMargins`.
        """
        self._check_params()
        y = np.asarray(y_true)
        n_outputs = self._n_raw_outputs_for(y)
        if n_outputs and self.multiclass == "crammer_singer":
            return MaxOfClassMargins(margin=float(self.margin), labels=_labels(y),
                                     n_classes=n_outputs)
        signs = _ovr_signs(y, n_outputs, float) if n_outputs else _binary_signs(y, float)
        return PiecewiseLinear(knots=(float(self.margin),), slopes=(-1.0, 0.0),
                               offset=np.zeros_like(signs), scale=signs, combine="sum")

    def smoothed(self, mu):
        """Smooth surrogate within ``mu`` of this loss for every sample.

        Parameters
        ----------
        mu : float
            Smoothing level, ``mu > 0``.

        Returns
        -------
        loss : SmoothedHinge
            Binary and one-vs-rest: a lower bound, ``l - mu <= l_mu <= l``.
            Crammer-Singer: an upper bound, ``l <= l_mu <= l + mu``.
        """
        self._check_params()
        _check_real(mu, "mu", "Hinge.smoothed", low=0, low_open=True)
        return SmoothedHinge(margin=self.margin, mu=mu, multiclass=self.multiclass)


def _crammer_singer_constant(class_weights, margin):
    """Best constant for the Crammer-Singer hinge, in closed form, O(K).

    Minimises ``sum_k w_k max(0, margin + max_{l != k} c_l - c_k)``. With
    the classes ordered by ``c``, every class but the top one is best raised
    to the second largest value, so only the gap ``d = c_top - c_second >= 0``
    matters: the loss is ``w_top max(0, margin - d) + (W - w_top)(margin + d)``,
    linear on ``[0, margin]`` with slope ``W - 2 w_top`` and growing beyond.
    Its optimum is ``d = margin`` for the heaviest class when it holds more
    than half the weight ``W``, else ``d = 0`` (all equal; the tie included,
    as the binary hinge's 0 on a tie). Shifted to sum to zero, as the loss is
    invariant to a common shift. (A linear program over all pairs needed
    O(K^2) constraints and O(K^3) memory.)
    """
    class_weights = np.asarray(class_weights, dtype=float)
    constant = np.zeros(class_weights.shape[0])
    top = int(np.argmax(class_weights))
    if class_weights[top] > class_weights.sum() - class_weights[top]:
        constant[top] = margin
    return constant - constant.mean()


class SmoothedHinge(_MarginLoss):
    r"""Smooth surrogate of :class:`Hinge` within ``mu`` of it.

    Returned by :meth:`Hinge.smoothed`; smoothing continuation solvers
    decrease ``mu`` towards 0. Binary and one-vs-rest, with
    :math:`t = m - y z` and :math:`\mu'` equal to ``mu`` (binary) or
    ``mu / K`` (one-vs-rest sums ``K`` terms):

    .. math::
        \ell_\mu = 0 \;(t \le 0), \quad \frac{t^2}{4\mu'} \;(0 < t \le 2\mu'),
        \quad t - \mu' \;(t > 2\mu'),

    a lower bound with :math:`0 \le \ell - \ell_\mu \le \mu` and a gradient
    that is :math:`1/(2\mu')`-Lipschitz in each decision value.
    Crammer-Singer (``K > 2``): a log-sum-exp of the ``K`` values
    :math:`\{0\} \cup \{m + z_k - z_y\}_{k \ne y}` with temperature
    :math:`\tau = \mu / \log K`, an upper bound with
    :math:`0 \le \ell_\mu - \ell \le \mu`.

    Parameters
    ----------
    margin : float, default=1.0
        The margin :math:`m > 0` of the hinge.
    mu : float, default=0.1
        Smoothing level, ``mu > 0``.
    multiclass : {"ovr", "crammer_singer"}, default="ovr"
        As in :class:`Hinge`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import Hinge
    >>> loss = Hinge().smoothed(0.1)
    >>> np.round(loss.pointwise([1, 1, 1], [2.0, 0.9, 0.0]), 4)
    array([0.   , 0.025, 0.9  ])
    """

    name = "smoothed_hinge"

    def __init__(self, margin=1.0, mu=0.1, multiclass="ovr"):
        self.margin = margin
        self.mu = mu
        self.multiclass = multiclass

    def _check_params(self):
        _check_real(self.margin, "margin", "SmoothedHinge", low=0, low_open=True)
        _check_real(self.mu, "mu", "SmoothedHinge", low=0, low_open=True)
        _check_multiclass(self.multiclass, "SmoothedHinge")

    def _margin(self, u, mu=None):
        dt = u.dtype.type
        mu = dt(self.mu) if mu is None else mu
        return _quadratic_hinge_elementwise(u, dt(self.margin), mu)

    def _multiclass(self, y_true, raw):
        n_classes = raw.shape[1]
        dt = raw.dtype.type
        if self.multiclass == "ovr":
            signs = _ovr_signs(y_true, n_classes, raw.dtype)
            loss, deriv = self._margin(signs * raw, dt(self.mu / n_classes))
            return loss.sum(axis=1), signs * deriv
        y, rows, values = _crammer_singer_parts(y_true, raw, dt(self.margin))
        tau = dt(self.mu / np.log(n_classes))
        scaled = values / tau
        top_index = scaled.argmax(axis=1)
        top = scaled[rows, top_index]
        e = np.exp(scaled - top[:, None])
        # log1p of the non-maximal terms keeps small losses precise.
        e[rows, top_index] = 0
        rest = e.sum(axis=1)
        e[rows, top_index] = 1
        loss = tau * (top + np.log1p(rest))
        weights = e / (1 + rest)[:, None]
        gradient = weights
        # d/dz_y of every m + z_k - z_y is -1; the 0 slot does not move.
        gradient[rows, y] = 0
        gradient[rows, y] = -gradient.sum(axis=1)
        return loss, gradient

    def init_raw(self, y_true, sample_weight=None):
        """Best constant decision value, found numerically.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Labels in ``{0, 1}`` or ``{-1, +1}`` (binary) or class indices.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        raw : float or ndarray of shape (K,)
        """
        self._check_params()
        return minimize_constant(self, y_true, sample_weight)


class SquaredHinge(_MarginLoss):
    r"""Squared hinge loss, :math:`\max(0, m - y z)^2`.

    Smooth (continuously differentiable with a Lipschitz gradient). Binary
    problems take 1-D decision values and labels in ``{0, 1}`` or
    ``{-1, +1}``. For ``K > 2`` classes the per-sample loss is the **sum**
    over classes of the binary loss of each one-vs-rest column
    (:math:`y_k = +1` for the true class, :math:`-1` otherwise), so the joint
    problem decouples into ``K`` binary problems with the same penalty.

    Parameters
    ----------
    margin : float, default=1.0
        The margin :math:`m > 0`.

    Examples
    --------
    >>> from sklosses.losses import SquaredHinge
    >>> SquaredHinge()([0, 1], [-2.0, 0.5])
    0.125
    """

    name = "squared_hinge"

    def __init__(self, margin=1.0):
        self.margin = margin

    def _check_params(self):
        _check_real(self.margin, "margin", "SquaredHinge", low=0, low_open=True)

    def _margin(self, u):
        t = np.maximum(u.dtype.type(self.margin) - u, 0)
        return t * t, -2 * t

    def _best_constant(self, w_pos, w_neg):
        # Both branches are quadratic on [-m, m], where the optimum lies.
        return float(self.margin) * _balance(w_pos, w_neg)

    gradient_hessian = _margin_gradient_hessian
    # One-vs-rest columns: K separate binary problems (diagonal raw Hessian).
    outputs_independent = True

    def _margin_second_derivatives(self, u):
        t = np.maximum(u.dtype.type(self.margin) - u, 0)
        return -2 * t, 2 * (t > 0).astype(u.dtype)


class ModifiedHuber(_MarginLoss):
    r"""Modified Huber loss of :class:`sklearn.linear_model.SGDClassifier`.

    .. math::
        \ell(y, z) = \max(0, 1 - y z)^2 \text{ if } y z \ge -1,
        \quad -4 y z \text{ otherwise.}

    Smooth (continuously differentiable with a Lipschitz gradient) and
    robust to outliers. Binary problems take 1-D decision values and labels
    in ``{0, 1}`` or ``{-1, +1}``. For ``K > 2`` classes the per-sample loss
    is the **sum** over classes of the binary loss of each one-vs-rest column,
    so the joint problem decouples into ``K`` binary problems with the same
    penalty. :meth:`proba` gives probabilities as ``SGDClassifier`` does.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import ModifiedHuber
    >>> loss = ModifiedHuber()
    >>> loss.pointwise([1, 1, 1], [2.0, 0.0, -3.0])
    array([ 0.,  1., 12.])
    >>> loss.proba(np.array([-2.0, 0.5]))
    array([[1.  , 0.  ],
           [0.25, 0.75]])
    """

    name = "modified_huber"
    is_probabilistic = True

    def __init__(self):
        pass

    def _margin(self, u):
        quadratic = u >= -1
        t = np.maximum(1 - u, 0)
        loss = np.where(quadratic, t * t, -4 * u)
        deriv = np.where(quadratic, -2 * t, -4).astype(u.dtype)
        return loss, deriv

    def _best_constant(self, w_pos, w_neg):
        # The optimum lies in [-1, 1], where both branches are quadratic.
        return _balance(w_pos, w_neg)

    def proba(self, raw):
        """Class probabilities from decision values, shape (n_samples, K).

        As ``SGDClassifier(loss="modified_huber").predict_proba``: binary
        ``p = (clip(z, -1, 1) + 1) / 2`` for class 1; multiclass, each
        column's ``(clip(z_k, -1, 1) + 1) / 2`` normalised to sum to one,
        and uniform probabilities for rows where every column is 0.
        """
        raw = as_float_array(raw)
        prob = (np.clip(raw, -1, 1) + 1) / 2
        if raw.ndim == 1:
            return np.column_stack([1 - prob, prob])
        total = prob.sum(axis=1, keepdims=True)
        all_zero = total[:, 0] == 0
        prob[all_zero] = 1
        total[all_zero] = raw.shape[1]
        return prob / total

    gradient_hessian = _margin_gradient_hessian
    # One-vs-rest columns: K separate binary problems (diagonal raw Hessian).
    outputs_independent = True

    def _margin_second_derivatives(self, u):
        quadratic = u >= -1
        t = np.maximum(1 - u, 0)
        deriv = np.where(quadratic, -2 * t, -4).astype(u.dtype)
        return deriv, 2 * (quadratic & (t > 0)).astype(u.dtype)


class Exponential(_MarginLoss):
    r"""Exponential loss of AdaBoost, :math:`\exp(-y z)`.

    Smooth. Binary problems take 1-D decision values and labels in
    ``{0, 1}`` or ``{-1, +1}``. For ``K > 2`` classes the per-sample loss is
    the **sum** over classes of the binary loss of each one-vs-rest column,
    so the joint problem decouples into ``K`` binary problems with the same
    penalty. Large negative margins overflow to ``inf`` (never NaN); the
    best constant is half the log-ratio of the class weights.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import Exponential
    >>> np.round(Exponential().pointwise([0, 1], [0.0, 1.0]), 4)
    array([1.    , 0.3679])
    """

    optimum_at_infinity = True

    name = "exponential"

    def __init__(self):
        pass

    def _margin(self, u):
        with np.errstate(over="ignore"):
            e = np.exp(-u)
        return e, -e

    def _best_constant(self, w_pos, w_neg):
        total = w_pos + w_neg
        floor = _TINY * np.where(total > 0, total, 1)
        log_ratio = np.log(np.maximum(w_pos, floor)) - np.log(np.maximum(w_neg, floor))
        return 0.5 * log_ratio

    gradient_hessian = _margin_gradient_hessian
    # One-vs-rest columns: K separate binary problems (diagonal raw Hessian).
    outputs_independent = True

    def _margin_second_derivatives(self, u):
        with np.errstate(over="ignore"):
            e = np.exp(-u)
        return -e, e


#: Loss classes by string name (aliases are resolved elsewhere).
CLASSIFICATION_LOSSES = {
    cls.name: cls
    for cls in (LogLoss, Focal, Hinge, SquaredHinge, ModifiedHuber, Exponential)
}

"""Custom losses from a plain NumPy function: :func:`make_loss`.

Conventions
-----------
- The user's ``func(y_true, y_pred, **kw_args)`` is **element-wise**: it maps
  arrays of equal shape to an array of losses of that shape, one per element,
  on *predictions* (``y_pred = link.inverse(raw)``).
- Derivatives are taken with respect to ``y_pred`` and carried to ``raw`` by
  the chain rule through the link. Because ``func`` is element-wise, one
  perturbation of the whole array differentiates every element at once.
- Numerical work is done in float64 and cast back to the dtype of ``raw``.
- Which derivative to trust is decided once, at the first call of
  ``loss_gradient``, and kept in a private attribute: clones start afresh,
  pickles keep the decision.
"""

import functools
import warnings

import numpy as np
from scipy.special import expit, softmax

from ._base import (
    ClassificationLoss,
    RegressionLoss,
    apply_sample_weight,
    as_float_array,
    check_numeric_target,
)
from ._link import BaseLink, get_link

__all__ = ["make_loss", "CustomLoss", "CustomClassificationLoss", "GradientCheckWarning"]

# Complex step: Im f(p + ih) / h is exact to machine precision for any h
# small enough, as no subtraction cancels; 1e-20 is the customary choice.
_COMPLEX_STEP = 1e-20
# Central differences: a relative step of eps ** (1/3) balances the O(h^2)
# truncation error against the O(eps / h) rounding error.
_CENTRAL_STEP = float(np.cbrt(np.finfo(np.float64).eps))
# Two derivatives agree when |a - b| <= _RTOL * (1 + |b|) + _FTOL * |f|; the
# second term covers the rounding error of central differences on large losses.
_RTOL = 1e-4
_FTOL = 1e-8
# Probabilities below this are raised to it in training so that terms such as
# y * log(p) stay finite (0 * log(tiny) == 0) where the softmax underflows.
_TINY = np.finfo(np.float64).tiny
_EPS = np.finfo(np.float64).eps


class GradientCheckWarning(UserWarning):
    """Derivatives of a custom loss disagree with numerical differentiation.

    Raised at the first use of a loss made by :func:`make_loss` when the
    given ``gradient`` disagrees with numerical differentiation, or when
    complex-step and central-difference derivatives of ``func`` disagree.
    The message says which derivative is used from then on.
    """


# ---------------------------------------------------------------------------
# Numerical derivatives of an element-wise function
# ---------------------------------------------------------------------------


def _read_only(a):
    """A read-only view of ``a``: the user's function must not change our data.

    The targets handed to ``func`` are often the caller's own array; an
    in-place ``y_true -= y_pred`` would silently change the user's data.
    """
    view = np.asarray(a).view()
    view.flags.writeable = False
    return view


def _call(func, y, p, kw_args, what):
    """``func(y, p)`` on read-only inputs, with a clear error for in-place writes."""
    try:
        with np.errstate(all="ignore"):
            return func(_read_only(y), _read_only(p), **kw_args)
    except ValueError as exc:
        if "read-only" not in str(exc):
            raise
        raise ValueError(
            f"{what} modifies its inputs in place ({exc}); y_true and y_pred are "
            "read-only. Compute on new arrays, e.g. r = y_pred - y_true instead of "
            "y_true -= y_pred."
        ) from exc


def _evaluate(func, y, p, kw_args, what="func"):
    """``func(y, p)`` as a float64 array shaped like ``p``, or a clear error."""
    out = np.asarray(_call(func, y, p, kw_args, what))
    if out.shape != p.shape:
        raise ValueError(
            f"{what} must return one value per element of y_pred (shape {p.shape}), "
            f"got shape {out.shape}. Write it element-wise, without np.mean or np.sum."
        )
    if out.dtype.kind in "biu":
        # Integer or boolean losses are flat almost everywhere: every
        # derivative is zero and the fit would stay at its start.
        raise ValueError(
            f"{what} returned {out.dtype} values; a loss must return floats (its "
            "derivatives are zero almost everywhere otherwise). Remove the rounding "
            "or the astype(int)."
        )
    if np.iscomplexobj(out):
        out = out.real
    return out.astype(np.float64, copy=False)


def _check_no_nan(value, y, p, label):
    """Refuse NaN losses at finite inputs: they would poison the objective."""
    bad = np.isnan(value) & np.isfinite(p) & np.isfinite(y)
    if not bad.any():
        return
    first = np.flatnonzero(bad.ravel())[0]
    raise ValueError(
        f"Custom loss {label}: func returned NaN for {int(bad.sum())} of {bad.size} "
        f"elements (first at y_true={y.ravel()[first]:.6g}, "
        f"y_pred={p.ravel()[first]:.6g}). Return np.inf where the loss is undefined "
        "(the solvers then step back), or choose a link that keeps y_pred inside "
        "the loss's domain."
    )


# Offsets, in units of max(1, |y_pred|), at which a loss is probed for a
# decrease without bound: 1e3 to 1e18.
_PROBE_OFFSETS = 10.0 ** np.arange(3, 19, 3)
# Elements probed: the first few, enough to catch a sign error.
_PROBE_ELEMENTS = 64


def _check_bounded_below(func, y, p, kw_args, label):
    """Refuse an element-wise loss that falls without bound in y_pred.

    Along each direction the loss is evaluated at offsets 1e3 ... 1e18; it
    falls without bound when it decreases at every offset and the drops do
    not shrink (a bounded function's drops tend to zero). A loss of the
    wrong sign (``y_pred - y_true``, ``-(y - p) ** 2``) is caught here,
    before a fit that would run off to infinity.
    """
    y = np.asarray(y, dtype=np.float64).ravel()[:_PROBE_ELEMENTS]
    p = np.asarray(p, dtype=np.float64).ravel()[:_PROBE_ELEMENTS]
    scale = np.maximum(1.0, np.abs(p))
    for direction in (1.0, -1.0):
        points = p[None, :] + direction * _PROBE_OFFSETS[:, None] * scale[None, :]
        ys = np.broadcast_to(y, points.shape)
        try:
            values = _evaluate(func, ys, points, kw_args)
        except Exception:  # noqa: BLE001 - outside what func handles: no verdict
            continue
        with np.errstate(all="ignore"):
            drops = -np.diff(values, axis=0)
            falling = np.all(np.isfinite(values), axis=0) & np.all(drops > 0, axis=0)
            falling &= drops[-1] >= 0.5 * drops[-2]
        if falling.any():
            k = np.flatnonzero(falling)[0]
            raise ValueError(
                f"Custom loss {label}: func decreases without bound as y_pred moves "
                f"away from y_true (func = {values[-1, k]:.3g} at y_pred = "
                f"{points[-1, k]:.3g}, y_true = {y[k]:.3g}), so the objective has no "
                "minimum. Check the sign of the loss: a loss must be bounded below."
            )


def _complex_step(func, y, p, kw_args):
    """Derivative by complex step, or None when ``func`` cannot do it.

    ``func`` cannot when it raises on complex input, returns a real array
    (``np.abs``, ``.real`` and friends drop the imaginary part) or returns
    non-finite values.
    """
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = np.asarray(func(_read_only(y), _read_only(p + 1j * _COMPLEX_STEP),
                                  **kw_args))
    except Exception:  # noqa: BLE001 - any failure means "not complex-safe"
        return None
    if not np.iscomplexobj(out) or out.shape != p.shape:
        return None
    derivative = out.imag / _COMPLEX_STEP
    if not (np.all(np.isfinite(derivative)) and np.all(np.isfinite(out.real))):
        return None
    return derivative


def _central_difference(func, y, p, kw_args, value):
    """Derivative by central differences with a relative step.

    Where one side of the stencil leaves the domain of ``func`` (a
    non-finite value, e.g. ``log`` of a negative number next to zero), the
    one-sided difference on the other side is used.
    """
    h = _CENTRAL_STEP * np.maximum(1.0, np.abs(p))
    up, down = p + h, p - h
    f_up = _evaluate(func, y, up, kw_args)
    f_down = _evaluate(func, y, down, kw_args)
    with np.errstate(all="ignore"):
        central = (f_up - f_down) / (up - down)
        forward = (f_up - value) / (up - p)
        backward = (value - f_down) / (p - down)
    one_sided = np.where(np.isfinite(forward), forward, backward)
    return np.where(np.isfinite(central), central, one_sided)


def _mismatch(derivative, reference, value):
    """Share of elements where two derivatives disagree, and the worst gap."""
    gap = np.abs(derivative - reference)
    tolerance = _RTOL * (1 + np.abs(reference)) + _FTOL * np.abs(value)
    bad = ~(gap <= tolerance)  # NaN gaps count as disagreement
    if not bad.any():
        return 0.0, 0.0
    return float(bad.mean()), float(np.nanmax(np.where(bad, gap, 0.0)))


# ---------------------------------------------------------------------------
# Links: derivative of the prediction with respect to raw
# ---------------------------------------------------------------------------

# Closed forms d link.inverse(raw) / d raw of the element-wise links, written
# in terms of (raw, pred); other element-wise links fall back to differences.
_INVERSE_DERIVATIVES = {
    "identity": lambda raw, pred: np.ones_like(raw),
    "log": lambda raw, pred: pred,
    "log1p": lambda raw, pred: pred + 1,
    "logit": lambda raw, pred: pred * (1 - pred),
}


def _inverse_link_derivative(link, raw, pred):
    closed_form = _INVERSE_DERIVATIVES.get(link.name)
    if closed_form is not None:
        return closed_form(raw, pred)
    h = _CENTRAL_STEP * np.maximum(1.0, np.abs(raw))
    with np.errstate(all="ignore"):
        up = np.asarray(link.inverse(raw + h), dtype=np.float64)
        down = np.asarray(link.inverse(raw - h), dtype=np.float64)
    return (up - down) / (2 * h)


def _func_label(func):
    """A short readable name of a callable for reprs and messages."""
    if isinstance(func, functools.partial):
        args = [_func_label(func.func)]
        args += [repr(a) for a in func.args]
        args += [f"{k}={v!r}" for k, v in func.keywords.items()]
        return f"partial({', '.join(args)})"
    return getattr(func, "__qualname__", None) or repr(func)


# ---------------------------------------------------------------------------
# Shared machinery of the custom losses
# ---------------------------------------------------------------------------


class _CustomLossMixin:
    """Parameters, checks, derivatives and repr shared by the custom losses.

    The constructor parameter ``link`` may be a name or a link instance;
    the attribute ``link`` always returns a :class:`BaseLink` instance (the
    very instance given, if one was), so estimators can call
    ``loss.link.inverse`` and :func:`sklearn.base.clone` sees the parameter
    it passed in.
    """

    # A user's function may be anything: nothing is assumed of its shape.
    is_convex = False

    _valid_links = ()
    # Frames from the warning up to the caller of ``loss_gradient``.
    _warn_stacklevel = 5

    @property
    def link(self):
        return get_link(self._link_param)

    @link.setter
    def link(self, value):
        self._link_param = value

    # -- checks at use, as scikit-learn checks parameters in fit ------------

    def _check_params(self):
        if not callable(self.func):
            raise ValueError(f"func must be callable, got {self.func!r}.")
        if self.gradient is not None and not callable(self.gradient):
            raise ValueError(
                f"gradient must be callable or None, got {self.gradient!r}."
            )
        if self.kw_args is not None and not isinstance(self.kw_args, dict):
            raise ValueError(f"kw_args must be a dict or None, got {self.kw_args!r}.")
        link = self.link
        if link.name not in self._valid_links and not self._accepts_other_links:
            raise ValueError(
                f"link {link.name or link!r} is not supported by a custom "
                f"{self.task} loss; use one of {', '.join(self._valid_links)}."
            )

    _accepts_other_links = False

    @property
    def _kw(self):
        return {} if self.kw_args is None else self.kw_args

    def _label(self):
        return repr(self.name) if self.name is not None else _func_label(self.func)

    # -- value and derivative with respect to the prediction ---------------

    def _value_and_derivative(self, y, p):
        """Element-wise ``func(y, p)`` and its derivative with respect to ``p``."""
        value = _evaluate(self.func, y, p, self._kw)
        _check_no_nan(value, y, p, self._label())
        method = getattr(self, "_derivative_method", None)
        if method is None:
            if self.link.name == "identity":
                # Predictions range over every real: a sign error is possible.
                _check_bounded_below(self.func, y, p, self._kw, self._label())
            method = self._choose_derivative(y, p, value)
            self._derivative_method = method
        return value, self._derivative(method, y, p, value)

    def _derivative(self, method, y, p, value):
        if method == "gradient":
            return _evaluate(self.gradient, y, p, self._kw, what="gradient")
        if method == "complex_step":
            derivative = _complex_step(self.func, y, p, self._kw)
            if derivative is not None:
                return derivative
        return _central_difference(self.func, y, p, self._kw, value)

    def _choose_derivative(self, y, p, value):
        """Cross-check the derivatives on the first data seen; warn on disagreement."""
        central = _central_difference(self.func, y, p, self._kw, value)
        complex_ = _complex_step(self.func, y, p, self._kw)
        complex_share, complex_gap = (
            (1.0, np.inf) if complex_ is None else _mismatch(complex_, central, value)
        )
        complex_ok = complex_ is not None and complex_share == 0
        if self.gradient is not None:
            given = _evaluate(self.gradient, y, p, self._kw, what="gradient")
            share, gap = _mismatch(given, complex_ if complex_ok else central, value)
            if share:
                self._warn(
                    f"the gradient you passed disagrees with numerical differentiation "
                    f"of func on {share:.0%} of the elements (largest gap {gap:.3g}). "
                    "The gradient you passed is used; fix it, or drop gradient= to use "
                    "numerical derivatives."
                )
            return "gradient"
        if complex_ is None:
            # func drops or refuses the imaginary part: nothing to cross-check.
            return "central_difference"
        if complex_ok:
            return "complex_step"
        self._warn(
            f"complex-step and central-difference derivatives of func disagree on "
            f"{complex_share:.0%} of the elements (largest gap {complex_gap:.3g}), "
            "so func is probably not complex-analytic there (np.abs, np.maximum, "
            "np.where or a kink). Central differences are used; pass gradient= "
            "for exact derivatives."
        )
        return "central_difference"

    def _warn(self, message):
        warnings.warn(
            f"Custom loss {self._label()}: {message}", GradientCheckWarning,
            stacklevel=self._warn_stacklevel,
        )

    # -- display -----------------------------------------------------------

    def __str__(self):
        # The repr is scikit-learn's (it prints "<function f at 0x...>" and must
        # stay so for estimators' reprs to nest); str is the short, stable form
        # used in tables and messages.
        parts = [f"name={self.name!r}"] if self.name is not None else [
            f"func={_func_label(self.func)}"
        ]
        if self.gradient is not None:
            parts.append(f"gradient={_func_label(self.gradient)}")
        link = self._link_param
        link_name = link.name if isinstance(link, BaseLink) else link
        if link_name != self._default_link:
            parts.append(f"link={link_name!r}")
        if self.kw_args:
            parts.append(f"kw_args={self.kw_args!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _check_same_shape(y, p):
    if y.shape != p.shape:
        raise ValueError(
            f"y_true and y_pred must have the same shape, got {y.shape} and {p.shape}."
        )


# ---------------------------------------------------------------------------
# Regression
# ---------------------------------------------------------------------------


class CustomLoss(_CustomLossMixin, RegressionLoss):
    r"""A regression loss from an element-wise NumPy function.

    Usually made with :func:`make_loss`. The per-sample loss is
    ``func(y, link.inverse(raw))`` (the mean over outputs for multi-output
    targets) and its gradient with respect to ``raw`` is

    .. math::
        \frac{\partial \ell}{\partial \mathrm{raw}}
        = \frac{\partial f}{\partial \hat y}\,
          \frac{\partial \hat y}{\partial \mathrm{raw}},
        \qquad \hat y = \mathrm{link}^{-1}(\mathrm{raw}),

    with :math:`\partial f / \partial \hat y` from ``gradient`` when given,
    else from complex-step differentiation or central differences (see
    :func:`make_loss`).

    Parameters
    ----------
    func : callable
        ``func(y_true, y_pred, **kw_args)`` returning the per-element losses,
        an array shaped like ``y_pred``.
    gradient : callable, default=None
        ``gradient(y_true, y_pred, **kw_args)``: the derivative of ``func``
        with respect to ``y_pred``, element-wise.
    link : {"identity", "log", "log1p", "logit"} or BaseLink, default="identity"
        Link between raw predictions and predictions. The attribute
        ``link`` is always a :class:`~sklosses.losses.BaseLink` instance.
    name : str, default=None
        Display name in ``str(loss)``, tables and messages (the repr is
        scikit-learn's, listing every parameter).
    kw_args : dict, default=None
        Keyword arguments passed to ``func`` and ``gradient``: the loss's
        hyper-parameters, which grid searches reach as ``loss__kw_args``.

    Attributes
    ----------
    is_smooth : bool
        Always True: custom losses are assumed differentiable, so the
        estimators minimise them with L-BFGS.

    See Also
    --------
    make_loss : The factory, with details on the derivatives.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import CustomLoss
    >>> def log_cosh(y_true, y_pred):
    ...     return np.log(np.cosh(y_pred - y_true))
    >>> loss = CustomLoss(log_cosh, name="log_cosh")
    >>> print(loss)
    CustomLoss(name='log_cosh')
    >>> value, grad = loss.loss_gradient(np.array([0.0, 0.0]), np.array([0.0, 1.0]))
    >>> np.round(grad, 6)  # tanh(raw - y)
    array([0.      , 0.761594])
    """

    is_smooth = True
    _warn_stacklevel = 6  # one frame more: RegressionLoss.loss_gradient -> _elementwise
    _valid_links = ("identity", "log", "log1p", "logit")
    _default_link = "identity"
    # Any element-wise BaseLink works (its derivative by differences); the
    # softmax, which couples the outputs, does not.
    _accepts_other_links = True

    def __init__(self, func, *, gradient=None, link="identity", name=None, kw_args=None):
        self.func = func
        self.gradient = gradient
        self.link = link
        self.name = name
        self.kw_args = kw_args

    def _check_params(self):
        super()._check_params()
        if self.link.name == "softmax":
            raise ValueError(
                "link 'softmax' couples the outputs, but a custom regression loss is "
                "element-wise; use identity, log, log1p or logit."
            )

    def validate_target(self, y):
        """Raise ``ValueError`` for non-numeric or non-finite targets.

        Parameters
        ----------
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets.
        """
        self._check_params()
        y = np.asarray(y)
        check_numeric_target(y, f"Custom loss {self._label()}")
        super().validate_target(y)

    def _elementwise(self, y, raw):
        self._check_params()
        _check_same_shape(y, raw)
        if raw.ndim == 2 and self.link.name == "logit":
            raise ValueError(
                "link 'logit' is the softmax on 2-D raw predictions, which couples the "
                "outputs; a custom regression loss with several outputs needs an "
                "element-wise link (identity, log, log1p)."
            )
        y64 = np.asarray(y, dtype=np.float64)
        raw64 = np.asarray(raw, dtype=np.float64)
        pred = np.asarray(self.link.inverse(raw64), dtype=np.float64)
        value, derivative = self._value_and_derivative(y64, pred)
        gradient = derivative * _inverse_link_derivative(self.link, raw64, pred)
        return value.astype(raw.dtype, copy=False), gradient.astype(raw.dtype, copy=False)

    def _elementwise_pred(self, y, y_pred):
        self._check_params()
        _check_same_shape(y, y_pred)
        y64, p64 = np.asarray(y, np.float64), np.asarray(y_pred, np.float64)
        value = _evaluate(self.func, y64, p64, self._kw)
        _check_no_nan(value, y64, p64, self._label())
        return value.astype(y_pred.dtype, copy=False)


# ---------------------------------------------------------------------------
# Classification
# ---------------------------------------------------------------------------


def _class_columns(y, n_columns, margin):
    """Per-class targets: one-hot {0, 1}, or {-1, +1} signs for margin losses.

    Binary margin problems have a single column (labels {0, 1} or
    {-1, +1}); binary probabilistic problems have the two columns
    ``[class 0, class 1]``.
    """
    y = np.asarray(y)
    if margin and n_columns == 1:
        return np.where(y > 0, 1.0, -1.0)
    onehot = (y.astype(np.intp)[:, None] == np.arange(n_columns)).astype(np.float64)
    return 2 * onehot - 1 if margin else onehot


def _proba_columns(raw):
    """Class probabilities ``(n_samples, K)`` from 1-D (logit) or 2-D (softmax) raw."""
    if raw.ndim == 1:
        p1 = expit(raw)
        return np.column_stack([expit(-raw), p1])
    return softmax(raw, axis=1)


def _softmax_backward(proba, grad_proba, binary):
    """Gradient with respect to raw from the gradient with respect to probabilities."""
    if binary:
        # raw is the log-odds of class 1: dp1/draw = p0 p1 = -dp0/draw.
        return proba[:, 0] * proba[:, 1] * (grad_proba[:, 1] - grad_proba[:, 0])
    inner = (grad_proba * proba).sum(axis=1, keepdims=True)
    return proba * (grad_proba - inner)


class CustomClassificationLoss(_CustomLossMixin, ClassificationLoss):
    r"""A classification loss from an element-wise NumPy function.

    Usually made with ``make_loss(func, task="classification", link=...)``.
    The link decides the kind of loss:

    - ``link="logit"`` (or ``"softmax"``): a **probabilistic** loss.
      ``func(y_k, p_k)`` scores one class column, with ``y_k`` in {0, 1}
      the indicator of class ``k`` and ``p_k`` its predicted probability;
      the per-sample loss is the sum over the ``K`` classes (``K = 2`` for
      a binary problem), so ``func = lambda y, p: -y * np.log(p)`` is the
      log loss. Probabilities are the logistic function of 1-D raw (binary)
      or the softmax of raw of shape ``(n_samples, K)``; ``predict_proba``
      is available.
    - ``link="identity"``: a **margin** loss on decision values.
      ``func(y, z)`` takes signs ``y`` in {-1, +1} and decision values
      ``z``; binary problems have one column and ``K > 2`` classes are
      one-vs-rest, the per-sample loss being the sum over classes (as the
      built-in margin losses).

    Parameters
    ----------
    func : callable
        ``func(y_true, y_pred, **kw_args)``, element-wise (see above).
    gradient : callable, default=None
        Its derivative with respect to ``y_pred``, element-wise.
    link : {"logit", "softmax", "identity"} or BaseLink, default="logit"
        Probabilistic (logit, softmax) or margin (identity) loss.
    name : str, default=None
        Display name in ``str(loss)``, tables and messages (the repr is
        scikit-learn's, listing every parameter).
    kw_args : dict, default=None
        Keyword arguments passed to ``func`` and ``gradient``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import CustomClassificationLoss
    >>> def cross_entropy(y, p):
    ...     return -y * np.log(p)
    >>> loss = CustomClassificationLoss(cross_entropy)
    >>> round(loss([0, 1, 1], [0.2, 0.7, 0.9]), 4)  # sklearn's log_loss
    0.2284
    """

    is_smooth = True
    task = "classification"
    _valid_links = ("logit", "softmax", "identity")
    _default_link = "logit"

    def __init__(self, func, *, gradient=None, link="logit", name=None, kw_args=None):
        self.func = func
        self.gradient = gradient
        self.link = link
        self.name = name
        self.kw_args = kw_args

    @property
    def is_margin(self):
        """Whether the loss takes decision values and {-1, +1} labels."""
        return self.link.name == "identity"

    @property
    def is_probabilistic(self):
        """Whether :meth:`proba` gives class probabilities."""
        return not self.is_margin

    def validate_target(self, y):
        """Raise ``ValueError`` unless ``y`` holds class indices ({-1, +1} for margins).

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Class indices.
        """
        self._check_params()
        y = np.asarray(y)
        if self.is_margin and y.size and np.all(np.isin(y, (-1, 1))):
            return
        super().validate_target(y)

    def _n_columns(self, raw):
        if raw.ndim == 2:
            return raw.shape[1]
        return 1 if self.is_margin else 2

    def pointwise(self, y_true, y_pred):
        """Per-sample losses of probabilities or decision values.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices (margin losses also accept {-1, +1}).
        y_pred : array-like of shape (n_samples,) or (n_samples, K)
            Probability of class 1 (binary) or rows of class probabilities,
            clipped to ``[eps, 1 - eps]`` as :func:`sklearn.metrics.log_loss`
            does; decision values for margin losses.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
        """
        self._check_params()
        y_pred = as_float_array(y_pred)
        p = np.asarray(y_pred, dtype=np.float64)
        if not self.is_margin:
            p = np.column_stack([1 - p, p]) if p.ndim == 1 else p
            p = np.clip(p, _EPS, 1 - _EPS)
        targets = _class_columns(y_true, self._n_columns(y_pred), self.is_margin)
        value = _evaluate(self.func, targets, p, self._kw)
        value = value.sum(axis=1) if value.ndim == 2 else value
        return value.astype(y_pred.dtype, copy=False)

    def loss_gradient(self, y_true, raw, sample_weight=None):
        """Per-sample loss and its gradient with respect to ``raw``.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Class indices (margin losses also accept {-1, +1}).
        raw : ndarray of shape (n_samples,) or (n_samples, K)
            Log-odds of class 1 or logits (probabilistic), decision values
            (margin).
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies both outputs row-wise.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
        gradient : ndarray shaped like ``raw``
        """
        self._check_params()
        raw = as_float_array(raw)
        raw64 = np.asarray(raw, dtype=np.float64)
        targets = _class_columns(y_true, self._n_columns(raw), self.is_margin)
        if self.is_margin:
            value, gradient = self._value_and_derivative(targets, raw64)
        else:
            proba = np.maximum(_proba_columns(raw64), _TINY)
            value, grad_proba = self._value_and_derivative(targets, proba)
            gradient = _softmax_backward(proba, grad_proba, binary=raw.ndim == 1)
        loss = value.sum(axis=1) if value.ndim == 2 else value
        loss = loss.astype(raw.dtype, copy=False)
        gradient = gradient.astype(raw.dtype, copy=False)
        return apply_sample_weight(loss, gradient, sample_weight)

    def proba(self, raw):
        """Class probabilities ``(n_samples, K)`` (probabilistic links only).

        Parameters
        ----------
        raw : ndarray of shape (n_samples,) or (n_samples, K)
            Log-odds of class 1 (binary) or logits.

        Returns
        -------
        proba : ndarray of shape (n_samples, K)
        """
        if self.is_margin:
            raise AttributeError(
                f"Custom margin loss {self._label()} does not give probabilities; "
                "use link='logit'."
            )
        raw = as_float_array(raw)
        return _proba_columns(raw).astype(raw.dtype, copy=False)


# ---------------------------------------------------------------------------
# Factory
# ---------------------------------------------------------------------------

_TASKS = {"regression": CustomLoss, "classification": CustomClassificationLoss}


def make_loss(func, *, gradient=None, link=None, name=None, task="regression",
              kw_args=None):
    r"""Make a first-class loss from an element-wise NumPy function.

    Parameters
    ----------
    func : callable
        ``func(y_true, y_pred, **kw_args)`` returns the loss of each element,
        an array shaped like ``y_pred``, computed with NumPy on
        **predictions** ``y_pred = link.inverse(raw)``. Define it at module
        level (not as a lambda) so that the loss and the estimators using it
        pickle, which parallel grid searches need.
    gradient : callable, default=None
        ``gradient(y_true, y_pred, **kw_args)``: the derivative of ``func``
        with respect to ``y_pred``, element-wise. Checked against numerical
        differentiation at first use (a :class:`GradientCheckWarning` when
        they disagree; the given gradient is still used).
    link : str, BaseLink or None, default=None
        Link between raw predictions and predictions. ``None`` is the default
        of the loss class: ``"identity"`` for regression, ``"logit"`` for
        classification (as :class:`~sklosses.losses.CustomClassificationLoss`).
        Regression: ``"identity"``, ``"log"``, ``"log1p"``, ``"logit"`` or
        any element-wise :class:`~sklosses.losses.BaseLink`. Classification:
        ``"logit"`` (or ``"softmax"``) for a probabilistic loss,
        ``"identity"`` for a margin loss on decision values.
    name : str, default=None
        Display name in ``str(loss)``, tables and messages (the repr is
        scikit-learn's, listing every parameter).
    task : {"regression", "classification"}, default="regression"
        Whether the loss is for :class:`~sklosses.LossRegressor` or
        :class:`~sklosses.LossClassifier` (see
        :class:`~sklosses.losses.CustomClassificationLoss` for what ``func``
        receives there).
    kw_args : dict, default=None
        Hyper-parameters passed to ``func`` and ``gradient`` as keyword
        arguments. A grid search reaches them as ``loss__kw_args``, e.g.
        ``{"loss__kw_args": [{"delta": 0.5}, {"delta": 2.0}]}``
        (a :func:`functools.partial` of a module-level function works too).

    Returns
    -------
    loss : CustomLoss or CustomClassificationLoss
        A loss object like the built-in ones: it clones, pickles and
        grid-searches.

    Notes
    -----
    Without ``gradient``, the derivative with respect to ``y_pred`` comes
    from **complex-step differentiation**,
    :math:`f'(p) \approx \operatorname{Im} f(y, p + ih) / h` with
    :math:`h = 10^{-20}`, which is exact to machine precision, when ``func``
    accepts complex input and returns finite complex values. Otherwise, as
    when ``func`` uses ``np.abs`` (which returns a real array), it comes from
    **central differences** with the relative step
    :math:`h = \epsilon^{1/3} \max(1, |p|)` (about 1e-10 relative error),
    one-sided where the stencil leaves the domain of ``func``.

    At the first call of ``loss_gradient`` (the start of ``fit``) both are
    computed on the data and compared; when they disagree, which happens
    when ``func`` is not complex-analytic (``np.maximum``, ``np.where`` on
    comparisons, kinks), a :class:`GradientCheckWarning` says so and central
    differences are used. The decision is kept until the loss is cloned
    (each ``fit`` clones it).

    ``func`` receives read-only arrays (an in-place ``y_true -= y_pred``
    raises instead of changing the caller's data) and is checked where it is
    used: NaN at finite inputs, integer or boolean values and, for the
    identity link, a loss that decreases without bound (a sign error) raise
    a ``ValueError`` that says so. Return ``np.inf`` where the loss is
    undefined.

    Custom losses are assumed smooth (``is_smooth=True``): the estimators
    minimise them with L-BFGS. The starting intercept minimises the loss over
    a constant numerically. Derivatives are taken in float64 and cast to the
    dtype of ``raw``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_regression
    >>> from sklosses import LossRegressor, make_loss
    >>> def pseudo_huber(y_true, y_pred, delta=1.0):
    ...     r = (y_pred - y_true) / delta
    ...     return delta**2 * (np.sqrt(1 + r * r) - 1)
    >>> loss = make_loss(pseudo_huber, name="pseudo_huber", kw_args={"delta": 2.0})
    >>> print(loss)
    CustomLoss(name='pseudo_huber', kw_args={'delta': 2.0})
    >>> round(loss([0.0, 0.0], [0.0, 2.0]), 4)  # mean of 0 and 4 (sqrt(2) - 1)
    0.8284
    >>> X, y = make_regression(n_samples=50, n_features=2, noise=0.1, random_state=0)
    >>> reg = LossRegressor(loss=loss).fit(X, y)
    >>> round(reg.score(X, y), 3)
    1.0
    """
    if not callable(func):
        raise TypeError(f"func must be callable, got {func!r}.")
    if gradient is not None and not callable(gradient):
        raise TypeError(f"gradient must be callable or None, got {gradient!r}.")
    if task not in _TASKS:
        raise ValueError(f"task must be 'regression' or 'classification', got {task!r}.")
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a string or None, got {name!r}.")
    if kw_args is not None and not isinstance(kw_args, dict):
        raise TypeError(f"kw_args must be a dict or None, got {kw_args!r}.")
    cls = _TASKS[task]
    link = cls._default_link if link is None else link
    loss = cls(func, gradient=gradient, link=get_link(link), name=name, kw_args=kw_args)
    loss._check_params()
    return loss


"""Base classes shared by every loss.

Conventions
-----------
- ``raw`` is what a model outputs (logits, log-mean, decision values). It is
  1-D of shape ``(n_samples,)`` for a single output or a binary problem, and
  2-D of shape ``(n_samples, n_outputs)`` otherwise.
- ``y_pred`` is ``link.inverse(raw)`` for value and probability losses, and the
  decision value (``raw`` itself) for margin losses.
- ``loss_gradient`` works on ``raw``; ``__call__`` and ``pointwise`` work on
  predictions, so that ``loss(y, estimator.predict(X))`` is the metric.
- Computations keep the dtype of ``raw`` (float32 in, float32 out).
"""

import hashlib
import threading
from abc import ABCMeta, abstractmethod
from collections import OrderedDict

import numpy as np
from scipy.optimize import minimize
from sklearn.base import BaseEstimator

from ._domain import REAL_LINE, ClassIndices
from ._link import IdentityLink


def as_float_array(a, dtype=None):
    """Return ``a`` as a floating ndarray (float64 unless already floating)."""
    a = np.asarray(a)
    if dtype is not None:
        return a.astype(dtype, copy=False)
    if np.issubdtype(a.dtype, np.floating):
        return a
    return a.astype(np.float64)


def check_numeric_target(y, owner, advice=""):
    """Raise ``ValueError`` unless ``y`` is a numeric or boolean array.

    Regression losses need numbers; the message names ``owner`` and ends with
    ``advice`` (which, when given, starts with a space).
    """
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        raise ValueError(f"{owner} expects numeric targets, got dtype {y.dtype}.{advice}")


def apply_sample_weight(loss, gradient, sample_weight):
    """Multiply per-sample losses and row gradients by ``sample_weight`` in place."""
    if sample_weight is None:
        return loss, gradient
    sw = np.asarray(sample_weight, dtype=loss.dtype)
    loss *= sw
    gradient *= sw[:, None] if gradient.ndim == 2 else sw
    return loss, gradient


class BaseLoss(BaseEstimator, metaclass=ABCMeta):
    """Base class of every loss.

    A loss is a small estimator-like object: its hyper-parameters are
    constructor arguments, so ``get_params``, ``set_params``, ``clone`` and
    nested grid-search names such as ``loss__delta`` work.

    Attributes
    ----------
    link : BaseLink
        Maps raw predictions to predictions (``link.inverse``) and back.
    target_domain : TargetDomain
        Where the targets live (:class:`~sklosses.losses.Interval`,
        :class:`~sklosses.losses.ProbabilityRows` or
        :class:`~sklosses.losses.ClassIndices`). :meth:`validate_target`,
        the estimators' tags and the command line's default losses are
        derived from it. Every real target by default.
    is_smooth : bool
        Whether the gradient is Lipschitz continuous, so that quasi-Newton
        solvers reach the optimum.
    has_smoothed_surrogate : bool
        Whether a non-smooth loss provides :meth:`smoothed`, a smooth
        surrogate within ``mu``, so that the full-batch solvers for smooth
        objectives can fit it by continuation on ``mu``. Smooth losses are
        their own surrogate; a non-smooth loss without one is left to the
        solvers that handle non-smooth losses (``"sgd"``, ``"adam"``).
    is_probabilistic : bool
        Whether :meth:`proba` gives class probabilities (classification only).
    is_margin : bool
        Whether the loss is a margin loss on decision values with labels in
        {-1, +1}.
    optimum_at_infinity : bool
        Whether the loss approaches its infimum only as raw predictions grow
        without bound (log-loss, focal, exponential): on separable data and
        without a penalty the optimum is at infinity.
    is_convex : bool
        Whether the loss is convex in the raw prediction, so that a linear
        model's penalised objective has one optimal value whatever the start
        (a warm start may then replace a cold one). True for the built-in
        losses but focal with ``gamma > 0`` and Tweedie outside
        ``1 <= power <= 2``; False for custom losses, which do not say.
    rows_independent : bool
        Whether :meth:`loss_gradient` of a row depends on that row alone, so
        that it may be evaluated on blocks of rows and the blocks' results
        joined (the linear model's cache-blocked evaluation). False unless a
        loss declares it: one whose rows share a fitted quantity (a scale
        estimated jointly) must not be split.
    outputs_independent : bool
        Whether the loss of a row is a sum of one function per raw output
        column, each of that column alone (one-vs-rest margin losses), so
        that the Hessian on raw predictions is diagonal across outputs and a
        linear model's problem splits into one independent problem per
        output: Newton then factorises one ``(p + 1)``-square block per
        output instead of the whole matrix. False unless a loss declares it.
    task : {"regression", "classification"}
        Which estimator accepts the loss.
    """

    link = IdentityLink()
    target_domain = REAL_LINE
    is_smooth = True
    has_smoothed_surrogate = False
    is_probabilistic = False
    is_margin = False
    optimum_at_infinity = False
    is_convex = True
    rows_independent = False
    outputs_independent = False
    task = "regression"

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Weighted mean loss of predictions.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets (class indices 0..K-1 for classification).
        y_pred : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Predictions: values, probabilities, or decision values for margin
            losses.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        loss : float
            ``sum(w_i * l_i) / sum(w_i)``.
        """
        losses = self.pointwise(y_true, y_pred)
        return float(np.average(losses, weights=sample_weight))

    @abstractmethod
    def pointwise(self, y_true, y_pred):
        """Per-sample losses of predictions, an ndarray of shape (n_samples,)."""

    @abstractmethod
    def loss_gradient(self, y_true, raw, sample_weight=None):
        """Per-sample loss and its gradient with respect to ``raw``.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        raw : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Raw predictions.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies both outputs row-wise when given.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
        gradient : ndarray shaped like ``raw``
        """

    def loss(self, y_true, raw, sample_weight=None):
        """Per-sample loss on raw predictions, an ndarray of shape (n_samples,)."""
        return self.loss_gradient(y_true, raw, sample_weight)[0]

    def init_raw(self, y_true, sample_weight=None):
        """Best constant raw prediction: the starting intercept.

        The default minimises the weighted mean loss over a constant by
        L-BFGS; subclasses with a closed form (mean, median, log-odds, ...)
        override it.

        Returns
        -------
        raw : float or ndarray of shape (n_outputs,)
        """
        return minimize_constant(self, y_true, sample_weight)

    def _n_raw_outputs_for(self, y):
        """Number of raw columns for ``y`` (0 means 1-D raw)."""
        return y.shape[1] if y.ndim == 2 else 0

    def _weighted_kernel(self, y, weight):
        """A :class:`~sklosses.losses._kernels.WeightedKernel` for these
        targets and normalised weights, or None (the general per-sample path).

        Only for 1-D raw predictions in float64: the losses that have one
        override this hook.
        """
        return None

    def validate_target(self, y):
        """Raise ``ValueError`` when ``y`` is outside the loss's domain.

        Non-finite numbers are refused first; then ``target_domain`` checks
        the values and words the message.

        Parameters
        ----------
        y : array-like
            Targets as the loss receives them.
        """
        y = np.asarray(y)
        if np.issubdtype(y.dtype, np.number) and not np.all(np.isfinite(y)):
            raise ValueError(
                f"{type(self).__name__}: y contains NaN or infinity. Remove or "
                "impute those rows before fitting."
            )
        if y.size:
            self.target_domain.check(y, type(self).__name__)

    def smoothed(self, mu):
        """Smooth surrogate within ``mu`` of this loss at every point.

        Smooth losses return themselves. A non-smooth loss with
        ``has_smoothed_surrogate = True`` overrides this method and returns a
        smooth loss ``l_mu`` with ``|l - l_mu| <= mu`` per sample (Nesterov
        smoothing), used by the solvers' continuation on ``mu``.
        """
        if self.is_smooth:
            return self
        raise NotImplementedError(
            f"{type(self).__name__} is not smooth and declares no smoothed surrogate "
            "(has_smoothed_surrogate is False); fit it with a solver that handles "
            "non-smooth losses."
        )


# The last few best constants of the built-in losses. Every fit along a
# regularisation path (and the preconditioner's value scale of each fit)
# asks for the best constant of the same loss, targets and weights; without
# the memo an iterative one (Huber's joint scale, ...) was a third of a
# path's time. Keys hash the data, so only identical inputs share a result.
_CONSTANT_MEMO = OrderedDict()
_CONSTANT_MEMO_SIZE = 8
_CONSTANT_MEMO_LOCK = threading.Lock()


def _memo_key(loss, y, sample_weight):
    """Key of :data:`_CONSTANT_MEMO`, or None when the inputs cannot be keyed exactly.

    A user's loss (``make_loss``, or a class defined outside sklosses) may
    depend on state its parameters do not show, and a parameter that is not
    a number, a string or an array of numbers has no exact key: no memo then.
    """
    module = type(loss).__module__
    if not module.startswith("sklosses.losses") or module == "sklosses.losses._custom":
        return None
    params = []
    for name, value in sorted(loss.get_params(deep=False).items()):
        if value is None or isinstance(value, (bool, int, float, str, np.number)):
            params.append((name, type(value).__name__, value))
        elif isinstance(value, (list, tuple, np.ndarray)):
            array = np.asarray(value)
            if array.dtype.kind not in "biuf":
                return None
            params.append((name, _digest(array)))
        else:
            return None
    return type(loss), tuple(params), _digest(y), _digest(sample_weight)


def _digest(a):
    """Exact fingerprint of an array: shape, dtype and a hash of its bytes."""
    if a is None:
        return None
    a = np.ascontiguousarray(a)
    return a.shape, a.dtype.str, hashlib.blake2b(a.view(np.uint8)).digest()


def minimize_constant(loss, y, sample_weight):
    """Minimise the weighted mean loss over a constant raw prediction.

    Starts from 0 with as many raw columns as ``loss._n_raw_outputs_for(y)``
    asks for; returns a float for 1-D raw, else an ndarray of shape
    (n_outputs,). Results for built-in losses are remembered for the last
    few distinct inputs.
    """
    y = np.asarray(y)
    key = _memo_key(loss, y, sample_weight)
    with _CONSTANT_MEMO_LOCK:  # paths may run in threads
        found = _CONSTANT_MEMO.get(key) if key is not None else None
        if found is not None:
            _CONSTANT_MEMO.move_to_end(key)
    if found is not None:
        return found if isinstance(found, float) else found.copy()
    constant = _minimize_constant(loss, y, sample_weight)
    if key is not None:
        with _CONSTANT_MEMO_LOCK:
            _CONSTANT_MEMO[key] = (constant if isinstance(constant, float)
                                   else constant.copy())
            while len(_CONSTANT_MEMO) > _CONSTANT_MEMO_SIZE:
                _CONSTANT_MEMO.popitem(last=False)
    return constant


def _minimize_constant(loss, y, sample_weight):
    n_outputs = loss._n_raw_outputs_for(y)
    scalar = not n_outputs
    x0 = np.zeros(n_outputs if n_outputs else 1)
    n = y.shape[0]
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    total = n if sw is None else sw.sum()

    def fun(c):
        raw = np.full(n, c[0]) if scalar else np.tile(c, (n, 1))
        value, grad = loss.loss_gradient(y, raw, sw)
        g = grad.sum(axis=0)
        return value.sum() / total, np.atleast_1d(g) / total

    result = minimize(fun, x0, jac=True, method="L-BFGS-B",
                      options={"gtol": 1e-10, "ftol": 1e-14, "maxiter": 500})
    return float(result.x[0]) if scalar else result.x


class RegressionLoss(BaseLoss):
    """Base of regression losses that act element-wise on (y, raw).

    Subclasses implement :meth:`_elementwise`. For multi-output targets, the
    per-sample loss is the mean over outputs (scikit-learn's
    ``multioutput="uniform_average"``) and the gradient is divided accordingly.
    """

    task = "regression"

    @abstractmethod
    def _elementwise(self, y, raw):
        """Element-wise loss and derivative with respect to raw (same shapes)."""

    def _elementwise_pred(self, y, y_pred):
        """Element-wise loss of predictions; default goes through the link."""
        with np.errstate(divide="ignore", invalid="ignore"):
            raw = self.link.link(y_pred)
        return self._elementwise(y, raw)[0]

    def pointwise(self, y_true, y_pred):
        y_pred = as_float_array(y_pred)
        y = as_float_array(y_true, y_pred.dtype)
        loss = self._elementwise_pred(y, y_pred)
        return loss.mean(axis=1) if loss.ndim == 2 else loss

    def loss_gradient(self, y_true, raw, sample_weight=None):
        raw = as_float_array(raw)
        y = as_float_array(y_true, raw.dtype)
        loss, gradient = self._elementwise(y, raw)
        if raw.ndim == 2:
            loss = loss.mean(axis=1)
            gradient = gradient / raw.shape[1]
        return apply_sample_weight(loss, gradient, sample_weight)


class ClassificationLoss(BaseLoss):
    """Base of classification losses.

    Labels given to the loss are class indices: ``{0, 1}`` for binary
    problems (margin losses also accept ``{-1, +1}``), ``0..K-1`` for ``K``
    classes. Raw predictions are 1-D for binary problems and of shape
    ``(n_samples, K)`` otherwise.
    """

    task = "classification"
    target_domain = ClassIndices()

    def n_raw_outputs(self, n_classes):
        """Number of raw columns for ``n_classes`` (1 means 1-D raw)."""
        return 1 if n_classes == 2 else n_classes

    def _n_raw_outputs_for(self, y):
        n_classes = max(int(np.max(y)) + 1, 2) if np.size(y) else 2
        n = self.n_raw_outputs(n_classes)
        return 0 if n == 1 else n

    def proba(self, raw):
        """Class probabilities from raw predictions, shape (n_samples, n_classes)."""
        raise AttributeError(f"{type(self).__name__} does not give probabilities.")

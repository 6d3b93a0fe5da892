"""Models whose outputs are non-decreasing for every input (non-crossing levels).

Two constructions, both exact in floating point for every ``x`` in R^p:

- :class:`LocationShiftModel` (linear): ``raw_k = x . w + b_k`` with one
  weight vector and ``b_1 <= ... <= b_K``. Linear functions with different
  slopes cross somewhere in R^p, so a linear model non-crossing on all of
  R^p must share its slope: this is the only such linear model.
- :class:`MonotoneOutputs` (any base model, used for MLPs): the base model's
  first output is the lowest level and its other outputs are the gaps to the
  next level through a softplus, ``raw_k = raw_{k-1} + softplus(z_k)``.

The gaps are parametrised as ``softplus(c)``, a smooth increasing bijection
of R onto (0, inf), so the solvers see an unconstrained problem. For the
location-shift model, whose objective is convex in ``(w, b)``, every
stationary point in the new parameters is a global minimum of the original
problem over increasing intercepts (the Jacobian of the change of variables
is triangular with a positive diagonal).
"""

import numpy as np
from scipy.special import expit

from ._base import BaseModel
from ._mlp import MLP


def _softplus(z):
    """``log(1 + exp(z))`` without overflow, in the dtype of ``z``."""
    return np.logaddexp(0, z)


def _softplus_inverse(gap, dtype):
    """``c`` with ``softplus(c) == gap`` for ``gap > 0``; clipped for ``gap == 0``.

    A zero gap (a softplus that underflowed) maps to ``log`` of the smallest
    normal number, whose softplus is about that number: finite parameters
    that reproduce the gap to within it.
    """
    dtype = np.dtype(dtype)
    tiny = np.finfo(dtype).tiny
    gap = np.maximum(np.asarray(gap, dtype=np.float64), tiny)
    # c = log(expm1(gap)), written as gap + log(1 - exp(-gap)) for large gaps
    c = gap + np.log(-np.expm1(-gap))
    return np.maximum(c, np.log(tiny)).astype(dtype)


def _start_gaps(raw0):
    """Positive gaps between sorted starting levels ``raw0``.

    Tied levels (e.g. a discrete target) would give a zero gap, a softplus
    argument of -inf and no gradient: they get a small positive gap instead,
    a thousandth of the spread of the levels (or of their size).
    """
    raw0 = np.maximum.accumulate(np.asarray(raw0, dtype=np.float64))
    gaps = np.diff(raw0)
    scale = max(float(raw0[-1] - raw0[0]), float(np.max(np.abs(raw0))), 1.0)
    return np.maximum(gaps, 1e-3 * scale)


def _cumulative_levels(first, gaps_raw):
    """``[first, first + softplus(g_2), ...]`` along the last axis."""
    out = np.empty(first.shape[:-1] + (gaps_raw.shape[-1] + 1,), dtype=first.dtype)
    out[..., :1] = first
    np.cumsum(_softplus(gaps_raw), axis=-1, out=out[..., 1:])
    out[..., 1:] += first
    return out


def _tail_sums(g):
    """``T_k = sum_{j >= k} g_j`` along the last axis (reverse cumulative sum)."""
    return np.cumsum(g[..., ::-1], axis=-1)[..., ::-1]


class LocationShiftModel(BaseModel):
    r"""Linear quantile (or expectile) curves that never cross: shared slope.

    .. math::
        \mathrm{raw}_k = X w + b_k, \qquad
        b_k = b_1 + \sum_{j=2}^{k} \mathrm{softplus}(c_j),

    so that :math:`\mathrm{raw}_1 \le \dots \le \mathrm{raw}_K` for every row
    of every ``X``. The flat vector is ``[w, b_1, c_2, ..., c_K]``: ``w`` is
    the only penalised part. Without intercept ``b_1 = 0`` and the gaps
    ``c_k`` remain (levels of a location-shift model differ only by them).

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_outputs : int
        Number of levels ``K``, at least 2.
    fit_intercept : bool, default=True
        Whether the lowest level has an intercept ``b_1``.
    dtype : numpy dtype, default=np.float64
        Dtype of the parameters and of the computations.

    Notes
    -----
    Fitted attributes are those of a ``K``-output linear model: ``coef_`` of
    shape ``(K, n_features)`` (``K`` equal rows) and ``intercept_`` of shape
    ``(K,)`` (non-decreasing), so that level ``k`` predicts
    ``X @ coef_[k] + intercept_[k]``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.models._monotone import LocationShiftModel
    >>> model = LocationShiftModel(2, 3)
    >>> params = model.set_output_intercept(model.init_params(), np.array([-1.0, 0.0, 2.0]))
    >>> model.predict_raw(params, np.zeros((1, 2))).round(6)
    array([[-1.,  0.,  2.]])
    """

    def __init__(self, n_features, n_outputs, *, fit_intercept=True, dtype=np.float64):
        super().__init__(n_features, n_outputs, fit_intercept=fit_intercept, dtype=dtype)
        if self.n_outputs < 2:
            raise ValueError(
                f"LocationShiftModel orders at least 2 outputs, got n_outputs={n_outputs}."
            )

    @property
    def n_weights(self):
        return self.n_features

    @property
    def n_params(self):
        return self.n_features + int(self.fit_intercept) + self.n_outputs - 1

    def _split(self, params):
        """Views ``(w, b_1 or None, c)`` of the flat vector."""
        p = self.n_features
        w = params[:p]
        b1 = params[p] if self.fit_intercept else None
        c = params[p + int(self.fit_intercept):]
        return w, b1, c

    def offsets(self, params):
        """The non-decreasing intercepts ``b_1, ..., b_K``, an ndarray (K,)."""
        _, b1, c = self._split(params)
        first = np.zeros(1, dtype=params.dtype) if b1 is None else np.atleast_1d(b1)
        return _cumulative_levels(first.astype(params.dtype), c)

    def init_params(self, random_state=None):
        # A convex problem needs no random start: zeros make fits reproducible.
        return self.zeros()

    def forward(self, params, X):
        w = params[: self.n_features]
        shared = np.asarray(X @ w).reshape(-1, 1)
        # One broadcast addition of sorted offsets: rounding is monotone, so
        # the rows stay sorted in floating point too.
        return shared + self.offsets(params), X

    def backward(self, params, cache, grad_raw):
        X = cache
        _, _, c = self._split(params)
        grad = np.empty(self.n_params, dtype=grad_raw.dtype)
        grad[: self.n_features] = np.asarray(X.T @ grad_raw.sum(axis=1)).ravel()
        tails = _tail_sums(grad_raw.sum(axis=0))
        start = self.n_features
        if self.fit_intercept:
            grad[start] = tails[0]
            start += 1
        grad[start:] = expit(c) * tails[1:]
        return grad

    def set_output_intercept(self, params, raw0):
        raw0 = np.broadcast_to(np.asarray(raw0, dtype=np.float64), (self.n_outputs,))
        start = self.n_features
        if self.fit_intercept:
            params[start] = np.maximum.accumulate(raw0)[0]
            start += 1
        params[start:] = _softplus_inverse(_start_gaps(raw0), params.dtype)
        return params

    def to_attributes(self, params, *, single_output=False):
        w = params[: self.n_features]
        return {"coef_": np.tile(w, (self.n_outputs, 1)), "intercept_": self.offsets(params)}

    def from_attributes(self, estimator):
        coef = np.asarray(estimator.coef_, dtype=self.dtype).reshape(self.n_outputs, -1)
        intercept = np.asarray(estimator.intercept_, dtype=self.dtype).reshape(-1)
        return self.params_for(coef[0], intercept)

    def params_for(self, weights, offsets):
        """The flat parameters of slope ``weights`` and non-decreasing ``offsets``.

        Equal offsets (zero gaps, e.g. tied quantiles of an exact fit) get the
        finite softplus argument of the smallest normal number, so the levels
        are reproduced to within it (see ``_softplus_inverse``). Without an
        intercept ``offsets[0]`` is taken as 0.

        Parameters
        ----------
        weights : ndarray of shape (n_features,)
        offsets : ndarray of shape (n_outputs,)
            Non-decreasing.

        Returns
        -------
        params : ndarray of shape (n_params,)
        """
        params = self.zeros()
        offsets = np.asarray(offsets, dtype=np.float64).reshape(-1)
        params[: self.n_features] = weights
        start = self.n_features
        if self.fit_intercept:
            params[start] = offsets[0]
            start += 1
        params[start:] = _softplus_inverse(np.diff(offsets), self.dtype)
        return params


class MonotoneOutputs(BaseModel):
    r"""Non-decreasing outputs on top of any model: a base plus softplus gaps.

    .. math::
        \mathrm{raw}_1 = z_1, \qquad
        \mathrm{raw}_k = \mathrm{raw}_{k-1} + \mathrm{softplus}(z_k),

    with ``z = base.forward(params, X)``. The gaps are non-negative in
    floating point, so the outputs are ordered for every input, also far
    outside the training data, where a ReLU network's ``z`` grows linearly
    and the gaps with it.

    Parameters
    ----------
    base : BaseModel
        The model producing ``z``, with ``n_outputs = K >= 2``. Its
        parameters, penalty layout and fitted attributes are this model's.

    Notes
    -----
    Fitted attributes are the base model's (``coefs_`` and ``intercepts_``
    for an MLP): the last layer's first column is the lowest level and its
    other columns the softplus arguments of the gaps.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.models import MLP
    >>> from sklosses.models._monotone import MonotoneOutputs
    >>> model = MonotoneOutputs(MLP(2, 3, hidden_layer_sizes=(4,)))
    >>> params = model.init_params(random_state=0)
    >>> raw = model.predict_raw(params, np.random.RandomState(0).randn(100, 2) * 1e6)
    >>> bool(np.all(np.diff(raw, axis=1) >= 0))
    True
    """

    def __init__(self, base):
        super().__init__(base.n_features, base.n_outputs, fit_intercept=base.fit_intercept,
                         dtype=base.dtype)
        if self.n_outputs < 2:
            raise ValueError(
                f"MonotoneOutputs orders at least 2 outputs, got n_outputs={base.n_outputs}."
            )
        self.base = base

    @property
    def n_weights(self):
        return self.base.n_weights

    @property
    def n_params(self):
        return self.base.n_params

    def init_params(self, random_state=None):
        return self.base.init_params(random_state)

    def forward(self, params, X):
        z, cache = self.base.forward(params, X)
        return _cumulative_levels(z[:, :1], z[:, 1:]), (cache, z)

    def predict_raw(self, params, X):
        z = self.base.predict_raw(params, X)
        return _cumulative_levels(z[:, :1], z[:, 1:])

    def backward(self, params, cache, grad_raw):
        base_cache, z = cache
        tails = _tail_sums(np.asarray(grad_raw, dtype=z.dtype))
        grad_z = np.empty_like(z)
        grad_z[:, 0] = tails[:, 0]
        np.multiply(expit(z[:, 1:]), tails[:, 1:], out=grad_z[:, 1:])
        return self.base.backward(params, base_cache, grad_z)

    def set_output_intercept(self, params, raw0):
        """Output biases that give the levels ``raw0`` where the base's ``z`` is 0."""
        raw0 = np.broadcast_to(np.asarray(raw0, dtype=np.float64), (self.n_outputs,))
        bias = np.empty(self.n_outputs, dtype=params.dtype)
        bias[0] = np.maximum.accumulate(raw0)[0]
        bias[1:] = _softplus_inverse(_start_gaps(raw0), params.dtype)
        return self.base.set_output_intercept(params, bias)

    def to_attributes(self, params, *, single_output=False):
        return self.base.to_attributes(params, single_output=single_output)

    def from_attributes(self, estimator):
        return self.base.from_attributes(estimator)


def make_monotone_model(hidden_layer_sizes, activation, n_features, n_outputs,
                        fit_intercept, dtype):
    """A model with non-decreasing outputs: location shift (linear) or softplus gaps.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int
        ``()`` for the linear :class:`LocationShiftModel`, else the hidden
        layers of the MLP under :class:`MonotoneOutputs`.
    activation : str or Activation
        Activation of the MLP's hidden layers.
    n_features, n_outputs : int
        Input features and ordered outputs (``n_outputs >= 2``).
    fit_intercept : bool
        Whether the output layer has an intercept.
    dtype : numpy dtype
        Dtype of the parameters.

    Returns
    -------
    model : BaseModel
    """
    if len(hidden_layer_sizes) == 0:
        return LocationShiftModel(n_features, n_outputs, fit_intercept=fit_intercept,
                                  dtype=dtype)
    return MonotoneOutputs(MLP(n_features, n_outputs, hidden_layer_sizes=hidden_layer_sizes,
                               activation=activation, fit_intercept=fit_intercept,
                               dtype=dtype))


__all__ = ["LocationShiftModel", "MonotoneOutputs", "make_monotone_model"]

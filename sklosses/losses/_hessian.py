"""Second derivatives of a loss with respect to its raw predictions.

``loss.gradient_hessian(y, raw, sample_weight)`` returns the gradient and
one of these objects, which describe the per-sample Hessians
``H_i = d^2 loss_i / d raw_i^2`` (scalars for 1-D raw, ``K x K`` matrices for
raw of shape ``(n_samples, K)``) without forming an ``n x K x K`` array:

- :class:`ElementwiseHessian`: the loss is a sum of functions of single raw
  entries, so every ``H_i`` is diagonal (one output, multi-output regression,
  one-vs-rest margin losses);
- :class:`SoftmaxHessian`: losses of ``softmax(raw_i)``, whose ``H_i`` is
  ``a_i (diag(p_i) - p_i p_i^T) + b_i u_i u_i^T``.

Models consume them through :meth:`RawHessian.entry` (the ``(k, l)`` entry of
every ``H_i`` at once, to form ``X^T D_kl X``) and :meth:`RawHessian.matvec`
(Hessian-vector products, for Hessian-free solvers).
"""

from abc import ABCMeta, abstractmethod

import numpy as np


class RawHessian(metaclass=ABCMeta):
    """Per-sample Hessians of a loss with respect to raw predictions.

    Attributes
    ----------
    is_diagonal : bool
        Whether every per-sample Hessian is diagonal.
    """

    is_diagonal = False

    @property
    @abstractmethod
    def shape(self):
        """Shape of the raw predictions the Hessians belong to."""

    @abstractmethod
    def matvec(self, v):
        """Per-sample products ``H_i v_i`` for ``v`` shaped like raw."""

    @abstractmethod
    def entry(self, k, l):
        """Entry ``(k, l)`` of every ``H_i``, an ndarray of shape (n_samples,)."""

    @abstractmethod
    def rows(self, rows):
        """The Hessians of the samples ``rows`` (a slice), as views where possible.

        Lets a model take Hessian products block by block of rows.
        """

    @property
    def n_outputs(self):
        """Number of raw columns (1 for 1-D raw)."""
        return self.shape[1] if len(self.shape) == 2 else 1

    def to_dense(self):
        """The per-sample Hessians as an ndarray of shape (n_samples, K, K).

        Meant for tests and small problems: it holds ``n * K * K`` numbers.
        """
        n, k = self.shape[0], self.n_outputs
        out = np.empty((n, k, k), dtype=self.dtype)
        for a in range(k):
            for b in range(k):
                out[:, a, b] = self.entry(a, b)
        return out

    def is_nonnegative(self):
        """Whether every ``H_i`` is positive semi-definite by construction."""
        return False


class ElementwiseHessian(RawHessian):
    """Diagonal per-sample Hessians: ``H_i = diag(d_i)``.

    Parameters
    ----------
    diagonal : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        Second derivatives, shaped like raw.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import ElementwiseHessian
    >>> h = ElementwiseHessian(np.array([2.0, 0.5]))
    >>> h.matvec(np.array([1.0, 4.0]))
    array([2., 2.])
    """

    is_diagonal = True

    def __init__(self, diagonal):
        self.diagonal = diagonal

    @property
    def shape(self):
        return self.diagonal.shape

    @property
    def dtype(self):
        return self.diagonal.dtype

    def matvec(self, v):
        return self.diagonal * v

    def rows(self, rows):
        return ElementwiseHessian(self.diagonal[rows])

    def entry(self, k, l):
        if self.diagonal.ndim == 1:
            return self.diagonal
        if k != l:
            return np.zeros(self.diagonal.shape[0], dtype=self.diagonal.dtype)
        return self.diagonal[:, k]

    def is_nonnegative(self):
        return bool(np.all(self.diagonal >= 0))


class SoftmaxHessian(RawHessian):
    r"""Per-sample Hessians of a loss of ``p = softmax(raw)``.

    .. math::
        H_i = a_i \left(\mathrm{diag}(p_i) - p_i p_i^\top\right) + b_i u_i u_i^\top

    The first term is the Hessian of the log-sum-exp (the log loss and the
    KL divergence have ``b = 0``); the rank-one term carries the curvature of
    a non-linear function of ``p_y`` (the focal loss).

    Parameters
    ----------
    proba : ndarray of shape (n_samples, K)
        Softmax probabilities ``p``.
    scale : ndarray of shape (n_samples,)
        ``a_i`` (sample weights included).
    rank_one_scale : ndarray of shape (n_samples,), default=None
        ``b_i``; None means no rank-one term.
    rank_one_direction : ndarray of shape (n_samples, K), default=None
        ``u_i``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses import SoftmaxHessian
    >>> h = SoftmaxHessian(np.array([[0.5, 0.5]]), np.array([1.0]))
    >>> h.to_dense()
    array([[[ 0.25, -0.25],
            [-0.25,  0.25]]])
    """

    def __init__(self, proba, scale, rank_one_scale=None, rank_one_direction=None):
        self.proba = proba
        self.scale = scale
        self.rank_one_scale = rank_one_scale
        self.rank_one_direction = rank_one_direction

    @property
    def shape(self):
        return self.proba.shape

    @property
    def dtype(self):
        return self.proba.dtype

    def matvec(self, v):
        p = self.proba
        pv = np.einsum("ik,ik->i", p, v)
        out = p * (v - pv[:, None])
        out *= self.scale[:, None]
        if self.rank_one_scale is not None:
            u = self.rank_one_direction
            uv = np.einsum("ik,ik->i", u, v)
            out += (self.rank_one_scale * uv)[:, None] * u
        return out

    def rows(self, rows):
        def part(a):
            return None if a is None else a[rows]

        return SoftmaxHessian(self.proba[rows], self.scale[rows],
                              part(self.rank_one_scale), part(self.rank_one_direction))

    def entry(self, k, l):
        p = self.proba
        value = -p[:, k] * p[:, l]
        if k == l:
            value += p[:, k]
        value *= self.scale
        if self.rank_one_scale is not None:
            u = self.rank_one_direction
            value += self.rank_one_scale * u[:, k] * u[:, l]
        return value

    def is_nonnegative(self):
        ok = bool(np.all(self.scale >= 0))
        if self.rank_one_scale is not None:
            ok = ok and bool(np.all(self.rank_one_scale >= 0))
        return ok


def weighted(values, sample_weight):
    """``values`` multiplied row-wise by ``sample_weight`` (in place when given)."""
    if sample_weight is None:
        return values
    sw = np.asarray(sample_weight, dtype=values.dtype)
    values *= sw[:, None] if values.ndim == 2 else sw
    return values

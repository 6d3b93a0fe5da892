"""Loss and gradient of a linear model in blocks of rows that stay in cache.

One evaluation of ``J`` and its gradient for ``raw = X W^T + b`` is two
matrix-vector products with ``X`` and the loss in between. Done on the whole
of a large ``X`` they read it from memory twice, and both products are
memory-bound; done block by block, the backward product ``X_B^T g_B`` reads
the block the forward product ``X_B W^T`` has just brought into the cache,
so ``X`` is read once per evaluation (measured single-threaded on a
1e5 x 100 float64 matrix, one binary log-loss evaluation: 12 ms by blocks
of 4000 rows against 18 ms whole; multinomial, 1e5 x 50 and 10 classes:
29 against 39 ms).

This is exact only when the loss of a row depends on that row alone, which
a loss declares with ``rows_independent = True`` (a loss whose rows share a
fitted quantity, such as a jointly estimated scale, must not be split).
"""

import numpy as np
import scipy.sparse as sp

from . import _row_products
from .models import LinearModel

# A block of about 1 MB of X stays in the cache while the loss runs on its
# predictions and the backward product reads it again. Measured
# single-threaded, one evaluation: on an AMD EPYC, 1.5-6 MB blocks were
# fastest (smaller ones pay NumPy's per-call overhead in the loss); on an
# Intel Xeon with 2 MB of L2 per core, 1 MB blocks (binary log loss,
# 1e5 x 100: 10.4 against 11.4 ms by 2 MB ones; Poisson 1e5 x 50: 4.8 against
# 5.6 ms), and 256 KB ones lost to the loss's per-call overhead. With two BLAS
# threads on a busy machine, products on blocks of 4 MB and more became
# erratic (up to 20x slower), 2 MB ones did not.
_BLOCK_BYTES = 2**20
# Fewer rows than this per block and NumPy's per-call overhead in the loss
# outweighs what the cache saves.
_MIN_BLOCK_ROWS = 1024
# Below this size X stays in the last-level cache between the two products
# anyway, and one whole product per pass is the cheaper way.
_MIN_DATA_BYTES = 2**25


def _product_buffer(block, W):
    """Room for ``block @ W[0]``, in the dtype NumPy's product would give it."""
    return np.empty(block.shape[0], np.result_type(block.dtype, W.dtype))


def block_rows(objective):
    """Rows per block for :func:`blocked_loss_gradient`, or None to evaluate whole.

    Blocks are used for a linear model on a dense C-ordered ``X`` larger than
    the cache, a loss whose rows are independent, and normalised sample
    weights (all zero weights go the general way, which handles them).
    """
    model, X = objective.model, objective.X
    if not (isinstance(model, LinearModel)
            and getattr(objective.loss, "rows_independent", False)
            and isinstance(X, np.ndarray) and not sp.issparse(X)
            and X.ndim == 2 and X.flags.c_contiguous
            and objective._normalised_weight is not None):
        return None
    if X.nbytes < _MIN_DATA_BYTES:
        return None
    row_bytes = max(X.shape[1], 1) * X.itemsize
    rows = max(_BLOCK_BYTES // row_bytes, _MIN_BLOCK_ROWS)
    return rows if rows < X.shape[0] else None


def blocked_loss_gradient(objective, params, rows_per_block, raw_out=None, kernel=None):
    """Weighted mean loss and its gradient, ``X`` read once, block by block.

    Parameters
    ----------
    objective : Objective
        With a :class:`~sklosses.models.LinearModel` (see :func:`block_rows`).
    params : ndarray of shape (n_params,)
        In the model's dtype.
    rows_per_block : int
    raw_out : ndarray, default=None
        Receives the raw predictions, shaped as the loss sees them
        (``(n_samples,)`` for a single output, else ``(n_samples, n_outputs)``),
        in the model's dtype; None keeps them only block by block.
    kernel : WeightedKernel, default=None
        The loss's weighted-sum kernel (1-D float64 raw predictions,
        :mod:`sklosses.losses._kernels`), used instead of ``loss_gradient``.

    Returns
    -------
    loss : float
    gradient : ndarray of shape (n_params,), float64
        The same sums as the whole evaluation's, added block by block.
    """
    model, X, y = objective.model, objective.X, objective.y
    weight = objective._normalised_weight
    W, b = model.unpack(params)
    single = model.n_outputs == 1
    grad = np.zeros(model.n_params)
    grad_W = grad[: model.n_weights].reshape(model.n_outputs, model.n_features)
    grad_b = grad[model.n_weights :] if b is not None else None
    total = 0.0
    for start in range(0, X.shape[0], rows_per_block):
        rows = slice(start, start + rows_per_block)
        block = X[rows]
        if raw_out is not None:
            raw = raw_out[rows].reshape(-1, model.n_outputs)  # a view
            if single:
                _row_products.forward(block, W[0], raw[:, 0])
            else:
                np.dot(block, W.T, out=raw)
        else:
            raw = (_row_products.forward(block, W[0], _product_buffer(block, W))[:, None]
                   if single else block @ W.T)
        if b is not None:
            raw += b
        loss_raw = raw.ravel() if objective._ravel_raw else raw
        if kernel is not None:
            value, grad_raw = kernel(loss_raw, rows)
            total += value
        else:
            loss, grad_raw = objective.loss.loss_gradient(y[rows], loss_raw, weight[rows])
            total += float(loss.sum())
        grad_raw = grad_raw.reshape(raw.shape)
        if single:
            _row_products.add_backward(block, grad_raw[:, 0], grad_W[0])
        else:
            grad_W += grad_raw.T @ block
        if grad_b is not None:
            grad_b += grad_raw.sum(axis=0)
    if kernel is not None:
        total += kernel.constant
    return total, grad


def blocked_hessian_product(objective, params, raw_hessian, vector, rows_per_block):
    """The data term's Hessian at ``params`` times ``vector``, ``X`` read once.

    ``J_B^T (H_B (J_B v))`` block by block, ``J_B v = X_B V^T + v_b`` for a
    linear model: the backward product reads the block the forward one has
    just brought into the cache, as in :func:`blocked_loss_gradient`.

    Parameters
    ----------
    objective : Objective
        With a :class:`~sklosses.models.LinearModel` (see :func:`block_rows`).
    params : ndarray of shape (n_params,)
    raw_hessian : RawHessian
        The loss's Hessian on the raw predictions at ``params``; it gives
        its rows with ``rows(slice)``.
    vector : ndarray of shape (n_params,)
        In the model's dtype.
    rows_per_block : int

    Returns
    -------
    product : ndarray of shape (n_params,), float64
    """
    model, X = objective.model, objective.X
    V, v_b = model.unpack(vector)
    single = model.n_outputs == 1
    out = np.zeros(model.n_params)
    out_W = out[: model.n_weights].reshape(model.n_outputs, model.n_features)
    out_b = out[model.n_weights :] if v_b is not None else None
    for start in range(0, X.shape[0], rows_per_block):
        rows = slice(start, start + rows_per_block)
        block = X[rows]
        direction = (_row_products.forward(block, V[0], _product_buffer(block, V))[:, None]
                     if single else block @ V.T)
        if v_b is not None:
            direction += v_b
        if objective._ravel_raw:
            product = raw_hessian.rows(rows).matvec(direction.ravel())[:, None]
        else:
            product = raw_hessian.rows(rows).matvec(direction)
        if single:
            _row_products.add_backward(block, product[:, 0], out_W[0])
        else:
            out_W += product.T @ block
        if out_b is not None:
            out_b += product.sum(axis=0)
    return out

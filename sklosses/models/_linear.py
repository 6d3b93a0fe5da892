"""Linear model: raw = X @ W.T + b."""

import numpy as np

from ._base import BaseModel


class LinearModel(BaseModel):
    """Linear model with weights ``W`` of shape (n_outputs, n_features).

    The flat vector is ``[W.ravel(), b]``, ``W`` stored row-major so that
    ``W`` has the shape of scikit-learn's ``coef_`` for several outputs.
    """

    @property
    def n_weights(self):
        return self.n_outputs * self.n_features

    @property
    def n_params(self):
        return self.n_weights + (self.n_outputs if self.fit_intercept else 0)

    def unpack(self, params):
        """Views ``(W, b)`` of the flat vector; ``b`` is None without intercept."""
        W = params[: self.n_weights].reshape(self.n_outputs, self.n_features)
        b = params[self.n_weights :] if self.fit_intercept else None
        return W, b

    def init_params(self, random_state=None):
        # A convex problem needs no random start: zeros make fits reproducible.
        return self.zeros()

    def forward(self, params, X):
        W, b = self.unpack(params)
        if self.n_outputs == 1:
            # A matrix-vector product (gemv) is cheaper than a one-column gemm.
            raw = np.asarray(X @ W[0]).reshape(-1, 1)
        else:
            raw = np.asarray(X @ W.T)
        if b is not None:
            raw += b
        return raw, X

    def predict_raw_many(self, params_list, X):
        """Raw predictions for several parameter vectors from one product with ``X``.

        ``X`` is read once for all of them (a regularisation path scores
        every point on one validation fold), not once per vector.
        """
        if not params_list:
            return []
        W = np.concatenate([self.unpack(params)[0] for params in params_list])
        raw = np.asarray(X @ W.T).reshape(X.shape[0], len(params_list), self.n_outputs)
        out = []
        for k, params in enumerate(params_list):
            b = self.unpack(params)[1]
            out.append(raw[:, k, :] + b if b is not None else raw[:, k, :].copy())
        return out

    def backward(self, params, cache, grad_raw):
        X = cache
        grad = np.empty(self.n_params, dtype=grad_raw.dtype)
        W_grad = grad[: self.n_weights].reshape(self.n_outputs, self.n_features)
        # (X.T @ G).T keeps sparse X on its efficient side of the product.
        if self.n_outputs == 1:
            W_grad[0] = np.asarray(X.T @ grad_raw[:, 0]).ravel()
        else:
            W_grad[...] = np.asarray(X.T @ grad_raw).T
        if self.fit_intercept:
            grad[self.n_weights :] = grad_raw.sum(axis=0)
        return grad

    def set_output_intercept(self, params, raw0):
        if self.fit_intercept:
            params[self.n_weights :] = raw0
        return params

    def to_attributes(self, params, *, single_output=False):
        W, b = self.unpack(params)
        if single_output:
            intercept = float(b[0]) if b is not None else 0.0
            return {"coef_": W.ravel().copy(), "intercept_": intercept}
        intercept = b.copy() if b is not None else np.zeros(self.n_outputs, W.dtype)
        return {"coef_": W.copy(), "intercept_": intercept}

    def from_attributes(self, estimator):
        coef = np.asarray(estimator.coef_, dtype=self.dtype).reshape(-1)
        if not self.fit_intercept:
            return coef.copy()
        intercept = np.atleast_1d(np.asarray(estimator.intercept_, dtype=self.dtype))
        return np.concatenate([coef, intercept])

    # -- second order. raw = X W^T + b is linear in the parameters, so the
    # Jacobian product is a forward pass with the direction as parameters and
    # the Gauss-Newton matrix is the exact Hessian of the data term.

    def jvp(self, params, cache, vector):
        return self.forward(np.asarray(vector, dtype=self.dtype), cache)[0]

    def gauss_newton_matrix(self, params, cache, hessian, features=None):
        """The Gauss-Newton matrix, or its block on some features' parameters.

        ``features`` (sorted column indices of ``X``) restricts it to the
        parameters :meth:`feature_indices` lists: the weights of those
        columns for every output, then the intercepts. The block costs
        ``n |features|^2`` work instead of ``n p^2`` (a working-set Newton
        step, :mod:`sklosses.solvers._working_set`).
        """
        X = cache
        n_out = self.n_outputs
        if features is not None:
            X = X[:, features]
        p = X.shape[1]
        n_w = n_out * p
        size = n_w + (n_out if self.fit_intercept else 0)
        out = np.zeros((size, size))
        if hessian.is_diagonal:
            pairs = [(k, k) for k in range(n_out)]
        else:
            pairs = [(k, j) for k in range(n_out) for j in range(k, n_out)]
        for k, j in pairs:
            d = hessian.entry(k, j)
            gram, cross, total = weighted_gram(X, d)
            rows, cols = slice(k * p, (k + 1) * p), slice(j * p, (j + 1) * p)
            out[rows, cols] = gram
            out[cols, rows] = gram.T
            if self.fit_intercept:
                # H_i is symmetric, so (W_k, b_j) and (W_j, b_k) hold the same sums.
                out[rows, n_w + j] = out[n_w + j, rows] = cross
                out[cols, n_w + k] = out[n_w + k, cols] = cross
                out[n_w + k, n_w + j] = out[n_w + j, n_w + k] = total
        return out

    def gauss_newton_blocks(self, params, cache, hessian):
        """The Gauss-Newton matrix's diagonal blocks, one per output.

        For a raw Hessian diagonal across outputs (``hessian.is_diagonal``:
        one-vs-rest margin losses), the matrix is block diagonal once each
        output's weights are taken with its intercept: block ``k`` holds
        ``[W_k, b_k]``, ``X^T D_k X`` bordered by ``X^T d_k`` and
        ``sum(d_k)``. Forming them costs ``n K (p + 1)^2 / 2`` multiply-adds,
        ``K`` times less than the whole matrix.

        Returns
        -------
        blocks : ndarray of shape (n_outputs, q, q), float64
            ``q = n_features + fit_intercept``; the intercept comes last.
        """
        if not hessian.is_diagonal:
            raise ValueError("gauss_newton_blocks needs a raw Hessian that is "
                             "diagonal across outputs")
        p = self.n_features
        q = p + int(self.fit_intercept)
        blocks = np.empty((self.n_outputs, q, q))
        for k in range(self.n_outputs):
            gram, cross, total = weighted_gram(cache, hessian.entry(k, k))
            blocks[k, :p, :p] = gram
            if self.fit_intercept:
                blocks[k, :p, p] = blocks[k, p, :p] = cross
                blocks[k, p, p] = total
        return blocks

    def feature_indices(self, features):
        """Flat indices of the weights of ``features`` (every output), then the intercepts."""
        features = np.asarray(features, dtype=np.intp)
        p, n_w = self.n_features, self.n_weights
        weights = (np.arange(self.n_outputs)[:, None] * p + features[None, :]).ravel()
        if not self.fit_intercept:
            return weights
        return np.concatenate([weights, n_w + np.arange(self.n_outputs)])

    def output_block_indices(self):
        """Flat indices of each output's ``[W_k, b_k]``, shape (n_outputs, q)."""
        p, n_w = self.n_features, self.n_weights
        weights = np.arange(n_w).reshape(self.n_outputs, p)
        if not self.fit_intercept:
            return weights
        return np.hstack([weights, (n_w + np.arange(self.n_outputs))[:, None]])

    def gauss_newton_diagonal(self, params, cache, hessian):
        X = cache
        out = np.empty(self.n_params)
        squared = X.multiply(X) if hasattr(X, "multiply") else None
        p, n_w = self.n_features, self.n_weights
        for k in range(self.n_outputs):
            d = hessian.entry(k, k)
            if squared is not None:
                out[k * p:(k + 1) * p] = np.asarray(squared.T @ d).ravel()
            else:
                out[k * p:(k + 1) * p] = np.einsum("ij,ij,i->j", X, X, d)
            if self.fit_intercept:
                out[n_w + k] = d.sum(dtype=np.float64)
        return out


# Rows per block of X in weighted_gram: a block of X scaled by the weights is
# a temporary copy, kept near 4 MB so the product never doubles X in memory.
_GRAM_BLOCK_BYTES = 1 << 22
# Below this share of non-zero weights, weighted_gram gathers those rows
# first (a copy of n_active rows against a product over all n).
_SPARSE_WEIGHTS = 0.5


def weighted_gram(X, d):
    """``X^T diag(d) X``, ``X^T d`` and ``sum(d)`` in float64.

    Non-negative weights take the symmetric rank-k update on ``sqrt(d) * X``
    (half the work of a general product; NumPy calls BLAS ``syrk`` for
    ``A.T @ A``), block by block of rows; equal weights skip the scaling.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    d : ndarray of shape (n_samples,)

    Returns
    -------
    gram : ndarray of shape (n_features, n_features)
    cross : ndarray of shape (n_features,)
    total : float
    """
    cross = np.asarray(X.T @ d, dtype=np.float64).ravel()
    total = float(d.sum(dtype=np.float64))
    if hasattr(X, "multiply"):  # sparse: row blocks too, a scaled copy of each
        gram = np.zeros((X.shape[1], X.shape[1]))
        density = max(X.nnz / max(X.shape[0], 1), 1.0)
        block = max(1, int(_GRAM_BLOCK_BYTES // (64 * density)))  # ~4 copies alive
        X = X.tocsr()
        for start in range(0, X.shape[0], block):
            rows = slice(start, start + block)
            part = X[rows]
            scaled = part.multiply(d[rows, None]).tocsr()
            gram += (part.T @ scaled).toarray()
        return gram, cross, total
    # Array methods, not np.all: the function's dispatch costs as much as the
    # test on a Newton iteration's few hundred rows.
    if d.size and d[0] >= 0 and (d == d[0]).all():
        return float(d[0]) * np.asarray(X.T @ X, dtype=np.float64), cross, total
    active = d != 0
    n_active = int(np.count_nonzero(active))
    if n_active < _SPARSE_WEIGHTS * d.size:
        # Rows without curvature add nothing: a margin loss's Hessian lives on
        # the samples inside the margin, often a small share near the optimum.
        X, d = X[active], d[active]
    gram = np.zeros((X.shape[1], X.shape[1]))
    block = max(1, _GRAM_BLOCK_BYTES // max(1, X.shape[1] * X.itemsize))
    nonnegative = bool((d >= 0).all())
    root = np.sqrt(d) if nonnegative else None
    for start in range(0, X.shape[0], block):
        rows = slice(start, start + block)
        if nonnegative:
            scaled = X[rows] * root[rows, None]
            gram += scaled.T @ scaled
        else:
            gram += X[rows].T @ (X[rows] * d[rows, None])
    return gram, cross, total

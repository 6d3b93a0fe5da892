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

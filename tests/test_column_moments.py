"""The column pass of the change of variables: block by block as in one go.

:func:`sklosses._preconditioning._weighted_column_moments` sums the weighted
columns, their weighted squares and ``X^T extra`` over blocks of rows, with
a shortcut for equal weights; each path is compared with the direct sums.
"""

import numpy as np
import pytest
import scipy.sparse as sp

import sklosses._preconditioning as preconditioning
from sklosses import _row_products


@pytest.fixture(params=["one block", "blocks", "compiled blocks"])
def block_bytes(request, monkeypatch):
    if request.param != "one block":  # 37 rows of 6 columns per block: a ragged last one
        monkeypatch.setattr(preconditioning, "_MOMENT_BLOCK_BYTES", 37 * 6 * 8)
    if request.param == "compiled blocks":  # the loops of large data
        monkeypatch.setattr(_row_products, "MIN_COMPILED_BYTES", 0)


@pytest.mark.parametrize("weights", ["equal", "unequal", "some zero"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n_extra", [None, 1, 3])
def test_moments_equal_the_direct_sums(block_bytes, weights, dtype, n_extra):
    rng = np.random.default_rng(0)
    n, p = 500, 6
    X = (rng.normal(size=(n, p)) * [1, 10, 1e-3, 1, 5, 1] + [0, 3, -2, 1e3, 0, 0]).astype(dtype)
    w = {"equal": np.full(n, 1.0 / n), "unequal": rng.uniform(0.1, 2, n),
         "some zero": rng.uniform(0, 2, n) * (rng.random(n) > 0.3)}[weights]
    w = w / w.sum()
    extra = None if n_extra is None else rng.normal(size=(n, n_extra))
    mean, square, products = preconditioning._weighted_column_moments(X, w, extra)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(mean, w @ X64, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(square, w @ X64**2, rtol=1e-12)
    if n_extra is None:
        assert products is None
    else:
        np.testing.assert_allclose(products, X64.T @ extra, rtol=1e-10, atol=1e-10)


def test_sparse_moments_equal_the_dense_ones(block_bytes):
    rng = np.random.default_rng(1)
    X = sp.random(300, 6, density=0.3, format="csr", random_state=2) * 4.0
    w = rng.uniform(0.1, 2, 300)
    w /= w.sum()
    mean, square, products = preconditioning._weighted_column_moments(X, w)
    dense = X.toarray()
    np.testing.assert_allclose(mean, w @ dense, rtol=1e-12)
    np.testing.assert_allclose(square, w @ dense**2, rtol=1e-12)
    assert products is None

"""The compiled row products equal NumPy's, and so does their fallback.

:mod:`sklosses._row_products` loops over the rows of a block (Numba); where
Numba is missing the same functions use NumPy's BLAS products. Both are
compared with float64 references on blocks of both dtypes, on values of very
different sizes, and with non-finite entries, which must propagate.
"""

import numpy as np
import pytest

import sklosses._blocked as blocked
from sklosses import _row_products
from sklosses._objective import Objective
from sklosses.losses import LogLoss, Poisson
from sklosses.models import LinearModel
from sklosses.penalties import L2


@pytest.fixture(params=["compiled", "numpy"])
def products(request, monkeypatch):
    monkeypatch.setattr(_row_products, "use_compiled", request.param == "compiled")
    _row_products.reset()
    yield request.param
    _row_products.reset()


def _block(dtype, n=203, p=37, seed=0):
    rng = np.random.default_rng(seed)
    scales = 10.0 ** rng.uniform(-3, 3, p)  # columns of very different sizes
    return (rng.normal(size=(n, p)) * scales).astype(dtype), rng


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_and_backward_equal_float64_products(products, dtype):
    block, rng = _block(dtype)
    vector = rng.normal(size=block.shape[1]).astype(dtype)
    out = np.empty(block.shape[0], dtype=dtype)
    result = _row_products.forward(block, vector, out)
    assert result is out
    reference = block.astype(np.float64) @ vector.astype(np.float64)
    size = np.abs(block.astype(np.float64)) @ np.abs(vector.astype(np.float64))
    rounding = 1e-13 if dtype == np.float64 else 1e-6
    assert np.all(np.abs(out - reference) <= rounding * size)

    row_values = rng.normal(size=block.shape[0]).astype(dtype)
    start = rng.normal(size=block.shape[1])
    total = _row_products.add_backward(block, row_values, start.copy())
    reference = start + block.astype(np.float64).T @ row_values.astype(np.float64)
    size = np.abs(start) + np.abs(block.astype(np.float64)).T @ np.abs(row_values)
    assert np.all(np.abs(total - reference) <= rounding * size)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("with_extra", [False, True])
def test_moments_equal_float64_sums(products, dtype, with_extra):
    block, rng = _block(dtype, seed=1)
    weight = rng.uniform(0, 2, block.shape[0])
    extra = rng.normal(size=block.shape[0]) if with_extra else None
    p = block.shape[1]
    mean, square, product = np.ones(p), np.ones(p), np.ones(p) if with_extra else None
    _row_products.add_moments(block, weight, mean, square, extra, product)
    X = block.astype(np.float64)
    rounding = 1e-13 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(mean, 1 + weight @ X, rtol=rounding,
                               atol=rounding * (weight @ np.abs(X)).max())
    np.testing.assert_allclose(square, 1 + weight @ X**2, rtol=rounding)
    if with_extra:
        np.testing.assert_allclose(product, 1 + extra @ X, rtol=rounding,
                                   atol=rounding * (np.abs(extra) @ np.abs(X)).max())


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_entries_propagate(products, bad):
    block, rng = _block(np.float64, n=50, p=9)
    block[7, 3] = bad
    out = _row_products.forward(block, np.ones(9), np.empty(50))
    assert not np.isfinite(out[7]) and np.isfinite(np.delete(out, 7)).all()
    total = _row_products.add_backward(block, np.ones(50), np.zeros(9))
    assert not np.isfinite(total[3]) and np.isfinite(np.delete(total, 3)).all()
    mean, square = np.zeros(9), np.zeros(9)
    _row_products.add_moments(block, np.ones(50), mean, square)
    assert not np.isfinite(mean[3]) and not np.isfinite(square[3])


@pytest.mark.parametrize("loss", [LogLoss(), Poisson()], ids=["log_loss", "poisson"])
def test_blocked_evaluation_is_the_same_either_way(monkeypatch, loss):
    """One blocked evaluation and Hessian product, compiled and by NumPy, agree."""
    monkeypatch.setattr(blocked, "_MIN_DATA_BYTES", 0)
    monkeypatch.setattr(blocked, "_BLOCK_BYTES", 64 * 11 * 8)
    monkeypatch.setattr(blocked, "_MIN_BLOCK_ROWS", 1)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(1000, 11))
    y = (rng.random(1000) < 0.4).astype(int) if isinstance(loss, LogLoss) \
        else rng.poisson(2.0, 1000).astype(float)
    params, direction = rng.normal(size=(2, 12)) * 0.1
    results = []
    for compiled in (True, False):
        monkeypatch.setattr(_row_products, "use_compiled", compiled)
        _row_products.reset()
        objective = Objective(loss, LinearModel(11, 1), L2(1e-3), X, y)
        assert objective._block_rows == 64
        value, grad = objective.data_loss_gradient(params)
        results.append((value, grad, objective.hessp(params, direction)))
    _row_products.reset()
    (value_c, grad_c, hv_c), (value_n, grad_n, hv_n) = results
    assert value_c == pytest.approx(value_n, rel=1e-13)
    np.testing.assert_allclose(grad_c, grad_n, rtol=1e-11, atol=1e-14)
    np.testing.assert_allclose(hv_c, hv_n, rtol=1e-11, atol=1e-14)


def test_other_dtypes_take_numpys_products(products):
    """A non-native byte order (or an integer vector) is left to NumPy, not refused."""
    block, rng = _block(np.float64, n=40, p=6)
    swapped = block.astype(block.dtype.newbyteorder())
    vector = rng.normal(size=6)
    out = _row_products.forward(swapped, vector, np.empty(40))
    np.testing.assert_allclose(out, block @ vector, rtol=1e-13)
    total = _row_products.add_backward(swapped, np.ones(40), np.zeros(6))
    np.testing.assert_allclose(total, block.sum(axis=0), rtol=1e-13)
    mean, square = np.zeros(6), np.zeros(6)
    _row_products.add_moments(swapped, np.ones(40), mean, square)
    np.testing.assert_allclose(square, (block**2).sum(axis=0), rtol=1e-13)
    out = _row_products.forward(block, np.arange(6), np.empty(40))
    np.testing.assert_allclose(out, block @ np.arange(6.0), rtol=1e-13)


def test_a_refused_disk_cache_compiles_in_memory(monkeypatch):
    """Where Numba cannot cache (no writable directory), the loops still compile."""
    numba = pytest.importorskip("numba")
    real = numba.njit

    def no_disk_cache(*args, cache=False, **kwargs):
        if cache:
            raise RuntimeError("cannot cache function: no locator available")
        return real(*args, cache=cache, **kwargs)

    monkeypatch.setattr(numba, "njit", no_disk_cache)
    compiled = _row_products._compile(_row_products._forward_loop)
    assert compiled is not None
    block, rng = _block(np.float64, n=30, p=4)
    out = np.empty(30)
    compiled(block, np.ones(4), out)
    np.testing.assert_allclose(out, block.sum(axis=1), rtol=1e-13)

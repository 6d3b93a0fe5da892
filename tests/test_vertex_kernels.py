"""The vertex walk's compiled pivots: the heap's breakpoint order, and Python without Numba.

The walk's results are tested against linprog and tight cold fits in
test_robust_paths.py; here, the pieces the compiled code does differently
from NumPy (a heap instead of a sort), and that the same functions run as
Python where Numba is missing (in a subprocess with Numba's JIT disabled),
with the same path.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from sklosses.solvers import _vertex_kernels


def _reference_stop(t, gain, target):
    order = np.argsort(t, kind="stable")
    stop = int(np.searchsorted(np.cumsum(gain[order]), target))
    return stop, order


@pytest.mark.parametrize("size", [0, 1, 7, 300, 2000])
def test_first_stop_is_the_sorted_cumulated_gain(size):
    """The heap pops the breakpoints in ascending order up to the first where the gain
    reaches the target; all of them, and ``stop == size``, when it never does."""
    rng = np.random.default_rng(size)
    t = rng.exponential(size=size)
    t[: size // 5] = np.round(t[: size // 5], 1)  # ties
    gain = rng.uniform(0.0, 1.0, size=size)
    # Targets between the cumulated sums (no tie of rounding decides the stop).
    for target in (0.0, 1e-3, 0.5 * gain.sum(), 0.999 * gain.sum(), 2 * gain.sum() + 1):
        stop, order = _vertex_kernels._first_stop(t, gain, target)
        expected_stop, expected_order = _reference_stop(t, gain, target)
        assert stop == expected_stop
        if stop < size:
            assert order.size == stop + 1
        else:
            assert order.size == size
        # The smallest breakpoints in ascending order, each once (which of
        # tied ones comes first is not specified).
        np.testing.assert_array_equal(t[order], t[expected_order[: order.size]])
        assert np.unique(order).size == order.size


_PATH_SCRIPT = """
import json, sys
import numpy as np
from sklearn.datasets import load_diabetes
from sklosses import LossRegressor
from sklosses._path import alpha_grid, fit_path
X, y = load_diabetes(return_X_y=True, scaled=False)
X, y = X[:200], y[:200]
est = LossRegressor(loss="quantile", l1_ratio=1.0)
alphas = alpha_grid(est, X, y, None, l1_ratio=1.0, n_alphas=6)
train, test = np.arange(150), np.arange(150, 200)
from sklosses.solvers import _piecewise_path
routes = []
solve = _piecewise_path.PiecewisePath.solve
def recording(self, *args):
    fit = solve(self, *args)
    routes.append(self.routes[-1])
    return fit
_piecewise_path.PiecewisePath.solve = recording
outcome = fit_path(est, X, y, None, train, test, alphas, LossRegressor.score)
json.dump({"scores": outcome["test_score"].tolist(),
           "params": np.concatenate(outcome["params"]).tolist(), "routes": routes}, sys.stdout)
"""


def _run_path(disable_jit):
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1" if disable_jit else "0"}
    out = subprocess.run([sys.executable, "-c", _PATH_SCRIPT], env=env, capture_output=True,
                         text=True, check=True, timeout=600)
    return json.loads(out.stdout)


def test_the_walk_runs_as_python_without_numba():
    """Numba's JIT disabled (its functions are then plain Python, as without Numba):
    the same walked points, the same validation scores."""
    pytest.importorskip("numba")
    compiled = _run_path(disable_jit=False)
    python = _run_path(disable_jit=True)
    assert "vertex" in compiled["routes"]
    assert python["routes"] == compiled["routes"]
    np.testing.assert_allclose(python["scores"], compiled["scores"], rtol=1e-10)
    np.testing.assert_allclose(python["params"], compiled["params"], rtol=1e-9, atol=1e-12)


def _basis(rng, k):
    return rng.normal(size=(k, k)) + 3 * np.eye(k)


@pytest.mark.parametrize("k", [1, 2, 6])
def test_basis_inverse_updates_equal_a_fresh_inverse(k):
    """Each update of ``A = B^-1`` (rows: free columns, columns: elbow rows) against
    ``np.linalg.inv`` of the changed basis; a singular change is refused and
    leaves ``A`` as it was."""
    rng = np.random.default_rng(k)
    B = _basis(rng, k)
    size = k + 1

    def fresh():
        inverse = np.zeros((size, size))
        inverse[:k, :k] = np.linalg.inv(B)
        return inverse

    # A row replaced.
    inverse, new_row = fresh(), rng.normal(size=k)
    assert _vertex_kernels._replace_row(inverse, k, k - 1, new_row, 1e-8)
    changed = B.copy()
    changed[k - 1] = new_row
    np.testing.assert_allclose(inverse[:k, :k], np.linalg.inv(changed), atol=1e-10)
    # A row and a column added (last).
    inverse, column, new_row, corner = fresh(), rng.normal(size=k), rng.normal(size=k), 4.0
    move = np.linalg.solve(B, column)
    assert _vertex_kernels._add_row_and_column(inverse, k, move, new_row, corner, 1e-8)
    bordered = np.block([[B, column[:, None]], [new_row[None, :], np.array([[corner]])]])
    np.testing.assert_allclose(inverse, np.linalg.inv(bordered), atol=1e-10)
    # A column replaced and moved last.
    inverse, column = fresh(), B[:, 0] + rng.normal(size=k)
    move = np.linalg.solve(B, column)
    assert _vertex_kernels._replace_column(inverse, k, 0, move, 1e-8)
    changed = np.column_stack([B[:, 1:], column])
    np.testing.assert_allclose(inverse[:k, :k], np.linalg.inv(changed), atol=1e-10)
    # A row and a column taken out.
    if k > 1:
        inverse = fresh()
        assert _vertex_kernels._remove_row_and_column(inverse, k, 1, 0, 1e-8)
        smaller = np.delete(np.delete(B, 1, axis=0), 0, axis=1)
        np.testing.assert_allclose(inverse[: k - 1, : k - 1], np.linalg.inv(smaller),
                                   atol=1e-10)
    # Singular changes are refused and leave the inverse as it was: a row
    # repeating another (or zero), a border whose Schur complement is zero, a
    # column repeating another, a removal at a zero pivot.
    inverse = fresh()
    repeated = B[0] if k > 1 else np.zeros(1)
    assert not _vertex_kernels._replace_row(inverse, k, k - 1, repeated.copy(), 1e-8)
    np.testing.assert_array_equal(inverse, fresh())
    column, new_row = rng.normal(size=k), rng.normal(size=k)
    move = np.linalg.solve(B, column)
    assert not _vertex_kernels._add_row_and_column(inverse, k, move, new_row,
                                                   float(new_row @ move), 1e-8)
    np.testing.assert_array_equal(inverse, fresh())
    if k > 1:
        move = np.linalg.solve(B, B[:, 1])  # the column of position 1 again
        assert not _vertex_kernels._replace_column(inverse, k, 0, move, 1e-8)
        np.testing.assert_array_equal(inverse, fresh())
        inverse[0, 1] = 0.0
        before = inverse.copy()
        assert not _vertex_kernels._remove_row_and_column(inverse, k, 1, 0, 1e-8)
        np.testing.assert_array_equal(inverse, before)

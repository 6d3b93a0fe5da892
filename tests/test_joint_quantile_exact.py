"""The exact (interior-point) fit of a list of quantile levels.

References are independent of sklosses: scipy's HiGHS on the same linear
program (ordering constraints written out), SLSQP on the same quadratic
program for L2, and single-level exact fits.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import linprog, minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_pinball_loss

from sklosses import LossRegressor
from sklosses.losses import Quantile
from sklosses.solvers._joint_quantile import ordered_offsets

LEVELS = [0.1, 0.4, 0.8]


def _data(n=60, p=3, seed=0, discrete=False):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p)
    y = X @ rng.randn(p) + 0.5 + rng.standard_t(3, size=n)
    if discrete:  # many ties: flat optima and equal quantiles
        y = np.round(y)
    return X, y


def _objective(reg, X, y, w, alpha=0.0, l1_ratio=0.0):
    """The estimator's objective, computed here: mean over levels, weighted mean pinball."""
    P = X @ reg.coef_.T + reg.intercept_
    levels = reg.loss.quantiles_
    data = np.mean([mean_pinball_loss(y, P[:, k], alpha=q, sample_weight=w)
                    for k, q in enumerate(levels)])
    coef = reg.coef_[0]
    return (data + alpha * l1_ratio * np.abs(coef).sum()
            + 0.5 * alpha * (1 - l1_ratio) * coef @ coef)


def _linprog_optimum(X, y, w, levels, *, fit_intercept, l1=0.0):
    """HiGHS on the location-shift LP with b_1 <= ... <= b_K written out."""
    n, p = X.shape
    K = len(levels)
    w = np.ones(n) if w is None else np.asarray(w, float)
    share = w / w.sum() / K
    q = np.repeat(levels, n)
    # variables: w+ (p), w- (p), b (K), u (nK), v (nK); rows (k, i):
    # x_i (w+ - w-) + b_k + u_ik - v_ik = y_i
    rows = sp.vstack([sp.csr_matrix(X)] * K)
    A_eq = sp.hstack([rows, -rows, sp.kron(sp.eye(K), np.ones((n, 1))),
                      sp.eye(n * K), -sp.eye(n * K)]).tocsr()
    c = np.concatenate([np.full(2 * p, l1), np.zeros(K), np.tile(share, K) * q,
                        np.tile(share, K) * (1 - q)])
    # b_k - b_{k+1} <= 0
    chain = sp.hstack([sp.csr_matrix((K - 1, 2 * p)), sp.eye(K - 1, K) - sp.eye(K - 1, K, 1),
                       sp.csr_matrix((K - 1, 2 * n * K))])
    b_bounds = [(None, None)] * K if fit_intercept else [(0, 0)] + [(None, None)] * (K - 1)
    bounds = [(0, None)] * (2 * p) + b_bounds + [(0, None)] * (2 * n * K)
    res = linprog(c, A_ub=chain, b_ub=np.zeros(K - 1), A_eq=A_eq, b_eq=np.tile(y, K),
                  bounds=bounds, method="highs")
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("l1", [0.0, 0.05])
def test_joint_exact_objective_equals_highs_optimum(fit_intercept, weighted, l1):
    X, y = _data(seed=1)
    if not fit_intercept:
        y = y + 3.0  # keep the unconstrained lowest quantile far from b_1 = 0
    w = np.random.RandomState(2).randint(1, 4, size=len(y)) if weighted else None
    reg = LossRegressor(loss=Quantile(LEVELS), alpha=l1, l1_ratio=1.0 if l1 else 0.0,
                        solver="exact", fit_intercept=fit_intercept, tol=1e-10)
    reg.fit(X, y, sample_weight=w)
    reference = _linprog_optimum(X, y, w, np.array(LEVELS), fit_intercept=fit_intercept,
                                 l1=l1)
    ours = _objective(reg, X, y, w, alpha=l1, l1_ratio=1.0)
    assert ours == pytest.approx(reference, rel=1e-8)
    assert reg.duality_gap_ <= 1e-10
    assert np.all(np.diff(reg.intercept_) >= 0)
    if not fit_intercept:
        assert reg.intercept_[0] == 0.0


def test_without_intercept_the_ordering_bound_can_be_active():
    # y well below 0: every unconstrained quantile offset is negative, so the
    # levels above the first sit at b_1 = 0 (the constrained optimum).
    X, y = _data(seed=3)
    y = y - 10.0
    reg = LossRegressor(loss=Quantile(LEVELS), alpha=0.0, solver="exact",
                        fit_intercept=False, tol=1e-10).fit(X, y)
    reference = _linprog_optimum(X, y, None, np.array(LEVELS), fit_intercept=False)
    assert _objective(reg, X, y, None) == pytest.approx(reference, rel=1e-8)
    assert np.all(np.isfinite(reg._flat_params()))
    assert np.all(np.diff(reg.intercept_) >= 0)


@pytest.mark.parametrize("max_iter", [2, 4, 6])
def test_reported_gap_bounds_the_true_gap(max_iter):
    X, y = _data(n=200, p=4, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = LossRegressor(loss=Quantile(LEVELS), alpha=0.0, solver="exact",
                            max_iter=max_iter, tol=1e-12).fit(X, y)
    reference = _linprog_optimum(X, y, None, np.array(LEVELS), fit_intercept=True)
    ours = _objective(reg, X, y, None)
    assert (ours - reference) / ours <= reg.duality_gap_ + 1e-12
    assert ours >= reference * (1 - 1e-12)


@pytest.mark.parametrize("alpha, l1_ratio", [(0.1, 0.0), (0.1, 0.5)])
def test_joint_exact_with_l2_matches_a_quadratic_program(alpha, l1_ratio):
    X, y = _data(n=30, p=2, seed=5)
    levels = np.array([0.2, 0.7])
    reg = LossRegressor(loss=Quantile(levels), alpha=alpha, l1_ratio=l1_ratio,
                        solver="exact", tol=1e-10).fit(X, y)
    n, p, K = X.shape[0], X.shape[1], len(levels)
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    q = np.repeat(levels, n)

    # variables: w+ (p), w- (p), b (K), u (nK), v (nK)
    def split(z):
        return z[:p], z[p:2 * p], z[2 * p:2 * p + K], z[2 * p + K:2 * p + K + n * K], z[
            2 * p + K + n * K:]

    def value(z):
        wp, wm, _, u, v = split(z)
        wv = wp - wm
        return (q @ u + (1 - q) @ v) / (n * K) + l1 * (wp.sum() + wm.sum()) + 0.5 * l2 * wv @ wv

    def residual(z):
        wp, wm, b, u, v = split(z)
        fitted = np.tile(X @ (wp - wm), K) + np.repeat(b, n)
        return fitted + u - v - np.tile(y, K)

    z0 = np.zeros(2 * p + K + 2 * n * K)
    r0 = np.tile(y, K)
    z0[2 * p + K:2 * p + K + n * K] = np.maximum(r0, 0)
    z0[2 * p + K + n * K:] = np.maximum(-r0, 0)
    bounds = [(0, None)] * (2 * p) + [(None, None)] * K + [(0, None)] * (2 * n * K)
    res = minimize(value, z0, method="SLSQP", bounds=bounds,
                   constraints=[{"type": "eq", "fun": residual}],
                   options={"maxiter": 2000, "ftol": 1e-14})
    assert res.success
    ours = _objective(reg, X, y, None, alpha=alpha, l1_ratio=l1_ratio)
    assert ours <= res.fun * (1 + 1e-7)
    assert ours == pytest.approx(res.fun, rel=1e-6)


def test_levels_never_cross_on_new_inputs_also_with_tied_quantiles():
    X, y = _data(n=80, p=3, seed=6, discrete=True)
    levels = [0.1, 0.3, 0.35, 0.4, 0.6, 0.9]
    reg = LossRegressor(loss=Quantile(levels), alpha=0.0, solver="exact").fit(X, y)
    assert np.all(np.isfinite(reg._flat_params()))
    assert np.all(np.diff(reg.intercept_) >= 0)
    X_new = np.random.RandomState(7).standard_cauchy(size=(10_000, 3)) * 100
    assert np.all(np.diff(reg.predict(X_new), axis=1) >= 0)
    reference = _linprog_optimum(X, y, None, np.array(levels), fit_intercept=True)
    assert _objective(reg, X, y, None) == pytest.approx(reference, rel=1e-8)


def test_ordered_offsets_minimise_each_level_and_are_sorted():
    rng = np.random.RandomState(8)
    r = np.round(rng.randn(50), 1)
    w = rng.rand(50)
    levels = np.linspace(0.05, 0.95, 19)
    offsets = ordered_offsets(r, w, levels, fit_intercept=True)
    assert np.all(np.diff(offsets) >= 0)
    grid = np.linspace(r.min() - 1, r.max() + 1, 4001)
    for q, b in zip(levels, offsets):
        def value(c, q=q):
            return w @ np.maximum(q * (r - c), (q - 1) * (r - c))
        assert value(b) <= min(value(c) for c in np.append(grid, r)) + 1e-12


def test_single_level_list_equals_the_scalar_exact_fit():
    X, y = _data(n=300, seed=9)
    scalar = LossRegressor(loss=Quantile(0.3), solver="exact").fit(X, y)
    listed = LossRegressor(loss=Quantile([0.3]), solver="exact").fit(X, y)
    assert_array_equal(listed.predict(X), scalar.predict(X))


def test_joint_pinball_per_level_is_within_one_percent_of_independent_fits():
    rng = np.random.RandomState(10)
    X = rng.randn(6000, 3)
    y = X @ [1.0, -2.0, 0.5] + rng.standard_t(4, size=6000)  # a location shift
    levels = [0.1, 0.25, 0.5, 0.75, 0.9]
    joint = LossRegressor(loss=Quantile(levels)).fit(X[:3000], y[:3000])
    P = joint.predict(X[3000:])
    for k, q in enumerate(levels):
        alone = LossRegressor(loss=Quantile(q), solver="exact").fit(X[:3000], y[:3000])
        ours = mean_pinball_loss(y[3000:], P[:, k], alpha=q)
        independent = mean_pinball_loss(y[3000:], alone.predict(X[3000:]), alpha=q)
        assert ours <= 1.01 * independent, (q, ours / independent)


def test_auto_takes_the_exact_solver_for_linear_level_lists():
    X, y = _data(n=200, seed=11)
    reg = LossRegressor(loss=Quantile(LEVELS)).fit(X, y)
    assert reg.duality_gap_ <= 1e-4
    # Free levels: K programs, each certified.
    free = LossRegressor(loss=Quantile(LEVELS, noncrossing="sort")).fit(X, y)
    assert free.duality_gap_ <= 1e-4
    mlp = LossRegressor(loss=Quantile(LEVELS), hidden_layer_sizes=(4,), max_iter=50,
                        random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not hasattr(mlp.fit(X, y), "duality_gap_")


def test_sort_levels_are_the_independent_exact_fits():
    X, y = _data(n=300, seed=12)
    joint = LossRegressor(loss=Quantile(LEVELS, noncrossing="sort"), alpha=0.0,
                          solver="exact", tol=1e-10).fit(X, y)
    for k, q in enumerate(LEVELS):
        alone = LossRegressor(loss=Quantile(q), alpha=0.0, solver="exact",
                              tol=1e-10).fit(X, y)
        assert_allclose(joint.coef_[k], alone.coef_, rtol=1e-6, atol=1e-8)
        assert_allclose(joint.intercept_[k], alone.intercept_, rtol=1e-6, atol=1e-8)


def test_sparse_design_gives_the_dense_fit():
    X, y = _data(n=150, p=6, seed=13)
    X[np.abs(X) < 0.8] = 0.0
    dense = LossRegressor(loss=Quantile(LEVELS), solver="exact", alpha=0.01,
                          tol=1e-10).fit(X, y)
    sparse = LossRegressor(loss=Quantile(LEVELS), solver="exact", alpha=0.01,
                           tol=1e-10).fit(sp.csr_matrix(X), y)
    assert _objective(sparse, X, y, None, alpha=0.01) == pytest.approx(
        _objective(dense, X, y, None, alpha=0.01), rel=1e-9)


def test_float32_joint_exact_fit():
    X, y = _data(n=200, seed=14)
    reg = LossRegressor(loss=Quantile(LEVELS), solver="exact").fit(
        X.astype(np.float32), y.astype(np.float32))
    assert reg.coef_.dtype == np.float32
    assert np.all(np.diff(reg.intercept_) >= 0)

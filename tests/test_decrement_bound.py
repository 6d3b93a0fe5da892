"""The upper bound that lets the decrement check skip its Hessian products.

:meth:`ScaledProblem.inverse_hessian_bound` bounds :math:`g^\\top H^{-1} g`
from the penalty's curvature and the loss's per-sample curvatures alone; the
decrement check returns it instead of conjugate gradients where it is below
half the tolerance. The tests compare it with the formed Hessian's exact
value, and check that a fit that should warn still does.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import sklosses._blocked as blocked
import sklosses.solvers._decrement_check as decrement_check
from sklosses._objective import Objective
from sklosses._preconditioning import ScaledProblem
from sklosses.losses import Gamma, LogLoss, Poisson, SquaredError
from sklosses.models import LinearModel
from sklosses.penalties import L1, L2, ElasticNet
from sklosses.solvers import LBFGS


def _problem(rng, loss_name, fit_intercept, weighted, penalty):
    n, p = int(rng.integers(30, 150)), int(rng.integers(1, 7))
    X = rng.normal(size=(n, p)) * rng.uniform(0.1, 10, p) + rng.normal(size=p) * 3
    lin = (X - X.mean(0)) / X.std(0) @ rng.normal(size=p) / np.sqrt(p)
    if loss_name == "log_loss":
        loss, y = LogLoss(), (lin + rng.logistic(size=n) > 0).astype(float)
    elif loss_name == "poisson":
        loss, y = Poisson(), rng.poisson(np.exp(0.5 * lin)).astype(float)
    elif loss_name == "gamma":
        loss, y = Gamma(), rng.gamma(2.0, np.exp(0.5 * lin) / 2)
    else:
        loss, y = SquaredError(), lin + rng.normal(size=n)
    weight = rng.random(n) * (rng.random(n) > 0.2) if weighted else None
    model = LinearModel(p, 1, fit_intercept=fit_intercept)
    objective = Objective(loss, model, penalty, X, y, weight)
    x0 = np.zeros(model.n_params)
    if fit_intercept:
        x0[-1] = float(np.ravel(loss.init_raw(y, weight))[0])
    with np.errstate(all="ignore"):
        return ScaledProblem(objective, x0)


@pytest.mark.parametrize("loss_name", ["log_loss", "poisson", "gamma", "squared_error"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_bound_is_at_least_the_exact_inverse_hessian_product(loss_name, fit_intercept,
                                                             weighted):
    rng = np.random.default_rng([len(loss_name), fit_intercept, weighted])
    finite = 0
    for trial in range(20):
        alpha = 10 ** rng.uniform(-5, 0)
        penalty = L2(alpha) if trial % 3 else ElasticNet(alpha, 0.5)
        scaled = _problem(rng, loss_name, fit_intercept, weighted, penalty)
        z = rng.normal(size=scaled.l1_weights.size) * 0.3
        free = np.ones(z.size, dtype=bool)
        if trial % 4 == 0:  # some weights held at zero by an L1 part
            free[: (z.size - 1) // 2] = False
        _, grad, hessp = scaled.gradient_hessp(z)
        _, _, hessian = scaled.gradient_hessian(z)
        # The gradient, and other vectors (the bound holds for any): one
        # along the intercept alone, where the coupling term matters.
        unit = np.zeros(z.size)
        unit[-1] = 1.0
        for g in (grad[free], rng.normal(size=free.sum()), unit[free]):
            exact = float(g @ np.linalg.lstsq(hessian[np.ix_(free, free)], g, rcond=None)[0])
            bound = scaled.inverse_hessian_bound(hessp, g, free)
            assert exact <= bound * (1 + 1e-9)
        finite += np.isfinite(bound)
    assert finite == 20  # every case here has a ridge part and convex curvatures


def test_bound_does_not_apply_without_a_ridge_part():
    rng = np.random.default_rng(3)
    scaled = _problem(rng, "log_loss", True, False, L1(1e-3))
    z = rng.normal(size=scaled.l1_weights.size) * 0.3
    free = np.ones(z.size, dtype=bool)
    _, grad, hessp = scaled.gradient_hessp(z)
    assert scaled.inverse_hessian_bound(hessp, grad, free) == np.inf


def test_bound_does_not_apply_to_sparse_X_with_an_intercept():
    # Its coupling term needs column scales at least the weighted spreads,
    # which only dense X computes exactly (a second pass where they cancel).
    rng = np.random.default_rng(4)
    X = sp.csr_matrix(rng.normal(size=(80, 3)) + 1e4)
    y = (rng.random(80) > 0.5).astype(float)
    model = LinearModel(3, 1, fit_intercept=True)
    objective = Objective(LogLoss(), model, L2(1e-2), X, y)
    x0 = np.zeros(model.n_params)
    with np.errstate(all="ignore"):
        scaled = ScaledProblem(objective, x0)
    z = rng.normal(size=scaled.l1_weights.size) * 0.3
    free = np.ones(z.size, dtype=bool)
    _, grad, hessp = scaled.gradient_hessp(z)
    assert scaled.inverse_hessian_bound(hessp, grad, free) == np.inf
    dense = ScaledProblem(Objective(LogLoss(), model, L2(1e-2), X.toarray(), y), x0)
    _, grad, hessp = dense.gradient_hessp(z)
    assert np.isfinite(dense.inverse_hessian_bound(hessp, grad, free))


def _large_logistic(n=3000, p=30, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = (X @ rng.normal(size=p) / np.sqrt(p) + rng.logistic(size=n) > 0).astype(float)
    return X, y


@pytest.fixture
def counted_products(monkeypatch):
    """Blocked evaluation on small data, and a count of the decrement's CG runs."""
    monkeypatch.setattr(blocked, "_MIN_DATA_BYTES", 0)
    monkeypatch.setattr(blocked, "_MIN_BLOCK_ROWS", 1)
    monkeypatch.setattr(blocked, "_BLOCK_BYTES", 500 * 8 * 30)
    # Beyond the formed Hessian, so that the conjugate-gradient path is taken.
    monkeypatch.setattr(decrement_check, "MAX_WORK", 0)
    runs = []
    original = decrement_check._conjugate_gradient_product

    def counting(*args, **kwargs):
        runs.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(decrement_check, "_conjugate_gradient_product", counting)
    return runs


def _exact_decrement(objective, x0, params):
    """Half of g^T H^{-1} g relative to the scaled objective, the Hessian formed."""
    scaled = ScaledProblem(objective, x0)
    z = scaled.to_variables(params)
    value, grad, hessian = scaled.gradient_hessian(z)
    return 0.5 * float(grad @ np.linalg.lstsq(hessian, grad, rcond=None)[0]) / abs(value)


def test_tight_fit_skips_the_products_and_keeps_its_answer(counted_products):
    X, y = _large_logistic()
    p = X.shape[1]
    x0 = np.zeros(p + 1)
    x0[p] = np.log(y.mean() / (1 - y.mean()))
    objective = Objective(LogLoss(), LinearModel(p, 1), L2(1e-2), X, y)
    assert objective._block_rows is not None
    result = LBFGS(tol=1e-8, max_iter=500).solve(objective, x0)
    assert result.converged and not counted_products  # the bound settled it
    # What it returns bounds the decrement the formed Hessian gives.
    exact = _exact_decrement(Objective(LogLoss(), LinearModel(p, 1), L2(1e-2), X, y),
                             x0, result.x)
    assert exact <= result.gap <= 0.5e-8


@pytest.mark.parametrize("tol", [1e-4, 1e-6])
def test_ill_conditioned_fit_still_runs_the_products(counted_products, tol):
    # Nearly collinear raw columns without an intercept: an ill-conditioned
    # scaled Hessian, where the bound (the penalty's curvature only) is far
    # above the decrement and cannot settle the check.
    rng = np.random.default_rng(1)
    n, p = 2000, 5
    base = rng.normal(size=(n, 1))
    X = 3.0 + base + 1e-3 * rng.normal(size=(n, p))
    y = (base[:, 0] + rng.logistic(size=n) > 0).astype(float)
    objective = Objective(LogLoss(), LinearModel(p, 1, fit_intercept=False), L2(1e-6), X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = LBFGS(tol=tol, max_iter=5000).solve(objective, np.zeros(p))
    assert counted_products
    exact = _exact_decrement(
        Objective(LogLoss(), LinearModel(p, 1, fit_intercept=False), L2(1e-6), X, y),
        np.zeros(p), result.x)
    # Either within tol, or the fit says it is not.
    assert exact <= tol or not result.converged

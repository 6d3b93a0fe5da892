"""The full-batch fits do not depend on the units of X and y (API.md section 5).

Each fit is judged against a tight reference optimum computed here, by scipy
on the problem written in standardised coordinates, independent of the
package's preconditioning: a fit either reaches it (relative 1e-6 in J) or
says it did not (a ConvergenceWarning).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog, minimize
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso
from sklearn.metrics import r2_score

from sklosses import LossRegressor, PenaltyDominatesWarning
from sklosses._objective import Objective
from sklosses._resolve import resolve_loss
from sklosses.models import LinearModel
from sklosses.penalties import L1, L2
from sklosses.solvers import LBFGS, Newton, ProximalGradient, SmoothingContinuation

SMOOTH_LOSSES = ["squared_error", "huber", "log_cosh", "squared_log_error", "poisson",
                 "gamma", "tweedie"]
SOLVERS = ["lbfgs", "proximal", "newton"]
# The solvers that take a smoothed surrogate of a non-smooth loss.
SMOOTHING_SOLVERS = ["lbfgs", "proximal"]
ALPHA = 1e-3


# --- data and the one objective every fit is judged by ----------------------


def make_data(loss, n=40, p=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    signal = X @ np.array([1.0, -0.5, 0.25])[:p]
    if resolve_loss(loss).link.name == "identity":
        y = signal + 0.3 * rng.standard_t(4, size=n)
    else:  # log and log1p links: positive targets
        y = np.exp(0.5 * signal) * rng.gamma(4.0, 0.25, size=n)
    return X, y


def objective_value(loss, X, y, coef, intercept, alpha):
    """J = mean loss + alpha / 2 ||w||^2, from the loss's own pointwise values."""
    raw = X @ np.ravel(coef) + float(np.ravel(intercept)[0])
    pointwise = loss.loss(y, raw)
    return float(np.mean(pointwise) + 0.5 * alpha * np.ravel(coef) @ np.ravel(coef))


def reference_optimum(loss, X, y, alpha):
    """min J by scipy in standardised coordinates, J divided by its value at the start.

    Variables ``v`` with ``w = r v / s`` and intercept ``c0 + r c - (m / s) @ (r v)``,
    ``r`` the spread of ``y`` for the identity link (1 for the others): the
    same problem in well-scaled coordinates, solved to rounding level.
    """
    m, s = X.mean(axis=0), X.std(axis=0)
    Xs = (X - m) / s
    r = float(np.std(y)) if loss.link.name == "identity" else 1.0
    c0 = float(np.ravel(loss.init_raw(y))[0])
    scale = abs(objective_value(loss, X, y, np.zeros(X.shape[1]), c0, alpha))

    def fun(theta):
        v, c = theta[:-1], theta[-1]
        value, grad_raw = loss.loss_gradient(y, r * (Xs @ v + c) + c0)
        w = r * v / s
        value = np.mean(value) + 0.5 * alpha * w @ w
        grad_raw = r * grad_raw / len(y)
        grad = np.append(Xs.T @ grad_raw + alpha * r * w / s, grad_raw.sum())
        return value / scale, grad / scale

    best = np.zeros(X.shape[1] + 1)
    for _ in range(3):  # restarts polish away an early stop of the line search
        res = minimize(fun, best, jac=True, method="L-BFGS-B",
                       options={"gtol": 1e-13, "ftol": 1e-16, "maxiter": 20000,
                                "maxls": 100})
        best = res.x
    v, c = best[:-1], best[-1]
    w = r * v / s
    return objective_value(loss, X, y, w, c0 + r * c - m @ w, alpha)


def fit_or_warn(estimator, X, y):
    """Fit; return (estimator, whether a ConvergenceWarning was raised)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(X, y)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return estimator, warned


def assert_optimal_or_warned(loss_name, solver, X, y, tol=1e-9):
    loss = resolve_loss(loss_name)
    est, warned = fit_or_warn(
        LossRegressor(loss=loss_name, alpha=ALPHA, solver=solver, tol=tol,
                      max_iter=5000), X, y)
    if warned:
        return
    reference = reference_optimum(loss, X, y, ALPHA)
    ours = objective_value(loss, X, y, est.coef_, est.intercept_, ALPHA)
    assert ours == pytest.approx(reference, rel=1e-6), (
        f"{loss_name} / {solver}: J = {ours!r}, optimum {reference!r}, no warning"
    )


# (scale of X, scale of y): the corners of 1e-8 ... 1e12 and unit scale.
FAST_SCALES = [(1.0, 1.0), (1e-8, 1e12), (1e12, 1e-8), (1.0, 1e-8), (1e12, 1e12)]
WIDE = [1e-8, 1e-4, 1.0, 1e6, 1e12]


@pytest.mark.parametrize("x_scale, y_scale", FAST_SCALES,
                         ids=[f"X{a:g}-y{b:g}" for a, b in FAST_SCALES])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("loss", SMOOTH_LOSSES)
def test_fit_reaches_the_optimum_at_any_scale(loss, solver, x_scale, y_scale):
    X, y = make_data(loss)
    assert_optimal_or_warned(loss, solver, X * x_scale, y * y_scale)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("loss", SMOOTH_LOSSES)
def test_fit_reaches_the_optimum_with_nanosecond_columns(loss, solver):
    """Two columns on the 1e18 scale (nanosecond timestamps) beside unit ones."""
    X, y = make_data(loss, p=3)
    X = X * np.array([1.0, 1e18, 3e18])
    assert_optimal_or_warned(loss, solver, X, y)


@pytest.mark.slow
@pytest.mark.parametrize("y_scale", WIDE)
@pytest.mark.parametrize("x_scale", WIDE)
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("loss", SMOOTH_LOSSES)
def test_fit_reaches_the_optimum_on_a_wide_sweep(loss, solver, x_scale, y_scale):
    X, y = make_data(loss, seed=1)
    assert_optimal_or_warned(loss, solver, X * x_scale, y * y_scale)


@pytest.mark.parametrize("x_scale", [1e-8, 1.0, 1e12])
@pytest.mark.parametrize("solver", SOLVERS)
def test_kl_divergence_at_any_feature_scale(solver, x_scale):
    """KL targets are probability rows (no units); the features can have any."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    logits = X @ rng.normal(size=(3, 3))
    Y = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    fits = [fit_or_warn(LossRegressor("kl_divergence", alpha=0.0, solver=solver,
                                      tol=1e-9, max_iter=5000), X * scale, Y)
            for scale in (1.0, x_scale)]
    (unit, _), (scaled, warned) = fits
    if not warned:
        # alpha=0: the scaled fit is the unit fit with coefficients / scale.
        np.testing.assert_allclose(scaled.predict(X * x_scale), unit.predict(X),
                                   atol=1e-6)


# --- the failures of issue 10, one by one ----------------------------------


def linear_data(n=200, p=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    return X, X @ rng.normal(size=p) + 0.1 * rng.normal(size=n)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("y_scale", [1e-5, 1e35])
def test_tiny_and_huge_targets_fit_as_unit_ones(solver, y_scale):
    # Tiny targets stopped at the constant model (gradient below an absolute
    # tol); huge ones in an ABNORMAL line search counted as converged.
    X, y = linear_data()
    unit = LossRegressor(alpha=0.0, solver=solver).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        scaled = LossRegressor(alpha=0.0, solver=solver).fit(X, y * y_scale)
    assert scaled.score(X, y * y_scale) == pytest.approx(unit.score(X, y), abs=1e-6)
    np.testing.assert_allclose(scaled.coef_ / y_scale, unit.coef_, rtol=1e-4)


@pytest.mark.parametrize("solver", SOLVERS)
def test_a_nanosecond_feature_does_not_stop_the_fit(solver):
    X, y = linear_data()
    X_ns = X.copy()
    X_ns[:, 0] *= 1e18
    unit = LossRegressor(alpha=0.0, solver=solver).fit(X, y)
    scaled = LossRegressor(alpha=0.0, solver=solver).fit(X_ns, y)
    assert scaled.score(X_ns, y) == pytest.approx(unit.score(X, y), abs=1e-6)
    assert scaled.coef_[0] * 1e18 == pytest.approx(unit.coef_[0], rel=1e-4)


@pytest.mark.parametrize("solver", SOLVERS)
def test_multi_output_on_mixed_scales_fits_every_output(solver):
    X, y = linear_data()
    y2 = X @ np.array([0.3, 0.0, -1.0, 2.0, 0.5]) + np.sin(np.arange(len(y)))
    Y = np.c_[y * 1e6, y2 * 1e-6]
    fit = LossRegressor(alpha=0.0, solver=solver).fit(X, Y)
    for k, single_y in enumerate((y, y2)):
        single = LossRegressor(alpha=0.0, solver=solver).fit(X, single_y)
        assert r2_score(Y[:, k], fit.predict(X)[:, k]) == pytest.approx(
            single.score(X, single_y), abs=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("x_scale", [1e-6, 1e9])
def test_lasso_on_columns_of_mixed_scales_reaches_the_optimum(solver, x_scale):
    """L1 in the new variables is a weighted L1: the optimum does not move."""
    X, y = linear_data(p=8)
    X = X * np.logspace(0, np.log10(x_scale), 8)
    loss = resolve_loss("squared_error")

    def J(est):
        raw = X @ est.coef_ + est.intercept_
        return float(np.mean(loss.loss(y, raw)) + 0.05 * np.abs(est.coef_).sum())

    fit = LossRegressor(alpha=0.05, l1_ratio=1.0, solver=solver, tol=1e-10,
                        max_iter=5000).fit(X, y)
    # Reference: coordinate descent, which minimises exactly along each
    # coordinate and so does not care about column scales; scikit-learn's
    # lasso objective is half ours at half the alpha.
    with warnings.catch_warnings():
        # Its gap test is relative to ||y||^2, stricter than float64 allows here.
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = Lasso(alpha=0.025, tol=1e-14, max_iter=100000).fit(X, y)
    assert J(fit) == pytest.approx(J(ref), rel=1e-8)
    np.testing.assert_array_equal(fit.coef_ == 0, ref.coef_ == 0)


@pytest.mark.parametrize("solver", SOLVERS)
def test_sparse_columns_are_scaled_without_centring_the_data(solver):
    X, y = linear_data()
    X[np.abs(X) < 0.7] = 0.0
    X[:, 1] *= 1e12
    dense = LossRegressor(alpha=1e-3, solver=solver, tol=1e-10).fit(X, y)
    sparse = LossRegressor(alpha=1e-3, solver=solver, tol=1e-10).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.predict(X), dense.predict(X), rtol=1e-7, atol=1e-9)


def test_mlp_never_claims_convergence_that_the_units_defeat():
    """Huge targets: the MLP either fits them or says it did not."""
    X, y = linear_data(n=100)
    est, warned = fit_or_warn(
        LossRegressor(hidden_layer_sizes=(6,), activation="tanh", random_state=0,
                      max_iter=300), X, y * 1e35)
    assert warned or est.score(X, y * 1e35) > 0.9


# --- the stopping verdict at the solver level --------------------------------


class WrongGradientObjective:
    """||x - 1||^2 with a gradient of the wrong sign: every line search fails."""

    penalty = L2(0.0)
    loss = "wrong-gradient-test"
    weights_slice = slice(0, 2)

    def smooth_value_gradient(self, x):
        return float(np.sum((x - 1.0) ** 2)), -2.0 * (x - 1.0)

    def nonsmooth_value(self, x):
        return 0.0

    def value(self, x):
        return self.smooth_value_gradient(x)[0]

    def prox(self, x, step):
        return x.copy()


@pytest.mark.parametrize("solver", [LBFGS, ProximalGradient])
def test_a_failed_line_search_is_not_converged(solver):
    res = solver(tol=1e-6, max_iter=100).solve(WrongGradientObjective(), np.zeros(2))
    assert not res.converged
    assert "starting point" in res.message
    np.testing.assert_allclose(res.x, np.zeros(2), atol=1e-12)


@pytest.mark.parametrize("solver", [LBFGS, ProximalGradient, Newton])
def test_iteration_limit_is_reported_in_the_message(solver):
    X, y = linear_data()
    objective = Objective(resolve_loss("log_cosh"), LinearModel(5, 1), L2(1e-3), X, y)
    res = solver(tol=1e-14, max_iter=2).solve(objective, np.zeros(6))
    assert not res.converged
    assert "max_iter=2" in res.message


def test_lbfgs_reports_a_relative_gap():
    X, y = linear_data()
    for y_scale in (1e-5, 1.0, 1e35):
        objective = Objective(resolve_loss("squared_error"), LinearModel(5, 1), L2(1e-3),
                              X, y * y_scale)
        x0 = np.append(np.zeros(5), y.mean() * y_scale)
        res = LBFGS(tol=1e-4).solve(objective, x0)
        assert res.converged and res.message == ""
        assert 0 <= res.gap <= 1e-4


@pytest.mark.parametrize("inner", [LBFGS, ProximalGradient])
@pytest.mark.parametrize("y_scale", [1e-8, 1.0, 1e12])
def test_smoothing_continuation_is_scale_free(inner, y_scale):
    """Absolute error + L1: relative accuracy rel_accuracy at every target scale."""
    X, y = linear_data(n=60, p=3)
    # |r| and alpha ||w||_1 both scale with y when w does: J(c y) = c J(y).
    objective = Objective(resolve_loss("absolute_error"), LinearModel(3, 1), L1(0.01),
                          X, y * y_scale)
    unit = Objective(resolve_loss("absolute_error"), LinearModel(3, 1), L1(0.01), X, y)
    solver = SmoothingContinuation(inner(tol=1e-8, max_iter=20000), rel_accuracy=1e-4)
    res = solver.solve(objective, np.append(np.zeros(3), np.median(y) * y_scale))
    ref = solver.solve(unit, np.append(np.zeros(3), np.median(y)))
    assert res.converged
    assert objective.value(res.x) / y_scale == pytest.approx(unit.value(ref.x), rel=3e-4)


# --- the penalty that flattens robust fits on large targets (class 3) -----------

ROBUST = ["huber", "absolute_error", "quantile", "log_cosh", "epsilon_insensitive"]


def dollar_data():
    X, y = linear_data(n=150)
    return X, 1e5 + 3e4 * y


@pytest.mark.parametrize("loss", ROBUST)
def test_penalty_that_flattens_a_robust_fit_on_dollars_warns(loss):
    X, y = dollar_data()
    with pytest.warns(PenaltyDominatesWarning, match="alpha=0.0001 flattens the fit"):
        flat = LossRegressor(loss=loss).fit(X, y)
    # It is the optimum of the stated objective: the fit is not changed ...
    assert flat.score(X, y) < 0.5
    # ... and each remedy in the message works, without the warning.
    with warnings.catch_warnings():
        warnings.simplefilter("error", PenaltyDominatesWarning)
        assert LossRegressor(loss=loss, alpha=0.0).fit(X, y).score(X, y) > 0.9
        scaled = LossRegressor(loss=loss).fit(X, y / y.std())
        assert scaled.score(X, y / y.std()) > 0.9


@pytest.mark.parametrize("alpha, y_scale", [(1e-4, 1.0), (1e-4, 1e-3), (1.0, 1.0),
                                            (1e-4, 1e5)],
                         ids=["default", "small-targets", "strong-on-purpose", "mse"])
def test_penalty_warning_stays_quiet_on_well_posed_fits(alpha, y_scale):
    X, y = linear_data(n=150)
    loss = "squared_error" if y_scale == 1e5 else "huber"
    with warnings.catch_warnings():
        warnings.simplefilter("error", PenaltyDominatesWarning)
        LossRegressor(loss=loss, alpha=alpha).fit(X, y * y_scale)


def absolute_l1_optimum(X, y, alpha):
    """min mean |y - X w - b| + alpha ||w||_1 exactly, as a linear program."""
    n, p = X.shape
    Z = np.hstack([X, -X, np.ones((n, 1))])
    cost = np.concatenate([np.full(2 * p, alpha), [0.0], np.full(n, 1 / n)])
    eye = np.eye(n)
    A = np.vstack([np.hstack([-Z, -eye]), np.hstack([Z, -eye])])
    bounds = [(0, None)] * (2 * p) + [(None, None)] + [(0, None)] * n
    res = linprog(cost, A_ub=A, b_ub=np.concatenate([-y, y]), bounds=bounds,
                  method="highs")
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("x_scale, y_scale", [(1e-8, 1.0), (1e12, 1.0), (1e6, 1e-6)])
@pytest.mark.parametrize("solver", SMOOTHING_SOLVERS)
def test_smoothing_wrapper_reaches_the_lp_optimum_at_any_feature_scale(
        solver, x_scale, y_scale):
    X, y = linear_data(n=60, p=3)
    # The LP is solved on unit data (its tolerances are absolute); with alpha
    # scaled as the features, J(c_x X, c_y y, c_x alpha) = c_y J(X, y, alpha).
    optimum = y_scale * absolute_l1_optimum(X, y, 0.01)
    X, y, alpha = X * x_scale, y * y_scale, 0.01 * x_scale
    est, warned = fit_or_warn(
        LossRegressor("absolute_error", alpha=alpha, l1_ratio=1.0, solver=solver,
                      tol=1e-7, max_iter=20000), X, y)
    if warned:
        return
    raw = X @ est.coef_ + est.intercept_
    J = float(np.mean(np.abs(y - raw)) + alpha * np.abs(est.coef_).sum())
    assert optimum * (1 - 1e-9) <= J <= optimum * (1 + 1e-6)

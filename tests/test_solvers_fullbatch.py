"""Full-batch solvers (L-BFGS, proximal gradient, smoothing) reach the optimum.

Every fit is judged by ``objective`` below, written here from the formulas of
API.md and independent of the package's Objective, so that ours and the
scikit-learn references are compared on one number.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog, minimize
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import ElasticNet as SkElasticNet
from sklearn.linear_model import LogisticRegression, QuantileRegressor
from sklearn.preprocessing import StandardScaler

import sklosses.solvers._smoothing as smoothing_module
from sklosses import LossClassifier, LossRegressor
from sklosses._objective import Objective
from sklosses._resolve import resolve_loss, resolve_penalty, resolve_solver
from sklosses.losses import Quantile, SquaredError
from sklosses.models import LinearModel
from sklosses.penalties import L1
from sklosses.solvers import LBFGS, ProximalGradient, SmoothingContinuation
from sklosses.solvers._choice import GramOrFallback, NewtonOrLBFGS

FULL_BATCH = ["lbfgs", "proximal"]


# --- the one objective function all fits are judged by ---------------------


def pointwise(loss, y, z):
    """Per-sample loss of the decision values / predictions ``z``."""
    if loss == "squared_error":
        return (y - z) ** 2
    if loss == "absolute_error":
        return np.abs(y - z)
    if loss == "huber":  # delta = 1
        a = np.abs(y - z)
        return np.where(a <= 1, 0.5 * a**2, a - 0.5)
    if isinstance(loss, tuple) and loss[0] == "quantile":
        r = y - z
        return np.maximum(loss[1] * r, (loss[1] - 1) * r)
    if isinstance(loss, tuple) and loss[0] == "epsilon_insensitive":
        return np.maximum(0.0, np.abs(y - z) - loss[1])
    if loss == "log_loss":  # y in {0, 1}
        return np.logaddexp(0.0, -(2 * y - 1) * z)
    if loss == "hinge":  # y in {0, 1}
        return np.maximum(0.0, 1 - (2 * y - 1) * z)
    raise ValueError(loss)


def objective(loss, X, y, coef, intercept, alpha, l1_ratio):
    """J = mean loss + alpha (l1_ratio ||w||_1 + (1 - l1_ratio) / 2 ||w||^2)."""
    coef = np.ravel(coef)
    z = X @ coef + np.ravel(intercept)[0]
    penalty = l1_ratio * np.abs(coef).sum() + 0.5 * (1 - l1_ratio) * coef @ coef
    return float(pointwise(loss, y, z).mean() + alpha * penalty)


def judge(est, loss, X, y):
    return objective(loss, X, y, est.coef_, est.intercept_, est.alpha, est.l1_ratio)


# --- data ---------------------------------------------------------------------


def regression_data(n=200, p=8, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = X @ rng.normal(size=p) + 0.5 + rng.standard_t(3, size=n)
    return X, y


def classification_data(n=300, p=8, seed=0):
    X, y = make_classification(n, p, n_informative=4, random_state=seed)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def tight(est_cls, **params):
    return est_cls(tol=1e-10, max_iter=20000, **params)


# --- strongly convex problems: every solver, one optimum ----------------------


def huber_reference(X, y, alpha):
    """Huber + L2 minimised by scipy on a hand-written gradient."""
    n = X.shape[0]

    def fun(theta):
        w, b = theta[:-1], theta[-1]
        r = X @ w + b - y
        value = pointwise("huber", y, X @ w + b).mean() + 0.5 * alpha * w @ w
        g = np.clip(r, -1, 1) / n
        return value, np.append(X.T @ g + alpha * w, g.sum())

    res = minimize(fun, np.zeros(X.shape[1] + 1), jac=True, method="L-BFGS-B",
                   options={"gtol": 1e-13, "ftol": 1e-16, "maxiter": 10000})
    return res.fun


def strongly_convex_reference(loss, X, y, alpha):
    n = X.shape[0]
    if loss == "squared_error":  # ridge with an unpenalised intercept, closed form
        Xc, yc = X - X.mean(0), y - y.mean()
        w = np.linalg.solve(Xc.T @ Xc / n + 0.5 * alpha * np.eye(X.shape[1]), Xc.T @ yc / n)
        return objective(loss, X, y, w, y.mean() - X.mean(0) @ w, alpha, 0.0)
    if loss == "log_loss":
        ref = LogisticRegression(C=1 / (n * alpha), tol=1e-12, max_iter=10000).fit(X, y)
        return objective(loss, X, y, ref.coef_, ref.intercept_, alpha, 0.0)
    return huber_reference(X, y, alpha)


@pytest.mark.parametrize("solver", FULL_BATCH)
@pytest.mark.parametrize("loss", ["squared_error", "log_loss", "huber"])
def test_every_solver_reaches_the_strongly_convex_optimum(loss, solver):
    alpha = 0.05
    if loss == "log_loss":
        X, y = classification_data()
        est = tight(LossClassifier, loss=loss, alpha=alpha, solver=solver).fit(X, y)
    else:
        X, y = regression_data()
        est = tight(LossRegressor, loss=loss, alpha=alpha, solver=solver).fit(X, y)
    reference = strongly_convex_reference(loss, X, y, alpha)
    assert judge(est, loss, X, y) == pytest.approx(reference, rel=1e-8)


# --- L1 and elastic net against scikit-learn ------------------------------------


@pytest.mark.parametrize("solver", FULL_BATCH)
@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
def test_l1_path_matches_sklearn_elastic_net(diabetes, solver, l1_ratio):
    """scikit-learn's objective is (1/(2n))||y - Xw||^2 + a (r ||w||_1 + (1-r)/2 ||w||^2).

    Twice it is ours, (1/n)||y - Xw||^2 + 2a (...): ``alpha_ours = 2 * alpha_sklearn``
    at the same ``l1_ratio``.
    """
    X, y = diabetes
    for alpha_sk in [10.0, 1.0, 0.1, 0.01]:
        ref = SkElasticNet(alpha=alpha_sk, l1_ratio=l1_ratio, tol=1e-14,
                           max_iter=100000).fit(X, y)
        ours = tight(LossRegressor, alpha=2 * alpha_sk, l1_ratio=l1_ratio,
                     solver=solver).fit(X, y)
        j_ref = objective("squared_error", X, y, ref.coef_, ref.intercept_,
                          2 * alpha_sk, l1_ratio)
        assert judge(ours, "squared_error", X, y) == pytest.approx(j_ref, rel=1e-6)
        # Exact zeros where the lasso has them.
        np.testing.assert_array_equal(ours.coef_ == 0, ref.coef_ == 0)


@pytest.mark.parametrize("solver", FULL_BATCH)
def test_l1_logistic_matches_liblinear_without_intercept(solver):
    """LogisticRegression's C sum(logloss) + ||w||_1 is n C times ours at alpha = 1/(n C)."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    n, alpha = X.shape[0], 0.01
    ref = LogisticRegression(C=1 / (n * alpha), l1_ratio=1, solver="liblinear",
                             fit_intercept=False, tol=1e-12, max_iter=100000).fit(X, y)
    ours = tight(LossClassifier, alpha=alpha, l1_ratio=1, solver=solver,
                 fit_intercept=False).fit(X, y)
    j_ref = objective("log_loss", X, y, ref.coef_, 0.0, alpha, 1.0)
    assert judge(ours, "log_loss", X, y) == pytest.approx(j_ref, rel=1e-6)


@pytest.mark.parametrize("solver", FULL_BATCH)
def test_l1_logistic_with_intercept_matches_saga(solver):
    X, y = classification_data(n=200, p=6)
    n, alpha = X.shape[0], 0.02
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = LogisticRegression(C=1 / (n * alpha), l1_ratio=1, solver="saga", tol=1e-12,
                                 max_iter=20000).fit(X, y)
    ours = tight(LossClassifier, alpha=alpha, l1_ratio=1, solver=solver).fit(X, y)
    j_ref = objective("log_loss", X, y, ref.coef_, ref.intercept_, alpha, 1.0)
    assert judge(ours, "log_loss", X, y) == pytest.approx(j_ref, rel=1e-6)


# --- quantile + L1 against QuantileRegressor (HiGHS) ----------------------------


@pytest.mark.parametrize("solver", ["auto", "proximal"])
@pytest.mark.parametrize("quantile", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("alpha", [0.0, 0.05])
def test_quantile_l1_matches_highs(diabetes, quantile, alpha, solver):
    """QuantileRegressor minimises mean pinball + alpha ||w||_1: ours at l1_ratio=1.

    Default ``tol`` (1e-4): the smoothing continuation promises that relative accuracy.
    """
    X, y = diabetes
    ref = QuantileRegressor(quantile=quantile, alpha=alpha, solver="highs").fit(X, y)
    ours = LossRegressor(loss=Quantile(quantile), alpha=alpha, l1_ratio=1,
                         solver=solver, max_iter=20000).fit(X, y)
    loss = ("quantile", quantile)
    j_ref = objective(loss, X, y, ref.coef_, ref.intercept_, alpha, 1.0)
    assert judge(ours, loss, X, y) <= j_ref * (1 + 1e-4)


# --- non-smooth losses against brute force ---------------------------------------


def lp_optimum(loss, X, y, alpha):
    """Exact optimum of a piecewise-linear loss + alpha ||w||_1 as a linear program.

    Variables: u, v >= 0 (w = u - v), free intercept b, slacks t >= 0 with
    t_i >= the affine pieces of the loss of sample i.
    """
    n, p = X.shape
    # z = X u - X v + b: columns of the affine map from [u, v, b] to decision values.
    Z = np.hstack([X, -X, np.ones((n, 1))])
    cost = np.concatenate([np.full(2 * p, alpha), [0.0], np.full(n, 1 / n)])
    I = np.eye(n)
    if loss == "absolute_error":  # t >= y - z and t >= z - y
        A = np.vstack([np.hstack([-Z, -I]), np.hstack([Z, -I])])
        b = np.concatenate([-y, y])
    elif loss[0] == "epsilon_insensitive":  # t >= y - z - e and t >= z - y - e
        e = loss[1]
        A = np.vstack([np.hstack([-Z, -I]), np.hstack([Z, -I])])
        b = np.concatenate([e - y, y + e])
    else:  # hinge: t >= 1 - s z with s = 2y - 1
        s = (2 * y - 1)[:, None]
        A = np.hstack([-s * Z, -I])
        b = -np.ones(n)
    bounds = [(0, None)] * (2 * p) + [(None, None)] + [(0, None)] * n
    res = linprog(cost, A_ub=A, b_ub=b, bounds=bounds, method="highs")
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("solver", FULL_BATCH)
@pytest.mark.parametrize("loss", ["absolute_error", ("epsilon_insensitive", 0.5), "hinge"],
                         ids=["absolute", "epsilon", "hinge"])
def test_nonsmooth_l1_reaches_the_linear_program_optimum(loss, solver):
    alpha = 0.02
    if loss == "hinge":
        X, y = classification_data(n=150, p=6, seed=1)
        est = LossClassifier("hinge", alpha=alpha, l1_ratio=1, solver=solver, max_iter=20000)
    else:
        X, y = regression_data(n=150, p=6, seed=1)
        name = loss if isinstance(loss, str) else resolve_loss(loss[0]).set_params(
            epsilon=loss[1])
        est = LossRegressor(name, alpha=alpha, l1_ratio=1, solver=solver, max_iter=20000)
    est.fit(X, y)
    optimum = lp_optimum(loss, X, y, alpha)
    # Lower or equal up to the promised relative accuracy tol = 1e-4.
    assert judge(est, loss, X, y) <= optimum * (1 + 1e-4)


def subgradient_reference(loss, X, y, alpha, n_iter=20000):
    """Brute force: a long subgradient run on loss + alpha/2 ||w||^2, best iterate."""
    n, p = X.shape
    theta, best = np.zeros(p + 1), np.inf
    for k in range(n_iter):
        w, b = theta[:-1], theta[-1]
        z = X @ w + b
        if loss == "hinge":
            s = 2 * y - 1
            g_z = np.where(s * z < 1, -s, 0.0) / n
        else:
            g_z = np.sign(z - y) / n
        grad = np.append(X.T @ g_z + alpha * w, g_z.sum())
        theta = theta - grad / (alpha * (k + 1))  # 1/(mu k): strongly convex steps
        best = min(best, objective(loss, X, y, theta[:-1], theta[-1], alpha, 0.0))
    return best


@pytest.mark.parametrize("loss", ["absolute_error", "hinge"])
def test_nonsmooth_l2_beats_a_long_subgradient_run(loss):
    alpha = 0.05
    if loss == "hinge":
        X, y = classification_data(n=150, p=6, seed=2)
        est = LossClassifier(loss, alpha=alpha, tol=1e-8, max_iter=5000).fit(X, y)
    else:
        X, y = regression_data(n=150, p=6, seed=2)
        est = LossRegressor(loss, alpha=alpha, tol=1e-8, max_iter=5000).fit(X, y)
    reference = subgradient_reference(loss, X, y, alpha)
    assert judge(est, loss, X, y) <= reference
    # ... and the default tol=1e-4 is within its promised relative accuracy.
    default = type(est)(loss, alpha=alpha).fit(X, y)
    assert judge(default, loss, X, y) <= reference * (1 + 1e-4)


# --- solver behaviour -------------------------------------------------------------


@pytest.mark.parametrize("penalty", [(0.01, 1.0), (0.05, 0.5), (0.05, 0.0)],
                         ids=["l1", "enet", "l2"])
@pytest.mark.parametrize("loss", ["log_loss", "squared_error"])
def test_proximal_loss_curve_never_increases(loss, penalty):
    alpha, l1_ratio = penalty
    if loss == "log_loss":
        X, y = classification_data(n=400, p=20)
        est = LossClassifier(loss, alpha=alpha, l1_ratio=l1_ratio, solver="proximal",
                             tol=1e-9, max_iter=5000).fit(X, y)
    else:
        X, y = regression_data(n=400, p=20)
        est = LossRegressor(loss, alpha=alpha, l1_ratio=l1_ratio, solver="proximal",
                            tol=1e-9, max_iter=5000).fit(X, y)
    curve = np.asarray(est.loss_curve_)
    assert curve.size > 5
    assert np.all(np.diff(curve) <= 1e-12 * abs(curve[0]))
    # The curve is the objective J of API.md at each iterate; the last is the fit's.
    assert curve[-1] == pytest.approx(judge(est, loss, X, y), rel=1e-10)


@pytest.mark.parametrize("solver", FULL_BATCH)
@pytest.mark.parametrize("loss, l1_ratio", [("squared_error", 1.0), ("quantile", 1.0),
                                            ("log_loss", 0.0)])
def test_tiny_max_iter_warns(loss, l1_ratio, solver, monkeypatch):
    # The quantile fit's exact finish would end it on the certified optimum
    # all the same (tests/test_exact_finish.py): here the continuation alone.
    monkeypatch.setattr(smoothing_module, "exact_finish", lambda *args: None)
    if loss == "log_loss":
        X, y = classification_data()
        est = LossClassifier(loss, l1_ratio=l1_ratio, solver=solver, max_iter=2, tol=1e-12)
    else:
        X, y = regression_data()
        est = LossRegressor(loss, l1_ratio=l1_ratio, alpha=0.01, solver=solver,
                            max_iter=2, tol=1e-12)
    with pytest.warns(ConvergenceWarning, match=solver):
        est.fit(X, y)
    assert est.n_iter_ >= 1


@pytest.mark.parametrize("solver", FULL_BATCH)
def test_no_warning_when_converged(solver):
    X, y = regression_data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LossRegressor("quantile", alpha=0.01, l1_ratio=1, solver=solver,
                      max_iter=20000).fit(X, y)


class ExpObjective:
    """sum(exp(x) - 2 x) + 0.01 ||x||_1: flat far left, overflowing far right.

    From x0 = -10 the curvature is e^-10, so the first steps are huge and their
    objective is +inf (exp overflows): the solver has to back off.
    """

    penalty = L1(0.01)
    loss = "exp-test"
    weights_slice = slice(0, 3)

    def __init__(self):
        self.n_infinite = 0

    def smooth_value_gradient(self, x):
        e = np.exp(x)  # overflows on long trial steps: the solver must silence it
        value = float(np.sum(e - 2 * x))
        self.n_infinite += not np.isfinite(value)
        return value, e - 2

    def nonsmooth_value(self, x):
        return self.penalty.nonsmooth_value(x)

    def value(self, x):
        return self.smooth_value_gradient(x)[0] + self.nonsmooth_value(x)

    def prox(self, x, step):
        return self.penalty.prox(x, step)


@pytest.mark.parametrize("solver", [LBFGS, ProximalGradient])
def test_nonfinite_objective_makes_the_step_back_off(solver):
    objective = ExpObjective()
    res = solver(tol=1e-10, max_iter=1000).solve(objective, np.full(3, -10.0))
    assert objective.n_infinite > 0  # overflowing trials happened and were refused
    assert res.converged
    # exp(x) = 2 - 0.01 at the optimum (x > 0, so the L1 subgradient is +0.01).
    np.testing.assert_allclose(res.x, np.log(1.99), rtol=1e-8)


@pytest.mark.parametrize("solver", [LBFGS, ProximalGradient])
def test_nonfinite_start_raises_a_clear_error(solver):
    with pytest.raises(FloatingPointError, match="not finite at the starting point"):
        solver(max_iter=50).solve(ExpObjective(), np.full(3, 1000.0))


@pytest.mark.parametrize("solver", [LBFGS, ProximalGradient])
def test_rejected_trials_emit_no_numpy_warnings(solver):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with np.errstate(all="warn"):
            res = solver(tol=1e-8, max_iter=1000).solve(ExpObjective(), np.full(3, -20.0))
    assert res.converged


def coefficient_tolerance(J, tol, strong_convexity):
    """How far from the optimum coefficients within ``tol`` (relative) of J* can be.

    ``J(w) - J* >= mu / 2 ||w - w*||^2`` for a ``mu``-strongly convex J, and a
    fit at tolerance ``tol`` has ``J(w) - J* <~ tol * J``: so
    ``||w - w*|| <= sqrt(2 tol J / mu)``. Two such fits differ by twice that.
    """
    return 2.0 * np.sqrt(2.0 * tol * J / strong_convexity)


@pytest.mark.parametrize("solver", FULL_BATCH)
def test_sparse_and_float32_match_dense(solver):
    # Tolerances follow from the solvers' tol, not from a guess: both fits are
    # within tol of the same optimum in J, and the L2 part alpha (1 - l1_ratio)
    # makes J strongly convex in the weights.
    X, y = regression_data(p=10)
    alpha, l1_ratio = 0.05, 0.7
    params = dict(loss="huber", alpha=alpha, l1_ratio=l1_ratio, solver=solver)
    mu = alpha * (1 - l1_ratio)
    for tol, X_other in [(1e-10, sp.csr_matrix(X)), (1e-4, X.astype(np.float32))]:
        dense = LossRegressor(tol=tol, max_iter=20000, **params).fit(X, y)
        other = LossRegressor(tol=tol, max_iter=20000, **params).fit(X_other, y)
        assert other.coef_.dtype == X_other.dtype
        J_dense = judge(dense, "huber", X, y)
        J_other = judge(other, "huber", X, np.asarray(y))
        # float32 adds its own rounding, about eps32 relative, to J.
        rounding = np.finfo(X_other.dtype).eps
        assert J_other == pytest.approx(J_dense, rel=2 * tol + 8 * rounding)
        bound = coefficient_tolerance(J_dense, tol + 8 * rounding, mu)
        assert np.linalg.norm(other.coef_ - dense.coef_) <= bound


def test_multiclass_l1_split_and_proximal_agree():
    X, y = make_classification(300, 8, n_informative=5, n_classes=3, random_state=0)
    X = StandardScaler().fit_transform(X)
    fits = [tight(LossClassifier, alpha=0.01, l1_ratio=1, solver=s).fit(X, y)
            for s in FULL_BATCH]
    np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, atol=1e-5)
    assert np.any(fits[0].coef_ == 0)  # exactly sparse with the split too
    np.testing.assert_array_equal(fits[0].coef_ == 0, fits[1].coef_ == 0)


@pytest.mark.parametrize("solver", FULL_BATCH)
def test_mlp_with_l1_trains(solver):
    X, y = regression_data(n=200, p=5)
    est = LossRegressor(hidden_layer_sizes=(6,), alpha=0.01, l1_ratio=1, solver=solver,
                        activation="tanh", random_state=0, max_iter=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    assert any(np.any(W == 0) for W in est.coefs_)


# --- solver objects directly ----------------------------------------------------------


def test_lbfgs_split_sums_to_the_l1_norm_and_never_keeps_both_parts():
    X, y = regression_data(n=100, p=12)
    objective = Objective(SquaredError(), LinearModel(12, 1), L1(0.3), X, y)
    res = LBFGS(tol=1e-10, max_iter=5000).solve(objective, np.zeros(13))
    assert res.converged
    # The reported curve is the split objective, equal to J at the end.
    assert res.loss_curve[-1] == pytest.approx(objective.value(res.x), rel=1e-12)
    assert np.sum(res.x[:12] == 0) > 0


def test_smoothing_final_level_bounds_the_gap():
    """With rel_accuracy r the final objective is within r J of the LP optimum."""
    X, y = regression_data(n=120, p=4, seed=3)
    objective = Objective(resolve_loss("absolute_error"), LinearModel(4, 1), L1(0.01), X, y)
    optimum = lp_optimum("absolute_error", X, y, 0.01)
    for rel in [1e-1, 1e-2, 1e-3]:
        solver = SmoothingContinuation(LBFGS(tol=1e-10, max_iter=5000), rel_accuracy=rel)
        res = solver.solve(objective, np.zeros(5))
        assert objective.value(res.x) - optimum <= rel * optimum
        assert res.loss_curve[-1] == pytest.approx(objective.value(res.x))


def test_proximal_gradient_solves_a_tiny_lasso_exactly():
    # min (1/3)((1 - a)^2 + b^2 + (1 - a - b)^2) + 0.1 (|a| + |b|): at b = 0,
    # -(4/3)(1 - a) + 0.1 = 0 gives a = 0.925, and |dJ/db| = 0.05 <= 0.1 keeps b = 0.
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    objective = Objective(SquaredError(), LinearModel(2, 1, fit_intercept=False), L1(0.1),
                          X, np.array([1.0, 0.0, 1.0]))
    res = ProximalGradient(tol=1e-12).solve(objective, np.zeros(2))
    np.testing.assert_allclose(res.x, [0.925, 0.0], atol=1e-10)
    assert res.converged


# --- the "auto" rule ------------------------------------------------------------------


def auto(loss="squared_error", alpha=0.1, l1_ratio=0.0, **kwargs):
    return resolve_solver("auto", resolve_loss(loss), resolve_penalty(alpha, l1_ratio),
                          max_iter=100, tol=1e-4, verbose=0, **kwargs)


def test_auto_rule():
    tall = dict(n_samples=1000, n_features=10)
    wide = dict(n_samples=100, n_features=1000)
    # smooth loss with L2: Newton or L-BFGS, chosen at solve time from the
    # number of parameters (NewtonOrLBFGS; its choice is tested in test_newton.py)
    assert type(auto(**tall)) is NewtonOrLBFGS
    assert type(auto("log_loss", alpha=0.0, **tall)) is NewtonOrLBFGS
    # squared error with an L1 part: exact on the Gram matrix where small,
    # else FISTA (wide) or L-BFGS, chosen at solve time (GramOrFallback; its
    # choice is tested in test_quadratic_path.py); other smooth losses as before
    assert type(auto(l1_ratio=1.0, **tall)) is GramOrFallback
    assert type(auto(l1_ratio=1.0, **wide)) is GramOrFallback
    assert type(auto("log_loss", l1_ratio=1.0, **tall)) is NewtonOrLBFGS
    assert type(auto("log_loss", l1_ratio=1.0, **wide)) is ProximalGradient
    assert type(auto(l1_ratio=0.0, **wide)) is NewtonOrLBFGS
    smoothed = auto("quantile", l1_ratio=1.0, **wide)
    assert type(smoothed) is SmoothingContinuation and type(smoothed.inner) is LBFGS
    assert auto(hidden_layer_sizes=(8,), n_samples=50_000, n_features=10).name == "adam"
    assert type(auto(hidden_layer_sizes=(8,), n_samples=500, n_features=10)) is LBFGS
    assert auto(early_stopping=True, **tall).name == "adam"
    assert auto(loss="absolute_error", early_stopping=True, **tall).name == "adam"


def test_explicit_solvers_and_errors():
    penalty, loss = resolve_penalty(0.1, 1.0), resolve_loss("hinge")
    common = dict(max_iter=10, tol=1e-4, verbose=0)
    solver = resolve_solver("proximal", loss, penalty, **common)
    assert type(solver) is SmoothingContinuation and type(solver.inner) is ProximalGradient
    assert solver.name == "proximal" and solver.max_iter == 10
    assert type(resolve_solver("lbfgs", resolve_loss("log_loss"), penalty, **common)) is LBFGS
    with pytest.raises(ValueError, match="early_stopping"):
        resolve_solver("lbfgs", loss, penalty, early_stopping=True, **common)
    with pytest.raises(ValueError, match="solver must be one of"):
        resolve_solver("bfgs", loss, penalty, **common)

"""solver="exact": interior-point fits of piecewise-linear losses, certified.

References: on small random problems the linear programs (no penalty, L1)
are solved by ``scipy.optimize.linprog`` (HiGHS) and the quadratic programs
(L2, elastic net) by SLSQP, an active-set method that solves a small convex QP
to rounding, both on the epigraph form

    min  sum_i w_i u_i + l1 * sum_j a_j + l2 / 2 * ||beta_w||^2
    s.t. u_i >= slope_k * t_i(beta) + intercept_k   (every line k of the loss)
         -a_j <= beta_j <= a_j,

with ``t_i(beta)`` the loss argument (``y - raw`` or ``s * raw``) read from
the loss's declared form. Every fit is judged by the estimator's own loss
object, so the reference does not share the solver's translation.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog, minimize
from sklearn.exceptions import ConvergenceWarning

from sklosses import LossClassifier, LossRegressor
from sklosses._resolve import resolve_loss, resolve_penalty, resolve_solver
from sklosses.losses import EpsilonInsensitive, Hinge, Quantile
from sklosses.solvers import ExactSolver

REGRESSION = {
    "absolute": "absolute_error",
    "quantile": Quantile(quantile=0.3),
    "epsilon": EpsilonInsensitive(epsilon=0.2),
}
PENALTIES = {"none": (0.0, 0.0), "l1": (0.05, 1.0), "l2": (0.05, 0.0), "enet": (0.05, 0.5)}


def _lines(form):
    """``phi(t) = max_k (slope_k t + intercept_k)`` of a declared form."""
    knots, slopes = np.asarray(form.knots), np.asarray(form.slopes)
    values = form.knot_values
    anchors = np.concatenate([[0], np.arange(len(knots))])
    return slopes, values[anchors] - slopes * knots[anchors]


def reference_fit(loss, X, y, sample_weight, alpha, l1_ratio, fit_intercept=True):
    """Coefficients ``[w, b]`` of the epigraph LP (linprog) or QP (SLSQP)."""
    form = loss.piecewise_linear(y)
    n, p = X.shape
    design = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    q = design.shape[1]
    w = sample_weight / sample_weight.sum()
    slopes, intercepts = _lines(form)
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    # Variables [beta (q), a (p), u (n)]; rows u_i >= slope (g_i + c_i x_i beta) + b.
    rows, bounds_rhs = [], []
    for slope, icpt in zip(slopes, intercepts):
        block = np.zeros((n, q + p + n))
        block[:, :q] = slope * form.scale[:, None] * design
        block[:, q + p:] = -np.eye(n)
        rows.append(block)
        bounds_rhs.append(-(slope * form.offset + icpt))
    for sign in (1.0, -1.0):
        block = np.zeros((p, q + p + n))
        block[:, :p] = sign * np.eye(p)
        block[:, q:q + p] = -np.eye(p)
        rows.append(block)
        bounds_rhs.append(np.zeros(p))
    A, b = np.vstack(rows), np.concatenate(bounds_rhs)
    cost = np.concatenate([np.zeros(q), np.full(p, l1), w])
    if l2 == 0:
        res = linprog(cost, A_ub=A, b_ub=b, bounds=[(None, None)] * (q + p + n),
                      method="highs")
        assert res.status == 0, res.message
        return res.x[:q]
    x0 = reference_fit(loss, X, y, sample_weight, alpha * l1_ratio, 1.0, fit_intercept) \
        if l1_ratio > 0 else np.zeros(q)
    u0 = np.max(slopes[None, :] * form.argument(design @ x0)[:, None] + intercepts, axis=1)
    start = np.concatenate([x0, np.abs(x0[:p]), u0])

    def fun(v):
        beta = v[:p]
        return cost @ v + 0.5 * l2 * beta @ beta, cost + np.concatenate(
            [l2 * beta, np.zeros(q - p + p + n)])

    res = minimize(fun, start, jac=True, method="SLSQP",
                   constraints=[{"type": "ineq", "fun": lambda v: b - A @ v,
                                 "jac": lambda v: -A}],
                   options={"ftol": 1e-15, "maxiter": 1000})
    # Status 8 ("positive directional derivative") is SLSQP at rounding level
    # under ftol=1e-15, which a multi-threaded BLAS can reach before success;
    # the point is then feasible and optimal to far below the tests' 1e-8.
    feasible = np.all(A @ res.x <= b + 1e-9 * (1 + np.abs(b)))
    assert res.success or (res.status == 8 and feasible), res.message
    return res.x[:q]


def objective(est, X, y, sample_weight, coef=None, intercept=None):
    """J of the estimator's loss at its (or the given) coefficients."""
    coef = np.ravel(est.coef_) if coef is None else coef
    intercept = est.intercept_ if intercept is None else intercept
    raw = X @ coef + intercept
    y_enc = y if est._task == "regression" else (y == est.classes_[1]).astype(int)
    value = est.loss_(y_enc, raw, sample_weight=sample_weight)
    return value + est.alpha * (est.l1_ratio * np.abs(coef).sum()
                                + 0.5 * (1 - est.l1_ratio) * coef @ coef)


def _data(seed=0, n=40, p=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    y = X @ rng.normal(size=p) + rng.standard_t(3, size=n)
    return X, y, rng.uniform(0.2, 2.0, size=n)


def _check_against_reference(est, X, y, sw):
    loss = est.loss_
    y_ref = y if est._task == "regression" else (y == est.classes_[1]).astype(int)
    beta = reference_fit(loss, X, y_ref, sw, est.alpha, est.l1_ratio)
    j_ref = objective(est, X, y, sw, coef=beta[:-1], intercept=beta[-1])
    j_ours = objective(est, X, y, sw)
    assert j_ours <= j_ref * (1 + 1e-8) + 1e-12
    # The reported gap bounds the true relative error (J - J*) / J.
    true_gap = (j_ours - min(j_ref, j_ours)) / j_ours
    assert est.duality_gap_ >= true_gap - 1e-12
    return j_ours, j_ref


@pytest.mark.parametrize("penalty", list(PENALTIES), ids=list(PENALTIES))
@pytest.mark.parametrize("loss", list(REGRESSION), ids=list(REGRESSION))
def test_regression_matches_reference(loss, penalty):
    X, y, sw = _data()
    alpha, l1_ratio = PENALTIES[penalty]
    est = LossRegressor(loss=REGRESSION[loss], alpha=alpha, l1_ratio=l1_ratio,
                        solver="exact", tol=1e-10).fit(X, y, sample_weight=sw)
    j_ours, j_ref = _check_against_reference(est, X, y, sw)
    assert abs(j_ours - j_ref) <= 1e-8 * j_ref


@pytest.mark.parametrize("penalty", list(PENALTIES), ids=list(PENALTIES))
def test_hinge_matches_reference(penalty):
    X, y, sw = _data(seed=1)
    labels = (y > np.median(y)).astype(int)
    alpha, l1_ratio = PENALTIES[penalty]
    if alpha == 0:  # keep the LP bounded: overlapping classes
        labels[:8] = 1 - labels[:8]
    est = LossClassifier(loss="hinge", alpha=alpha, l1_ratio=l1_ratio, solver="exact",
                         tol=1e-10).fit(X, labels, sample_weight=sw)
    j_ours, j_ref = _check_against_reference(est, X, labels, sw)
    assert abs(j_ours - j_ref) <= 1e-8 * j_ref


def test_default_tol_gap_is_reported_and_met():
    X, y, sw = _data(seed=2, n=200, p=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = LossRegressor(loss="quantile", solver="exact").fit(X, y, sample_weight=sw)
    assert 0 <= est.duality_gap_ <= est.tol
    assert est.loss_curve_[-1] == pytest.approx(objective(est, X, y, sw), rel=1e-12)


def test_weights_equal_repeated_rows():
    X, y, _ = _data(seed=3, n=30)
    counts = np.random.default_rng(3).integers(0, 3, size=30)
    kwargs = dict(loss=Quantile(quantile=0.7), alpha=0.01, solver="exact", tol=1e-10)
    weighted = LossRegressor(**kwargs).fit(X, y, sample_weight=counts)
    repeated = LossRegressor(**kwargs).fit(np.repeat(X, counts, axis=0), np.repeat(y, counts))
    assert objective(weighted, X, y, counts) == pytest.approx(
        objective(repeated, X, y, counts), rel=1e-9)


def test_sparse_equals_dense():
    X, y, sw = _data(seed=4, n=60, p=6)
    X[np.abs(X) < 0.8] = 0.0
    kwargs = dict(loss="absolute_error", alpha=0.01, l1_ratio=0.5, solver="exact", tol=1e-10)
    dense = LossRegressor(**kwargs).fit(X, y, sample_weight=sw)
    sparse = LossRegressor(**kwargs).fit(sp.csr_matrix(X), y, sample_weight=sw)
    assert objective(sparse, X, y, sw) == pytest.approx(objective(dense, X, y, sw), rel=1e-9)


def test_outputs_decouple():
    """Multi-output regression and one-vs-rest hinge equal per-output fits."""
    X, y, _ = _data(seed=5, n=80)
    Y = np.column_stack([y, -2 * y + X[:, 0]])
    kwargs = dict(loss="quantile", alpha=0.02, l1_ratio=1.0, solver="exact", tol=1e-10)
    joint = LossRegressor(**kwargs).fit(X, Y)
    # The loss is the mean over 2 outputs: each output alone carries twice alpha.
    kwargs["alpha"] = 0.04
    for k in range(2):
        alone = LossRegressor(**kwargs).fit(X, Y[:, k])
        np.testing.assert_allclose(joint.coef_[k], alone.coef_, atol=1e-6)
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    ovr = LossClassifier(loss="hinge", alpha=0.01, solver="exact", tol=1e-10).fit(X, labels)
    for k in range(3):
        binary = LossClassifier(loss="hinge", alpha=0.01, solver="exact", tol=1e-10).fit(
            X, labels == k)
        np.testing.assert_allclose(ovr.coef_[k], binary.coef_[0], atol=1e-6)


def test_scale_free():
    """Units of y and of a feature change the coefficients and nothing else."""
    X, y, sw = _data(seed=6, n=100)
    kwargs = dict(loss="quantile", alpha=0.0, solver="exact", tol=1e-10)
    base = LossRegressor(**kwargs).fit(X, y, sample_weight=sw)
    for y_scale, x_scale in ((1e-5, 1.0), (1e35, 1.0), (1.0, 1e18)):
        Xs = X.copy()
        Xs[:, 0] *= x_scale
        est = LossRegressor(**kwargs).fit(Xs, y * y_scale, sample_weight=sw)
        expected = base.coef_ * y_scale
        expected[0] /= x_scale
        np.testing.assert_allclose(est.coef_, expected, rtol=1e-7, atol=0)
        assert est.intercept_ == pytest.approx(base.intercept_ * y_scale, rel=1e-7)


def test_quantile_l1_equals_quantile_regressor():
    from sklearn.linear_model import QuantileRegressor  # noqa: PLC0415

    X, y, _ = _data(seed=7, n=150, p=4)
    ours = LossRegressor(loss=Quantile(quantile=0.8), alpha=0.02, l1_ratio=1.0,
                         solver="exact", tol=1e-10).fit(X, y)
    theirs = QuantileRegressor(quantile=0.8, alpha=0.02, solver="highs").fit(X, y)
    j_ours = objective(ours, X, y, None)
    j_theirs = objective(ours, X, y, None, coef=theirs.coef_, intercept=theirs.intercept_)
    assert j_ours <= j_theirs * (1 + 1e-9)


def test_auto_chooses_exact_for_linear_piecewise_losses():
    kwargs = dict(max_iter=100, tol=1e-4, verbose=0, n_samples=1000, n_features=20)
    for name in ("quantile", "absolute_error", "epsilon_insensitive", "hinge"):
        solver = resolve_solver("auto", resolve_loss(name), resolve_penalty(1e-4, 0.0),
                                **kwargs)
        assert isinstance(solver, ExactSolver), name
    mlp = resolve_solver("auto", resolve_loss("hinge"), resolve_penalty(1e-4, 0.0),
                         hidden_layer_sizes=(8,), **kwargs)
    assert not isinstance(mlp, ExactSolver)
    crammer = resolve_solver("auto", Hinge(multiclass="crammer_singer"),
                             resolve_penalty(1e-4, 0.0), n_outputs=10, **kwargs)
    assert isinstance(crammer, ExactSolver)
    # From 5000 samples, or beyond 1000 coefficients, the smoothing path is kept.
    for n_samples, n_features in ((5000, 20), (1000, 100)):
        large = resolve_solver("auto", Hinge(multiclass="crammer_singer"),
                               resolve_penalty(1e-4, 0.0), max_iter=100, tol=1e-4,
                               verbose=0, n_samples=n_samples, n_features=n_features,
                               n_outputs=10)
        assert not isinstance(large, ExactSolver)


def test_exact_refuses_what_it_cannot_fit():
    X, y, _ = _data(seed=8)
    with pytest.raises(ValueError, match="does not define piecewise_linear"):
        LossRegressor(loss="squared_error", solver="exact").fit(X, y)
    with pytest.raises(ValueError, match="this solver fits linear models only"):
        LossRegressor(loss="quantile", hidden_layer_sizes=(4,), solver="exact").fit(X, y)


def test_float32_input_stays_float32_and_reaches_the_optimum():
    X, y, sw = _data(seed=9, n=80)
    kwargs = dict(loss="epsilon_insensitive", alpha=0.01, solver="exact")
    single = LossRegressor(**kwargs).fit(X.astype(np.float32), y.astype(np.float32),
                                         sample_weight=sw)
    double = LossRegressor(**kwargs).fit(X, y, sample_weight=sw)
    assert single.coef_.dtype == np.float32
    assert single.predict(X.astype(np.float32)).dtype == np.float32
    assert objective(single, X, y, sw) == pytest.approx(objective(double, X, y, sw), rel=1e-6)


@pytest.mark.parametrize("estimator", [
    LossRegressor(loss="absolute_error", solver="exact"),
    LossRegressor(loss=Quantile(quantile=0.8), solver="exact"),
    LossRegressor(loss="epsilon_insensitive", solver="exact"),
    LossClassifier(loss="hinge", solver="exact"),
], ids=["absolute", "quantile", "epsilon", "hinge"])
def test_weights_equal_repeated_rows_at_default_tol(estimator):
    """scikit-learn's own check, predictions to rtol=1e-7, at the default tol.

    The default L2 part makes the optimum unique. Without a penalty (or with
    an L1 part) a linear program on the check's few rows can have a whole
    face of optima, and the two fits may end at different points of it.
    """
    from sklearn.utils.estimator_checks import (  # noqa: PLC0415
        check_sample_weight_equivalence_on_dense_data,
    )

    check_sample_weight_equivalence_on_dense_data(type(estimator).__name__, estimator)


@pytest.mark.parametrize("loss", [Quantile(0.3), Quantile([0.05, 0.95], noncrossing="sort"),
                                  Quantile([0.1, 0.5, 0.9])])
def test_an_optimum_at_zero_is_certified_without_a_warning(loss):
    # More features than rows and no penalty: the fit interpolates (J* = 0),
    # where rounding, not the method, sets the primal-dual difference.
    rng = np.random.RandomState(0)
    X = rng.randn(40, 60)
    y = X[:, :3] @ [1.0, 2.0, 3.0] + rng.randn(40)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = LossRegressor(loss=loss, alpha=0.0, solver="exact").fit(X, y)
    assert est.duality_gap_ <= est.tol
    residual = y[:, None] - est.predict(X).reshape(len(y), -1)
    if loss.n_levels == 1 or loss.noncrossing == "sort":
        assert np.abs(residual).max() < 1e-8


def test_constant_target_reports_a_finite_gap():
    X = np.random.RandomState(0).randn(20, 2)
    est = LossRegressor(loss=Quantile([0.1, 0.5, 0.9]), alpha=0.0).fit(X, np.full(20, 3.0))
    assert est.duality_gap_ <= est.tol
    np.testing.assert_allclose(est.predict(X), 3.0)


def test_returned_coefficients_whose_objective_is_rounding_are_not_certified():
    # The programs' certificate holds for their own arithmetic; when the
    # returned coefficients evaluate higher (coefficients of 1e8: an optimum
    # at infinity), the gap is measured from them and the verdict says why.
    from types import SimpleNamespace  # noqa: PLC0415

    from sklosses.solvers._exact import returned_verdict  # noqa: PLC0415

    fit = SimpleNamespace(primal=1.0, dual=1.0 - 1e-10, floor=0.0, converged=True)
    objective = SimpleNamespace(model=SimpleNamespace(dtype=np.float64))
    coefficients = np.array([3e8, -1.0])
    gap, message = returned_verdict([fit], objective, 1.001, coefficients, 1e-4)
    assert gap == pytest.approx((1.001 - (1.0 - 1e-10)) / 1.001, rel=1e-9)
    assert "3e+08" in message and "alpha > 0" in message
    # Within tol, or a float32 objective (rounded at 1e-7): the certificate stands.
    assert returned_verdict([fit], objective, 1.0, coefficients, 1e-4)[1] is None
    single = SimpleNamespace(model=SimpleNamespace(dtype=np.float32))
    gap, message = returned_verdict([fit], single, 1.001, coefficients, 1e-4)
    assert message is None and gap < 1e-9

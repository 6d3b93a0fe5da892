"""solver="exact" on the Crammer-Singer hinge: one program over the classes, certified.

References, on the epigraph form of the multiclass hinge (Crammer and Singer)

    min  sum_i w_i u_i + l1 * sum_kj a_kj + l2 / 2 * ||W||^2
    s.t. u_i >= margin [k != y_i] + z_ik - z_iy_i   (every class k, also k = y_i: u_i >= 0)
         -a_kj <= W_kj <= a_kj,

written out here row by row: ``scipy.optimize.linprog`` (HiGHS) for no
penalty and L1, SLSQP (an active-set method that solves a small convex QP to
rounding) for L2 and elastic net. Every fit is judged by the loss object's
own ``pointwise`` (checked against scikit-learn's ``hinge_loss`` elsewhere).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog, minimize
from sklearn.base import clone
from sklearn.datasets import load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from sklosses import LossClassifier
from sklosses.losses import Hinge

CS = Hinge(multiclass="crammer_singer")


def _data(seed, n=60, p=4, K=4, weighted=True, spread=True):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    if spread:  # columns in different units and off-centre
        X = X * np.geomspace(0.1, 10, p) + np.linspace(0, 5, p)
    y = rng.integers(0, K, n)
    X[np.arange(n), y % p] += 1.5
    sw = rng.uniform(0.3, 3.0, n) if weighted else np.ones(n)
    return X, y, sw


def objective(est, X, y, sw, alpha, l1_ratio, margin=1.0):
    raw = est.decision_function(X)
    W = est.coef_.astype(float)
    loss = Hinge(margin=margin, multiclass="crammer_singer").pointwise(y, raw.astype(float))
    return float(sw @ loss / sw.sum() + alpha * (l1_ratio * np.abs(W).sum()
                                                + 0.5 * (1 - l1_ratio) * (W * W).sum()))


def _epigraph_rows(X, y, K, fit_intercept, margin):
    """Rows ``margin [k != y_i] + z_ik - z_iy_i - u_i <= 0`` over ``[W (K q), u (n)]``."""
    n = X.shape[0]
    design = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    q = design.shape[1]
    rows, rhs = [], []
    for i in range(n):
        for k in range(K):
            row = np.zeros(K * q + n)
            if k != y[i]:
                row[k * q:(k + 1) * q] += design[i]
                row[y[i] * q:(y[i] + 1) * q] -= design[i]
            row[K * q + i] = -1.0
            rows.append(row)
            rhs.append(-margin * (k != y[i]))
    return np.array(rows), np.array(rhs), q


def reference_value(X, y, sw, alpha, l1_ratio, *, K, fit_intercept, margin=1.0):
    """The optimum of the epigraph program (linprog for no L2 part, else SLSQP)."""
    n, p = X.shape
    w = sw / sw.sum()
    A, b, q = _epigraph_rows(X, y, K, fit_intercept, margin)
    penalised = np.zeros((K, q), dtype=bool)
    penalised[:, :p] = True
    penalised = penalised.ravel()
    l1, l2 = alpha * l1_ratio, alpha * (1 - l1_ratio)
    if l2 == 0:
        # Split W = W+ - W- (both >= 0) so that the L1 norm is linear.
        A_split = np.hstack([A[:, :K * q], -A[:, :K * q], A[:, K * q:]])
        cost = np.concatenate([l1 * penalised, l1 * penalised, w])
        result = linprog(cost, A_ub=A_split, b_ub=b, bounds=[(0, None)] * (2 * K * q + n),
                         method="highs")
        assert result.status == 0
        return result.fun
    # Variables [W (K q), u (n), a (K q)] with a >= |W| for the L1 part.
    m = K * q

    def fun(v):
        W, u, a = v[:m], v[m:m + n], v[m + n:]
        return (w @ u + l1 * a[penalised].sum()
                + 0.5 * l2 * float(W[penalised] @ W[penalised]))

    def jac(v):
        W = v[:m]
        return np.concatenate([l2 * W * penalised, w, l1 * penalised])

    def constraints(v):
        W, a = v[:m], v[m + n:]
        return np.concatenate([b - A @ v[:m + n], a - W, a + W])

    start = np.concatenate([np.zeros(m), np.full(n, margin), np.zeros(m)])
    # With ftol=1e-15 SLSQP's line search can end in rounding ("positive
    # directional derivative") near the optimum, depending on the BLAS
    # kernels; restarted from where it ended it finishes.
    for _ in range(3):
        result = minimize(fun, start, jac=jac, method="SLSQP",
                          constraints=[{"type": "ineq", "fun": constraints}],
                          options={"ftol": 1e-15, "maxiter": 3000})
        if result.success:
            return result.fun
        start = result.x
    raise AssertionError(f"the SLSQP reference failed: {result.message}")


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("alpha, l1_ratio", [(0.0, 0.0), (0.02, 1.0), (0.05, 0.0),
                                             (0.05, 0.5)])
def test_equals_the_reference_program(alpha, l1_ratio, weighted, fit_intercept):
    n = 60 if l1_ratio == 1.0 or alpha == 0 else 30
    # SLSQP (the reference with an L2 part) needs well-scaled columns.
    X, y, sw = _data(seed=int(alpha * 100) + 3 * weighted + fit_intercept, n=n,
                     weighted=weighted, spread=l1_ratio == 1.0 or alpha == 0)
    K = 4
    est = LossClassifier(loss=CS, alpha=alpha, l1_ratio=l1_ratio, solver="exact",
                         fit_intercept=fit_intercept, tol=1e-10).fit(X, y, sample_weight=sw)
    expected = reference_value(X, y, sw, alpha, l1_ratio, K=K, fit_intercept=fit_intercept)
    got = objective(est, X, y, sw, alpha, l1_ratio)
    assert got == pytest.approx(expected, rel=1e-8, abs=1e-12)


def test_margin_and_reported_gap_bounds_the_true_gap():
    X, y, sw = _data(seed=11, n=50)
    margin, alpha = 2.5, 0.01
    exact = LossClassifier(loss=Hinge(margin=margin, multiclass="crammer_singer"),
                           alpha=alpha, l1_ratio=1.0, solver="exact", tol=1e-10).fit(
                               X, y, sample_weight=sw)
    optimum = reference_value(X, y, sw, alpha, 1.0, K=4, fit_intercept=True, margin=margin)
    assert objective(exact, X, y, sw, alpha, 1.0, margin) == pytest.approx(optimum, rel=1e-8)
    for tol in (1e-1, 1e-2, 1e-3):
        est = LossClassifier(loss=Hinge(margin=margin, multiclass="crammer_singer"),
                             alpha=alpha, l1_ratio=1.0, solver="exact", tol=tol).fit(
                                 X, y, sample_weight=sw)
        value = objective(est, X, y, sw, alpha, 1.0, margin)
        assert est.duality_gap_ <= tol
        assert (value - optimum) / value <= est.duality_gap_ * (1 + 1e-9) + 1e-12


def test_scale_free_and_sparse_equals_dense():
    X, y, sw = _data(seed=5, n=80, p=5)
    # Feature units and offsets change nothing without a penalty (the
    # intercept absorbs the offsets).
    unpenalised = LossClassifier(loss=CS, alpha=0.0, solver="exact", tol=1e-9)
    a = clone(unpenalised).fit(X, y, sample_weight=sw)
    moved = (X + 100.0) * [1e3, 1e-3, 1.0, 1e2, 1e-2]
    b = clone(unpenalised).fit(moved, y, sample_weight=sw)
    assert objective(b, moved, y, sw, 0.0, 0.0) == pytest.approx(
        objective(a, X, y, sw, 0.0, 0.0), rel=1e-8, abs=1e-12)
    ridge = LossClassifier(loss=CS, alpha=0.01, solver="exact", tol=1e-9)
    dense = clone(ridge).fit(X, y, sample_weight=sw)
    sparse = clone(ridge).fit(sp.csr_matrix(X), y, sample_weight=sw)
    assert objective(sparse, X, y, sw, 0.01, 0.0) == pytest.approx(
        objective(dense, X, y, sw, 0.01, 0.0), rel=1e-9)
    np.testing.assert_allclose(sparse.decision_function(X), dense.decision_function(X),
                               rtol=1e-6, atol=1e-6)


def test_unpenalised_coefficients_are_centred_over_the_classes():
    # The loss sees only differences between classes: the intercepts (and, with
    # no penalty, every coefficient) are reported centred, as the L2 optimum is.
    X, y, sw = _data(seed=2, n=40)
    est = LossClassifier(loss=CS, alpha=0.0, solver="exact").fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(est.intercept_.sum(), 0.0, atol=1e-9)
    np.testing.assert_allclose(est.coef_.sum(axis=0), 0.0, atol=1e-9)
    ridge = LossClassifier(loss=CS, alpha=0.1, solver="exact", tol=1e-10).fit(X, y)
    np.testing.assert_allclose(ridge.coef_.sum(axis=0), 0.0, atol=1e-7)


def test_float32_input_stays_float32():
    X, y, sw = _data(seed=4, n=50)
    single = LossClassifier(loss=CS, alpha=0.01, solver="exact").fit(
        X.astype(np.float32), y, sample_weight=sw)
    double = LossClassifier(loss=CS, alpha=0.01, solver="exact").fit(X, y, sample_weight=sw)
    assert single.coef_.dtype == np.float32
    assert objective(single, X, y, sw, 0.01, 0.0) == pytest.approx(
        objective(double, X, y, sw, 0.01, 0.0), rel=1e-6)


@pytest.mark.parametrize("name, standardise", [("iris", False), ("wine", False),
                                               ("wine", True), ("digits", True)])
def test_default_fit_on_real_data_is_certified_and_beats_linear_svc(name, standardise):
    # Real data with raw features (wine's columns span 0.1 to 1700), C = 1, no
    # intercept as LinearSVC(multi_class="crammer_singer", fit_intercept=False).
    X, y = {"iris": load_iris, "wine": load_wine, "digits": load_digits}[name](
        return_X_y=True)
    if standardise:
        X = StandardScaler().fit_transform(X)
    n = X.shape[0]
    alpha = 1.0 / n
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = LossClassifier(loss=CS, alpha=alpha, fit_intercept=False).fit(X, y)
    # Issue 12's bar for the margin losses: within 1e-6 at default settings.
    assert est.duality_gap_ <= 1e-6
    ones = np.ones(n)
    ours = objective(est, X, y, ones, alpha, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        svc = LinearSVC(C=1.0, multi_class="crammer_singer", fit_intercept=False,
                        tol=1e-8, max_iter=200_000).fit(X, y)
    raw = X @ svc.coef_.T
    theirs = float(CS.pointwise(y, raw).mean() + 0.5 * alpha * (svc.coef_ ** 2).sum())
    # The certificate: ours is within its gap of the optimum, which LinearSVC's
    # value bounds from above.
    assert ours <= theirs * (1 + 1e-8)
    assert (ours - min(ours, theirs)) / ours <= est.duality_gap_


def test_extreme_class_weights_are_fitted_exactly():
    # The smoothing path returned its start (with a warning) under class
    # weights 1e4 apart; the program has no such difficulty.
    X, y, _ = _data(seed=9, n=60, weighted=False)
    class_weight = {0: 1e4, 1: 1.0, 2: 1.0, 3: 1e-2}
    est = LossClassifier(loss=CS, alpha=0.0, solver="exact", class_weight=class_weight,
                         tol=1e-10).fit(X, y)
    sw = np.array([class_weight[c] for c in y])
    expected = reference_value(X, y, sw, 0.0, 0.0, K=4, fit_intercept=True)
    assert objective(est, X, y, sw, 0.0, 0.0) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("fit_intercept, alpha, l1_ratio", [(True, 0.0, 0.0),
                                                             (False, 0.05, 0.5)])
def test_eliminated_normal_system_equals_the_assembled_one(fit_intercept, alpha, l1_ratio):
    # The Schur-complement solve and product against B diag(D) B^T written out
    # from the operator's own products with unit vectors.
    from sklosses.penalties import ElasticNet  # noqa: PLC0415
    from sklosses.solvers._crammer_singer import _CrammerSingerProblem  # noqa: PLC0415

    X, y, sw = _data(seed=7, n=12, p=3, K=3)
    problem = _CrammerSingerProblem(X, y, 3, 1.0, sw / sw.sum(), ElasticNet(alpha, l1_ratio),
                                    fit_intercept=fit_intercept)
    qp = problem.box_qp()
    op = qp.operator
    n_box, n_free = qp.cost.size, qp.curvature.size
    columns = [op.apply(e, np.zeros(n_free)) for e in np.eye(n_box)]
    columns += [op.apply(np.zeros(n_box), e) for e in np.eye(n_free)]
    B = np.array(columns).T
    rng = np.random.default_rng(0)
    d_box, d_free = rng.uniform(0.01, 5.0, n_box), rng.uniform(0.01, 5.0, n_free)
    normal = B @ np.diag(np.concatenate([d_box, d_free])) @ B.T
    system = op.normal_system(d_box, d_free)
    v = rng.normal(size=normal.shape[0])
    np.testing.assert_allclose(system.times(v), normal @ v, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(system.solve(normal @ v), v, rtol=1e-7, atol=1e-8)
    # apply_transpose is the transpose of apply.
    t_box, t_free = op.apply_transpose(v)
    np.testing.assert_allclose(np.concatenate([t_box, t_free]), B.T @ v, rtol=1e-12,
                               atol=1e-12)


def _fuzz_case(seed):
    """A random small problem of the kind that once gave a false certificate."""
    rng = np.random.default_rng(seed)
    K = int(rng.choice([3, 4, 5]))
    p = int(rng.integers(1, 6))
    n = int(rng.integers(max(K, 4), 40))
    X = rng.normal(size=(n, p))
    if rng.random() < 0.5:
        X = X * np.geomspace(1e-2, 1e2, p) + rng.normal(0, 5, p)
    y = rng.integers(0, K, n)
    y[:K] = np.arange(K)
    if rng.random() < 0.3:
        X[np.arange(n), y % p] += 4.0
    kind = rng.choice(["ones", "unif", "extreme", "zeros", "int"])
    sw = {"ones": np.ones(n), "unif": rng.uniform(0.3, 3, n),
          "extreme": np.exp(rng.uniform(-12, 12, n)),
          "zeros": rng.uniform(0, 1, n) * (rng.random(n) < 0.6),
          "int": rng.integers(0, 4, n).astype(float)}[kind]
    return X, y, sw, K


def test_reported_gap_is_never_below_the_true_one_under_extreme_weights():
    # A dual point barely off the unpenalised equalities, with large
    # coefficients, once certified a gap of 0 at 3 % above a feasible point
    # (alpha=0, weights spanning 1e-5 to 1e5, optimum near 2e-6): its
    # first-order term |b| |v| stood in for the unknown v (b* - b). Judged
    # against HiGHS.
    X, y, sw, K = _fuzz_case(369)
    est = LossClassifier(loss=CS, alpha=0.0, solver="exact", tol=1e-8).fit(
        X, y, sample_weight=sw)
    optimum = reference_value(X, y, sw, 0.0, 0.0, K=K, fit_intercept=True)
    value = objective(est, X, y, sw, 0.0, 0.0)
    assert (value - optimum) / value <= est.duality_gap_ + 1e-9


@pytest.mark.parametrize("tol", [0.3, 1e-2, 1e-4])
@pytest.mark.parametrize("loss", [Hinge(), CS])
def test_loose_tol_certifies_without_a_stall(loss, tol):
    # Dual points refused off the equalities (alpha=0) are no stall: the fit
    # used to stop with gap=inf and "loosen tol" after 8 of them.
    rng = np.random.default_rng(8)
    n, p = 221, 3
    X = rng.normal(size=(n, p)) * np.geomspace(1e-2, 1e2, p) + rng.normal(0, 5, p)
    y = rng.integers(0, 3, n)
    X[np.arange(n), y % p] += 2
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = LossClassifier(loss=loss, alpha=0.0, solver="exact", tol=tol).fit(X, y)
    assert est.duality_gap_ <= tol


@pytest.mark.parametrize("tiny", [0, 3])
def test_a_class_of_nearly_no_weight_is_certified_wherever_it_is(tiny):
    # The reference class (whose unpenalised coefficients are fixed) is the
    # heaviest: a nearly weightless last class left its shift singular.
    X, y, _ = _data(seed=0, n=60, weighted=False)
    class_weight = {k: 1.0 for k in range(4)}
    class_weight[tiny] = 1e-6
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = LossClassifier(loss=CS, alpha=0.0, solver="exact", fit_intercept=False,
                             class_weight=class_weight).fit(X, y)
    assert est.duality_gap_ <= 1e-4

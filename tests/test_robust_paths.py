"""Paths of the robust losses: every point at or below a tight cold fit's objective.

The path solvers of Huber (joint scale, any penalty), smooth losses with L2
(warm-started proximal Newton) and piecewise-linear losses (a vertex walk from
the previous point's optimal vertex with a pure L1 penalty, globbed programs
seeded by the previous point otherwise) each replace a full fit per alpha;
what they must not change is the optimum. Each point's objective is computed here from
its coefficients by formulas written out in the test (the joint scale
profiled out by scipy's bounded scalar minimiser), on raw diabetes (features
in their own units, target of spread 77) and with sample weights, and
compared with a cold fit at ``tol=1e-9``.
"""

import warnings

import numpy as np
import pytest
from scipy.optimize import linprog, minimize_scalar
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold

from sklosses import LossRegressor, LossRegressorCV, _path
from sklosses._path import _path_solver, alpha_grid, fit_path, own_score
from sklosses.losses import Huber
from sklosses.losses._piecewise import PiecewiseLinear
from sklosses.solvers import SolverResult, _vertex_kernels, _vertex_path
from sklosses.solvers import _piecewise_path as piecewise_path
from sklosses.solvers._vertex_path import VertexPath

TOL = 1e-4  # the estimators' default tol


@pytest.fixture(scope="module")
def raw_diabetes():
    X, y = load_diabetes(return_X_y=True, scaled=False)
    weights = np.random.default_rng(0).uniform(0.0, 3.0, size=y.size)
    return X, y, weights


def _huber(u, delta):
    a = np.abs(u)
    return np.where(a <= delta, 0.5 * u * u, delta * (a - 0.5 * delta))


def _data_term(loss, raw, y, w):
    """Weighted mean loss of the raw predictions ``raw`` on targets ``y``."""
    w = w / w.sum()
    r = raw - y
    if loss == "poisson":
        mu = np.exp(raw)
        return float(w @ (2 * (y * np.log(y / mu) - y + mu)))
    if loss == "log_cosh":
        return float(w @ np.logaddexp(r, -r) - np.log(2.0))
    if loss == "quantile":
        return float(w @ np.maximum(0.5 * r, -0.5 * r))
    if loss == "absolute_error":
        return float(w @ np.abs(r))
    if isinstance(loss, Huber) and loss.scale == "joint":

        def at(sigma):
            return float(w @ (sigma * (0.5 + _huber(r / sigma, loss.delta))))

        spread = float(np.max(np.abs(r)))
        best = minimize_scalar(
            at, bounds=(1e-9 * spread, spread), method="bounded", options={"xatol": 1e-12 * spread}
        )
        return min(best.fun, at(spread))
    return float(w @ _huber(r, loss.delta))


def _objective(loss, coef, intercept, alpha, l1_ratio, X, y, w):
    penalty = l1_ratio * np.abs(coef).sum() + 0.5 * (1 - l1_ratio) * coef @ coef
    return _data_term(loss, X @ coef + intercept, y, w) + alpha * penalty


CASES = [
    pytest.param(Huber(delta=1.35, scale="joint"), 1.0, "_SmoothPoints", id="joint-huber-l1"),
    pytest.param(Huber(delta=1.35, scale="joint"), 0.0, "_SmoothPoints", id="joint-huber-l2"),
    pytest.param(Huber(delta=1.35, scale="joint"), 0.5, "_SmoothPoints", id="joint-huber-en"),
    pytest.param("log_cosh", 0.0, "_SmoothPoints", id="log-cosh-l2"),
    pytest.param(Huber(delta=20.0), 0.0, "_SmoothPoints", id="huber-l2"),
    pytest.param("poisson", 0.0, "_SmoothPoints", id="poisson-l2"),
    pytest.param("quantile", 1.0, "_PiecewisePoints", id="quantile-l1"),
    pytest.param("quantile", 0.0, "_PiecewisePoints", id="quantile-l2"),
    pytest.param("absolute_error", 0.5, "_PiecewisePoints", id="absolute-en"),
]


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize(("loss", "l1_ratio", "solver_name"), CASES)
def test_every_path_point_is_at_or_below_a_tight_cold_fit(
    raw_diabetes, loss, l1_ratio, solver_name, weighted, monkeypatch
):
    X, y, weights = raw_diabetes
    sample_weight = weights if weighted else None
    _check_path(loss, l1_ratio, solver_name, X, y, sample_weight, True, monkeypatch)


@pytest.mark.parametrize(
    ("loss", "l1_ratio", "solver_name"),
    [
        pytest.param(Huber(delta=1.35, scale="joint"), 1.0, "_SmoothPoints", id="joint-huber"),
        pytest.param("quantile", 1.0, "_PiecewisePoints", id="quantile"),
    ],
)
def test_path_points_without_intercept(raw_diabetes, loss, l1_ratio, solver_name, monkeypatch):
    X, y, weights = raw_diabetes
    _check_path(loss, l1_ratio, solver_name, X, y, weights, False, monkeypatch)


def _check_path(loss, l1_ratio, solver_name, X, y, sample_weight, fit_intercept, monkeypatch):
    test = np.arange(1, 442, 4)
    train = np.setdiff1d(np.arange(442), test)
    est = LossRegressor(loss=loss, l1_ratio=l1_ratio, fit_intercept=fit_intercept)
    w_train = np.ones(train.size) if sample_weight is None else sample_weight[train]
    alphas = alpha_grid(
        est,
        X[train],
        y[train],
        None if sample_weight is None else w_train,
        l1_ratio=l1_ratio,
        n_alphas=12,
    )
    # The path solver under test is the one the path uses.
    first = (
        clone(est)
        .set_params(alpha=alphas[0])
        .fit(X[train], y[train], sample_weight=None if sample_weight is None else w_train)
    )
    assert (
        type(
            _path_solver(first, X[train], y[train], None if sample_weight is None else w_train)
        ).__name__
        == solver_name
    )
    # The points are the path solver's own, not its fallback's (a warm fit).
    fallbacks = []
    warm_fit = _path._WarmFits.fit
    monkeypatch.setattr(
        _path._WarmFits, "fit", lambda self, *a: fallbacks.append(a) or warm_fit(self, *a)
    )
    outcome = fit_path(est, X, y, sample_weight, train, test, alphas, own_score)
    assert len(fallbacks) <= 1, fallbacks
    n = X.shape[1]
    for alpha, params in zip(alphas, outcome["params"]):
        cold = (
            clone(est)
            .set_params(alpha=alpha, tol=1e-9, max_iter=20_000)
            .fit(X[train], y[train], sample_weight=None if sample_weight is None else w_train)
        )
        intercept = params[n] if fit_intercept else 0.0
        point = _objective(
            loss, params[:n], intercept, alpha, l1_ratio, X[train], y[train], w_train
        )
        reference = _objective(
            loss, cold.coef_, cold.intercept_, alpha, l1_ratio, X[train], y[train], w_train
        )
        assert point <= reference + TOL * abs(reference), (alpha, point, reference)


def test_path_scores_are_the_scorers_numbers(raw_diabetes):
    """The one-pass R^2 of the path equals ``r2_score`` of each point's predictions."""
    X, y, weights = raw_diabetes
    test = np.arange(1, 442, 3)
    train = np.setdiff1d(np.arange(442), test)
    loss = Huber(delta=1.35, scale="joint")
    alphas = alpha_grid(LossRegressor(loss=loss), X[train], y[train], n_alphas=8)
    for sample_weight in (None, weights):
        outcome = fit_path(
            LossRegressor(loss=loss), X, y, sample_weight, train, test, alphas, own_score
        )
        n = X.shape[1]
        w_test = None if sample_weight is None else sample_weight[test]
        expected = [
            r2_score(y[test], X[test] @ p[:n] + p[n], sample_weight=w_test)
            for p in outcome["params"]
        ]
        np.testing.assert_allclose(outcome["test_score"], expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("case", ["single", "two-outputs", "constant-target", "exact-fit"])
def test_score_many_equals_r2_score(case):
    """Every case of ``r2_score``'s arithmetic, ``force_finite`` ones included."""
    rng = np.random.default_rng(1)
    n = 30
    y = rng.normal(size=(n, 2)) if case == "two-outputs" else rng.normal(size=n)
    if case == "constant-target":
        y = np.full(n, 3.0)
    raws = [rng.normal(size=(n, y.reshape(n, -1).shape[1])) for _ in range(4)]
    if case in ("exact-fit", "constant-target"):
        raws[0] = y.reshape(n, -1).copy()
    est = LossRegressor().fit(rng.normal(size=(n, 2)), y)
    for weights in (None, rng.uniform(0, 2, size=n)):
        expected = [r2_score(y, raw.reshape(y.shape), sample_weight=weights) for raw in raws]
        np.testing.assert_allclose(est._score_many(raws, y, weights), expected, rtol=0, atol=1e-14)


# -- the vertex walk of L1 quantile / absolute-error paths ---------------------


def _piecewise_points(loss, l1_ratio, X, y, sample_weight, fit_intercept=True, n_alphas=12):
    """The path solver of a piecewise-linear path after its first point, and the grid."""
    est = LossRegressor(loss=loss, l1_ratio=l1_ratio, fit_intercept=fit_intercept)
    alphas = alpha_grid(est, X, y, sample_weight, l1_ratio=l1_ratio, n_alphas=n_alphas)
    first = clone(est).set_params(alpha=alphas[0], warm_start=True)
    first._path_point = True
    first.fit(X, y, sample_weight=sample_weight)
    points = _path_solver(first, X, y, sample_weight)
    assert type(points).__name__ == "_PiecewisePoints"
    return first, points, alphas


def _walk_path(first, points, alphas, fit_intercept=True):
    """Fit the points after the first; each point's coefficients and reported gap."""
    n = first.coef_.size
    out = []
    for old, new in zip(alphas[:-1], alphas[1:]):
        first.alpha = float(new)
        points.fit(float(old), float(new))
        params = np.append(first.coef_, first.intercept_) if fit_intercept else first.coef_
        out.append((float(new), params.copy(), float(first.duality_gap_)))
        assert first.coef_.size == n
    return out


@pytest.mark.parametrize(
    ("loss", "weighted", "fit_intercept"),
    [
        pytest.param("quantile", False, True, id="quantile"),
        pytest.param("quantile", True, True, id="quantile-weighted"),
        pytest.param("quantile", True, False, id="quantile-no-intercept"),
        pytest.param("absolute_error", False, True, id="absolute"),
    ],
)
def test_l1_path_points_are_vertices_equal_to_tight_cold_fits(
    raw_diabetes, loss, weighted, fit_intercept
):
    """With a pure L1 penalty every point after the first is a walk's vertex, exact.

    Raw diabetes has ties (``sex`` takes two values, the targets are
    integers) and features in their own units. Each point's certified gap
    is rounding, its objective is a tight cold fit's to 1e-9, and its
    coefficients are the cold fit's (the optimum is unique here).
    """
    X, y, weights = raw_diabetes
    w = weights if weighted else None
    first, points, alphas = _piecewise_points(loss, 1.0, X, y, w, fit_intercept)
    walked = _walk_path(first, points, alphas, fit_intercept)
    assert points.path.routes == ["vertex"] * len(walked)
    w_all = np.ones(y.size) if w is None else w
    for alpha, params, gap in walked:
        assert gap <= 1e-10, (alpha, gap)
        cold = LossRegressor(
            loss=loss, l1_ratio=1.0, alpha=alpha, tol=1e-9, max_iter=20_000,
            fit_intercept=fit_intercept,
        ).fit(X, y, sample_weight=w)
        intercept = params[-1] if fit_intercept else 0.0
        point = _objective(loss, params[: X.shape[1]], intercept, alpha, 1.0, X, y, w_all)
        reference = _objective(loss, cold.coef_, cold.intercept_, alpha, 1.0, X, y, w_all)
        assert point <= reference * (1 + 1e-9), (alpha, point, reference)
        assert point >= reference * (1 - 1e-8), (alpha, point, reference)
        cold_params = np.append(cold.coef_, cold.intercept_) if fit_intercept else cold.coef_
        scale = np.abs(cold_params) + np.abs(cold_params).max() * 1e-3
        np.testing.assert_array_less(np.abs(params - cold_params), 1e-4 * scale)


def test_l1_quantile_cv_equals_grid_search(raw_diabetes):
    """``LossRegressorCV`` on vertex paths: GridSearchCV's alpha and its fold scores.

    Each fold's score is compared with the cold fit GridSearchCV makes
    (default tol): equal to 1e-8 wherever the cold fit reached the optimum
    (its objective within 1e-12 of the vertex's); where it did not (an
    interior point its crossover did not finish, on a flat optimum), the
    vertex's objective is the lower one.
    """
    X, y, _ = raw_diabetes
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    search = LossRegressorCV(loss="quantile", l1_ratio=1.0, alphas=15, cv=folds).fit(X, y)
    grid = GridSearchCV(
        LossRegressor(loss="quantile", l1_ratio=1.0), {"alpha": list(search.alphas_)}, cv=folds
    ).fit(X, y)
    assert search.alpha_ == grid.best_params_["alpha"]
    ones = np.ones(y.size)
    n_equal = 0
    for k, (train, test) in enumerate(folds):
        outcome = fit_path(LossRegressor(loss="quantile", l1_ratio=1.0), X, y, None, train,
                           test, search.alphas_, own_score)
        for i, (alpha, params) in enumerate(zip(search.alphas_, outcome["params"])):
            theirs = grid.cv_results_[f"split{k}_test_score"][i]
            assert search.cv_results_[f"split{k}_test_score"][i] == outcome["test_score"][i]
            cold = LossRegressor(loss="quantile", l1_ratio=1.0, alpha=alpha).fit(
                X[train], y[train])
            value = _objective("quantile", params[:-1], params[-1], alpha, 1.0, X[train],
                               y[train], ones[train])
            value_cold = _objective("quantile", cold.coef_, cold.intercept_, alpha, 1.0,
                                    X[train], y[train], ones[train])
            assert value <= value_cold * (1 + 1e-12), (k, i, alpha, value, value_cold)
            if value_cold <= value * (1 + 1e-12):
                assert abs(outcome["test_score"][i] - theirs) <= 1e-8, (k, alpha)
                n_equal += 1
    assert n_equal >= 0.8 * 3 * len(search.alphas_)


def test_l2_and_elastic_net_paths_keep_the_globbed_programs(raw_diabetes):
    """A quadratic part makes the program a QP without vertices: no walk is tried."""
    X, y, _ = raw_diabetes
    for l1_ratio in (0.0, 0.5):
        first, points, alphas = _piecewise_points("quantile", l1_ratio, X, y, None, n_alphas=5)
        _walk_path(first, points, alphas)
        assert "vertex" not in points.path.routes
        assert points.path._vertices is None


def test_an_uncertified_walk_falls_back_to_the_globbed_programs(raw_diabetes, monkeypatch):
    """A walk whose end is not the optimum fails its certificate; the point is still right.

    The walk is made to return a vertex moved off the optimum (every
    coefficient 1 % larger): its duality gap exceeds tol, so the point
    goes to the globbed programs, and after three such points the path
    stops trying the walk.
    """
    X, y, _ = raw_diabetes
    walk = VertexPath._walk

    def wrong(self, *args):
        result = walk(self, *args)
        if result is None:
            return None
        beta, elbow, free, theta, u, u_walk = result
        beta = 1.01 * beta
        return beta, elbow, free, theta, self.a_exact + self.Z @ beta, u_walk

    monkeypatch.setattr(VertexPath, "_walk", wrong)
    first, points, alphas = _piecewise_points("quantile", 1.0, X, y, None, n_alphas=8)
    walked = _walk_path(first, points, alphas)
    assert points.path.routes == ["globbed"] * len(walked)
    assert points.path._vertex_failures == 3
    for alpha, params, _ in walked:
        cold = LossRegressor(loss="quantile", l1_ratio=1.0, alpha=alpha, tol=1e-9).fit(X, y)
        point = _objective("quantile", params[:-1], params[-1], alpha, 1.0, X, y, np.ones(y.size))
        reference = _objective(
            "quantile", cold.coef_, cold.intercept_, alpha, 1.0, X, y, np.ones(y.size))
        assert point <= reference + TOL * abs(reference)


def test_a_walk_past_its_pivot_limit_falls_back(raw_diabetes, monkeypatch):
    """A point that needs more pivots than allowed is left to the globbed programs."""
    X, y, _ = raw_diabetes
    monkeypatch.setattr(_vertex_path, "_MAX_PIVOTS_FACTOR", 0)
    monkeypatch.setattr(_vertex_path, "_MIN_PIVOTS", 1)
    first, points, alphas = _piecewise_points("quantile", 1.0, X, y, None, n_alphas=8)
    _walk_path(first, points, alphas)
    assert "globbed" in points.path.routes


def _lp_optimum(X, y, w, quantile, l1):
    """The L1 quantile regression optimum by scipy's linprog (HiGHS), as an LP."""
    n, p = X.shape
    # Variables: w+ (p), w- (p), b+ , b-, r+ (n), r- (n), all >= 0.
    cost = np.concatenate([np.full(2 * p, l1), [0.0, 0.0], w * quantile, w * (1 - quantile)])
    A = np.hstack([X, -X, np.ones((n, 1)), -np.ones((n, 1)), np.eye(n), -np.eye(n)])
    result = linprog(cost, A_eq=A, b_eq=y, bounds=(0, None), method="highs")
    assert result.status == 0
    return result.fun


@pytest.mark.parametrize("quantile", [0.5, 0.2, 0.9])
def test_vertex_walk_on_tied_data_equals_linprog(quantile):
    """Integer features and targets with many ties (degenerate vertices) against HiGHS.

    Along a decreasing grid, every point the walk returns has the LP's
    optimal value to 1e-9; a point it cannot finish returns None, which the
    path would solve otherwise (here it must not be more than one).
    """
    rng = np.random.default_rng(3)
    n, p = 80, 3
    X = rng.integers(0, 3, size=(n, p)).astype(float)
    y = (X @ [1.0, -1.0, 2.0] + rng.integers(-2, 3, size=n)).astype(float)
    w = np.full(n, 1.0 / n)
    form = PiecewiseLinear(knots=(0.0,), slopes=(quantile - 1.0, quantile), offset=y,
                           scale=np.full(n, -1.0))
    walk = VertexPath(X, form, w, fit_intercept=True)
    beta = np.append(np.zeros(p), np.quantile(y, quantile))
    failures = 0
    for l1 in np.geomspace(1.0, 1e-4, 15):
        result = walk.solve(l1, beta, 1e-9)
        if result is None:
            failures += 1
            continue
        beta, primal, dual, _ = result
        optimum = _lp_optimum(X, y, w, quantile, l1)
        assert abs(primal - optimum) <= 1e-9 * abs(optimum), (l1, primal, optimum)
        assert dual <= optimum * (1 + 1e-12)
    assert failures <= 1


def _cold_and_first_point(loss, X, y, w, fit_intercept, alpha, monkeypatch):
    """A cold fit at ``alpha`` and the path's first point there (no ``fit`` call)."""
    cold = LossRegressor(loss=loss, l1_ratio=1.0, alpha=alpha,
                         fit_intercept=fit_intercept).fit(X, y, sample_weight=w)
    est = LossRegressor(loss=loss, l1_ratio=1.0, alpha=alpha, fit_intercept=fit_intercept,
                        warm_start=True)
    est._path_point = True
    fits = []
    fit = LossRegressor.fit
    monkeypatch.setattr(LossRegressor, "fit", lambda self, *a, **k: fits.append(a) or fit(
        self, *a, **k))
    points = _path._first_point(est, X, y, w)
    monkeypatch.setattr(LossRegressor, "fit", fit)
    assert fits == []  # solved by the walk, not by the interior-point solver
    assert type(points).__name__ == "_PiecewisePoints"
    assert points.path.routes == ["vertex"]
    assert est.duality_gap_ <= TOL
    return cold, est


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no-intercept"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("loss", ["quantile", "absolute_error"])
def test_first_l1_path_point_is_the_cold_fit(raw_diabetes, loss, weighted, fit_intercept,
                                             monkeypatch):
    """Where every weight is zero, the first point is a cold fit's coefficients.

    The walk starts from a cold fit's own start, the best constant model,
    optimal at twice the grid's largest alpha (the grid's own is measured
    from one subgradient of the kinked loss, and may leave a weight
    non-zero). On the even fold (294 rows, unweighted) the median is a
    flat interval: the start, inside it, is kept, as a cold fit keeps it
    (a vertex at the interval's end would be as optimal but score
    differently). The other folds have a unique optimum.
    """
    X, y, weights = raw_diabetes
    for train, _ in KFold(3, shuffle=True, random_state=0).split(X):
        w = weights[train] if weighted else None
        alpha = 2 * alpha_grid(LossRegressor(loss=loss, fit_intercept=fit_intercept),
                               X[train], y[train], w, l1_ratio=1.0, n_alphas=2)[0]
        cold, est = _cold_and_first_point(loss, X[train], y[train], w, fit_intercept, alpha,
                                          monkeypatch)
        np.testing.assert_array_equal(cold.coef_, 0.0)
        np.testing.assert_array_equal(est.coef_, 0.0)
        np.testing.assert_allclose(est.intercept_, cold.intercept_, rtol=1e-12, atol=0)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_first_l1_path_point_below_the_largest_alpha(raw_diabetes, weighted, monkeypatch):
    """A first alpha below alpha_max (a grid of the user's): the walk leaves the constant.

    The point is the optimal vertex: a tight cold fit's objective to 1e-9.
    """
    X, y, weights = raw_diabetes
    w = weights if weighted else None
    w_all = np.ones(y.size) if w is None else w
    alphas = alpha_grid(LossRegressor(loss="quantile"), X, y, w, l1_ratio=1.0, n_alphas=12)
    for alpha in alphas[[0, 2, 6, 11]]:
        _, est = _cold_and_first_point("quantile", X, y, w, True, alpha, monkeypatch)
        assert alpha == alphas[0] or np.count_nonzero(est.coef_) > 0
        tight = LossRegressor(loss="quantile", l1_ratio=1.0, alpha=alpha, tol=1e-9,
                              max_iter=20_000).fit(X, y, sample_weight=w)
        point = _objective("quantile", est.coef_, est.intercept_, alpha, 1.0, X, y, w_all)
        reference = _objective("quantile", tight.coef_, tight.intercept_, alpha, 1.0, X, y,
                               w_all)
        assert abs(point - reference) <= 1e-9 * reference, (alpha, point, reference)


def test_no_first_point_shortcut_outside_the_walk(raw_diabetes, monkeypatch):
    """An elastic net, a named smooth solver, an MLP or a smooth loss: the first point
    is a cold fit's, never the walk's."""
    X, y, _ = raw_diabetes

    def no_walk(*args, **kwargs):
        raise AssertionError("the walk solved a first point it does not apply to")

    monkeypatch.setattr(piecewise_path.PiecewisePath, "solve_from_start", no_walk)
    for est in (LossRegressor(loss="quantile", l1_ratio=0.5, alpha=1.0),
                LossRegressor(loss="quantile", l1_ratio=1.0, alpha=1.0, solver="lbfgs"),
                LossRegressor(loss="quantile", l1_ratio=1.0, alpha=1.0,
                              hidden_layer_sizes=(3,), max_iter=20, random_state=0),
                LossRegressor(loss="squared_error", l1_ratio=1.0, alpha=1.0)):
        cold = clone(est)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            cold.fit(X, y)
            points = _path._first_point(est, X, y, None)
        assert type(points).__name__ != "_PiecewisePoints" or points.path.routes == []
        np.testing.assert_array_equal(est._flat_params(), cold._flat_params())
        assert est.n_iter_ == cold.n_iter_


def test_first_point_the_walk_cannot_finish_is_the_solvers(raw_diabetes, monkeypatch):
    """A walk that returns None leaves the point to the exact solver, in the same fit.

    The solver starts from the cold fit's start, so the point and everything
    stored with it are a cold fit's; the path solver is still the walk's.
    """
    X, y, weights = raw_diabetes
    monkeypatch.setattr(piecewise_path.PiecewisePath, "solve_from_start",
                        lambda self, *args: None)
    alpha = alpha_grid(LossRegressor(loss="quantile"), X, y, weights, l1_ratio=1.0,
                       n_alphas=12)[3]
    cold = LossRegressor(loss="quantile", l1_ratio=1.0, alpha=alpha).fit(
        X, y, sample_weight=weights)
    est = clone(cold).set_params(warm_start=True)
    fits = []
    fit = LossRegressor.fit
    monkeypatch.setattr(LossRegressor, "fit", lambda self, *a, **k: fits.append(a) or fit(
        self, *a, **k))
    points = _path._first_point(est, X, y, weights)
    assert fits == []  # the fallback is the first fit's own solver, not a second fit
    assert type(points).__name__ == "_PiecewisePoints"
    np.testing.assert_array_equal(est.coef_, cold.coef_)
    assert est.intercept_ == cold.intercept_
    assert (est.n_iter_, est.duality_gap_) == (cold.n_iter_, cold.duality_gap_)
    assert est.loss_curve_ == cold.loss_curve_


def test_a_fit_solved_another_way_is_stored_and_judged_as_the_solvers(raw_diabetes):
    """``_fit_path(solve=...)``: its result goes through the checks and the judgement
    of the solver's, and None runs the solver."""
    X, y, _ = raw_diabetes
    est = LossRegressor(loss="quantile", l1_ratio=1.0, alpha=1.0)
    seen = []

    def solve(objective, y_enc, solver, x0):
        seen.append((objective.penalty.l1_strength, np.ndim(y_enc), solver.name, x0.shape))

    est._fit_path(X, y, None, incremental=False, solve=solve)
    cold = clone(est).fit(X, y)
    assert seen == [(1.0, 1, "exact", (X.shape[1] + 1,))]
    np.testing.assert_array_equal(est.coef_, cold.coef_)
    assert (est.n_iter_, est.duality_gap_) == (cold.n_iter_, cold.duality_gap_)

    x = np.append(np.full(X.shape[1], 0.5), 3.0)
    result = SolverResult(x=x, n_iter=7, loss_curve=[2.0, 1.0], converged=False,
                          message="stopped on purpose", gap=0.25)
    with pytest.warns(ConvergenceWarning, match="stopped on purpose"):
        est._fit_path(X, y, None, incremental=False, solve=lambda *args: result)
    np.testing.assert_array_equal(est.coef_, x[:-1])
    assert (est.intercept_, est.n_iter_, est.loss_curve_, est.duality_gap_) == (
        3.0, 7, [2.0, 1.0], 0.25)
    result.x = np.full_like(x, np.nan)
    with pytest.raises(FloatingPointError, match="non-finite"):
        est._fit_path(X, y, None, incremental=False, solve=lambda *args: result)


def test_walk_whose_near_rows_do_not_end_an_edge(raw_diabetes, monkeypatch):
    """Few near rows: a line search among them often finds no stop; the walk goes on.

    The stop is then among the far rows, and the walk takes more near rows
    rather than leaving the point to the globbed programs: every point is
    still the walk's, a tight cold fit's objective to 1e-9.
    """
    X, y, _ = raw_diabetes
    monkeypatch.setattr(_vertex_path, "_NEAR_FACTOR", 1)
    monkeypatch.setattr(_vertex_path, "_MIN_NEAR", 12)
    first, points, alphas = _piecewise_points("quantile", 1.0, X, y, None, n_alphas=10)
    walked = _walk_path(first, points, alphas)
    assert points.path.routes == ["vertex"] * len(walked)
    # The case under test happened.
    assert points.path._vertices.reselections[_vertex_kernels.NO_STOP_NEAR] > 0
    ones = np.ones(y.size)
    for alpha, params, _ in walked:
        tight = LossRegressor(loss="quantile", l1_ratio=1.0, alpha=alpha, tol=1e-9,
                              max_iter=20_000).fit(X, y)
        point = _objective("quantile", params[:-1], params[-1], alpha, 1.0, X, y, ones)
        reference = _objective("quantile", tight.coef_, tight.intercept_, alpha, 1.0, X, y,
                               ones)
        assert abs(point - reference) <= 1e-9 * reference, (alpha, point, reference)


def test_a_float32_path_walks_on_from_each_vertex(monkeypatch):
    """A float32 model stores each walked point rounded; the next point still starts
    from that vertex's basis (no purification from scratch), as in float64."""
    X, y = load_diabetes(return_X_y=True)
    purified = []
    purify = VertexPath._purify
    monkeypatch.setattr(VertexPath, "_purify",
                        lambda self, *a: purified.append(1) or purify(self, *a))
    counts, choices = [], []
    for dtype in (np.float64, np.float32):
        purified.clear()
        search = LossRegressorCV(loss="quantile", l1_ratio=1.0, alphas=15, cv=3).fit(
            X.astype(dtype), y.astype(dtype))
        counts.append(len(purified))
        choices.append(search.alpha_)
    assert counts[1] == counts[0] <= 2 * 3  # at most a few per fold, not one per point
    np.testing.assert_allclose(choices[1], choices[0], rtol=1e-5)

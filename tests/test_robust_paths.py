"""Paths of the robust losses: every point at or below a tight cold fit's objective.

The path solvers of Huber (joint scale, any penalty), smooth losses with L2
(warm-started proximal Newton) and piecewise-linear losses (globbed programs
seeded by the previous point) each replace a full fit per alpha; what they
must not change is the optimum. Each point's objective is computed here from
its coefficients by formulas written out in the test (the joint scale
profiled out by scipy's bounded scalar minimiser), on raw diabetes (features
in their own units, target of spread 77) and with sample weights, and
compared with a cold fit at ``tol=1e-9``.
"""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.metrics import r2_score

from sklosses import LossRegressor, _path
from sklosses._path import _path_solver, alpha_grid, fit_path, own_score
from sklosses.losses import Huber

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

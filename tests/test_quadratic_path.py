"""Exact elastic-net paths on the Gram matrix (squared error and squared log error)."""

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_regression
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import KFold

import sklosses._path as path_module
import sklosses.solvers._quadratic_path as quadratic
from sklosses import LossRegressor
from sklosses._objective import Objective
from sklosses._path import alpha_grid, fit_path
from sklosses._resolve import resolve_penalty
from sklosses.solvers._quadratic_path import _feature_sign_search, quadratic_path_applies


def _split_reference(H, ridge, g, lam):
    """A tight L-BFGS-B solve of the same problem on z = u - v, u, v >= 0."""
    n = g.size

    def fun(uv):
        z = uv[:n] - uv[n:]
        grad = H @ z + ridge * z + g
        value = 0.5 * z @ (H @ z) + 0.5 * ridge @ (z * z) + g @ z + lam @ uv[:n] + lam @ uv[n:]
        return value, np.concatenate([grad + lam, -grad + lam])

    result = minimize(fun, np.zeros(2 * n), jac=True, method="L-BFGS-B",
                      bounds=[(0, None)] * (2 * n),
                      options={"ftol": 1e-15, "gtol": 1e-13, "maxiter": 50_000})
    return result.fun


@pytest.mark.parametrize("seed", range(6))
def test_feature_sign_search_reaches_the_optimum(seed):
    rng = np.random.default_rng(seed)
    n = 12
    A = rng.standard_normal((30, n))
    H = A.T @ A / 30
    g = rng.standard_normal(n)
    lam = rng.uniform(0.05, 0.8, n)
    lam[:2] = 0.0  # free coordinates, as intercepts are
    ridge = np.where(lam > 0, rng.uniform(0, 0.3), 0.0)
    z0 = rng.standard_normal(n) * (rng.random(n) < 0.5)  # a poor warm start
    z, solves = _feature_sign_search(H, ridge, g, lam, z0)
    assert z is not None and solves > 0
    value = 0.5 * z @ (H @ z) + 0.5 * ridge @ (z * z) + g @ z + lam @ np.abs(z)
    reference = _split_reference(H, ridge, g, lam)
    assert value <= reference + 1e-10 * abs(reference)
    # The optimality conditions hold exactly (to rounding).
    grad = H @ z + ridge * z + g
    nonzero = z != 0
    np.testing.assert_allclose(grad[nonzero], -lam[nonzero] * np.sign(z[nonzero]), atol=1e-9)
    assert np.all(np.abs(grad[~nonzero]) <= lam[~nonzero] + 1e-9)


def _data_objective(est, X, y, alpha, l1_ratio, sample_weight=None):
    y_enc, _ = est._encode_target(y, est.loss_)
    return Objective(est.loss_, est._model, resolve_penalty(alpha, l1_ratio), X, y_enc,
                     sample_weight)


def _raw_offset_data():
    # Raw diabetes features shifted by 1e6 and one column scaled by 1e4: the
    # Gram matrix of uncentred columns would be nearly singular.
    X, y = load_diabetes(return_X_y=True)
    X = X * 100 + 1e6
    X[:, 2] *= 1e4
    return X, y


CASES = {
    "lasso": dict(l1_ratio=1.0),
    "elastic net": dict(l1_ratio=0.5),
    "ridge": dict(l1_ratio=0.0),
    "no intercept": dict(l1_ratio=0.7, fit_intercept=False),
    "weights": dict(l1_ratio=0.9, weights=True),
    "two outputs": dict(l1_ratio=0.6, outputs=2),
    "squared log error": dict(l1_ratio=0.8, loss="squared_log_error"),
    "raw offsets": dict(l1_ratio=0.8, data="offsets"),
    # Centring leaves ~1e-16 in a constant column: it must not count as a
    # feature on a tiny scale (whose threshold would loosen every condition).
    "constant column": dict(l1_ratio=1.0, column=("constant", 0.1)),
    "ones column and weights": dict(l1_ratio=1.0, column=("constant", 1.0), weights=True),
    "column on a tiny scale": dict(l1_ratio=0.5, column=("scaled", 1e-10)),
    "nearly constant column": dict(l1_ratio=1.0, column=("jitter", 5.0)),
    "float32": dict(l1_ratio=0.7, dtype=np.float32),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_quadratic_path_point_is_the_optimum(case):
    spec = CASES[case]
    if spec.get("data") == "offsets":
        X, y = _raw_offset_data()
    else:
        X, y = make_regression(n_samples=240, n_features=15, n_informative=5, noise=10.0,
                               n_targets=spec.get("outputs", 1), random_state=1)
    if "column" in spec:
        kind, value = spec["column"]
        X = X.copy()
        if kind == "constant":
            X[:, 3] = value
        elif kind == "scaled":
            X[:, 3] *= value
        else:
            X[:, 3] = value + 1e-13 * np.random.default_rng(2).standard_normal(len(X))
    X = X.astype(spec.get("dtype", np.float64))
    if spec.get("loss") == "squared_log_error":
        y = np.exp((y - y.min()) / y.std()) - 0.5
    weights = (np.random.default_rng(0).uniform(0.2, 3.0, len(X))
               if spec.get("weights") else None)
    l1_ratio = spec["l1_ratio"]
    base = LossRegressor(loss=spec.get("loss", "squared_error"), l1_ratio=l1_ratio,
                         fit_intercept=spec.get("fit_intercept", True), tol=1e-10,
                         max_iter=20_000)
    train, test = next(iter(KFold(4, shuffle=True, random_state=0).split(X)))
    alphas = alpha_grid(base, X[train], y[train], l1_ratio=max(l1_ratio, 1e-3), n_alphas=8)
    solved = []
    original = path_module._QuadraticPoints.fit
    path_module._QuadraticPoints.fit = (
        lambda self, *a: solved.append(1) or original(self, *a))
    try:
        path = fit_path(base, X, y, weights, train, test, alphas, LossRegressor.score)
    finally:
        path_module._QuadraticPoints.fit = original
    assert len(solved) == len(alphas) - 1
    w_train = None if weights is None else weights[train]
    for alpha, params in zip(alphas, path["params"]):
        cold = clone(base).set_params(alpha=alpha).fit(X[train], y[train],
                                                       sample_weight=w_train)
        objective = _data_objective(cold, X[train], y[train], alpha, l1_ratio, w_train)
        J_path = objective.value(params)
        J_cold = objective.value(cold._flat_params())
        # The exact solve is never worse than a tight iterative fit (in
        # float32, the objective itself is evaluated to ~1e-7); exactness is
        # checked against ElasticNet below.
        rtol = 1e-6 if spec.get("dtype") == np.float32 else 1e-9
        assert J_path <= J_cold + rtol * abs(J_cold)


def _hard_columns(kind):
    X, y = make_regression(n_samples=240, n_features=8, n_informative=5, noise=10.0,
                           random_state=1)
    weights = None
    if kind == "raw offsets":
        return (*_raw_offset_data(), None)
    if kind == "ones column and weights":
        X[:, 3] = 1.0
        weights = np.random.default_rng(0).uniform(0.5, 2.0, len(X))
    elif kind == "column on a tiny scale":
        X[:, 3] *= 1e-10
    elif kind == "nearly constant column":
        X[:, 3] = 5.0 + 1e-13 * np.random.default_rng(2).standard_normal(len(X))
    return X, y, weights


@pytest.mark.parametrize("kind", ["raw offsets", "ones column and weights",
                                  "column on a tiny scale", "nearly constant column"])
def test_quadratic_path_equals_scikit_learn_elastic_net(kind):
    # Ours: mean (y - p)^2 + alpha (rho |w|_1 + (1 - rho)/2 |w|^2) is twice
    # ElasticNet's objective at alpha / 2, same l1_ratio (weights included:
    # ElasticNet's weighted mean squared error is ours over 2).
    X, y, weights = _hard_columns(kind)
    train, test = next(iter(KFold(4, shuffle=True, random_state=0).split(X)))
    w_train = None if weights is None else weights[train]
    base = LossRegressor(l1_ratio=0.5)
    alphas = alpha_grid(base, X[train], y[train], w_train, l1_ratio=0.5, n_alphas=6)
    path = fit_path(base, X, y, weights, train, test, alphas, LossRegressor.score)
    objective_reference = LossRegressor().fit(X[train], y[train], sample_weight=w_train)
    for alpha, params in zip(alphas[1:], path["params"][1:]):
        enet = ElasticNet(alpha=alpha / 2, l1_ratio=0.5, tol=1e-14, max_iter=1_000_000)
        enet.fit(X[train], y[train], sample_weight=w_train)
        objective = _data_objective(objective_reference, X[train], y[train], alpha, 0.5,
                                    w_train)
        J_path = objective.value(params)
        J_enet = objective.value(np.r_[enet.coef_, enet.intercept_])
        assert J_path <= J_enet + 1e-10 * abs(J_enet)
        assert J_path >= J_enet - 1e-8 * abs(J_enet)
        np.testing.assert_allclose(X[test] @ params[:-1] + params[-1],
                                   enet.predict(X[test]), rtol=1e-6,
                                   atol=1e-7 * np.abs(y).max())


def test_unsolvable_point_falls_back_to_a_fit(monkeypatch):
    X, y = make_regression(n_samples=120, n_features=6, noise=1.0, random_state=0)
    base = LossRegressor(l1_ratio=1.0, tol=1e-10)
    train, test = next(iter(KFold(3).split(X)))
    alphas = alpha_grid(base, X, y, l1_ratio=1.0, n_alphas=5)
    expected = fit_path(base, X, y, None, train, test, alphas, LossRegressor.score)
    # A system LAPACK calls not positive definite: every point is a regular fit.
    monkeypatch.setattr(quadratic, "dposv", lambda a, b: (a, b, 1))
    fallback = []
    original = path_module._WarmFits.fit
    monkeypatch.setattr(path_module._WarmFits, "fit",
                        lambda self, *a: fallback.append(1) or original(self, *a))
    fitted = fit_path(base, X, y, None, train, test, alphas, LossRegressor.score)
    assert len(fallback) == len(alphas) - 1
    for a, b in zip(expected["params"], fitted["params"]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_which_problems_take_the_quadratic_path():
    import scipy.sparse as sp

    X, y = make_regression(n_samples=50, n_features=4, random_state=0)
    fitted = {name: LossRegressor(loss=name).fit(X, y)
              for name in ("squared_error", "huber")}
    squared = fitted["squared_error"]
    assert quadratic_path_applies(squared.loss_, squared._model, X)
    assert not quadratic_path_applies(fitted["huber"].loss_, fitted["huber"]._model, X)
    assert not quadratic_path_applies(squared.loss_, squared._model, sp.csr_matrix(X))
    # Few rows per feature: the regular warm-started fits are faster.
    assert not quadratic_path_applies(squared.loss_, squared._model, X[:20])
    mlp = LossRegressor(hidden_layer_sizes=(3,), max_iter=5)
    with pytest.warns(Warning):
        mlp.fit(X, y)
    assert not quadratic_path_applies(mlp.loss_, mlp._model, X)


@pytest.mark.parametrize("outputs", [1, 3])
def test_points_scored_after_the_path_score_as_separate_fits(outputs):
    from sklearn.metrics import get_scorer

    X, y = make_regression(n_samples=200, n_features=7, n_targets=outputs, noise=5.0,
                           random_state=3)
    weights = np.random.default_rng(1).uniform(0.5, 2.0, len(X))
    base = LossRegressor(l1_ratio=0.5)
    train, test = next(iter(KFold(4, shuffle=True, random_state=0).split(X)))
    alphas = alpha_grid(base, X, y, l1_ratio=0.5, n_alphas=5)
    for scorer in (LossRegressor.score, get_scorer("neg_mean_absolute_error")):
        path = fit_path(base, X, y, weights, train, test, alphas, scorer)
        for params, score in zip(path["params"], path["test_score"]):
            single = clone(base).fit(X[train], y[train])  # fitted state to overwrite
            single.__dict__.update(single._fitted_attributes(
                params, loss=single.loss_, model=single._model, ravel_raw=single._ravel_raw))
            expected = scorer(single, X[test], y[test], sample_weight=weights[test])
            assert score == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("kind", ["raw offsets", "ones column and weights",
                                  "column on a tiny scale", "nearly constant column"])
@pytest.mark.parametrize("l1_ratio", [0.5, 1.0])
def test_default_fit_with_an_l1_part_is_the_exact_optimum(kind, l1_ratio):
    # solver="auto" on squared error with an L1 part solves on the Gram
    # matrix (GramOrFallback): at the default tol, the optimum itself.
    X, y, weights = _hard_columns(kind)
    alpha = 1e-2 * np.var(y)
    est = LossRegressor(alpha=alpha, l1_ratio=l1_ratio).fit(X, y, sample_weight=weights)
    enet = ElasticNet(alpha=alpha / 2, l1_ratio=l1_ratio, tol=1e-14, max_iter=1_000_000)
    enet.fit(X, y, sample_weight=weights)
    objective = _data_objective(est, X, y, alpha, l1_ratio, weights)
    J_ours = objective.value(np.r_[est.coef_, est.intercept_])
    J_enet = objective.value(np.r_[enet.coef_, enet.intercept_])
    assert J_ours <= J_enet + 1e-10 * abs(J_enet)


def test_default_fit_falls_back_where_the_gram_matrix_does_not_apply(monkeypatch):
    from sklosses.solvers._choice import GramOrFallback  # noqa: PLC0415

    X, y = make_regression(n_samples=40, n_features=400, noise=1.0, random_state=0)
    names = []
    original = GramOrFallback.solve

    def spy(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        names.append(self.name)
        return result

    monkeypatch.setattr(GramOrFallback, "solve", spy)
    LossRegressor(alpha=1.0, l1_ratio=1.0).fit(X, y)  # > 300 parameters, wide: FISTA
    LossRegressor(alpha=1.0, l1_ratio=1.0).fit(X[:, :60], y)  # wide but small: exact
    LossRegressor(alpha=1.0, l1_ratio=1.0).fit(X[:, :5], y)  # narrow: exact
    # A singular system is not certified: L-BFGS, as before.
    monkeypatch.setattr(quadratic, "dposv", lambda a, b: (a, b, 1))
    LossRegressor(alpha=1.0, l1_ratio=1.0).fit(X[:, :5], y)
    assert names == ["proximal", "gram", "gram", "lbfgs"]

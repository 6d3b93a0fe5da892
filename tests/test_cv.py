"""LossRegressorCV and LossClassifierCV: paths, choices, refit, equality with scikit-learn."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LassoCV, LogisticRegressionCV
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler

from sklosses import LossClassifier, LossClassifierCV, LossRegressor, LossRegressorCV
from sklosses._path import alpha_grid, fit_path, largest_alpha
from sklosses.losses import Huber


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=200, n_features=8, n_informative=4,
                               random_state=0)
    return StandardScaler().fit_transform(X), y


def _folds(n, k=4):
    return list(KFold(k, shuffle=True, random_state=0).split(np.zeros(n)))


@pytest.mark.parametrize("loss", ["squared_error", "huber", "absolute_error", "log_cosh"])
def test_l1_alpha_max_is_the_smallest_alpha_with_every_weight_zero(diabetes, loss):
    X, y = diabetes
    alpha_max = largest_alpha(LossRegressor(loss=loss), X, y, l1_ratio=1.0)
    at = LossRegressor(loss=loss, alpha=alpha_max * 1.001, l1_ratio=1.0, tol=1e-8).fit(X, y)
    below = LossRegressor(loss=loss, alpha=alpha_max * 0.95, l1_ratio=1.0,
                          tol=1e-8).fit(X, y)
    assert np.all(at.coef_ == 0)
    assert np.any(below.coef_ != 0)


def test_elastic_net_alpha_max_divides_by_l1_ratio(diabetes):
    X, y = diabetes
    lasso = largest_alpha(LossRegressor(), X, y, l1_ratio=1.0)
    assert largest_alpha(LossRegressor(), X, y, l1_ratio=0.25) == pytest.approx(4 * lasso)


@pytest.mark.parametrize("scale", [1e-5, 1.0, 1e5])
def test_l2_grid_follows_the_target_not_its_units(diabetes, scale):
    X, y = diabetes
    grid = alpha_grid(LossRegressor(), X, y * scale, n_alphas=5)
    reference = alpha_grid(LossRegressor(), X, y, n_alphas=5)
    np.testing.assert_allclose(grid, reference, rtol=1e-8)
    assert grid[-1] == pytest.approx(grid[0] * 1e-4)
    top = LossRegressor(alpha=grid[0]).fit(X, y * scale)
    assert top.score(X, y * scale) < 0.15  # close to the constant model


def _objective(est, X, y, alpha, l1_ratio):
    w = est.coef_
    penalty = alpha * (l1_ratio * np.abs(w).sum() + (1 - l1_ratio) / 2 * w @ w)
    return est.loss_(y, est.predict(X)) + penalty


@pytest.mark.parametrize("loss", ["huber", "quantile"])
def test_every_path_point_equals_a_cold_fit(diabetes, loss):
    X, y = diabetes
    tol = 1e-8
    base = LossRegressor(loss=loss, l1_ratio=0.5, tol=tol, max_iter=5000)
    alphas = alpha_grid(base, X, y, l1_ratio=0.5, n_alphas=6)
    train, test = next(iter(KFold(3).split(X)))
    path = fit_path(base, X, y, None, train, test, alphas, LossRegressor.score)
    for alpha, params in zip(alphas, path["params"]):
        cold = clone(base).set_params(alpha=alpha).fit(X[train], y[train])
        warm = clone(cold)
        warm.__dict__.update(cold.__dict__)
        warm.coef_, warm.intercept_ = params[:-1], params[-1]
        J_cold = _objective(cold, X[train], y[train], alpha, 0.5)
        J_warm = _objective(warm, X[train], y[train], alpha, 0.5)
        # Both are close to the optimum. tol is a gradient tolerance of the
        # solvers (and the smoothing level of continuation), not yet a relative
        # objective tolerance: either fit may stop ~1e-6 relative above it.
        assert abs(J_warm - J_cold) <= 1e-5 * J_cold


@pytest.mark.parametrize("loss", ["squared_error", ["squared_error", Huber(delta=30.0)]])
def test_choice_equals_grid_search_over_the_same_grid_and_folds(diabetes, loss):
    X, y = diabetes
    folds = _folds(len(y))
    search = LossRegressorCV(loss=loss, alphas=6, cv=folds, tol=1e-12,
                             max_iter=5000).fit(X, y)
    losses = loss if isinstance(loss, list) else [loss]
    grid = GridSearchCV(
        LossRegressor(tol=1e-12, max_iter=5000),
        [{"loss": [candidate], "alpha": list(search.cv_results_["param_alpha"][
            search.cv_results_["param_loss"] == candidate])} for candidate in losses],
        cv=folds,
    ).fit(X, y)
    # Huber's curvature jumps at |r| = delta, so warm (path) and cold fits at
    # tol=1e-12 can stop a few 1e-8 apart in score; squared error agrees to 1e-8.
    atol = 1e-8 if isinstance(loss, str) else 1e-7
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               grid.cv_results_["mean_test_score"], rtol=0, atol=atol)
    assert search.alpha_ == grid.best_params_["alpha"]
    assert search.best_index_ == grid.best_index_


def test_lasso_cv_chooses_the_same_alpha(diabetes):
    # Ours: mean (y - p)^2 + alpha ||w||_1 = 2 * [Lasso's 1/(2n) sum (y - p)^2
    # + (alpha / 2) ||w||_1], so alpha_lasso = alpha / 2 on the same folds.
    X, y = diabetes
    folds = _folds(len(y), 5)
    ours = LossRegressorCV(alphas=20, l1_ratio=1.0, cv=folds, tol=1e-10, max_iter=5000,
                           scoring="neg_mean_squared_error").fit(X, y)
    lasso = LassoCV(alphas=ours.alphas_ / 2, cv=folds, tol=1e-12, max_iter=100_000).fit(X, y)
    assert ours.alphas_[0] / 2 == pytest.approx(np.max(np.abs(X.T @ (y - y.mean()))) / len(y))
    assert ours.alpha_ / 2 == pytest.approx(lasso.alpha_)
    np.testing.assert_allclose(ours.coef_, lasso.coef_, rtol=1e-4, atol=1e-4)


def test_logistic_regression_cv_chooses_the_same_alpha(binary):
    # LogisticRegression(C) minimises C sum_i loss_i + ||w||^2 / 2, that is n C
    # times our mean loss + (alpha / 2) ||w||^2 with alpha = 1 / (n_train C);
    # the folds have equal sizes, so one C maps to one alpha on every fold.
    X, y = binary
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(X, y))
    n_train = len(folds[0][0])
    Cs = np.logspace(-3, 2, 12)
    ours = LossClassifierCV(alphas=1.0 / (n_train * Cs), cv=folds, tol=1e-10,
                            max_iter=5000, scoring="neg_log_loss").fit(X, y)
    theirs = LogisticRegressionCV(Cs=Cs, cv=folds, l1_ratios=(0.0,), tol=1e-10,
                                  scoring="neg_log_loss", max_iter=10_000,
                                  use_legacy_attributes=False).fit(X, y)
    assert 1.0 / (n_train * ours.alpha_) == pytest.approx(theirs.C_)


def test_list_of_losses_each_judged_at_its_own_alpha(diabetes):
    X, y = diabetes
    losses = ["squared_error", Huber(delta=20.0), "absolute_error"]
    search = LossRegressorCV(loss=losses, alphas=6, cv=3).fit(X, y)
    results = search.cv_results_
    assert len(results["mean_test_score"]) == 18
    assert results["rank_test_score"][search.best_index_] == 1
    assert search.best_score_ == pytest.approx(results["mean_test_score"].max())
    # Each loss has its own data-derived grid.
    first = results["param_alpha"][results["param_loss"] == "squared_error"]
    last = results["param_alpha"][results["param_loss"] == "absolute_error"]
    assert first[0] != last[0]
    assert search.loss_ is not losses[1]  # a fresh resolved copy


@pytest.mark.parametrize("loss", ["squared_error", "huber", "log_cosh"])
def test_refit_reaches_the_optimum_a_cold_fit_reaches(diabetes, loss):
    # The refit starts from the folds' solutions at the chosen alpha: the
    # same optimum as a cold fit (within tol), the user's warm_start kept.
    X, y = diabetes
    search = LossRegressorCV(loss=loss, alphas=5, l1_ratio=[0.5, 1.0], cv=3,
                             tol=1e-6).fit(X, y)
    alpha, ratio = search.alpha_, search.l1_ratio_
    cold = LossRegressor(loss=loss, alpha=alpha, l1_ratio=ratio, tol=1e-6).fit(X, y)
    J_search = _objective(search.best_estimator_, X, y, alpha, ratio)
    J_cold = _objective(cold, X, y, alpha, ratio)
    assert abs(J_search - J_cold) <= 1e-6 * J_cold
    np.testing.assert_allclose(search.coef_, cold.coef_, rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(search.predict(X[:5]), search.best_estimator_.predict(X[:5]))
    assert search.best_estimator_.warm_start is False
    assert ratio in (0.5, 1.0)
    assert search.n_iter_ >= 1


def test_refit_starts_from_the_folds_and_saves_iterations(diabetes):
    X, y = diabetes
    search = LossRegressorCV(loss="huber", alphas=5, cv=3, tol=1e-8).fit(X, y)
    cold = LossRegressor(loss="huber", alpha=search.alpha_, tol=1e-8).fit(X, y)
    assert search.n_iter_ < cold.n_iter_


@pytest.mark.parametrize("folds", [
    # fold 0 lacks class 2: the refit starts from fold 1, which has it
    [(np.arange(0, 56), np.arange(56, 60)), (np.arange(4, 60), np.arange(0, 4))],
    # every fold lacks class 2: the refit starts afresh
    [(np.arange(0, 56), np.arange(56, 60)), (np.arange(10, 56), np.r_[0:10, 56:60])],
], ids=["one fold has every class", "no fold has every class"])
def test_refit_when_a_fold_lacks_a_class(folds):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = np.r_[np.zeros(28, int), np.ones(28, int), np.full(4, 2)]
    search = LossClassifierCV(alphas=3, cv=folds, tol=1e-8).fit(X, y)
    cold = LossClassifier(alpha=search.alpha_, tol=1e-8).fit(X, y)
    assert list(search.classes_) == [0, 1, 2]
    np.testing.assert_allclose(search.coef_, cold.coef_, rtol=1e-4, atol=1e-6)


def test_refit_of_a_non_convex_loss_starts_afresh(binary):
    X, y = binary
    search = LossClassifierCV(loss="focal", alphas=3, cv=3).fit(X, y)
    cold = LossClassifier(loss="focal", alpha=search.alpha_).fit(X, y)
    np.testing.assert_array_equal(search.coef_, cold.coef_)


def test_refit_false_has_no_predict(diabetes):
    X, y = diabetes
    search = LossRegressorCV(alphas=3, cv=3, refit=False).fit(X, y)
    assert hasattr(search, "alpha_") and not hasattr(search, "coef_")
    with pytest.raises(NotFittedError, match="refit=False"):
        search.predict(X)


def test_sample_weight_reaches_every_fit_and_the_scorer(diabetes):
    X, y = diabetes
    rng = np.random.default_rng(0)
    weights = rng.integers(0, 3, size=len(y)).astype(float)
    folds = _folds(len(y), 3)
    search = LossRegressorCV(alphas=4, cv=folds, tol=1e-10).fit(X, y, sample_weight=weights)
    for k, (train, test) in enumerate(folds):
        alpha = search.cv_results_["param_alpha"][1]
        est = LossRegressor(alpha=alpha, tol=1e-10).fit(X[train], y[train], weights[train])
        expected = est.score(X[test], y[test], sample_weight=weights[test])
        assert search.cv_results_[f"split{k}_test_score"][1] == pytest.approx(expected,
                                                                               abs=1e-7)


def test_classifier_mlp_path_and_probabilities(binary):
    X, y = binary
    labels = np.array(["no", "yes"])[y]
    search = LossClassifierCV(alphas=3, cv=3, hidden_layer_sizes=(5,), random_state=0,
                              max_iter=200).fit(X, labels)
    assert set(search.predict(X)) <= {"no", "yes"}
    assert search.predict_proba(X).shape == (len(y), 2)
    assert list(search.classes_) == ["no", "yes"]
    hinge = LossClassifierCV(loss="hinge", alphas=3, cv=3)
    assert not hasattr(hinge, "predict_proba")


def test_multi_output_regression_path():
    X, y = make_regression(n_samples=80, n_features=4, n_targets=2, noise=1.0,
                           random_state=0)
    search = LossRegressorCV(alphas=4, cv=3, l1_ratio=1.0).fit(X, y)
    assert search.predict(X).shape == (80, 2)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"alphas": 0}, "alphas must be in"),
        ({"alphas": [-1.0, 1.0]}, "alphas must be a positive integer"),
        ({"l1_ratio": [0.5, 2.0]}, "l1_ratio must be in"),
        ({"loss": []}, "loss is an empty list"),
        ({"loss": ["squared_error", "nope"]}, "Unknown loss 'nope'"),
        ({"refit": "yes"}, "refit must be True or False"),
    ],
)
def test_bad_arguments_raise_a_clear_error(diabetes, params, message):
    X, y = diabetes
    with pytest.raises(ValueError, match=message):
        LossRegressorCV(**params).fit(X, y)


# ---------------------------------------------------------------------------
# Huber(scale="joint")
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def heavy_tailed():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ [1.0, -2.0, 0.5, 0.0, 3.0] + rng.standard_t(2, size=200) + 1.0
    return X, y


def _huber_regressor_objective(theta, X, y, epsilon, alpha):
    """HuberRegressor's objective, sum_i (s + H(r_i / s) s) + alpha ||w||^2, H = 2h."""
    w, b, s = theta[:-2], theta[-2], theta[-1]
    z = np.abs(y - X @ w - b) / s
    H = np.where(z <= epsilon, z * z, 2 * epsilon * z - epsilon**2)
    return np.sum(s + H * s) + alpha * w @ w


@pytest.mark.parametrize("alpha", [0.1, 1.0])
def test_joint_scale_with_l2_equals_huber_regressor(heavy_tailed, alpha):
    # HuberRegressor's objective is 2 n [mean s (1/2 + h(r/s)) + alpha / (2n) ||w||^2]:
    # our alpha is HuberRegressor's alpha / n.
    from scipy.optimize import minimize
    from sklearn.linear_model import HuberRegressor

    X, y = heavy_tailed
    n = len(y)
    ours = LossRegressor(loss=Huber(delta=1.35, scale="joint"), alpha=alpha / n,
                         tol=1e-12, max_iter=10_000).fit(X, y)
    theirs = HuberRegressor(epsilon=1.35, alpha=alpha, tol=1e-12, max_iter=10_000).fit(X, y)
    # HuberRegressor stops at scipy's default ftol (2.2e-9 relative, it passes no
    # other), which leaves its coefficients ~2e-6 from its optimum here ...
    np.testing.assert_allclose(ours.coef_, theirs.coef_, atol=5e-6)
    assert ours.intercept_ == pytest.approx(theirs.intercept_, abs=5e-6)
    assert ours.loss_.scale_ == pytest.approx(theirs.scale_, abs=5e-6)
    # ... and its own objective, minimised further from its solution, lands on
    # ours to 1e-7.
    start = np.r_[theirs.coef_, theirs.intercept_, theirs.scale_]
    tight = minimize(_huber_regressor_objective, start, args=(X, y, 1.35, alpha),
                     method="L-BFGS-B", bounds=[(None, None)] * 6 + [(1e-8, None)],
                     options={"ftol": 0, "gtol": 1e-11, "maxiter": 10_000}).x
    np.testing.assert_allclose(np.r_[ours.coef_, ours.intercept_, ours.loss_.scale_],
                               tight, atol=1e-7)


def test_joint_scale_follows_the_target_units(heavy_tailed):
    X, y = heavy_tailed
    fits = [LossRegressor(loss=Huber(delta=1.35, scale="joint"), alpha=0.0,
                          tol=1e-10).fit(X, y * c) for c in (1.0, 1000.0)]
    assert fits[1].loss_.scale_ == pytest.approx(1000 * fits[0].loss_.scale_, rel=1e-5)
    np.testing.assert_allclose(fits[1].coef_, 1000 * fits[0].coef_, rtol=1e-5)


@pytest.mark.parametrize(
    "options",
    [{"l1_ratio": 1.0, "alpha": 0.01}, {"l1_ratio": 0.5, "alpha": 0.01, "solver": "proximal"},
     {"hidden_layer_sizes": (6,), "random_state": 0, "max_iter": 2000}],
    ids=["lasso", "elastic_net_proximal", "mlp"],
)
def test_joint_scale_works_with_every_penalty_and_the_mlp(heavy_tailed, options):
    X, y = heavy_tailed
    reg = LossRegressor(loss=Huber(delta=1.35, scale="joint"), **options).fit(X, y)
    from sklosses.losses._scale import huber_joint_scale

    residual = reg.predict(X) - y
    assert reg.loss_.scale_ == pytest.approx(huber_joint_scale(residual, 1.35))
    assert 0.3 < reg.loss_.scale_ < 3.0 and reg.score(X, y) > 0.5


def test_joint_scale_solves_its_equation_exactly():
    from sklosses.losses._scale import huber_joint_scale

    rng = np.random.default_rng(1)
    r, w = rng.standard_t(1, size=101), rng.uniform(0.1, 2.0, size=101)
    s = huber_joint_scale(r, 1.5, w)
    assert np.average(np.minimum((r / s) ** 2, 1.5**2), weights=w) == pytest.approx(1.0)
    # The scale minimises the mean loss: no nearby scale does better.
    def mean_loss(scale):
        return np.average(Huber(delta=1.5, scale="joint")._joint(r, 0 * r, w)[0], weights=w) \
            if scale is None else np.average(
                scale * (0.5 + np.where(np.abs(r / scale) <= 1.5, 0.5 * (r / scale) ** 2,
                                        1.5 * (np.abs(r / scale) - 0.75))), weights=w)
    assert mean_loss(None) == pytest.approx(mean_loss(s))
    assert mean_loss(s) < min(mean_loss(0.99 * s), mean_loss(1.01 * s))


@pytest.mark.parametrize("seed", range(20))
def test_joint_scale_newton_root_equals_the_sorted_root(seed):
    from sklosses.losses._scale import _column_scale, _column_scale_newton

    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 400))
    a = np.abs(rng.standard_t(rng.uniform(0.5, 5.0), n)) * 10.0 ** rng.uniform(-8, 8)
    if seed % 4 == 0:
        a[rng.random(n) < 0.7] = 0.0  # often no root: the scale tends to 0
    w = rng.uniform(0.0, 1.0, n) if seed % 2 else np.ones(n)
    w = w / w.sum()
    delta = rng.uniform(1.01, 5.0)
    order = np.argsort(a, kind="stable")
    sorted_root = _column_scale(a[order], w[order], delta)
    for start in (None, sorted_root * 0.3, sorted_root * 1.0001, sorted_root * 50):
        newton_root = _column_scale_newton(a, w, delta, start=start or None)
        assert newton_root is not None
        assert newton_root == pytest.approx(sorted_root, rel=1e-11, abs=0.0)


def test_best_constant_is_remembered_only_for_identical_inputs(monkeypatch):
    import sklosses.losses._base as base

    calls = []
    original = base._minimize_constant
    monkeypatch.setattr(base, "_minimize_constant",
                        lambda *a: calls.append(1) or original(*a))
    base._CONSTANT_MEMO.clear()
    y = np.random.default_rng(0).standard_t(2, size=200)
    loss = Huber(delta=1.35, scale="joint")
    first = loss.init_raw(y)
    assert loss.init_raw(y.copy()) == first and len(calls) == 1
    assert Huber(delta=1.35, scale="joint").init_raw(y) == first and len(calls) == 1
    shifted = loss.init_raw(y + 1.0)
    assert len(calls) == 2 and shifted == pytest.approx(first + 1.0, rel=1e-6)
    Huber(delta=2.0, scale="joint").init_raw(y)
    loss.init_raw(y, np.linspace(1.0, 2.0, y.size))
    assert len(calls) == 4


def test_best_constant_memo_keys_array_parameters_exactly(monkeypatch):
    # A repr rounds arrays (to the print precision): the key must not.
    from sklearn.datasets import make_classification

    import sklosses.losses._base as base
    from sklosses.losses import Focal

    base._CONSTANT_MEMO.clear()
    _, y = make_classification(n_samples=300, n_classes=3, n_informative=4, random_state=0)
    with np.printoptions(precision=2):
        first = np.asarray(Focal(alpha=np.array([0.2, 0.3, 0.5])).init_raw(y))
        second = np.asarray(Focal(alpha=np.array([0.204, 0.3, 0.5])).init_raw(y))
    assert not np.allclose(first, second, rtol=0, atol=1e-6)


def test_joint_scale_gradient_is_the_profiled_gradient(heavy_tailed):
    # Envelope theorem: the gradient at the optimal scale, scale held fixed, is
    # the gradient of the profiled loss; finite differences agree.
    _, y = heavy_tailed
    loss = Huber(delta=1.35, scale="joint")
    raw = np.zeros_like(y) + 0.3
    value, grad = loss.loss_gradient(y, raw)
    direction = np.random.default_rng(2).normal(size=y.shape)
    h = 1e-6
    numeric = (loss.loss_gradient(y, raw + h * direction)[0].sum()
               - loss.loss_gradient(y, raw - h * direction)[0].sum()) / (2 * h)
    assert grad @ direction == pytest.approx(numeric, rel=1e-6)


@pytest.mark.parametrize(
    ("loss", "message"),
    [(Huber(scale="joint"), 'requires delta > 1 with scale="joint"'),
     (Huber(scale="median"), 'requires scale=None or scale="joint"')],
)
def test_joint_scale_bad_parameters(loss, message):
    with pytest.raises(ValueError, match=message):
        LossRegressor(loss=loss).fit(np.eye(3), np.arange(3.0))


def test_cv_with_joint_scale_huber(diabetes):
    X, y = diabetes
    search = LossRegressorCV(loss=["squared_error", Huber(delta=1.35, scale="joint")],
                             alphas=5, cv=3).fit(X, y)
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


@pytest.mark.parametrize("task", ["regression", "multiclass"])
def test_strong_rule_path_equals_the_unscreened_path(task, monkeypatch):
    import sklosses._path as path

    if task == "regression":
        X, y = make_regression(n_samples=300, n_features=40, n_informative=4, noise=5.0,
                               random_state=0)
        # Huber: a squared-error path is solved on the Gram matrix instead.
        est, score = LossRegressor(loss="huber", l1_ratio=1.0, tol=1e-10), LossRegressor.score
    else:
        X, y = make_classification(n_samples=300, n_features=40, n_informative=4,
                                   n_classes=3, random_state=0)
        est, score = LossClassifier(l1_ratio=0.8, tol=1e-10), LossClassifier.score
    train, test = _folds(len(y), 3)[0]
    grid = alpha_grid(est, X, y, l1_ratio=est.l1_ratio, n_alphas=12)
    fitted = []
    original = path._StrongRule.fit
    # The strong rule serves the losses without a Hessian; these have one
    # and would take the working-set Newton path (tests/test_working_set.py).
    monkeypatch.setattr(path, "working_set_applies", lambda est, X: False)
    monkeypatch.setattr(path._StrongRule, "fit",
                        lambda self, *a: fitted.append(1) or original(self, *a))
    screened = fit_path(est, X, y, None, train, test, grid, score)
    assert len(fitted) == len(grid) - 1  # every point after the first was screened
    monkeypatch.setattr(path, "_path_solver", path._WarmFits)
    plain = fit_path(est, X, y, None, train, test, grid, score)
    for a, b in zip(screened["params"], plain["params"]):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_path_points_do_not_warn_that_the_penalty_dominates():
    import warnings

    from sklosses._diagnostics import PenaltyDominatesWarning

    # Targets of scale ~170 with heavy tails: the largest alphas of the path
    # flatten the robust fit, which the path is there to find out.
    X, y = make_regression(n_samples=600, n_features=10, n_informative=5, noise=10.0,
                           random_state=0)
    y = y + 20 * np.random.default_rng(1).standard_t(3, size=len(y))
    loss = Huber(delta=1.35, scale="joint")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search = LossRegressorCV(loss=loss, alphas=8, cv=3).fit(X, y)
    from_path = [w for w in caught if issubclass(w.category, PenaltyDominatesWarning)]
    flattened = 0
    for alpha in search.alphas_:
        with warnings.catch_warnings(record=True) as alone:
            warnings.simplefilter("always")
            LossRegressor(loss=loss, alpha=alpha).fit(X, y)
        flattened += any(issubclass(w.category, PenaltyDominatesWarning) for w in alone)
    assert flattened > 0  # single fits at those alphas do warn
    refit = LossRegressor(loss=loss, alpha=search.alpha_)
    with warnings.catch_warnings(record=True) as alone:
        warnings.simplefilter("always")
        refit.fit(X, y)
    expected = [w for w in alone if issubclass(w.category, PenaltyDominatesWarning)]
    assert len(from_path) == len(expected)  # the chosen fit's warning only, if any

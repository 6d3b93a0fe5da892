"""Tests of make_loss_scorer and compare_losses."""

import matplotlib
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn import config_context
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import hinge_loss, log_loss, mean_absolute_error, mean_pinball_loss
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from sklosses import (
    LossClassifier,
    LossComparison,
    LossRegressor,
    compare_losses,
    make_loss,
    make_loss_scorer,
)
from sklosses.losses import Focal, Hinge, Huber, Quantile
from sklosses.model_selection import LossComparisonDisplay

matplotlib.use("Agg")


def log_cosh(y_true, y_pred):
    return np.log(np.cosh(y_pred - y_true))


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(n_samples=90, n_features=4, noise=10.0, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def binary():
    X, y = make_classification(n_samples=100, n_features=4, n_informative=3,
                               n_redundant=0, random_state=0)
    return X, np.array(["no", "yes"])[y]


@pytest.fixture(scope="module")
def multiclass():
    X, y = make_classification(n_samples=120, n_features=5, n_informative=4,
                               n_redundant=0, n_classes=3, random_state=1)
    return X, np.array(["a", "b", "c"])[y]


# ---------------------------------------------------------------------------
# make_loss_scorer
# ---------------------------------------------------------------------------


def test_regression_scorer_is_minus_the_metric(regression):
    X, y = regression
    est = LossRegressor().fit(X, y)
    pred = est.predict(X)
    w = np.linspace(0.1, 2, y.size)
    scorer = make_loss_scorer("absolute_error")
    assert_allclose(scorer(est, X, y), -mean_absolute_error(y, pred))
    assert_allclose(scorer(est, X, y, sample_weight=w),
                    -mean_absolute_error(y, pred, sample_weight=w))
    assert_allclose(make_loss_scorer(Quantile(quantile=0.8))(est, X, y),
                    -mean_pinball_loss(y, pred, alpha=0.8))
    r = np.abs(y - pred)
    huber = np.where(r <= 2, 0.5 * r**2, 2 * (r - 1))
    assert_allclose(make_loss_scorer(Huber(delta=2.0))(est, X, y), -huber.mean())


def test_binary_probabilistic_scorer_uses_class_one_probability(binary):
    X, y = binary
    est = LossClassifier(loss="log_loss").fit(X, y)
    proba = est.predict_proba(X)
    w = np.linspace(0.1, 2, y.size)
    scorer = make_loss_scorer("log_loss")
    assert_allclose(scorer(est, X, y), -log_loss(y, proba))
    assert_allclose(scorer(est, X, y, sample_weight=w), -log_loss(y, proba, sample_weight=w))
    # Focal with gamma=0 is the log loss, whatever the estimator's own loss.
    assert_allclose(make_loss_scorer(Focal(gamma=0.0))(est, X, y), -log_loss(y, proba))


def test_multiclass_probabilistic_scorer(multiclass):
    X, y = multiclass
    est = LossClassifier(loss="log_loss").fit(X, y)
    proba = est.predict_proba(X)
    scorer = make_loss_scorer("log_loss")
    assert_allclose(scorer(est, X, y), -log_loss(y, proba))
    # A held-out set without class "a" is still encoded by classes_.
    keep = y != "a"
    assert_allclose(scorer(est, X[keep], y[keep]),
                    -log_loss(y[keep], proba[keep], labels=est.classes_))


def test_margin_scorer_uses_decision_function(binary, multiclass):
    X, y = binary
    est = LossClassifier(loss="hinge", max_iter=2000).fit(X, y)
    assert_allclose(make_loss_scorer("hinge")(est, X, y),
                    -hinge_loss(y, est.decision_function(X)))
    X, y = multiclass
    est = LossClassifier(loss="log_loss").fit(X, y)
    scorer = make_loss_scorer(Hinge(multiclass="crammer_singer"))
    assert_allclose(scorer(est, X, y),
                    -hinge_loss(y, est.decision_function(X), labels=est.classes_))


def test_scorer_works_with_other_estimators(binary):
    X, y = binary
    svc = LinearSVC().fit(X, y)
    assert_allclose(make_loss_scorer("hinge")(svc, X, y),
                    -hinge_loss(y, svc.decision_function(X)))


def test_scorer_rejects_unseen_labels(binary):
    X, y = binary
    est = LossClassifier().fit(X, y)
    with pytest.raises(ValueError, match="not fitted on: \\['maybe'\\]"):
        make_loss_scorer("log_loss")(est, X[:3], np.array(["no", "maybe", "yes"]))


def test_scorer_missing_response_method(regression):
    X, y = regression
    est = LossClassifier(loss="hinge").fit(X, y > 0)
    with pytest.raises(AttributeError, match="predict_proba"):
        make_loss_scorer("log_loss")(est, X, y > 0)


def test_scorer_in_cross_validate_pipeline_and_grid_search(binary):
    X, y = binary
    pipe = make_pipeline(StandardScaler(), LossClassifier())
    scorer = make_loss_scorer("log_loss")
    cv = KFold(3)
    scores = cross_validate(pipe, X, y, cv=cv, scoring=scorer)["test_score"]
    expected = []
    for train, test in cv.split(X):
        fitted = make_pipeline(StandardScaler(), LossClassifier()).fit(X[train], y[train])
        expected.append(-log_loss(y[test], fitted.predict_proba(X[test]),
                                  labels=fitted.classes_))
    assert_allclose(scores, expected)
    grid = GridSearchCV(pipe, {"lossclassifier__loss": ["log_loss", "focal"]},
                        cv=cv, scoring=scorer).fit(X, y)
    assert grid.best_score_ == pytest.approx(grid.cv_results_["mean_test_score"].max())
    assert grid.best_score_ < 0


def test_scorer_receives_routed_sample_weight(regression):
    X, y = regression
    w = np.random.default_rng(0).uniform(0.1, 3, size=y.size)
    cv = KFold(3)
    with config_context(enable_metadata_routing=True):
        scorer = make_loss_scorer("absolute_error").set_score_request(sample_weight=True)
        est = LossRegressor().set_fit_request(sample_weight=True)
        scores = cross_validate(est, X, y, cv=cv, scoring=scorer,
                                params={"sample_weight": w})["test_score"]
    expected = []
    for train, test in cv.split(X):
        fitted = LossRegressor().fit(X[train], y[train], sample_weight=w[train])
        expected.append(-mean_absolute_error(y[test], fitted.predict(X[test]),
                                             sample_weight=w[test]))
    assert_allclose(scores, expected)


def test_scorer_repr():
    assert repr(make_loss_scorer("huber")) == "make_loss_scorer('huber')"
    assert repr(make_loss_scorer(Huber(delta=2.0))) == "make_loss_scorer(Huber(delta=2.0))"


# ---------------------------------------------------------------------------
# compare_losses
# ---------------------------------------------------------------------------

LOSSES = ["squared_error", "absolute_error", Huber(delta=5.0)]


@pytest.fixture(scope="module")
def comparison(regression):
    X, y = regression
    return compare_losses(LossRegressor(), X, y, LOSSES, cv=3)


def test_results_shapes_ranks_and_best(comparison, regression):
    r = comparison.results_
    assert isinstance(comparison, LossComparison)
    for key in ("mean_test_score", "std_test_score", "mean_fit_time", "std_fit_time",
                "rank_test_score", "split0_test_score", "split2_test_score", "error"):
        assert r[key].shape == (3,)
    assert "split3_test_score" not in r
    assert list(r["loss"]) == ["squared_error", "absolute_error", "Huber(delta=5.0)"]
    splits = np.column_stack([r[f"split{k}_test_score"] for k in range(3)])
    assert_allclose(r["mean_test_score"], splits.mean(axis=1))
    order = np.argsort(-r["mean_test_score"])
    assert_array_equal(r["rank_test_score"][order], [1, 2, 3])
    best = int(order[0])
    assert comparison.best_loss_ is LOSSES[best]
    assert comparison.best_score_ == r["mean_test_score"].max()
    assert np.all(r["error"] == "")


def test_default_scoring_is_the_estimators_score(comparison, regression):
    X, y = regression
    # KFold(3) without shuffling: the same folds as compare_losses drew.
    r2 = cross_val_score(LossRegressor(loss="absolute_error"), X, y, cv=3)
    assert_allclose(comparison.results_["mean_test_score"][1], r2.mean())
    assert comparison.scoring_ == "r2"


def test_parallel_gives_the_same_scores(comparison, regression):
    X, y = regression
    parallel = compare_losses(LossRegressor(), X, y, LOSSES, cv=3, n_jobs=2)
    for key in ("mean_test_score", "split0_test_score", "rank_test_score"):
        assert_array_equal(parallel.results_[key], comparison.results_[key])


def test_failing_loss_is_reported_not_raised(regression):
    X, y = regression  # y has negative values: Poisson cannot fit it
    result = compare_losses(LossRegressor(), X, y, ["poisson", "squared_error"], cv=3)
    r = result.results_
    assert np.isnan(r["mean_test_score"][0]) and np.isfinite(r["mean_test_score"][1])
    assert "Poisson" in r["error"][0] and r["error"][1] == ""
    assert_array_equal(r["rank_test_score"], [2, 1])
    assert result.best_loss_ == "squared_error"
    assert "failed: ValueError" in str(result)


def test_every_loss_failing_raises(regression):
    X, y = regression
    with pytest.raises(ValueError, match="Every loss failed.*poisson.*gamma"):
        compare_losses(LossRegressor(), X, y, ["poisson", "gamma"], cv=3)


def test_pipeline_custom_loss_and_scoring(regression):
    X, y = regression
    pipe = make_pipeline(StandardScaler(), LossRegressor())
    losses = ["squared_error", make_loss(log_cosh, name="log_cosh")]
    result = compare_losses(pipe, X, y, losses, cv=3,
                            scoring="neg_mean_absolute_error")
    assert list(result.results_["loss"]) == ["squared_error", "CustomLoss(name='log_cosh')"]
    assert np.all(result.results_["mean_test_score"] < 0)
    assert result.scoring_ == "neg_mean_absolute_error"


def test_classification_comparison_with_loss_scorer(binary):
    X, y = binary
    result = compare_losses(LossClassifier(), X, y, ["log_loss", "hinge"], cv=3,
                            scoring=make_loss_scorer("log_loss"))
    r = result.results_
    # hinge gives no probabilities: the log-loss scorer cannot rate it.
    assert np.isfinite(r["mean_test_score"][0]) and np.isnan(r["mean_test_score"][1])
    assert "predict_proba" in r["error"][1]
    assert result.scoring_ == "neg_log_loss"


def test_bad_arguments(regression):
    X, y = regression
    with pytest.raises(ValueError, match="one 'loss' parameter"):
        compare_losses(StandardScaler(), X, y, ["huber"])
    with pytest.raises(ValueError, match="losses is empty"):
        compare_losses(LossRegressor(), X, y, [])
    with pytest.raises(ValueError, match="one metric"):
        compare_losses(LossRegressor(), X, y, ["huber"], scoring=["r2", "max_error"])


def test_worker_warnings_reach_the_caller(regression):
    X, y = regression
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        compare_losses(LossRegressor(max_iter=1), X, y, ["huber", "log_cosh"], cv=2,
                       n_jobs=2)


def test_to_frame_sorted_by_rank(comparison):
    frame = comparison.to_frame()
    assert list(frame.columns[:3]) == ["rank_test_score", "loss", "mean_test_score"]
    assert list(frame["rank_test_score"]) == [1, 2, 3]
    assert frame["mean_test_score"].is_monotonic_decreasing
    assert frame.index[0] == LOSSES.index(comparison.best_loss_)


def test_str_renders_the_ranked_table(comparison):
    text = str(comparison)
    assert repr(comparison) == text
    lines = text.splitlines()
    assert "r2 (mean ± std)" in lines[1]
    names = [line.split()[1] for line in lines[2:]]
    order = np.argsort(comparison.results_["rank_test_score"], kind="stable")
    assert names == [comparison.results_["loss"][i].split()[0] for i in order]


def test_plot_one_bar_per_loss(regression):
    import matplotlib.pyplot as plt

    X, y = regression
    result = compare_losses(LossRegressor(), X, y,
                            ["poisson", "squared_error", "absolute_error"], cv=2)
    display = result.plot()
    assert isinstance(display, LossComparisonDisplay)
    assert len(display.bars_) == 3
    assert len(display.bars_.errorbar.lines[2][0].get_segments()) == 3
    ticks = display.ax_.get_yticks()
    labels = [t.get_text() for t in display.ax_.get_yticklabels()]
    top = labels[int(np.argmax(ticks))]
    assert top == result.results_["loss"][result.best_index_]  # best on top
    assert display.figure_ is display.ax_.figure
    assert any(t.get_text() == "failed" for t in display.ax_.texts)
    _, ax = plt.subplots()
    assert result.plot(ax=ax).ax_ is ax
    plt.close("all")


# ---------------------------------------------------------------------------
# Tuned comparisons and the corrected resampled t-test
# ---------------------------------------------------------------------------


def test_corrected_ttest_matches_the_formula():
    from scipy.stats import t as student_t

    from sklosses._significance import corrected_resampled_ttest

    d = np.array([0.03, -0.01, 0.02, 0.04, 0.0])
    statistic = d.mean() / np.sqrt((1 / 5 + 30 / 120) * d.var(ddof=1))
    expected = 2 * student_t.sf(abs(statistic), df=4)
    assert corrected_resampled_ttest(d, 120, 30) == pytest.approx(expected)
    # The correction widens the variance: a larger p-value than the naive test's.
    naive = 2 * student_t.sf(abs(d.mean() / np.sqrt(d.var(ddof=1) / 5)), df=4)
    assert corrected_resampled_ttest(d, 120, 30) > naive
    assert corrected_resampled_ttest(np.zeros(5), 120, 30) == 1.0
    assert corrected_resampled_ttest(np.full(5, 0.1), 120, 30) == 0.0
    assert np.isnan(corrected_resampled_ttest([0.1], 120, 30))


def test_results_report_the_difference_to_the_best(comparison):
    r = comparison.results_
    best = comparison.best_index_
    assert_allclose(r["delta_vs_best"], r["mean_test_score"] - comparison.best_score_)
    assert np.isnan(r["p_value_vs_best"][best])
    others = np.delete(np.arange(3), best)
    assert np.all((r["p_value_vs_best"][others] >= 0) & (r["p_value_vs_best"][others] <= 1))
    assert "vs best: Δ, p" in str(comparison)
    assert "p_value_vs_best" in comparison.to_frame().columns


def test_tune_alpha_scores_each_loss_at_its_nested_alpha(regression):
    from sklosses import LossRegressorCV

    X, y = regression
    folds = list(KFold(3, shuffle=True, random_state=0).split(X))
    result = compare_losses(LossRegressor(), X, y, ["squared_error", "huber"], cv=folds,
                            tune_alpha=True, alphas=4, inner_cv=3)
    r = result.results_
    for k, (train, test) in enumerate(folds):
        search = LossRegressorCV(loss="huber", alphas=4, cv=3).fit(X[train], y[train])
        assert r["alphas_per_split"][1][k] == search.alpha_
        assert r[f"split{k}_test_score"][1] == pytest.approx(search.score(X[test], y[test]))
    assert r["median_alpha"][1] == np.median(r["alphas_per_split"][1])
    assert "alpha tuned per loss by 3-fold cross-validation" in str(result)
    assert "alpha (median)" in str(result)


def test_tune_alpha_in_a_pipeline_and_for_classifiers(binary):
    X, y = binary
    pipe = make_pipeline(StandardScaler(), LossClassifier())
    result = compare_losses(pipe, X, y, ["log_loss", "hinge"], cv=3, tune_alpha=True,
                            alphas=3, inner_cv=2)
    assert np.all(np.isfinite(result.results_["median_alpha"]))
    assert result.plot().notes_[0].get_text().startswith("best")


def test_tune_alpha_needs_a_loss_estimator(regression):
    X, y = regression
    with pytest.raises(ValueError, match="tune_alpha=True needs a LossRegressor"):
        compare_losses(LossRegressorLike(), X, y, ["huber"], tune_alpha=True)
    with pytest.raises(ValueError, match="tune_alpha must be True or False"):
        compare_losses(LossRegressor(), X, y, ["huber"], tune_alpha="yes")


class LossRegressorLike(LossRegressor):
    """A subclass: its own parameters may not map to LossRegressorCV's."""

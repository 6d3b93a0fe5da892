"""ConformalRegressor: coverage on real data, the conformal quantile, the contract."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.datasets import load_diabetes
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.model_selection import KFold, cross_validate, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklosses import ConformalRegressor, LossRegressor
from sklosses._conformal import _conformal_upper
from sklosses.losses import Quantile

N_SPLITS = 200


def _diabetes():
    return load_diabetes(return_X_y=True)


def _engel():
    sm = pytest.importorskip("statsmodels.api")
    data = sm.datasets.engel.load_pandas().data
    return data[["income"]].to_numpy() / 1000, data["foodexp"].to_numpy()


def _mean_coverage(X, y, make_conformal, n_splits=N_SPLITS):
    """Mean coverage of held-out rows over random train/test splits."""
    covered = []
    for seed in range(n_splits):
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=seed)
        interval = make_conformal(seed).fit(X_train, y_train).predict_interval(X_test)
        covered.append(np.mean((interval[:, 0] <= y_test) & (y_test <= interval[:, 1])))
    return float(np.mean(covered))


# ---------------------------------------------------------------------------
# Coverage on real data sets shipped with scikit-learn and statsmodels
# ---------------------------------------------------------------------------

DATASETS = {"diabetes": _diabetes, "engel": _engel}


@pytest.mark.parametrize("dataset", DATASETS)
def test_split_cqr_covers_over_random_splits(dataset):
    X, y = DATASETS[dataset]()
    coverage = _mean_coverage(X, y, lambda seed: ConformalRegressor(random_state=seed))
    assert coverage >= 0.9 - 0.01


@pytest.mark.parametrize("dataset", DATASETS)
def test_cv_plus_residual_intervals_cover_over_random_splits(dataset):
    X, y = DATASETS[dataset]()
    coverage = _mean_coverage(
        X, y, lambda seed: ConformalRegressor(Ridge(), method="cv+", random_state=seed))
    assert coverage >= 0.9 - 0.02


@pytest.mark.slow
@pytest.mark.parametrize("dataset", DATASETS)
def test_cv_plus_cqr_covers_over_random_splits(dataset):
    X, y = DATASETS[dataset]()
    coverage = _mean_coverage(
        X, y, lambda seed: ConformalRegressor(method="cv+", random_state=seed))
    assert coverage >= 0.9 - 0.02


def test_split_coverage_is_exact_on_exchangeable_data():
    """Coverage in [1 - a, 1 - a + 1 / (n_cal + 1)] for continuous scores."""
    rng = np.random.RandomState(0)
    covered = []
    for seed in range(300):
        X = rng.randn(60, 2)
        y = X[:, 0] + rng.standard_cauchy(60)  # heavy tails: no model is good
        conformal = ConformalRegressor(LinearRegression(), coverage=0.8,
                                       calibration_fraction=0.5, random_state=seed)
        interval = conformal.fit(X[:40], y[:40]).predict_interval(X[40:])
        covered.append(np.mean((interval[:, 0] <= y[40:]) & (y[40:] <= interval[:, 1])))
    # 20 calibration rows: theory gives coverage in [0.8, 0.8 + 1/21]
    assert 0.8 - 0.02 <= np.mean(covered) <= 0.8 + 1 / 21 + 0.02


# ---------------------------------------------------------------------------
# The conformal quantile
# ---------------------------------------------------------------------------


def test_conformal_quantile_is_the_ceil_rank():
    scores = np.random.RandomState(1).permutation(np.arange(1.0, 20.0))  # n = 19
    for alpha in (0.05, 0.1, 0.25, 0.5):
        rank = int(np.ceil((1 - alpha) * 20))
        expected = np.sort(scores)[rank - 1] if rank <= 19 else np.inf
        assert _conformal_upper(scores, np.ones(19), alpha) == expected
    assert _conformal_upper(scores[:5], np.ones(5), 0.1) == np.inf  # too few rows


def test_integer_weights_count_as_repeated_rows():
    rng = np.random.RandomState(2)
    scores, weights = rng.randn(30), rng.randint(0, 4, size=30)
    repeated = np.repeat(scores, weights)
    for alpha in (0.1, 0.3):
        assert _conformal_upper(scores, weights.astype(float), alpha) == \
            _conformal_upper(repeated, np.ones(repeated.size), alpha)


def test_cqr_interval_is_the_band_widened_by_the_correction():
    X, y = _diabetes()
    conformal = ConformalRegressor(coverage=0.8, random_state=0).fit(X, y)
    band = conformal.estimator_.predict(X)
    assert conformal.interval_kind_ == "conformalized_quantile"
    assert_allclose(conformal.predict_interval(X),
                    band + conformal.correction_ * np.array([-1.0, 1.0]))
    assert_allclose(conformal.predict(X), band.mean(axis=1))
    assert conformal.estimator_.loss.quantile == pytest.approx([0.1, 0.9])


def test_residual_interval_is_symmetric_around_the_point_prediction():
    X, y = _diabetes()
    conformal = ConformalRegressor(Ridge(), random_state=0).fit(X, y)
    interval, point = conformal.predict_interval(X), conformal.predict(X)
    assert conformal.interval_kind_ == "absolute_residual"
    assert_allclose(interval.mean(axis=1), point)
    assert_allclose(interval[:, 1] - point, conformal.correction_)


def test_cqr_adapts_its_width_to_heteroscedastic_noise():
    rng = np.random.RandomState(3)
    X = rng.uniform(0, 4, size=(2000, 1))
    y = X[:, 0] + (0.2 + X[:, 0]) * rng.randn(2000)
    conformal = ConformalRegressor(random_state=0).fit(X, y)
    width = np.diff(conformal.predict_interval(np.array([[0.5], [3.5]])), axis=1).ravel()
    assert width[1] > 3 * width[0]


def test_cv_plus_with_one_fold_model_per_fold():
    X, y = _diabetes()
    conformal = ConformalRegressor(Ridge(), method="cv+", cv=KFold(4)).fit(X, y)
    assert len(conformal.estimators_) == 4
    interval = conformal.predict_interval(X[:7])
    assert interval.shape == (7, 2) and np.all(interval[:, 0] < interval[:, 1])
    assert_allclose(conformal.predict(X[:3]),
                    np.mean([m.predict(X[:3]) for m in conformal.estimators_], axis=0))


class _WeightRecorder(RegressorMixin, BaseEstimator):
    """A mean regressor that remembers the sample_weight of its fit."""

    def fit(self, X, y, sample_weight=None):
        self.sample_weight_ = sample_weight
        self.mean_ = np.average(y, weights=sample_weight)
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


@pytest.mark.parametrize("method", ["split", "cv+"])
def test_sample_weight_is_passed_to_the_wrapped_fit(method):
    X, y = _diabetes()
    w = np.arange(len(y), dtype=float) + 1
    conformal = ConformalRegressor(_WeightRecorder(), method=method, random_state=0)
    conformal.fit(X, y, sample_weight=w)
    models = getattr(conformal, "estimators_", [conformal.estimator_])
    for model in models:
        assert model.sample_weight_ is not None
        assert set(model.sample_weight_) <= set(w)
    unweighted = ConformalRegressor(_WeightRecorder(), method=method, random_state=0)
    assert unweighted.fit(X, y).estimator_.sample_weight_ is None


def test_works_in_a_pipeline_and_cross_validate():
    X, y = _diabetes()
    pipe = make_pipeline(StandardScaler(), ConformalRegressor(random_state=0))
    scores = cross_validate(pipe, X, y, cv=3)["test_score"]
    assert np.all(scores > 0.2)
    assert pipe.fit(X, y)[-1].predict_interval(X[:2]).shape == (2, 2)


def test_same_random_state_gives_the_same_intervals():
    X, y = _diabetes()
    a = ConformalRegressor(random_state=5).fit(X, y).predict_interval(X[:5])
    b = ConformalRegressor(random_state=5).fit(X, y).predict_interval(X[:5])
    assert_array_equal(a, b)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"coverage": 1.0}, "coverage must be a number in (0, 1), got 1.0"),
        ({"calibration_fraction": 0}, "calibration_fraction must be a number in (0, 1)"),
        ({"method": "jackknife"}, "method must be 'split' or 'cv+', got 'jackknife'"),
    ],
)
def test_bad_parameters_raise_clear_errors(params, message):
    X, y = _diabetes()
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("+", r"\+")):
        ConformalRegressor(**params).fit(X, y)


# ---------------------------------------------------------------------------
# scikit-learn's common checks
# ---------------------------------------------------------------------------

SPLIT_ROWS = (
    "The calibration split draws rows, not weight: a row of weight 2 is one row in the "
    "split but two rows once repeated, so the two fits use different training rows."
)


def _conformal_failures(estimator):
    # CV+ draws no calibration split: its folds see weights and repeated rows
    # alike, around Ridge and around the default band (fitted exactly).
    if estimator.method == "cv+":
        return {}
    return {"check_sample_weight_equivalence_on_dense_data": SPLIT_ROWS,
            "check_sample_weight_equivalence_on_sparse_data": SPLIT_ROWS}


@parametrize_with_checks(
    [ConformalRegressor(), ConformalRegressor(Ridge()),
     ConformalRegressor(Ridge(), method="cv+", cv=3)],
    expected_failed_checks=_conformal_failures,
)
def test_conformal_regressor_passes_common_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


@pytest.mark.slow
@parametrize_with_checks([ConformalRegressor(method="cv+")],
                         expected_failed_checks=_conformal_failures)
def test_conformal_cv_plus_cqr_passes_common_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check(estimator)


# ---------------------------------------------------------------------------
# MAPIE (optional): a sklosses joint quantile model in MAPIE's CQR
# ---------------------------------------------------------------------------


class _LevelColumn(RegressorMixin, BaseEstimator):
    """One level (column) of a fitted multi-level regressor, as a regressor.

    MAPIE's conformalized quantile regression recognises quantile models by
    class name (QuantileRegressor, gradient boosting, LightGBM) and refuses
    ``LossRegressor``; in ``prefit`` mode it takes three fitted models, for
    the lower, upper and median levels. One joint fit of three levels gives
    all three through this view.
    """

    def __init__(self, fitted, column):
        self.fitted = fitted
        self.column = column

    def fit(self, X, y):
        return self  # already fitted: a view of one column

    def predict(self, X):
        return self.fitted.predict(X)[:, self.column]

    def __sklearn_is_fitted__(self):
        return True


def test_mapie_cqr_with_a_joint_sklosses_quantile_model():
    regression = pytest.importorskip("mapie.regression")
    X, y = _diabetes()
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.5, random_state=0)
    X_cal, X_test, y_cal, y_test = train_test_split(X_rest, y_rest, test_size=0.5,
                                                    random_state=0)
    with pytest.raises(ValueError, match="The base model is not supported"):
        regression.ConformalizedQuantileRegressor(
            LossRegressor(loss=Quantile([0.05, 0.5, 0.95])), confidence_level=0.9
        ).fit(X_train, y_train)
    joint = LossRegressor(loss=Quantile([0.05, 0.5, 0.95], noncrossing="sort")).fit(
        X_train, y_train)
    models = [_LevelColumn(joint, 0), _LevelColumn(joint, 2), _LevelColumn(joint, 1)]
    mapie = regression.ConformalizedQuantileRegressor(models, confidence_level=0.9,
                                                      prefit=True)
    mapie.conformalize(X_cal, y_cal)
    _, intervals = mapie.predict_interval(X_test, symmetric_correction=True)
    intervals = np.asarray(intervals)[:, :, 0]
    # with one symmetric correction (Romano et al.), MAPIE gives split CQR exactly
    band = joint.predict(X_cal)
    scores = np.maximum(band[:, 0] - y_cal, y_cal - band[:, -1])
    correction = _conformal_upper(scores, np.ones(len(y_cal)), 0.1)
    expected = joint.predict(X_test)[:, [0, 2]] + correction * np.array([-1.0, 1.0])
    assert_allclose(intervals, expected, rtol=1e-10)


# ---------------------------------------------------------------------------
# IntervalDisplay
# ---------------------------------------------------------------------------


def _pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def test_interval_display_from_conformal_estimator_shows_coverage():
    plt = _pyplot()
    from sklosses.plot import IntervalDisplay  # noqa: PLC0415

    X, y = _engel()
    conformal = ConformalRegressor(random_state=0).fit(X[:150], y[:150])
    display = IntervalDisplay.from_estimator(conformal, X[150:], y[150:])
    interval = conformal.predict_interval(X[150:])
    expected = np.mean((interval[:, 0] <= y[150:]) & (y[150:] <= interval[:, 1]))
    assert display.coverage_ == pytest.approx(expected)
    labels = [t.get_text() for t in display.ax_.get_legend().get_texts()]
    assert f"observed (coverage {100 * expected:.1f} %)" in labels
    assert display.line_ is not None and display.ax_.get_xlabel() == "feature 0"
    plt.close("all")


def test_interval_display_from_a_multi_level_regressor_and_ranked_rows():
    plt = _pyplot()
    from sklosses.plot import IntervalDisplay  # noqa: PLC0415

    X, y = _diabetes()
    reg = LossRegressor(loss=Quantile([0.05, 0.5, 0.95])).fit(X, y)
    display = IntervalDisplay.from_estimator(reg, X, y)  # 10 features: ranked rows
    band = reg.predict(X)
    assert display.coverage_ == pytest.approx(
        np.mean((band[:, 0] <= y) & (y <= band[:, 2])))
    assert_allclose(display.y_pred, band[:, 1])
    assert "sorted by the centre" in display.ax_.get_xlabel()
    with pytest.raises(ValueError, match="has no predict_interval and predicts shape"):
        IntervalDisplay.from_estimator(Ridge().fit(X, y), X, y)
    with pytest.raises(ValueError, match="y_interval must have shape"):
        IntervalDisplay.from_predictions(y, y)
    plt.close("all")


def test_default_band_is_unpenalised_quantile_regression():
    # The default band is QuantileRegressor(alpha=0) at each level: a penalty
    # would shrink the slopes on targets in dollars (engel) and widen the band.
    from sklearn.linear_model import QuantileRegressor  # noqa: PLC0415

    X, y = _engel()
    conformal = ConformalRegressor(coverage=0.9, random_state=0).fit(X, y)
    train, _ = train_test_split(np.arange(len(y)), test_size=0.25, random_state=0)
    band = conformal.estimator_
    for k, q in enumerate((0.05, 0.95)):
        reference = QuantileRegressor(quantile=q, alpha=0.0, solver="highs").fit(
            X[train], y[train])
        objective = [np.mean(np.maximum(q * r, (q - 1) * r)) for r in (
            y[train] - band.predict(X[train])[:, k], y[train] - reference.predict(X[train]))]
        assert objective[0] <= objective[1] * (1 + 1e-6)
        assert_allclose(np.atleast_2d(band.coef_)[k], reference.coef_, rtol=1e-3)

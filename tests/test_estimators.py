"""LossRegressor and LossClassifier: equivalences, input handling, errors."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris, make_classification, make_regression
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklosses import LossClassifier, LossRegressor
from sklosses.losses import Hinge, Huber, KLDivergence


def standardised_classification(n_classes, n_samples=300, seed=0):
    X, y = make_classification(
        n_samples=n_samples, n_features=6, n_informative=4, n_classes=n_classes,
        random_state=seed,
    )
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("alpha", [1e-2, 1e-3])
def test_log_loss_matches_logistic_regression(n_classes, alpha):
    X, y = standardised_classification(n_classes)
    n = X.shape[0]
    ours = LossClassifier(loss="log_loss", alpha=alpha, tol=1e-10, max_iter=2000).fit(X, y)
    ref = LogisticRegression(C=1 / (n * alpha), tol=1e-10, max_iter=2000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_squared_error_matches_ridge(fit_intercept):
    X, y = make_regression(n_samples=200, n_features=5, noise=5.0, random_state=0)
    alpha = 0.05
    n = X.shape[0]
    ours = LossRegressor(alpha=alpha, tol=1e-10, fit_intercept=fit_intercept).fit(X, y)
    ref = Ridge(alpha=alpha * n / 2, fit_intercept=fit_intercept).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "make_estimator",
    [
        lambda: LossRegressor(loss="huber", tol=1e-10),
        lambda: LossRegressor(loss="quantile", tol=1e-10),
        lambda: LossClassifier(loss="log_loss", tol=1e-10),
        lambda: LossClassifier(loss="squared_hinge", alpha=1e-2, tol=1e-10),
    ],
    ids=["huber", "quantile", "log_loss", "squared_hinge"],
)
def test_integer_sample_weight_equals_repeated_rows(make_estimator):
    rng = np.random.RandomState(0)
    if "Classifier" in type(make_estimator()).__name__:
        X, y = standardised_classification(3, n_samples=60)
    else:
        X, y = make_regression(n_samples=60, n_features=4, noise=3.0, random_state=0)
    weights = rng.randint(0, 4, size=X.shape[0])
    weighted = make_estimator().fit(X, y, sample_weight=weights)
    repeated = make_estimator().fit(np.repeat(X, weights, axis=0), np.repeat(y, weights))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-4, atol=1e-5)


def test_float32_stays_float32():
    X, y = make_regression(n_samples=100, n_features=4, random_state=0)
    reg = LossRegressor(loss="huber").fit(X.astype(np.float32), y.astype(np.float32))
    assert reg.coef_.dtype == np.float32
    assert reg.predict(X.astype(np.float32)).dtype == np.float32
    Xc, yc = standardised_classification(3)
    clf = LossClassifier().fit(Xc.astype(np.float32), yc)
    assert clf.coef_.dtype == np.float32
    assert clf.predict_proba(Xc.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("loss", ["squared_error", "huber", "poisson"])
def test_sparse_equals_dense(loss):
    rng = np.random.RandomState(0)
    X = rng.rand(120, 8) * (rng.rand(120, 8) > 0.5)
    y = np.exp(X @ rng.rand(8) * 0.5) + rng.rand(120)
    dense = LossRegressor(loss=loss, tol=1e-10).fit(X, y)
    sparse = LossRegressor(loss=loss, tol=1e-10).fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(dense.coef_, sparse.coef_, rtol=1e-6, atol=1e-9)


def test_string_and_boolean_labels():
    X, y = standardised_classification(3)
    names = np.array(["cat", "dog", "eel"])[y]
    clf = LossClassifier(loss="hinge").fit(X, names)
    assert set(clf.predict(X)) <= {"cat", "dog", "eel"}
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "eel"])
    Xb, yb = standardised_classification(2)
    clf = LossClassifier().fit(Xb, yb.astype(bool))
    assert clf.predict(Xb).dtype == bool


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64])
def test_integer_labels_fit_as_their_string_names(dtype):
    """Integer labels (encoded without scikit-learn's target check) match string labels."""
    X, y = standardised_classification(3)
    labels = np.array([2, 5, 9], dtype=dtype)[y]  # same order as their names
    by_integer = LossClassifier(loss="hinge").fit(X, labels)
    by_name = LossClassifier(loss="hinge").fit(X, labels.astype(str))
    np.testing.assert_array_equal(by_integer.classes_, [2, 5, 9])
    assert by_integer.classes_.dtype == dtype
    np.testing.assert_array_equal(by_integer.coef_, by_name.coef_)
    np.testing.assert_array_equal(by_integer.predict(X).astype(str), by_name.predict(X))


def test_continuous_labels_are_refused():
    X, y = standardised_classification(2)
    with pytest.raises(ValueError, match="continuous"):
        LossClassifier().fit(X, y + 0.5)


def test_predict_proba_only_for_probabilistic_losses():
    assert hasattr(LossClassifier(loss="log_loss"), "predict_proba")
    assert hasattr(LossClassifier(loss="focal"), "predict_proba")
    assert hasattr(LossClassifier(loss="modified_huber"), "predict_proba")
    for loss in ["hinge", "squared_hinge", "exponential", Hinge(margin=2.0)]:
        clf = LossClassifier(loss=loss)
        assert not hasattr(clf, "predict_proba")
        assert not hasattr(clf, "predict_log_proba")


@pytest.mark.parametrize("loss", ["log_loss", "focal", "modified_huber", "hinge"])
def test_decision_function_agrees_with_predict(loss):
    for n_classes in (2, 3):
        X, y = standardised_classification(n_classes)
        clf = LossClassifier(loss=loss).fit(X, y)
        scores = clf.decision_function(X)
        expected_shape = (X.shape[0],) if n_classes == 2 else (X.shape[0], n_classes)
        assert scores.shape == expected_shape
        if n_classes == 2:
            np.testing.assert_array_equal(clf.predict(X), clf.classes_[(scores > 0) * 1])
        else:
            np.testing.assert_array_equal(clf.predict(X), clf.classes_[scores.argmax(1)])
        if hasattr(clf, "predict_proba"):
            proba = clf.predict_proba(X)
            np.testing.assert_allclose(proba.sum(axis=1), 1.0)
            assert (clf.classes_[proba.argmax(1)] == clf.predict(X)).mean() > 0.99


def test_crammer_singer_hinge_fits_multiclass():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    clf = LossClassifier(loss=Hinge(multiclass="crammer_singer")).fit(X, y)
    assert clf.coef_.shape == (3, 4)
    assert clf.score(X, y) > 0.9


def test_class_weight_balanced_equals_manual_weights():
    X, y = make_classification(n_samples=200, weights=[0.8, 0.2], random_state=0)
    balanced = LossClassifier(class_weight="balanced", tol=1e-10).fit(X, y)
    counts = np.bincount(y)
    manual = {0: len(y) / (2 * counts[0]), 1: len(y) / (2 * counts[1])}
    by_dict = LossClassifier(class_weight=manual, tol=1e-10).fit(X, y)
    by_weight = LossClassifier(tol=1e-10).fit(
        X, y, sample_weight=np.where(y == 1, manual[1], manual[0])
    )
    np.testing.assert_allclose(balanced.coef_, by_dict.coef_, rtol=1e-8)
    np.testing.assert_allclose(balanced.coef_, by_weight.coef_, rtol=1e-6)


def test_multi_output_regression():
    X, Y = make_regression(n_samples=100, n_features=5, n_targets=3, random_state=0)
    reg = LossRegressor(loss="huber").fit(X, Y)
    assert reg.coef_.shape == (3, 5) and reg.intercept_.shape == (3,)
    assert reg.predict(X).shape == (100, 3)
    Yp = np.abs(Y) + 1
    pois = LossRegressor(loss="poisson").fit(StandardScaler().fit_transform(X), Yp)
    assert np.all(pois.predict(StandardScaler().fit_transform(X)) > 0)


def test_kl_divergence_on_distribution_targets():
    rng = np.random.RandomState(0)
    X = rng.randn(300, 4)
    true_raw = X @ rng.randn(4, 3)
    P = np.exp(true_raw) / np.exp(true_raw).sum(axis=1, keepdims=True)
    reg = LossRegressor(loss=KLDivergence(), alpha=0.0, tol=1e-10).fit(X, P)
    pred = reg.predict(X)
    np.testing.assert_allclose(pred.sum(axis=1), 1.0)
    np.testing.assert_allclose(pred, P, atol=1e-4)


def test_grid_search_over_losses_and_loss_parameters():
    X, y = make_regression(n_samples=80, n_features=3, noise=2.0, random_state=0)
    grid = GridSearchCV(
        make_pipeline(StandardScaler(), LossRegressor()),
        {"lossregressor__loss": [Huber()], "lossregressor__loss__delta": [0.5, 2.0]},
        cv=3,
    ).fit(X, y)
    assert grid.best_params_["lossregressor__loss__delta"] in (0.5, 2.0)
    grid = GridSearchCV(LossRegressor(), {"loss": ["squared_error", "huber", "mae"]}, cv=3)
    assert grid.fit(X, y).best_estimator_.loss_ is not None


# --- bad input: a clear ValueError that says what is wrong and what to do ---

def test_nan_and_inf_are_refused():
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        LossRegressor().fit(X_nan, y)
    y_inf = y.copy()
    y_inf[0] = np.inf
    with pytest.raises(ValueError, match="infinity|inf"):
        LossRegressor().fit(X, y_inf)


@pytest.mark.parametrize(
    "loss, y_value, message",
    [
        ("poisson", -1.0, "y >= 0"),
        ("gamma", 0.0, "y > 0"),
        ("squared_log_error", -1.0, "y > -1"),
    ],
)
def test_target_outside_loss_domain(loss, y_value, message):
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    y = np.abs(y) + 1
    y[3] = y_value
    with pytest.raises(ValueError, match=message):
        LossRegressor(loss=loss).fit(X, y)


def test_unknown_loss_lists_valid_names():
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    with pytest.raises(ValueError, match="Unknown loss 'hubr'.*huber"):
        LossRegressor(loss="hubr").fit(X, y)
    with pytest.raises(ValueError, match="classification loss.*LossClassifier"):
        LossRegressor(loss="log_loss").fit(X, y)


def test_negative_alpha_and_single_class():
    X, y = make_regression(n_samples=20, n_features=3, random_state=0)
    with pytest.raises(ValueError, match="alpha must be in"):
        LossRegressor(alpha=-1).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LossClassifier().fit(X, np.zeros(20))


def test_aliases_resolve():
    X, y = make_regression(n_samples=30, n_features=3, random_state=0)
    for alias in ["mse", "mae", "pinball"]:
        LossRegressor(loss=alias).fit(X, y)
    Xc, yc = standardised_classification(2)
    for alias in ["cross_entropy", "binary_crossentropy"]:
        LossClassifier(loss=alias).fit(Xc, yc)


@pytest.mark.parametrize("labels", [
    np.array([3, -1, 3, 7, -1, 7, 7]),
    np.array([2.0, 0.0, 2.0, 1.0]),
    np.array([True, False, True]),
    np.array(["b", "a", "c", "a"]),
], ids=["int", "integral float", "bool", "str"])
def test_labels_are_encoded_as_label_encoder_does(labels):
    from sklearn.preprocessing import LabelEncoder  # noqa: PLC0415

    from sklosses._estimators import _encode_labels  # noqa: PLC0415

    classes, codes = _encode_labels(labels)
    encoder = LabelEncoder()
    expected = encoder.fit_transform(labels)
    np.testing.assert_array_equal(classes, encoder.classes_)
    assert classes.dtype == encoder.classes_.dtype
    np.testing.assert_array_equal(codes, expected)
    assert codes.dtype == expected.dtype and codes.ndim == 1

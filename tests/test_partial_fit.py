"""partial_fit: one epoch per call, optimiser state kept, clear errors."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimators_partial_fit_n_features

from sklosses import LossClassifier, LossRegressor


def regression_data(n_samples=1000, seed=0):
    X, y = make_regression(n_samples=n_samples, n_features=5, noise=10.0, random_state=seed)
    return X, y / y.std()


def classification_data(n_classes=3, n_samples=600, seed=0):
    X, y = make_classification(n_samples=n_samples, n_features=6, n_informative=4,
                               n_classes=n_classes, random_state=seed)
    return StandardScaler().fit_transform(X), y


def chunks(n_samples, n_chunks):
    return np.array_split(np.arange(n_samples), n_chunks)


def fit_quietly(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


@pytest.mark.parametrize("solver,learning_rate", [("sgd", 2e-3), ("adam", 1e-2)])
def test_chunked_passes_reach_the_full_batch_objective(solver, learning_rate):
    # partial_fit keeps a constant rate (no stopping rule, no plateaus):
    # after 60 passes over 5 chunks both are within ~2e-4 of the optimum.
    X, y = regression_data()
    alpha = 1e-2
    ref = LossRegressor("huber", alpha=alpha, solver="lbfgs", tol=1e-10).fit(X, y)
    est = LossRegressor("huber", alpha=alpha, solver=solver, learning_rate=learning_rate,
                        random_state=0)
    for _ in range(60):
        for rows in chunks(len(y), 5):
            est.partial_fit(X[rows], y[rows])

    def objective(e):
        return e.loss_(y, e.predict(X)) + alpha / 2 * e.coef_ @ e.coef_

    assert (objective(est) - objective(ref)) / objective(ref) < 1e-3
    assert est.n_iter_ == 300 and len(est.loss_curve_) == 300


@pytest.mark.parametrize("solver,learning_rate", [("sgd", 2e-2), ("adam", 2e-2)])
def test_chunked_classifier_reaches_the_full_batch_objective(solver, learning_rate):
    # Softmax is slow along its penalty-only direction: 100 passes bring SGD
    # within ~1e-5 and Adam within ~3e-4 at a constant rate.
    X, y = classification_data()
    alpha = 1e-2
    ref = LossClassifier(alpha=alpha, solver="lbfgs", tol=1e-10).fit(X, y)
    clf = LossClassifier(alpha=alpha, solver=solver, learning_rate=learning_rate,
                         random_state=0)
    for _ in range(100):
        for rows in chunks(len(y), 3):
            clf.partial_fit(X[rows], y[rows], classes=[0, 1, 2])

    def objective(e):
        return log_loss(y, e.predict_proba(X)) + alpha / 2 * np.sum(e.coef_**2)

    assert (objective(clf) - objective(ref)) / objective(ref) < 1e-3


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_partial_fit_calls_continue_the_fit_bit_for_bit(solver):
    # Two partial_fit calls on the data = a two-epoch fit: the optimiser
    # state (velocity or moments, shuffling generator) carries over exactly.
    X, y = regression_data(n_samples=300)
    make = lambda: LossRegressor("huber", solver=solver, learning_rate=1e-2,  # noqa: E731
                                 random_state=3)
    fitted = fit_quietly(make().set_params(max_iter=2), X, y)
    streamed = make().partial_fit(X, y).partial_fit(X, y)
    np.testing.assert_array_equal(streamed.coef_, fitted.coef_)
    assert streamed.loss_curve_ == fitted.loss_curve_
    assert streamed._solver_state.rule_state.count == fitted._solver_state.rule_state.count


def test_partial_fit_after_fit_resumes_the_minibatch_state():
    X, y = regression_data(n_samples=300)
    make = lambda: LossRegressor(solver="adam", learning_rate=1e-2,  # noqa: E731
                                 random_state=0)
    two = fit_quietly(make().set_params(max_iter=2), X, y)
    one_then_one = fit_quietly(make().set_params(max_iter=1), X, y).partial_fit(X, y)
    np.testing.assert_array_equal(one_then_one.coef_, two.coef_)
    assert one_then_one.n_iter_ == 2


def test_partial_fit_uses_adam_unless_sgd_is_asked_for():
    X, y = regression_data(n_samples=100)
    for solver, rule in [("auto", "adam"), ("lbfgs", "adam"), ("adam", "adam"),
                         ("sgd", "sgd")]:
        est = LossRegressor(solver=solver).partial_fit(X, y)
        assert est._solver_state.rule == rule


def test_partial_fit_after_lbfgs_fit_starts_from_its_solution():
    X, y = regression_data(n_samples=300)
    est = LossRegressor(alpha=1e-2).fit(X, y)
    optimum = est.loss_curve_[-1]
    est.partial_fit(X, y)
    assert est.loss_curve_[-1] == pytest.approx(optimum, rel=1e-2)


def test_pickled_mid_stream_estimator_continues_identically():
    X, y = classification_data(n_classes=2)
    clf = LossClassifier(solver="sgd", random_state=0)
    clf.partial_fit(X[:300], y[:300], classes=[0, 1])
    twin = pickle.loads(pickle.dumps(clf))
    clf.partial_fit(X[300:], y[300:])
    twin.partial_fit(X[300:], y[300:])
    np.testing.assert_array_equal(clf.coef_, twin.coef_)


def test_string_classes_and_batches_missing_a_class():
    X, y = classification_data()
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = LossClassifier(learning_rate=1e-2, random_state=0)
    first = labels != "emu"
    clf.partial_fit(X[first], labels[first], classes=["emu", "dog", "cat"])
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "emu"])
    assert clf.coef_.shape == (3, 6)
    assert np.all(np.isfinite(clf.intercept_))
    for _ in range(20):
        clf.partial_fit(X, labels)
    assert set(clf.predict(X)) == {"cat", "dog", "emu"}
    assert clf.score(X, labels) > 0.6


def test_classifier_needs_classes_on_the_first_call():
    X, y = classification_data()
    with pytest.raises(ValueError, match="classes must be given on the first call"):
        LossClassifier().partial_fit(X, y)


def test_new_label_later_is_refused():
    X, y = classification_data()
    clf = LossClassifier().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes_"):
        clf.partial_fit(X[:3], [0, 1, 7])


def test_different_classes_later_are_refused():
    X, y = classification_data()
    clf = LossClassifier().partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="is not the same as"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])


def test_classes_given_to_fit_fixed_classifier_are_accepted():
    X, y = classification_data()
    clf = LossClassifier().fit(X, y)
    clf.partial_fit(X[:10], y[:10])
    clf.partial_fit(X[:10], y[:10], classes=[2, 1, 0])
    assert clf.n_iter_ >= 2


@pytest.mark.parametrize("make", [LossRegressor, LossClassifier])
def test_different_number_of_features_is_refused(make):
    X, y = classification_data()
    est = make()
    kwargs = {"classes": [0, 1, 2]} if make is LossClassifier else {}
    est.partial_fit(X, y, **kwargs)
    with pytest.raises(ValueError, match="X has 5 features, but .* is expecting 6"):
        est.partial_fit(X[:, :5], y)


@pytest.mark.parametrize("make", [LossRegressor, LossClassifier])
def test_sklearn_partial_fit_n_features_check(make):
    check_estimators_partial_fit_n_features(make.__name__, make())


def test_regressor_refuses_a_different_number_of_targets():
    X, y = regression_data(n_samples=50)
    est = LossRegressor().partial_fit(X, y)
    with pytest.raises(ValueError, match="fitted with 1"):
        est.partial_fit(X, np.c_[y, y])


def test_balanced_class_weight_is_refused_but_a_dict_works():
    X, y = classification_data()
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        LossClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    weighted = LossClassifier(class_weight={0: 5.0}, random_state=0)
    plain = LossClassifier(random_state=0)
    weighted.partial_fit(X, y, classes=[0, 1, 2])
    plain.partial_fit(X, y, classes=[0, 1, 2])
    assert not np.allclose(weighted.coef_, plain.coef_)


def test_zero_sample_weight_batch_is_refused():
    X, y = regression_data(n_samples=50)
    with pytest.raises(ValueError, match="non-zero|sums to zero"):
        LossRegressor().partial_fit(X, y, sample_weight=np.zeros(50))


def test_float32_stream_stays_float32():
    X, y = regression_data(n_samples=100)
    est = LossRegressor().partial_fit(X.astype(np.float32), y.astype(np.float32))
    est.partial_fit(X, y)  # float64 later is computed in the model's float32
    assert est.coef_.dtype == np.float32


def test_mlp_partial_fit():
    X, y = regression_data(n_samples=300)
    est = LossRegressor(hidden_layer_sizes=(8,), learning_rate=1e-2, random_state=0)
    for _ in range(30):
        est.partial_fit(X, y)
    assert est.n_iter_ == 30
    assert est.score(X, y) > 0.8

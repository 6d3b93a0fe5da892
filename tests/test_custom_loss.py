"""Tests of make_loss: numerical derivatives, the first-use check, cloning,
pickling, grid search and the classification variant."""

import functools
import pickle
import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV

from sklosses import LossClassifier, LossRegressor, make_loss
from sklosses.losses import (
    CustomClassificationLoss,
    CustomLoss,
    GradientCheckWarning,
    LogCosh,
    LogLoss,
)

# Module-level functions, so that losses made from them pickle.


def log_cosh(y_true, y_pred):
    return np.log(np.cosh(y_pred - y_true))


def log_cosh_gradient(y_true, y_pred):
    return np.tanh(y_pred - y_true)


def wrong_log_cosh_gradient(y_true, y_pred):
    return 2 * np.tanh(y_pred - y_true)


def pseudo_huber(y_true, y_pred, delta=1.0):
    r = (y_pred - y_true) / delta
    return delta**2 * (np.sqrt(1 + r * r) - 1)


def pseudo_huber_abs(y_true, y_pred, delta=1.0):
    # np.abs returns a real array for complex input: no complex step here.
    r = np.abs(y_pred - y_true) / delta
    return delta**2 * (np.sqrt(1 + r * r) - 1)


def pseudo_huber_gradient(y_true, y_pred, delta=1.0):
    r = (y_pred - y_true) / delta
    return delta * r / np.sqrt(1 + r * r)


def signed_square(y_true, y_pred):
    # Complex output, but the complex step of r * |r| gives |r|, not 2 |r|.
    r = y_pred - y_true
    return r * np.abs(r) + r * r


def poisson_deviance(y_true, y_pred):
    return 2 * (y_true * np.log(y_true / y_pred) - y_true + y_pred)


def cross_entropy(y_true, y_pred):
    return -y_true * np.log(y_pred)


def logistic_margin(y_true, z):
    return np.logaddexp(0, -y_true * z)


def mean_loss(y_true, y_pred):
    return np.mean((y_pred - y_true) ** 2)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=200) * 3, rng.normal(size=200) * 3


# ---------------------------------------------------------------------------
# Derivatives
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "func, analytic",
    [
        (log_cosh, lambda y, raw: np.tanh(raw - y)),
        (pseudo_huber, lambda y, raw: (raw - y) / np.sqrt(1 + (raw - y) ** 2)),
    ],
    ids=["log_cosh", "pseudo_huber"],
)
def test_complex_step_gradient_equals_analytic(data, func, analytic):
    y, raw = data
    loss = make_loss(func)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientCheckWarning)
        value, gradient = loss.loss_gradient(y, raw)
    assert loss._derivative_method == "complex_step"
    assert_allclose(value, func(y, raw), rtol=1e-12)
    assert_allclose(gradient, analytic(y, raw), rtol=1e-7, atol=1e-7)


def test_central_differences_when_func_drops_the_imaginary_part(data):
    y, raw = data
    loss = make_loss(pseudo_huber_abs)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientCheckWarning)
        _, gradient = loss.loss_gradient(y, raw)
    assert loss._derivative_method == "central_difference"
    assert_allclose(gradient, pseudo_huber_gradient(y, raw), rtol=1e-6, atol=1e-6)


def test_disagreeing_numerical_derivatives_warn_and_use_central_differences(data):
    y, raw = data
    loss = make_loss(signed_square, name="signed_square")
    with pytest.warns(GradientCheckWarning, match="signed_square.*Central differences"):
        _, gradient = loss.loss_gradient(y, raw)
    assert loss._derivative_method == "central_difference"
    r = raw - y
    assert_allclose(gradient, 2 * np.abs(r) + 2 * r, rtol=1e-6, atol=1e-6)


def test_chain_rule_through_log_link():
    rng = np.random.default_rng(1)
    y = rng.poisson(3.0, size=100) + 0.5
    raw = rng.normal(size=100)
    loss = make_loss(poisson_deviance, link="log")
    _, gradient = loss.loss_gradient(y, raw)
    assert_allclose(gradient, 2 * (np.exp(raw) - y), rtol=1e-7)
    # __call__ works on predictions, through no link.
    mu = np.exp(raw)
    assert_allclose(loss(y, mu), np.mean(poisson_deviance(y, mu)), rtol=1e-12)


def test_wrong_user_gradient_warns_and_is_used(data):
    y, raw = data
    loss = make_loss(log_cosh, gradient=wrong_log_cosh_gradient)
    with pytest.warns(GradientCheckWarning, match="gradient you passed disagrees"):
        _, gradient = loss.loss_gradient(y, raw)
    assert_allclose(gradient, wrong_log_cosh_gradient(y, raw))


def test_correct_user_gradient_is_silent_and_used(data):
    y, raw = data
    loss = make_loss(pseudo_huber, gradient=pseudo_huber_gradient, kw_args={"delta": 2.0})
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientCheckWarning)
        _, gradient = loss.loss_gradient(y, raw)
    assert loss._derivative_method == "gradient"
    assert_allclose(gradient, pseudo_huber_gradient(y, raw, delta=2.0), rtol=1e-12)


def test_check_runs_at_first_use_only(data):
    y, raw = data
    loss = make_loss(log_cosh, gradient=wrong_log_cosh_gradient)
    with pytest.warns(GradientCheckWarning):
        loss.loss_gradient(y, raw)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientCheckWarning)
        loss.loss_gradient(y, raw)
    # A clone starts afresh and checks again.
    with pytest.warns(GradientCheckWarning):
        clone(loss).loss_gradient(y, raw)


def test_sample_weight_and_float32(data):
    y, raw = data
    loss = make_loss(log_cosh)
    w = np.linspace(0, 2, y.size)
    value, gradient = loss.loss_gradient(y, raw, sample_weight=w)
    assert_allclose(value, w * log_cosh(y, raw), rtol=1e-12)
    assert_allclose(gradient, w * np.tanh(raw - y), rtol=1e-7, atol=1e-12)
    value32, gradient32 = loss.loss_gradient(y.astype(np.float32), raw.astype(np.float32))
    assert value32.dtype == np.float32 and gradient32.dtype == np.float32
    assert_allclose(gradient32, np.tanh(raw - y), rtol=1e-5, atol=1e-6)


def test_multi_output_is_mean_over_outputs():
    rng = np.random.default_rng(2)
    y, raw = rng.normal(size=(30, 3)), rng.normal(size=(30, 3))
    value, gradient = make_loss(log_cosh).loss_gradient(y, raw)
    assert_allclose(value, log_cosh(y, raw).mean(axis=1), rtol=1e-12)
    assert_allclose(gradient, np.tanh(raw - y) / 3, rtol=1e-7)


def test_func_must_be_elementwise(data):
    y, raw = data
    with pytest.raises(ValueError, match="one value per element"):
        make_loss(mean_loss).loss_gradient(y, raw)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"func": "squared"}, TypeError, "func must be callable"),
        ({"func": log_cosh, "gradient": 3}, TypeError, "gradient must be callable"),
        ({"func": log_cosh, "task": "ranking"}, ValueError, "task must be"),
        ({"func": log_cosh, "link": "softmax"}, ValueError, "element-wise"),
        ({"func": log_cosh, "link": "probit"}, ValueError, "Unknown link"),
        ({"func": log_cosh, "task": "classification", "link": "log"}, ValueError,
         "not supported"),
    ],
)
def test_make_loss_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        make_loss(**kwargs)


# ---------------------------------------------------------------------------
# A first-class loss: estimators, repr, clone, pickle, grid search
# ---------------------------------------------------------------------------


def test_custom_log_cosh_fits_as_the_builtin_one():
    X, y = make_regression(n_samples=80, n_features=3, noise=5.0, random_state=0)
    custom = LossRegressor(loss=make_loss(log_cosh), tol=1e-8).fit(X, y)
    builtin = LossRegressor(loss=LogCosh(), tol=1e-8).fit(X, y)
    assert_allclose(custom.coef_, builtin.coef_, rtol=1e-4)
    assert_allclose(custom.intercept_, builtin.intercept_, rtol=1e-4, atol=1e-4)


def test_str_shows_name_link_and_parameters():
    assert str(make_loss(log_cosh)) == "CustomLoss(func=log_cosh)"
    loss = make_loss(pseudo_huber, link="log", name="ph", kw_args={"delta": 2.0})
    assert str(loss) == "CustomLoss(name='ph', link='log', kw_args={'delta': 2.0})"
    partial = make_loss(functools.partial(pseudo_huber, delta=3.0))
    assert str(partial) == "CustomLoss(func=partial(pseudo_huber, delta=3.0))"
    # The repr is scikit-learn's, so that it nests in estimators' reprs.
    assert "name='ph'" in repr(loss) and "link=LogLink()" in repr(loss)
    assert repr(LossRegressor(loss=loss)).startswith("LossRegressor(loss=CustomLoss(")


def test_clone_and_set_params():
    loss = make_loss(pseudo_huber, gradient=pseudo_huber_gradient, link="log",
                     name="ph", kw_args={"delta": 2.0})
    params = loss.get_params()
    assert set(params) == {"func", "gradient", "link", "name", "kw_args"}
    assert params["link"] is loss.link and loss.link.name == "log"
    copy = clone(loss)
    assert copy.func is pseudo_huber and copy.gradient is pseudo_huber_gradient
    assert copy.link.name == "log" and copy.get_params()["link"] is copy.link
    assert copy.kw_args == {"delta": 2.0} and copy.kw_args is not loss.kw_args
    copy.set_params(kw_args={"delta": 0.5}, link="identity")
    assert copy.link.name == "identity"
    assert_allclose(copy([0.0], [1.0]), pseudo_huber(0.0, 1.0, delta=0.5))
    assert loss.kw_args == {"delta": 2.0}


def test_pickle_fitted_estimator_round_trips():
    X, y = make_regression(n_samples=60, n_features=3, noise=5.0, random_state=1)
    reg = LossRegressor(loss=make_loss(pseudo_huber, name="ph")).fit(X, y)
    restored = pickle.loads(pickle.dumps(reg))
    assert_array_equal(restored.predict(X), reg.predict(X))
    assert str(restored.loss_) == "CustomLoss(name='ph')"


def test_grid_search_over_custom_losses_and_their_parameters():
    X, y = make_regression(n_samples=60, n_features=3, noise=5.0, random_state=2)
    grid = GridSearchCV(
        LossRegressor(),
        {"loss": [make_loss(log_cosh), make_loss(pseudo_huber)]},
        cv=3,
    ).fit(X, y)
    assert len(grid.cv_results_["mean_test_score"]) == 2
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    grid = GridSearchCV(
        LossRegressor(loss=make_loss(pseudo_huber)),
        {"loss__kw_args": [{"delta": 0.5}, {"delta": 50.0}]},
        cv=3,
    ).fit(X, y)
    assert grid.best_estimator_.loss_.kw_args in ({"delta": 0.5}, {"delta": 50.0})
    deltas = [p["loss__kw_args"]["delta"] for p in grid.cv_results_["params"]]
    assert deltas == [0.5, 50.0]


# ---------------------------------------------------------------------------
# Classification variant
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
def test_custom_cross_entropy_equals_log_loss(n_classes):
    rng = np.random.default_rng(3)
    y = rng.integers(0, n_classes, size=50)
    raw = rng.normal(size=50) if n_classes == 2 else rng.normal(size=(50, n_classes))
    custom = make_loss(cross_entropy, task="classification", link="logit")
    assert isinstance(custom, CustomClassificationLoss)
    assert custom.is_probabilistic and not custom.is_margin
    value, gradient = custom.loss_gradient(y, raw)
    ref_value, ref_gradient = LogLoss().loss_gradient(y, raw)
    assert_allclose(value, ref_value, rtol=1e-10)
    assert_allclose(gradient, ref_gradient, rtol=1e-7, atol=1e-10)
    proba = LogLoss().proba(raw)
    y_pred = proba[:, 1] if n_classes == 2 else proba
    assert_allclose(custom(y, y_pred), LogLoss()(y, y_pred), rtol=1e-10)
    assert_allclose(custom.proba(raw), proba, rtol=1e-12)


def test_custom_margin_loss_gradient():
    rng = np.random.default_rng(4)
    y, z = rng.integers(0, 2, size=40), rng.normal(size=40)
    loss = make_loss(logistic_margin, task="classification", link="identity")
    assert loss.is_margin and not loss.is_probabilistic
    s = 2 * y - 1
    value, gradient = loss.loss_gradient(y, z)
    assert_allclose(value, np.logaddexp(0, -s * z), rtol=1e-12)
    assert_allclose(gradient, -s / (1 + np.exp(s * z)), rtol=1e-7)
    with pytest.raises(AttributeError, match="does not give probabilities"):
        loss.proba(z)


def test_loss_classifier_with_custom_losses():
    X, y = make_classification(n_samples=120, n_features=4, n_informative=3,
                               n_redundant=0, n_classes=3, random_state=0)
    labels = np.array(["a", "b", "c"])[y]
    custom = LossClassifier(loss=make_loss(cross_entropy, task="classification",
                                           link="logit"), tol=1e-8).fit(X, labels)
    builtin = LossClassifier(loss="log_loss", tol=1e-8).fit(X, labels)
    assert_allclose(custom.coef_, builtin.coef_, rtol=1e-3, atol=1e-4)
    assert custom.predict_proba(X).shape == (120, 3)
    margin = LossClassifier(loss=make_loss(logistic_margin, task="classification",
                                           link="identity"))
    margin.fit(X, labels == "a")
    assert not hasattr(margin, "predict_proba")
    assert margin.score(X, labels == "a") > 0.7


def test_custom_regression_loss_refused_by_classifier():
    X, y = make_classification(n_samples=30, random_state=0)
    with pytest.raises(ValueError, match="regression loss"):
        LossClassifier(loss=make_loss(log_cosh)).fit(X, y)


def test_custom_loss_class_accepts_a_link_name():
    loss = CustomLoss(poisson_deviance, link="log")
    assert loss.link.name == "log"
    assert clone(loss).link.name == "log"

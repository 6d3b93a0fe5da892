"""Tests of the MLP model component, its activations and MLP estimators."""

import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_friedman1, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPRegressor

from sklosses._objective import Objective
from sklosses.models import MLP
from sklosses.models._activations import ACTIVATIONS, get_activation
from sklosses.penalties import make_penalty

ACTIVATION_NAMES = sorted(ACTIVATIONS)
HIDDEN = [(4,), (4, 3), (3, 4, 2)]
FORMATS = ["dense", "csr", "csc"]


def _data(n_samples=7, n_features=5, fmt="dense", dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_samples, n_features)).astype(dtype)
    if fmt != "dense":
        X[rng.random(X.shape) < 0.5] = 0.0  # some zero entries, some empty rows
        X[1] = 0.0
        X = sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X)
    return X


def _random_params(model, seed=1):
    # Random biases too, so that no ReLU unit sits exactly on its kink.
    rng = np.random.default_rng(seed)
    return rng.normal(scale=0.7, size=model.n_params).astype(model.dtype)


def _central_differences(func, params, eps=1e-6):
    grad = np.empty_like(params)
    for j in range(params.size):
        step = np.zeros_like(params)
        step[j] = eps
        grad[j] = (func(params + step) - func(params - step)) / (2 * eps)
    return grad


# --------------------------------------------------------------------------
# Backward against finite differences
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no_intercept"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("n_outputs", [1, 3], ids=["out1", "out3"])
@pytest.mark.parametrize("hidden", HIDDEN, ids=lambda h: "h" + "x".join(map(str, h)))
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_backward_matches_finite_differences(activation, hidden, n_outputs, fmt,
                                             fit_intercept):
    X = _data(fmt=fmt)
    model = MLP(X.shape[1], n_outputs, hidden_layer_sizes=hidden, activation=activation,
                fit_intercept=fit_intercept)
    params = _random_params(model)
    G = np.random.default_rng(2).normal(size=(X.shape[0], n_outputs))
    G_before = G.copy()

    raw, cache = model.forward(params, X)
    assert raw.shape == (X.shape[0], n_outputs)
    grad = model.backward(params, cache, G)

    def value(p):
        return float(np.sum(G * model.forward(p, X)[0]))

    np.testing.assert_allclose(grad, _central_differences(value, params),
                               rtol=1e-6, atol=1e-8)
    np.testing.assert_array_equal(G, G_before)  # backward leaves grad_raw alone


def test_predict_raw_equals_forward():
    X = _data()
    model = MLP(5, 2, hidden_layer_sizes=(4, 3), activation="tanh")
    params = _random_params(model)
    np.testing.assert_array_equal(model.predict_raw(params, X), model.forward(params, X)[0])


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_forward_equals_sklearn_mlp_regressor(activation):
    """Our raw output is MLPRegressor's prediction with the same weights."""
    X = _data(n_samples=20)
    y = np.random.default_rng(0).normal(size=(20, 2))
    model = MLP(5, 2, hidden_layer_sizes=(4, 3), activation=activation)
    params = _random_params(model)
    reference = MLPRegressor(hidden_layer_sizes=(4, 3), activation=activation, max_iter=1,
                             random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(X, y)
    for name, value in model.to_attributes(params).items():
        setattr(reference, name, value)
    np.testing.assert_allclose(reference.predict(X), model.forward(params, X)[0],
                               rtol=1e-12)


# --------------------------------------------------------------------------
# dtype
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_float32_stays_float32(activation, fmt):
    X64 = _data(fmt=fmt)
    model64 = MLP(5, 3, hidden_layer_sizes=(4, 3), activation=activation)
    model32 = MLP(5, 3, hidden_layer_sizes=(4, 3), activation=activation, dtype=np.float32)
    params64 = _random_params(model64)
    params32 = params64.astype(np.float32)
    G = np.random.default_rng(2).normal(size=(X64.shape[0], 3))

    for X in (X64.astype(np.float32), X64):  # float64 X is cast to the params' dtype
        raw, cache = model32.forward(params32, X)
        grad = model32.backward(params32, cache, G.astype(np.float32))
        assert raw.dtype == np.float32
        assert grad.dtype == np.float32
        raw64, cache64 = model64.forward(params64, X64)
        np.testing.assert_allclose(raw, raw64, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(grad, model64.backward(params64, cache64, G),
                                   rtol=1e-4, atol=1e-4)
    assert model32.init_params(0).dtype == np.float32


# --------------------------------------------------------------------------
# Layout and attributes
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no_intercept"])
def test_layout_weights_first_then_biases(fit_intercept):
    model = MLP(5, 3, hidden_layer_sizes=(4, 2), fit_intercept=fit_intercept)
    n_weights = 5 * 4 + 4 * 2 + 2 * 3
    n_biases = 4 + 2 + (3 if fit_intercept else 0)
    assert model.n_weights == n_weights
    assert model.n_params == n_weights + n_biases
    assert model.layer_units == [5, 4, 2, 3]

    params = np.arange(model.n_params, dtype=float)
    weights, biases = model.unpack(params)
    assert [W.shape for W in weights] == [(5, 4), (4, 2), (2, 3)]
    assert all(np.shares_memory(W, params) for W in weights)
    np.testing.assert_array_equal(np.concatenate([W.ravel() for W in weights]),
                                  params[:n_weights])
    present = [b for b in biases if b is not None]
    np.testing.assert_array_equal(np.concatenate(present), params[n_weights:])
    assert (biases[-1] is None) == (not fit_intercept)


def test_penalty_acts_on_every_weight_and_no_bias():
    X = _data(n_samples=12)
    y = np.random.default_rng(3).normal(size=12)
    model = MLP(5, 1, hidden_layer_sizes=(4, 3))
    from sklosses.losses import SquaredError

    alpha = 0.3
    objective = Objective(SquaredError(), model, make_penalty(alpha, 0.0), X, y)
    params = _random_params(model)
    attrs = model.to_attributes(params)
    squares = sum(float(np.sum(W ** 2)) for W in attrs["coefs_"])
    penalty = objective.value(params) - objective.data_loss(params)
    assert penalty == pytest.approx(alpha / 2 * squares, rel=1e-12)


@pytest.mark.parametrize("fit_intercept", [True, False], ids=["intercept", "no_intercept"])
@pytest.mark.parametrize("n_outputs", [1, 3], ids=["out1", "out3"])
def test_attributes_round_trip_and_shapes(n_outputs, fit_intercept):
    model = MLP(5, n_outputs, hidden_layer_sizes=(4, 3), fit_intercept=fit_intercept)
    params = _random_params(model)
    attrs = model.to_attributes(params, single_output=n_outputs == 1)
    assert set(attrs) == {"coefs_", "intercepts_"}
    # MLPRegressor's shapes, including (n_last, 1) for a single output.
    assert [W.shape for W in attrs["coefs_"]] == [(5, 4), (4, 3), (3, n_outputs)]
    assert [b.shape for b in attrs["intercepts_"]] == [(4,), (3,), (n_outputs,)]
    if not fit_intercept:
        np.testing.assert_array_equal(attrs["intercepts_"][-1], 0.0)

    restored = model.from_attributes(SimpleNamespace(**attrs))
    np.testing.assert_array_equal(restored, params)

    attrs["coefs_"][0][...] = 123.0  # copies, not views
    assert not np.any(params == 123.0)


def test_from_attributes_rejects_wrong_shapes():
    model = MLP(5, 2, hidden_layer_sizes=(4,))
    attrs = model.to_attributes(model.init_params(0))
    wrong = SimpleNamespace(coefs_=[attrs["coefs_"][0][:, :3], attrs["coefs_"][1]],
                            intercepts_=attrs["intercepts_"])
    with pytest.raises(ValueError, match="shape"):
        model.from_attributes(wrong)
    with pytest.raises(ValueError, match="coefs_"):
        model.from_attributes(SimpleNamespace(coefs_=attrs["coefs_"][:1],
                                              intercepts_=attrs["intercepts_"][:1]))


def test_set_output_intercept():
    model = MLP(5, 3, hidden_layer_sizes=(4,))
    params = model.init_params(0)
    before = params.copy()
    out = model.set_output_intercept(params, np.array([1.0, 2.0, 3.0]))
    assert out is params
    np.testing.assert_array_equal(model.unpack(params)[1][-1], [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(params[:-3], before[:-3])
    model.set_output_intercept(params, 7.0)
    np.testing.assert_array_equal(params[-3:], 7.0)

    no_intercept = MLP(5, 3, hidden_layer_sizes=(4,), fit_intercept=False)
    params = no_intercept.init_params(0)
    before = params.copy()
    no_intercept.set_output_intercept(params, 5.0)
    np.testing.assert_array_equal(params, before)


# --------------------------------------------------------------------------
# Initialisation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_init_reproducible_and_bounded(activation):
    model = MLP(30, 4, hidden_layer_sizes=(40, 20), activation=activation)
    first = model.init_params(42)
    np.testing.assert_array_equal(first, model.init_params(42))
    np.testing.assert_array_equal(first, model.init_params(np.random.RandomState(42)))
    assert not np.array_equal(first, model.init_params(43))

    factor = 2.0 if activation == "logistic" else 6.0
    weights, biases = model.unpack(first)
    for W in weights:
        bound = np.sqrt(factor / sum(W.shape))
        assert np.abs(W).max() <= bound
        assert np.abs(W).max() > 0.9 * bound  # spread over the whole interval
        assert abs(W.mean()) < 0.1 * bound
    for b in biases:
        np.testing.assert_array_equal(b, 0.0)


# --------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", ACTIVATION_NAMES)
def test_activation_derivative_through_output(name, dtype):
    act = get_activation(name)
    z = np.random.default_rng(0).normal(scale=2.0, size=(50, 3)).astype(dtype)
    z = z[np.abs(z) > 1e-3].reshape(-1, 2)  # keep away from the ReLU kink
    a = act.apply(z.copy())
    assert a.dtype == dtype
    eps = 1e-3 if dtype == np.float32 else 1e-6
    numerical = (act.apply(z + eps) - act.apply(z - eps)) / (2 * eps)
    derivative = act.derivative(a)
    assert derivative.dtype == dtype
    rtol = 1e-2 if dtype == np.float32 else 1e-6
    np.testing.assert_allclose(derivative, numerical, rtol=rtol, atol=rtol)

    delta = np.ones_like(a) * 3
    out = act.backprop(delta, a)
    assert out is delta and out.dtype == dtype
    np.testing.assert_allclose(delta, 3 * derivative, rtol=1e-6)


def test_activation_apply_in_place():
    for name in ("relu", "tanh", "logistic"):
        z = np.linspace(-2, 2, 9)
        assert get_activation(name).apply(z) is z


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ValueError, match="'relu'.*'tanh'.*'logistic'.*'identity'"):
        get_activation("softplus")
    with pytest.raises(ValueError, match="Unknown activation 'softplus'"):
        MLP(3, 1, hidden_layer_sizes=(2,), activation="softplus")


def test_mlp_needs_a_hidden_layer():
    with pytest.raises(ValueError, match="hidden layer"):
        MLP(3, 1, hidden_layer_sizes=())


# --------------------------------------------------------------------------
# End to end through the Objective
# --------------------------------------------------------------------------


def _objective_cases():
    from sklosses import losses

    rng = np.random.default_rng(5)
    n = 15
    proba = rng.dirichlet(np.ones(3), size=n)
    return {
        "squared_error": (losses.SquaredError(), rng.normal(size=n), 1),
        "squared_error_multi": (losses.SquaredError(), rng.normal(size=(n, 2)), 2),
        "log_loss_binary": (losses.LogLoss(), rng.integers(0, 2, n), 1),
        "log_loss_multiclass": (losses.LogLoss(), rng.integers(0, 3, n), 3),
        "squared_hinge_ovr": (losses.SquaredHinge(), rng.integers(0, 3, n), 3),
        "smoothed_hinge_ovr": (losses.Hinge().smoothed(0.5), rng.integers(0, 3, n), 3),
        "kl_divergence": (losses.KLDivergence(), proba, 3),
        **_every_registered_loss(rng, n),
    }


def _every_registered_loss(rng, n):
    """One case per registered loss: positive regression targets (inside every
    regression loss's domain), binary and 3-class labels for classification."""
    from sklosses import losses
    from sklosses._resolve import loss_registry

    cases = {}
    for name, cls in loss_registry().items():
        if name == "kl_divergence":
            continue
        if cls.task == "regression":
            cases[f"{name}_every"] = (cls(), rng.uniform(0.5, 3.0, size=n), 1)
        else:
            cases[f"{name}_binary"] = (cls(), rng.integers(0, 2, n), 1)
            cases[f"{name}_3class"] = (cls(), rng.integers(0, 3, n), 3)
    crammer_singer = losses.Hinge(multiclass="crammer_singer")
    cases["hinge_crammer_singer"] = (crammer_singer, rng.integers(0, 3, n), 3)
    return cases


@pytest.mark.parametrize("fmt", ["dense", "csr"])
@pytest.mark.parametrize("case", list(_objective_cases()))
def test_objective_gradient_matches_finite_differences(case, fmt):
    loss, y, n_outputs = _objective_cases()[case]
    X = _data(n_samples=15, n_features=4, fmt=fmt)
    model = MLP(4, n_outputs, hidden_layer_sizes=(5, 3), activation="tanh")
    weight = np.random.default_rng(6).uniform(0.5, 2.0, size=15)
    objective = Objective(loss, model, make_penalty(0.05, 0.0), X, y, weight)
    params = _random_params(model)

    value, grad = objective.smooth_value_gradient(params)
    assert value == pytest.approx(objective.value(params), rel=1e-12)
    np.testing.assert_allclose(grad, _central_differences(objective.value, params),
                               rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------
# Estimators with hidden layers
# --------------------------------------------------------------------------


def _fit_quietly(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def test_mlp_classifier_beats_linear_on_moons():
    from sklosses import LossClassifier

    X, y = make_moons(600, noise=0.15, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    linear = _fit_quietly(LossClassifier(), X_train, y_train)
    mlp = _fit_quietly(LossClassifier(hidden_layer_sizes=(16,), random_state=0,
                                      max_iter=300), X_train, y_train)
    assert mlp.score(X_test, y_test) >= linear.score(X_test, y_test) + 0.05
    assert mlp.score(X_test, y_test) > 0.93
    assert [W.shape for W in mlp.coefs_] == [(2, 16), (16, 1)]
    assert mlp.decision_function(X_test).shape == (len(X_test),)
    assert mlp.predict_proba(X_test).shape == (len(X_test), 2)


def test_mlp_regressor_beats_linear_on_friedman1():
    from sklosses import LossRegressor

    X, y = make_friedman1(600, noise=0.3, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    linear = _fit_quietly(LossRegressor(), X_train, y_train)
    mlp = _fit_quietly(LossRegressor(hidden_layer_sizes=(16,), random_state=0,
                                     max_iter=300), X_train, y_train)
    assert mlp.score(X_test, y_test) >= linear.score(X_test, y_test) + 0.1
    assert [W.shape for W in mlp.coefs_] == [(10, 16), (16, 1)]
    assert mlp.predict(X_test).shape == (len(X_test),)


@pytest.mark.parametrize("robust", ["huber", "absolute_error"])
def test_robust_mlp_resists_outliers(robust):
    from sklosses import LossRegressor

    X, y = make_friedman1(600, noise=0.3, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    rng = np.random.default_rng(0)
    rows = rng.choice(len(y_train), len(y_train) // 10, replace=False)
    y_dirty = y_train.copy()
    y_dirty[rows] += rng.choice([-1.0, 1.0], rows.size) * rng.uniform(30, 60, rows.size)

    def median_error(loss):
        est = LossRegressor(loss, hidden_layer_sizes=(16,), random_state=0, max_iter=300)
        return np.median(np.abs(_fit_quietly(est, X_train, y_dirty).predict(X_test) - y_test))

    assert median_error(robust) < 0.5 * median_error("squared_error")


def test_mlp_classifier_multiclass_and_reproducible():
    from sklosses import LossClassifier

    X, y = make_moons(300, noise=0.2, random_state=1)
    y = np.where(X[:, 0] > 1.2, 2, y)  # a third class
    labels = np.array(["a", "b", "c"])[y]

    def fit():
        est = LossClassifier(hidden_layer_sizes=(8,), random_state=0, max_iter=100)
        return _fit_quietly(est, X, labels)

    first, second = fit(), fit()
    assert [W.shape for W in first.coefs_] == [(2, 8), (8, 3)]
    assert [b.shape for b in first.intercepts_] == [(8,), (3,)]
    assert first.decision_function(X).shape == (300, 3)
    assert set(first.predict(X)) <= set(labels)
    assert first.score(X, labels) > 0.8
    for a, b in zip(first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_):
        np.testing.assert_array_equal(a, b)  # bit-identical with an int seed
    other = _fit_quietly(LossClassifier(hidden_layer_sizes=(8,), random_state=1,
                                        max_iter=100), X, labels)
    assert not np.array_equal(first.coefs_[0], other.coefs_[0])


def test_mlp_regressor_sparse_float32_and_no_intercept():
    from sklosses import LossRegressor

    X, y = make_friedman1(200, noise=0.3, random_state=0)
    X32 = X.astype(np.float32)
    est = _fit_quietly(LossRegressor(hidden_layer_sizes=(8,), random_state=0,
                                     max_iter=50), X32, y)
    assert all(W.dtype == np.float32 for W in est.coefs_ + est.intercepts_)
    assert est.predict(X32).dtype == np.float32

    dense = _fit_quietly(LossRegressor(hidden_layer_sizes=(8,), random_state=0,
                                       max_iter=50), X, y)
    sparse = _fit_quietly(LossRegressor(hidden_layer_sizes=(8,), random_state=0,
                                        max_iter=50), sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.predict(X), dense.predict(X), rtol=1e-6, atol=1e-6)

    no_intercept = _fit_quietly(LossRegressor(hidden_layer_sizes=(8,), fit_intercept=False,
                                              random_state=0, max_iter=50), X, y)
    np.testing.assert_array_equal(no_intercept.intercepts_[-1], 0.0)
    assert np.any(no_intercept.intercepts_[0] != 0.0)  # hidden biases still fitted

"""Lists of quantile and expectile levels: losses, non-crossing models, joint fits."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize_scalar
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import d2_pinball_score, mean_pinball_loss
from sklearn.model_selection import cross_validate

from sklosses import LossRegressor
from sklosses.losses import Expectile, Quantile, SquaredError
from sklosses.losses._expectile import _weighted_expectile
from sklosses.models import MLP
from sklosses.models._monotone import LocationShiftModel, MonotoneOutputs

LEVELS = [0.1, 0.25, 0.5, 0.75, 0.9]


def _location_shift_data(n, seed):
    """Well specified for a linear location-shift model: heavy-tailed noise."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n, 5)
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + rng.standard_t(4, size=n)
    return X, y


def _heteroscedastic_data(n, seed):
    """A curved mean and a spread growing with |x|: well specified for an MLP."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-3, 3, size=(n, 1))
    y = 2 * np.sin(2 * x[:, 0]) + (0.5 + 0.5 * np.abs(x[:, 0])) * rng.randn(n)
    return x, y


def _new_inputs(n_features, seed):
    """10 000 rows, half near the data, half up to 1e6 times farther out."""
    rng = np.random.RandomState(seed)
    near = rng.randn(5_000, n_features)
    far = rng.randn(5_000, n_features) * 10.0 ** rng.uniform(0, 6, size=(5_000, 1))
    return np.vstack([near, far])


# ---------------------------------------------------------------------------
# The losses
# ---------------------------------------------------------------------------


def test_level_list_loss_is_the_mean_of_the_per_level_pinball_losses():
    rng = np.random.RandomState(0)
    y, P, w = rng.randn(50), rng.randn(50, 5), rng.uniform(0, 2, 50)
    loss = Quantile(quantile=LEVELS)
    per_level = [mean_pinball_loss(y, P[:, k], alpha=q, sample_weight=w)
                 for k, q in enumerate(LEVELS)]
    assert_allclose(loss(y, P, sample_weight=w), np.mean(per_level))
    # each output's loss is that level's mean_pinball_loss
    for k, q in enumerate(LEVELS):
        assert_allclose(Quantile(q)(y, P[:, k], sample_weight=w), per_level[k])


def test_expectile_at_one_half_is_half_the_squared_error():
    rng = np.random.RandomState(1)
    y, p = rng.randn(40), rng.randn(40)
    assert_allclose(Expectile(0.5)(y, p), 0.5 * SquaredError()(y, p))


def test_expectile_formula():
    r = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])  # r = y - p
    tau = 0.8
    expected = np.abs(tau - (r < 0)) * r**2
    assert_allclose(Expectile(tau).pointwise(r, np.zeros_like(r)), expected)


@pytest.mark.parametrize(
    "loss",
    [Expectile(0.2), Expectile([0.1, 0.5, 0.95]), Quantile(LEVELS).smoothed(0.3)],
    ids=["expectile", "expectile_list", "smoothed_quantile_list"],
)
def test_gradient_matches_finite_differences(loss):
    rng = np.random.RandomState(2)
    K = loss.n_levels
    y = rng.randn(30)
    raw = rng.randn(30, K) if K > 1 else rng.randn(30)
    _, grad = loss.loss_gradient(y, raw)
    eps = 1e-6
    numerical = np.zeros_like(raw)
    for index in np.ndindex(raw.shape):
        up, down = raw.copy(), raw.copy()
        up[index] += eps
        down[index] -= eps
        numerical[index] = (loss.loss(y, up).sum() - loss.loss(y, down).sum()) / (2 * eps)
    assert_allclose(grad, numerical, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("tau", [0.05, 0.3, 0.5, 0.9])
def test_expectile_best_constant_is_the_minimiser(tau):
    rng = np.random.RandomState(3)
    y, w = rng.standard_t(3, size=101), rng.uniform(0, 3, size=101)
    c = Expectile(tau).init_raw(y, w)
    numerical = minimize_scalar(lambda t: Expectile(tau)(y, np.full_like(y, t), w),
                                bounds=(y.min(), y.max()), method="bounded",
                                options={"xatol": 1e-12}).x
    assert_allclose(c, numerical, atol=1e-7)
    assert _weighted_expectile(y, 0.5) == pytest.approx(y.mean())


def test_level_list_best_constants_are_the_per_level_ones():
    rng = np.random.RandomState(4)
    y, w = rng.randn(60), rng.uniform(0, 2, 60)
    assert_allclose(Quantile(LEVELS).init_raw(y, w), [Quantile(q).init_raw(y, w) for q in LEVELS])
    taus = [0.2, 0.5, 0.7]
    assert_allclose(Expectile(taus).init_raw(y, w), [Expectile(t).init_raw(y, w) for t in taus])


def test_float32_stays_float32():
    y = np.arange(6, dtype=np.float32)
    raw = np.ones((6, 3), dtype=np.float32)
    for loss in (Quantile([0.1, 0.5, 0.9]), Expectile([0.1, 0.5, 0.9]), Expectile(0.3),
                 Quantile([0.1, 0.5, 0.9]).smoothed(0.1)):
        value, grad = loss.loss_gradient(y, raw if loss.n_levels > 1 else raw[:, 0])
        assert value.dtype == grad.dtype == np.float32


def test_d2_score_is_the_mean_of_d2_pinball_scores():
    rng = np.random.RandomState(5)
    y, P = rng.randn(80), np.sort(rng.randn(80, 3), axis=1)
    levels = [0.2, 0.5, 0.8]
    expected = np.mean([d2_pinball_score(y, P[:, k], alpha=q) for k, q in enumerate(levels)])
    assert_allclose(Quantile(levels).d2_score(y, P), expected)


def test_quantiles_attribute_gives_the_levels_per_output():
    assert_array_equal(Quantile(LEVELS).quantiles_, LEVELS)
    assert_array_equal(Quantile(0.3).quantiles_, [0.3])
    assert_array_equal(Expectile([0.2, 0.4]).expectiles_, [0.2, 0.4])


@pytest.mark.parametrize(
    "loss, message",
    [
        (Quantile([0.5, 0.1]), "requires strictly increasing levels"),
        (Quantile([0.1, 0.1]), "requires strictly increasing levels"),
        (Quantile([0.1, 1.0]), "requires 0 < quantile < 1"),
        (Quantile([]), "a non-empty 1-D list of them"),
        (Quantile([[0.1, 0.5]]), "a non-empty 1-D list of them"),
        (Quantile([0.1, np.nan]), "quantile must be finite"),
        (Expectile(1.2), "requires 0 < expectile < 1"),
        (Quantile([0.1, 0.9], noncrossing="yes"), "requires noncrossing in 'monotone', 'sort'"),
    ],
)
def test_bad_levels_raise_clear_errors(loss, message):
    with pytest.raises(ValueError, match=message):
        loss.loss_gradient(np.zeros(3), np.zeros((3, 2)))


def test_wrong_shapes_are_refused():
    with pytest.raises(ValueError, match="with 3 levels needs y_true of shape"):
        Quantile([0.1, 0.5, 0.9])(np.zeros(4), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="models a single target"):
        LossRegressor(loss=Quantile([0.1, 0.9])).fit(np.zeros((5, 2)), np.zeros((5, 2)))


# ---------------------------------------------------------------------------
# The monotone models
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [LocationShiftModel(3, 4), LocationShiftModel(3, 4, fit_intercept=False),
     MonotoneOutputs(MLP(3, 4, hidden_layer_sizes=(5,), activation="tanh"))],
    ids=["shift", "shift_no_intercept", "mlp"],
)
def test_monotone_model_backward_matches_finite_differences(model):
    rng = np.random.RandomState(6)
    X, G = rng.randn(20, 3), rng.randn(20, 4)
    params = rng.randn(model.n_params)
    raw, cache = model.forward(params, X)
    assert np.all(np.diff(raw, axis=1) >= 0)
    grad = model.backward(params, cache, G)
    eps = 1e-6
    numerical = np.array([
        ((model.predict_raw(params + eps * e, X) - model.predict_raw(params - eps * e, X))
         * G).sum() / (2 * eps)
        for e in np.eye(model.n_params)
    ])
    assert_allclose(grad, numerical, rtol=1e-6, atol=1e-8)


def test_location_shift_attributes_round_trip():
    model = LocationShiftModel(2, 3)
    params = np.array([1.0, -2.0, 0.5, -800.0, 3.0])  # one gap that underflows to 0
    attributes = model.to_attributes(params)
    assert attributes["coef_"].shape == (3, 2)
    assert np.all(np.diff(attributes["intercept_"]) >= 0)

    class Fitted:
        coef_, intercept_ = attributes["coef_"], attributes["intercept_"]

    back = model.from_attributes(Fitted)
    assert np.all(np.isfinite(back))
    assert_allclose(model.to_attributes(back)["intercept_"], attributes["intercept_"])


# ---------------------------------------------------------------------------
# Joint fits
# ---------------------------------------------------------------------------

NONCROSSING_CASES = [
    (Quantile(LEVELS), ()),
    (Quantile(LEVELS), (16,)),
    (Expectile([0.1, 0.5, 0.9]), ()),
    (Expectile([0.1, 0.5, 0.9]), (16,)),
    (Quantile(LEVELS, noncrossing="sort"), ()),
    (Expectile([0.1, 0.5, 0.9], noncrossing="sort"), (16,)),
]


@pytest.mark.parametrize("loss, hidden", NONCROSSING_CASES,
                         ids=["quantile_linear", "quantile_mlp", "expectile_linear",
                              "expectile_mlp", "quantile_sort_linear", "expectile_sort_mlp"])
def test_levels_never_cross_on_new_inputs(loss, hidden):
    X, y = _heteroscedastic_data(400, seed=7)
    X = np.hstack([X, np.random.RandomState(8).randn(400, 2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = LossRegressor(loss=loss, hidden_layer_sizes=hidden, max_iter=200,
                            random_state=0).fit(X, y)
    for X_new in (_new_inputs(3, seed=9), _new_inputs(3, seed=9).astype(np.float32)):
        P = reg.predict(X_new)
        assert P.shape == (10_000, loss.n_levels)
        assert np.all(np.isfinite(P))
        assert np.all(np.diff(P, axis=1) >= 0)


def test_mlp_levels_spread_with_the_noise():
    """The MLP's gaps follow the heteroscedastic spread: not a location shift."""
    X, y = _heteroscedastic_data(1000, seed=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = LossRegressor(loss=Quantile([0.1, 0.9]), hidden_layer_sizes=(16,),
                            activation="tanh", max_iter=300, random_state=0).fit(X, y)
    width = np.diff(reg.predict(np.array([[0.0], [2.5]])), axis=1).ravel()
    assert width[1] > 1.5 * width[0]  # true widths: 1.28 and 2.82


def test_single_level_list_equals_the_scalar_fit():
    X, y = _location_shift_data(300, seed=11)
    for hidden in ((), (8,)):
        kw = dict(hidden_layer_sizes=hidden, random_state=0, max_iter=100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            scalar = LossRegressor(loss=Quantile(0.3), **kw).fit(X, y)
            listed = LossRegressor(loss=Quantile([0.3]), **kw).fit(X, y)
        assert_array_equal(listed.predict(X), scalar.predict(X))


def test_linear_joint_fit_matches_independent_fits_on_well_specified_data():
    X, y = _location_shift_data(6000, seed=12)
    X_train, X_test, y_train, y_test = X[:3000], X[3000:], y[:3000], y[3000:]
    joint = LossRegressor(loss=Quantile(LEVELS)).fit(X_train, y_train)
    P = joint.predict(X_test)
    assert_allclose(joint.coef_, np.tile(joint.coef_[0], (len(LEVELS), 1)))
    assert np.all(np.diff(joint.intercept_) > 0)
    for k, q in enumerate(LEVELS):
        alone = LossRegressor(loss=Quantile(q)).fit(X_train, y_train)
        ours = mean_pinball_loss(y_test, P[:, k], alpha=q)
        independent = mean_pinball_loss(y_test, alone.predict(X_test), alpha=q)
        assert ours <= 1.01 * independent, (q, ours / independent)


def test_linear_joint_expectiles_match_independent_fits():
    X, y = _location_shift_data(4000, seed=13)
    taus = [0.1, 0.5, 0.9]
    joint = LossRegressor(loss=Expectile(taus)).fit(X[:2000], y[:2000])
    P = joint.predict(X[2000:])
    for k, tau in enumerate(taus):
        alone = LossRegressor(loss=Expectile(tau)).fit(X[:2000], y[:2000])
        ours = Expectile(tau)(y[2000:], P[:, k])
        assert ours <= 1.01 * Expectile(tau)(y[2000:], alone.predict(X[2000:]))


def test_mlp_joint_fit_matches_independent_fits_on_well_specified_data():
    X, y = _heteroscedastic_data(3000, seed=14)
    X_train, X_test, y_train, y_test = X[:1500], X[1500:], y[:1500], y[1500:]
    levels = [0.1, 0.5, 0.9]
    kw = dict(hidden_layer_sizes=(16,), activation="tanh", random_state=0, max_iter=600)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        P = LossRegressor(loss=Quantile(levels), **kw).fit(X_train, y_train).predict(X_test)
        for k, q in enumerate(levels):
            alone = LossRegressor(loss=Quantile(q), **kw).fit(X_train, y_train)
            ours = mean_pinball_loss(y_test, P[:, k], alpha=q)
            independent = mean_pinball_loss(y_test, alone.predict(X_test), alpha=q)
            assert ours <= 1.01 * independent, (q, ours / independent)


def test_sort_option_keeps_independent_fits_and_sorts_them():
    X, y = _heteroscedastic_data(500, seed=15)
    joint = LossRegressor(loss=Quantile([0.1, 0.9], noncrossing="sort"), alpha=0.0).fit(X, y)
    for k, q in enumerate([0.1, 0.9]):
        alone = LossRegressor(loss=Quantile(q), alpha=0.0).fit(X, y)
        # alpha=0: the joint objective is the mean of two independent ones
        assert_allclose(joint.coef_[k], alone.coef_, rtol=1e-2, atol=1e-3)
    X_far = np.array([[-1e3], [1e3]])
    assert np.all(np.diff(joint.predict(X_far), axis=1) >= 0)


def test_multi_level_estimator_scores_clones_and_cross_validates():
    X, y = _location_shift_data(200, seed=16)
    reg = LossRegressor(loss=Quantile([0.2, 0.5, 0.8]))
    scores = cross_validate(reg, X, y, cv=3)["test_score"]
    fitted = clone(reg).fit(X, y)
    expected = np.mean([d2_pinball_score(y, fitted.predict(X)[:, k], alpha=q)
                        for k, q in enumerate([0.2, 0.5, 0.8])])
    assert_allclose(fitted.score(X, y), expected)
    assert np.all(scores > 0.3)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_minibatch_solvers_fit_level_lists(solver):
    X, y = _heteroscedastic_data(300, seed=17)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = LossRegressor(loss=Quantile([0.1, 0.9]), solver=solver, hidden_layer_sizes=(8,),
                            max_iter=20, random_state=0, learning_rate=1e-2).fit(X, y)
        reg.partial_fit(X, y)
    assert np.all(np.diff(reg.predict(_new_inputs(1, seed=18)), axis=1) >= 0)


def test_sample_weight_reaches_the_joint_fit():
    X, y = _location_shift_data(200, seed=19)
    w = np.random.RandomState(20).randint(0, 3, size=200)
    weighted = LossRegressor(loss=Expectile([0.2, 0.8]), tol=1e-8).fit(X, y, sample_weight=w)
    repeated = LossRegressor(loss=Expectile([0.2, 0.8]), tol=1e-8).fit(
        np.repeat(X, w, axis=0), np.repeat(y, w))
    assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-5, atol=1e-6)

"""No silent failure: a fit either does its job or says why it did not.

Each section is one class of failure that used to pass unnoticed: the
minibatch solvers returning their start, bad values accepted or reported
with the wrong cause, custom losses that fit silently, state carried across
calls, and costs that grew without need.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from sklosses import LossClassifier, LossRegressor
from sklosses.losses import Focal

RNG = np.random.RandomState(0)
X_SMALL = RNG.randn(150, 3)
Y_SMALL = X_SMALL @ np.array([1.0, 2.0, 3.0]) + 0.1 * RNG.randn(150)


def _objective(est, X, y):
    """J of API.md from public attributes (linear regressor, L2 penalty)."""
    return est.loss_(y, est.predict(X)) + est.alpha / 2 * np.sum(est.coef_**2)


def _fit_recording(est, *args, **kwargs):
    """Fit and return the ConvergenceWarnings raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(*args, **kwargs)
    return [w for w in caught if issubclass(w.category, ConvergenceWarning)]


# -- 1. Minibatch solvers never silently return their start -------------------

@pytest.mark.parametrize("learning_rate", [2.0, 50.0])
def test_partial_fit_with_a_too_large_step_moves_and_lowers_its_step(learning_rate):
    # One batch per call: the blow-up of the step is only visible at the end
    # of the call, which must back off and redo it rather than stay put.
    est = LossRegressor(solver="sgd", learning_rate=learning_rate, random_state=0)
    for _ in range(20):
        est.partial_fit(X_SMALL, Y_SMALL)
    assert est._solver_state.lr_scale < 1.0
    assert est.score(X_SMALL, Y_SMALL) > 0.9


def test_one_batch_per_epoch_divergence_backs_off_across_epochs():
    # With n <= 200 every epoch is one step; the step of epoch k blows up at
    # epoch k + 1. The back-off count must survive epochs so that a hopeless
    # rate ends in the documented error instead of returning the start.
    with pytest.raises(FloatingPointError, match="Solver 'sgd' diverged"):
        LossRegressor(solver="sgd", learning_rate=1e30, max_iter=50,
                      random_state=0).fit(X_SMALL, Y_SMALL)


def test_adam_that_never_improves_warns_instead_of_returning_the_start_silently():
    est = LossRegressor(solver="adam", learning_rate=50.0, max_iter=30, random_state=0)
    caught = _fit_recording(est, X_SMALL, Y_SMALL)
    moved = not np.allclose(est.coef_, 0.0)
    assert moved or any("no epoch lowered the objective" in str(w.message)
                        for w in caught)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_data_sorted_by_label_does_not_discard_the_fit(solver):
    # The reference for the end-point check used to be the first rows in
    # data order: all negatives when y is sorted, an unbeatable checkpoint.
    X, y = make_classification(n_samples=4000, n_features=5, weights=[0.99],
                               flip_y=0, random_state=0)
    order = np.argsort(y, kind="stable")
    est = LossClassifier(solver=solver, max_iter=30, random_state=0)
    _fit_recording(est, X[order], y[order])
    assert roc_auc_score(y, est.decision_function(X)) > 0.85


def test_small_magnitude_loss_does_not_stop_at_the_start():
    # Focal with alpha=1e-4 has values near 1e-4: an absolute tol of 1e-4
    # called the first epochs converged. The relative rule keeps going until
    # the objective is near the L-BFGS optimum.
    X, y = make_classification(n_samples=2000, n_features=5, flip_y=0.1, random_state=0)
    loss = Focal(alpha=1e-4)
    ref = LossClassifier(loss=loss, alpha=0.0, tol=1e-10).fit(X, y)
    est = LossClassifier(loss=loss, alpha=0.0, solver="adam", max_iter=300, random_state=0)
    caught = _fit_recording(est, X, y)
    constant = LossClassifier(loss=loss, alpha=0.0).fit(np.zeros((len(y), 1)), y)

    def value(e, X=X):
        return e.loss_(y, e.predict_proba(X)[:, 1])

    start = value(constant, np.zeros((len(y), 1)))
    gap = (value(est) - value(ref)) / (start - value(ref))
    assert gap < 0.05 or caught


def test_warning_names_loss_solver_and_reason():
    est = LossRegressor(solver="adam", max_iter=3, random_state=0)
    caught = _fit_recording(est, X_SMALL, Y_SMALL)
    assert caught
    text = str(caught[0].message)
    assert "'adam'" in text and "SquaredError" in text and "max_iter=3" in text
    assert caught[0].filename == __file__  # points at the caller's line


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("x_scale", [1e-3, 1.0, 1e3])
@pytest.mark.parametrize("y_scale", [1e-3, 1.0, 1e3])
def test_minibatch_quality_or_a_warning_over_scales(solver, x_scale, y_scale):
    """Property: near the L-BFGS objective, or a ConvergenceWarning, at any scale.

    The gap is the share of the possible improvement (from the best constant
    to the optimum) not achieved, a scale-free measure.
    """
    X, y = X_SMALL[:120] * x_scale, Y_SMALL[:120] * y_scale
    ref = LossRegressor(alpha=1e-4, tol=1e-10).fit(X, y)
    optimum = _objective(ref, X, y)
    constant = np.mean((y - y.mean()) ** 2)
    est = LossRegressor(solver=solver, alpha=1e-4, max_iter=200, random_state=0)
    try:
        caught = _fit_recording(est, X, y)
    except FloatingPointError as exc:  # a clear error is not silent either
        assert "learning_rate" in str(exc)
        return
    gap = (_objective(est, X, y) - optimum) / (constant - optimum)
    assert gap < 0.05 or caught, f"gap {gap:.3g} without a ConvergenceWarning"


# -- 4. Bad values are refused with their real cause ---------------------------

LABELS_SMALL = (X_SMALL[:, 0] > 0).astype(int)


@pytest.mark.parametrize("weight", [-1.0, np.nan, np.inf], ids=["negative", "nan", "inf"])
def test_bad_class_weight_values_are_named(weight):
    with pytest.raises(ValueError, match=r"class_weight\[0\] must be a finite number >= 0"):
        LossClassifier(class_weight={0: weight, 1: 1.0}).fit(X_SMALL, LABELS_SMALL)


def test_zero_class_weight_counts_in_the_two_classes_check():
    with pytest.raises(ValueError, match="positive weights in at least 2 classes"):
        LossClassifier(class_weight={0: 0.0}).fit(X_SMALL, LABELS_SMALL)


def test_zero_class_weight_in_partial_fit_batch_is_refused_with_its_cause():
    est = LossClassifier(class_weight={0: -2.0})
    with pytest.raises(ValueError, match=r"class_weight\[0\]"):
        est.partial_fit(X_SMALL, LABELS_SMALL, classes=[0, 1])


@pytest.mark.parametrize("make", [
    lambda: LossClassifier(class_weight={0: 1e308, 1: 1e308}).fit(X_SMALL, LABELS_SMALL),
    lambda: LossRegressor().fit(X_SMALL, Y_SMALL, sample_weight=np.full(150, 1e308)),
], ids=["class_weight", "sample_weight"])
def test_weights_whose_sum_overflows_are_named(make):
    with pytest.raises(ValueError, match="beyond the float range"):
        make()


@pytest.mark.parametrize("name", ["alpha", "learning_rate", "tol"])
def test_infinite_hyperparameters_are_refused(name):
    with pytest.raises(ValueError, match=f"{name} must be finite, got inf"):
        LossRegressor(**{name: np.inf}).fit(X_SMALL, Y_SMALL)


def test_sparse_y_gets_a_clear_message():
    import scipy.sparse as sp  # noqa: PLC0415 - only this test needs it

    with pytest.raises(ValueError, match="needs dense targets. Pass y.toarray()"):
        LossRegressor().fit(X_SMALL, sp.csr_matrix(Y_SMALL[:, None]))


@pytest.mark.parametrize("make", [
    lambda: LossClassifier(loss="log_loss", alpha=0.0),
    lambda: LossClassifier(loss="focal", alpha=0.0),
    lambda: LossClassifier(loss="exponential"),
    lambda: LossRegressor(loss="log_cosh"),
], ids=["log_loss", "focal", "exponential", "log_cosh"])
def test_harmless_underflow_does_not_raise_under_seterr_raise(make):
    # Unscaled features push raw predictions far out: exp(-|raw|) underflows
    # to 0, which is the right answer.
    X = X_SMALL[:60] * 300
    est = make()
    y = np.abs(X[:, 0]) * 1e3 if isinstance(est, LossRegressor) else LABELS_SMALL[:60]
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
        est.predict(X)
        if hasattr(est, "predict_proba"):
            est.predict_proba(X)
    assert np.all(np.isfinite(est.predict(X) if isinstance(est, LossRegressor)
                              else est.decision_function(X)))


# -- 5. Custom losses: no silent fits of broken functions ----------------------

def _subtract_in_place(y_true, y_pred):
    y_true -= y_pred
    return y_true**2


def _nan_above_five(y_true, y_pred):
    return np.where(y_pred > 5, np.nan, (y_true - y_pred) ** 2)


def _rounded(y_true, y_pred):
    return np.round((y_true - y_pred) ** 2).astype(int)


def _wrong_sign(y_true, y_pred):
    return -((y_true - y_pred) ** 2)


def _linear(y_true, y_pred):
    return y_pred - y_true


def _squared(y_true, y_pred):
    return (y_true - y_pred) ** 2


def _welsch(y_true, y_pred):
    # Bounded below (by -1) and flat far away: must not be mistaken for a
    # loss that falls without bound.
    return -np.exp(-((y_true - y_pred) ** 2))


def test_custom_loss_cannot_change_the_callers_targets():
    from sklosses import make_loss  # noqa: PLC0415

    y = Y_SMALL.copy()
    with pytest.raises(ValueError, match="modifies its inputs in place"):
        LossRegressor(loss=make_loss(_subtract_in_place)).fit(X_SMALL, y)
    np.testing.assert_array_equal(y, Y_SMALL)


@pytest.mark.parametrize("func,match", [
    (_nan_above_five, "func returned NaN for"),
    (_rounded, "returned int64 values; a loss must return floats"),
    (_wrong_sign, "decreases without bound"),
    (_linear, "decreases without bound"),
], ids=["nan", "integer", "wrong_sign", "linear"])
def test_broken_custom_loss_is_refused(func, match):
    from sklosses import make_loss  # noqa: PLC0415

    with pytest.raises(ValueError, match=match):
        LossRegressor(loss=make_loss(func)).fit(X_SMALL, Y_SMALL)


@pytest.mark.parametrize("func", [_squared, _welsch], ids=["squared", "welsch"])
def test_bounded_custom_losses_still_fit(func):
    from sklosses import make_loss  # noqa: PLC0415

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = LossRegressor(loss=make_loss(func)).fit(X_SMALL, Y_SMALL)
    assert est.score(X_SMALL, Y_SMALL) > 0.9


def test_make_loss_for_classification_defaults_to_the_logit_link():
    from sklosses import make_loss  # noqa: PLC0415
    from sklosses.losses import CustomClassificationLoss  # noqa: PLC0415

    loss = make_loss(_squared, task="classification")
    assert loss.link.name == CustomClassificationLoss(_squared).link.name == "logit"
    assert make_loss(_squared).link.name == "identity"


# -- 6. State across calls belongs to what was fitted --------------------------

@pytest.mark.parametrize("change,match", [
    ({"loss": "huber"}, r"loss \(fitted with SquaredError\(\), now Huber\(\)\)"),
    ({"hidden_layer_sizes": (4,)}, r"hidden_layer_sizes \(fitted with \(\), now \(4,\)\)"),
    ({"fit_intercept": False}, "fit_intercept"),
], ids=["loss", "architecture", "fit_intercept"])
def test_partial_fit_refuses_a_changed_loss_or_architecture(change, match):
    est = LossRegressor(solver="adam", random_state=0).partial_fit(X_SMALL, Y_SMALL)
    est.set_params(**change)
    with pytest.raises(ValueError, match=match):
        est.partial_fit(X_SMALL, Y_SMALL)


def test_partial_fit_honours_a_new_alpha_and_checks_it():
    est = LossRegressor(solver="adam", random_state=0).partial_fit(X_SMALL, Y_SMALL)
    est.set_params(alpha=1e-2).partial_fit(X_SMALL, Y_SMALL)
    with pytest.raises(ValueError, match="alpha"):
        est.set_params(alpha=-1.0).partial_fit(X_SMALL, Y_SMALL)


def test_warm_start_does_not_reuse_parameters_of_another_architecture():
    # A linear model on 3 features and an MLP 1-1-1 on 1 feature both have 4
    # parameters: equal lengths must not make one the other's start.
    est = LossRegressor(warm_start=True).fit(X_SMALL, Y_SMALL)
    kwargs = {"hidden_layer_sizes": (1,), "activation": "identity", "max_iter": 30,
              "random_state": 0}
    est.set_params(**kwargs)
    cold = LossRegressor(**kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_SMALL[:, :1], Y_SMALL)
        cold.fit(X_SMALL[:, :1], Y_SMALL)
    for warm_layer, cold_layer in zip(est.coefs_, cold.coefs_, strict=True):
        np.testing.assert_array_equal(warm_layer, cold_layer)


def test_warm_start_with_another_activation_starts_afresh():
    kwargs = {"hidden_layer_sizes": (3,), "random_state": 0, "max_iter": 20}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = LossRegressor(warm_start=True, activation="relu", **kwargs).fit(X_SMALL, Y_SMALL)
        est.set_params(activation="tanh").fit(X_SMALL, Y_SMALL)
        cold = LossRegressor(activation="tanh", **kwargs).fit(X_SMALL, Y_SMALL)
    np.testing.assert_array_equal(est.coefs_[0], cold.coefs_[0])


@pytest.mark.parametrize("solver, loss", [("lbfgs", "squared_error"), ("newton", "huber")])
def test_warm_start_with_the_same_model_continues(solver, loss):
    # Two iterations must leave the first fit short of its optimum, which
    # Newton reaches in one step on squared error: it gets a non-quadratic loss.
    est = LossRegressor(loss=loss, solver=solver, warm_start=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X_SMALL, Y_SMALL)
        first = est.coef_.copy()
        est.fit(X_SMALL, Y_SMALL)
    assert not np.array_equal(first, est.coef_)
    assert est.score(X_SMALL, Y_SMALL) > 0.9


def test_predict_proba_follows_the_fitted_loss():
    est = LossClassifier(loss="log_loss").fit(X_SMALL, LABELS_SMALL)
    est.set_params(loss="hinge")
    assert hasattr(est, "predict_proba")  # the fitted loss is still log_loss
    assert est.predict_proba(X_SMALL).shape == (150, 2)
    unfitted = LossClassifier(loss="hinge")
    assert not hasattr(unfitted, "predict_proba")


def test_grid_search_over_a_parameter_of_a_loss_given_by_name():
    from sklearn.model_selection import GridSearchCV  # noqa: PLC0415

    search = GridSearchCV(LossRegressor(loss="huber"), {"loss__delta": [0.5, 2.0]}, cv=3)
    search.fit(X_SMALL, Y_SMALL)
    assert search.best_params_["loss__delta"] in (0.5, 2.0)
    assert LossRegressor(loss="huber").set_params(loss__delta=0.5).loss.delta == 0.5
    with pytest.raises(ValueError, match="delta"):
        LossRegressor(loss="squared_error").set_params(loss__delta=0.5)


# -- 7. Costs that grow without need ------------------------------------------

def test_partial_fit_grows_the_loss_curve_in_place():
    est = LossRegressor(solver="adam", random_state=0).partial_fit(X_SMALL, Y_SMALL)
    curve = est.loss_curve_
    for _ in range(3):
        est.partial_fit(X_SMALL, Y_SMALL)
    assert est.loss_curve_ is curve and len(curve) == 4


def test_crammer_singer_start_is_linear_in_the_number_of_classes():
    import tracemalloc  # noqa: PLC0415

    from sklosses.losses import Hinge  # noqa: PLC0415

    n_classes = 300
    y = np.arange(3 * n_classes) % n_classes
    y[:n_classes] = 0  # class 0 is heavier, but not more than half the weight
    loss = Hinge(multiclass="crammer_singer")
    tracemalloc.start()
    raw = loss.init_raw(y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10e6  # the dense linear program took 1.7 GB at 300 classes
    np.testing.assert_allclose(raw, 0.0)
    heavy = np.r_[np.zeros(10, int), np.arange(1, 5)]  # class 0 holds over half
    expected = np.full(5, -0.2)
    expected[0] = 0.8
    np.testing.assert_allclose(loss.init_raw(heavy), expected)


@pytest.mark.parametrize("n_samples", [150, 3000], ids=["one_batch", "many_batches"])
def test_sgd_default_step_on_features_in_units_of_1e4(n_samples):
    # The default rate is about 1e8 times too large there: the back-offs must
    # find a working rate (not raise, not return the start).
    rng = np.random.RandomState(1)
    X = rng.randn(n_samples, 3)
    y = X @ np.array([1.0, 2.0, 3.0]) + 0.1 * rng.randn(n_samples)
    est = LossRegressor(solver="sgd", random_state=0)
    caught = _fit_recording(est, X * 1e4, y)
    assert est.score(X * 1e4, y) > 0.95 or caught

"""Minibatch solvers: update rules, the training loop, divergence, callbacks."""

import copy
import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

from sklosses import LossClassifier, LossRegressor
from sklosses.solvers import SGD, Adam, EpochMonitor, MinibatchSolver


def regression_data(n_samples=1000, n_features=5, seed=0):
    X, y = make_regression(n_samples=n_samples, n_features=n_features, noise=10.0,
                           random_state=seed)
    return X, y / y.std()


def classification_data(n_classes=3, n_samples=600, seed=0):
    X, y = make_classification(n_samples=n_samples, n_features=6, n_informative=4,
                               n_classes=n_classes, random_state=seed)
    return StandardScaler().fit_transform(X), y


def regression_objective(est, X, y, alpha, l1_ratio=0.0):
    """J of API.md from public attributes: mean loss plus elastic net."""
    w = est.coef_
    penalty = alpha * (l1_ratio * np.abs(w).sum() + (1 - l1_ratio) / 2 * w @ w)
    return est.loss_(y, est.predict(X)) + penalty


def log_loss_objective(est, X, y, alpha):
    return log_loss(y, est.predict_proba(X)) + alpha / 2 * np.sum(est.coef_**2)


def fit_quietly(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


# -- Update rules -------------------------------------------------------------

def test_sgd_without_momentum_is_a_gradient_step():
    rule = SGD(momentum=0.0)
    grad = np.array([1.0, -2.0, 0.5])
    step, state = rule.update(grad, rule.init(grad), lr=0.1)
    np.testing.assert_allclose(step, -0.1 * grad)
    assert state.count == 1


@pytest.mark.parametrize("nesterov", [False, True], ids=["classical", "nesterov"])
def test_sgd_momentum_follows_its_formula(nesterov):
    rule = SGD(momentum=0.5, nesterov=nesterov)
    g1, g2 = np.array([1.0, 2.0]), np.array([-1.0, 4.0])
    state = rule.init(g1)
    step1, state = rule.update(g1, state, lr=0.1)
    step2, state = rule.update(g2, state, lr=0.1)
    v1 = g1
    v2 = 0.5 * v1 + g2
    np.testing.assert_allclose(state.velocity, v2)
    np.testing.assert_allclose(step1, -0.1 * ((g1 + 0.5 * v1) if nesterov else v1))
    np.testing.assert_allclose(step2, -0.1 * ((g2 + 0.5 * v2) if nesterov else v2))


def test_adam_matches_the_paper_with_bias_correction():
    rule = Adam(beta_1=0.8, beta_2=0.9, epsilon=1e-6)
    rng = np.random.RandomState(0)
    grads = rng.normal(size=(5, 3))
    m = v = np.zeros(3)
    state = rule.init(grads[0])
    for t, g in enumerate(grads, start=1):
        m = 0.8 * m + 0.2 * g
        v = 0.9 * v + 0.1 * g**2
        expected = -0.01 * (m / (1 - 0.8**t)) / (np.sqrt(v / (1 - 0.9**t)) + 1e-6)
        step, state = rule.update(g, state, lr=0.01)
        np.testing.assert_allclose(step, expected, rtol=1e-12)
    assert state.count == 5


def test_update_leaves_the_old_state_untouched():
    for rule in (SGD(), Adam()):
        grad = np.ones(3)
        state = rule.init(grad)
        before = copy.deepcopy(state)
        rule.update(grad, state, lr=0.1)
        for name, value in vars(before).items():
            np.testing.assert_array_equal(getattr(state, name), value)


@pytest.mark.parametrize("rule", [SGD(), Adam()], ids=["sgd", "adam"])
def test_rule_state_pickles_and_resumes_identically(rule):
    rng = np.random.RandomState(1)
    state = rule.init(np.zeros(4))
    for _ in range(3):
        _, state = rule.update(rng.normal(size=4), state, lr=0.05)
    twin = pickle.loads(pickle.dumps(state))
    g = rng.normal(size=4)
    np.testing.assert_array_equal(rule.update(g, state, 0.05)[0],
                                  rule.update(g, twin, 0.05)[0])


def test_sgd_schedules():
    assert SGD(schedule="constant").learning_rate_at(0.1, 99.0) == 0.1
    assert SGD(schedule="invscaling").learning_rate_at(0.1, 3.0) == pytest.approx(0.05)
    assert SGD().plateau_decay == 0.2
    assert Adam().plateau_decay is None
    with pytest.raises(ValueError, match="schedule"):
        SGD(schedule="cosine")
    with pytest.raises(ValueError, match="momentum"):
        SGD(momentum=1.0)


# -- Reaching the optimum -----------------------------------------------------

@pytest.mark.parametrize("loss", ["squared_error", "huber", "log_cosh"])
@pytest.mark.parametrize("solver,learning_rate", [("sgd", 1e-2), ("adam", 5e-4)])
def test_minibatch_solvers_reach_the_lbfgs_optimum(loss, solver, learning_rate):
    # Strongly convex (alpha > 0). SGD's plateau schedule divides its rate
    # down to 1/3125 and lands within ~1e-6; Adam's constant rate leaves a
    # jitter of the order of learning_rate (~1e-5 relative here).
    X, y = regression_data()
    alpha = 1e-2
    ref = LossRegressor(loss, alpha=alpha, solver="lbfgs", tol=1e-10).fit(X, y)
    est = fit_quietly(LossRegressor(loss, alpha=alpha, solver=solver, tol=0.0,
                                    learning_rate=learning_rate, max_iter=1000,
                                    random_state=0), X, y)
    j_ref = regression_objective(ref, X, y, alpha)
    gap = (regression_objective(est, X, y, alpha) - j_ref) / j_ref
    assert -1e-9 < gap < 1e-4


@pytest.mark.parametrize(
    "solver,learning_rate,rel_gap",
    # Softmax's flat direction (only the penalty fixes it) is where Adam's
    # constant-rate jitter shows: it stops within ~5e-4 here, SGD's plateau
    # schedule within ~1e-5.
    [("sgd", 1e-2, 1e-4), ("adam", 2e-3, 1e-3)],
)
def test_minibatch_classifier_reaches_the_lbfgs_optimum(solver, learning_rate, rel_gap):
    X, y = classification_data()
    alpha = 1e-2
    ref = LossClassifier(alpha=alpha, solver="lbfgs", tol=1e-10).fit(X, y)
    est = fit_quietly(LossClassifier(alpha=alpha, solver=solver, tol=0.0, batch_size=50,
                                     learning_rate=learning_rate, max_iter=1000,
                                     random_state=0), X, y)
    j_ref = log_loss_objective(ref, X, y, alpha)
    assert (log_loss_objective(est, X, y, alpha) - j_ref) / j_ref < rel_gap


@pytest.mark.parametrize("solver,learning_rate", [("sgd", 1e-2), ("adam", 1e-3)])
def test_l1_goes_through_the_prox_and_reaches_the_lasso(solver, learning_rate):
    # Our J = mean r^2 + alpha ||w||_1 = 2 * Lasso's objective at alpha / 2.
    # Adam's prox uses its per-coordinate steps, so its fixed point is the
    # lasso optimum too; the exact zeros come from soft-thresholding.
    X, y = make_regression(n_samples=500, n_features=8, n_informative=3, noise=5.0,
                           random_state=0)
    y = y / y.std()
    alpha = 0.05
    lasso = Lasso(alpha=alpha / 2, tol=1e-12, max_iter=100_000).fit(X, y)
    est = fit_quietly(LossRegressor(alpha=alpha, l1_ratio=1.0, solver=solver, tol=0.0,
                                    learning_rate=learning_rate, max_iter=1000,
                                    random_state=0), X, y)
    j_ref = regression_objective(lasso_as_ours(lasso), X, y, alpha, 1.0)
    j = regression_objective(est, X, y, alpha, 1.0)
    assert (j - j_ref) / j_ref < 1e-4
    assert np.sum(est.coef_ == 0.0) >= np.sum(lasso.coef_ == 0.0) - 1


def test_plateau_restarts_an_overshooting_full_batch_momentum_run():
    # One step per epoch: heavy-ball momentum overshoots for more than
    # n_iter_no_change epochs; the decay restarts from the best point, so the
    # run still reaches the optimum instead of freezing on the overshoot.
    X, y = regression_data(n_samples=500)
    alpha = 0.05
    ref = LossRegressor(alpha=alpha, solver="lbfgs", tol=1e-10).fit(X, y)
    est = fit_quietly(LossRegressor(alpha=alpha, solver="sgd", learning_rate=1e-2,
                                    batch_size=500, tol=0.0, max_iter=3000,
                                    random_state=0), X, y)
    j_ref = regression_objective(ref, X, y, alpha)
    assert (regression_objective(est, X, y, alpha) - j_ref) / j_ref < 1e-4


def lasso_as_ours(lasso):
    """A stand-in exposing what regression_objective reads."""
    from sklosses.losses import SquaredError

    class Fitted:
        coef_ = lasso.coef_
        loss_ = SquaredError()
        predict = staticmethod(lasso.predict)

    return Fitted()


@pytest.mark.parametrize("loss", ["absolute_error", "quantile"])
def test_nonsmooth_losses_use_subgradients(loss):
    X, y = regression_data(n_samples=600)
    alpha = 1e-2
    ref = LossRegressor(loss, alpha=alpha, solver="lbfgs", tol=1e-10).fit(X, y)
    est = fit_quietly(LossRegressor(loss, alpha=alpha, solver="sgd", tol=0.0,
                                    learning_rate=1e-2, max_iter=1000, random_state=0),
                      X, y)
    j_ref = regression_objective(ref, X, y, alpha)
    assert (regression_objective(est, X, y, alpha) - j_ref) / j_ref < 1e-3


# -- The loop -----------------------------------------------------------------

def test_full_batch_loss_curve_is_the_objective_before_each_step():
    # With one batch per epoch, the epoch's minibatch objective is J at the
    # parameters the step starts from: the first entry is J at the start.
    X, y = regression_data(n_samples=200)
    alpha = 0.1
    est = fit_quietly(LossRegressor(alpha=alpha, solver="sgd", batch_size=200,
                                    max_iter=1, random_state=0), X, y)
    start = y.mean()  # zero weights and the mean as intercept
    assert est.loss_curve_[0] == pytest.approx(np.mean((y - start) ** 2), rel=1e-12)
    assert len(est.loss_curve_) == est.n_iter_ == 1


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_same_random_state_gives_bit_identical_coef(solver):
    X, y = regression_data(n_samples=300)
    fits = [fit_quietly(LossRegressor("huber", solver=solver, max_iter=20,
                                      learning_rate=1e-2, random_state=seed), X, y)
            for seed in (7, 7, 8)]
    np.testing.assert_array_equal(fits[0].coef_, fits[1].coef_)
    assert fits[0].intercept_ == fits[1].intercept_
    assert not np.array_equal(fits[0].coef_, fits[2].coef_)


def test_mlp_with_adam_is_reproducible_and_learns():
    X, y = regression_data(n_samples=300)
    make = lambda: LossRegressor(hidden_layer_sizes=(8,), solver="adam",  # noqa: E731
                                 learning_rate=1e-2, max_iter=100, random_state=0)
    a, b = fit_quietly(make(), X, y), fit_quietly(make(), X, y)
    for wa, wb in zip(a.coefs_, b.coefs_):
        np.testing.assert_array_equal(wa, wb)
    assert a.score(X, y) > 0.8


def test_tol_stops_before_max_iter_without_warning():
    X, y = regression_data(n_samples=300)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = LossRegressor(solver="adam", learning_rate=1e-2, tol=1e-3, max_iter=1000,
                            random_state=0).fit(X, y)
    assert est.n_iter_ < 1000


def test_max_iter_reached_warns():
    X, y = regression_data(n_samples=300)
    with pytest.warns(ConvergenceWarning, match="'adam'"):
        LossRegressor(solver="adam", max_iter=2, random_state=0).fit(X, y)


def test_plateau_decay_lowers_sgd_rate_then_stops():
    X, y = regression_data(n_samples=300)
    est = LossRegressor(solver="sgd", learning_rate=1e-2, max_iter=2000,
                        random_state=0).fit(X, y)
    assert est._solver_state.n_plateaus == 5
    assert est._solver_state.lr_scale == pytest.approx(0.2**5)
    assert est.n_iter_ < 2000


def test_verbose_prints_one_line_per_epoch(capsys):
    X, y = regression_data(n_samples=100)
    est = fit_quietly(LossRegressor(solver="adam", max_iter=4, verbose=1,
                                    random_state=0), X, y)
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("Epoch")]
    assert len(lines) == est.n_iter_ == 4
    assert "objective = " in lines[0] and "time = " in lines[0]
    assert f"{est.loss_curve_[-1]:.8g}" in lines[-1]


def test_float32_stays_float32_and_sparse_matches_dense():
    X, y = regression_data(n_samples=300)
    est32 = fit_quietly(LossRegressor(solver="adam", max_iter=5, random_state=0),
                        X.astype(np.float32), y.astype(np.float32))
    assert est32.coef_.dtype == np.float32
    dense = fit_quietly(LossRegressor(solver="sgd", max_iter=5, random_state=0), X, y)
    sparse = fit_quietly(LossRegressor(solver="sgd", max_iter=5, random_state=0),
                         sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-10)


def test_zero_weight_batches_are_skipped():
    X, y = regression_data(n_samples=100)
    sample_weight = np.zeros(100)
    sample_weight[:5] = 1.0
    est = fit_quietly(LossRegressor(solver="sgd", batch_size=1, max_iter=3,
                                    random_state=0), X, y, sample_weight=sample_weight)
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.loss_curve_))


# -- Divergence -----------------------------------------------------------------

def test_divergence_backs_off_and_recovers():
    # learning_rate=64 explodes on standardised data; halvings bring it to a
    # stable rate and the fit goes on with finite parameters.
    X, y = regression_data(n_samples=300)
    X = StandardScaler().fit_transform(X)
    est = fit_quietly(LossRegressor(solver="sgd", learning_rate=64.0, max_iter=30,
                                    random_state=0), X, y)
    assert est._solver_state.lr_scale < 1.0
    assert np.all(np.isfinite(est.coef_))
    assert est.score(X, y) > 0.8


@pytest.mark.parametrize("learning_rate", [1.0, 1e8])
def test_growing_back_offs_rescue_a_rate_far_too_large(learning_rate):
    # Features at 1e3 need a rate about 1e6 below 1.0; halving 10 times gave
    # up at 1e-3 of it, back-offs dividing by 2, 4, 8, ... reach it.
    X, y = regression_data(n_samples=300)
    est = fit_quietly(LossRegressor(solver="sgd", learning_rate=learning_rate,
                                    max_iter=50, random_state=0), X * 1e3, y)
    assert est._solver_state.lr_scale < 1e-6
    assert np.all(np.isfinite(est.coef_))
    assert est.score(X * 1e3, y) > 0.8


def test_hopeless_divergence_raises_a_clear_error():
    X, y = regression_data(n_samples=300)
    with pytest.raises(FloatingPointError, match=r"(?s)'sgd'.*SquaredError.*learning_rate"):
        fit_quietly(LossRegressor(solver="sgd", learning_rate=1e30, max_iter=50,
                                  random_state=0), X * 1e3, y)


def test_huge_adam_rate_is_caught_as_a_blow_up():
    # Adam's steps are bounded by the rate, so the objective stays finite
    # but grows enormously: that counts as divergence too.
    X, y = regression_data(n_samples=300)
    with pytest.raises(FloatingPointError, match="'adam'"):
        fit_quietly(LossRegressor(solver="adam", learning_rate=1e30, max_iter=5,
                                  random_state=0), X, y)


# -- Arguments ----------------------------------------------------------------

@pytest.mark.parametrize(
    "params,match",
    [
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": -1e-3}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"batch_size": "big"}, "batch_size"),
        ({"validation_fraction": 0.0, "early_stopping": True}, "validation_fraction"),
        ({"validation_fraction": 1.0, "early_stopping": True}, "validation_fraction"),
        ({"n_iter_no_change": 0}, "n_iter_no_change"),
    ],
)
def test_bad_training_arguments_are_refused_at_fit(params, match):
    X, y = regression_data(n_samples=50)
    with pytest.raises(ValueError, match=match):
        LossRegressor(solver="adam", **params).fit(X, y)


def test_batch_size_larger_than_n_is_clipped():
    X, y = regression_data(n_samples=50)
    est = fit_quietly(LossRegressor(solver="sgd", batch_size=10_000, max_iter=2,
                                    random_state=0), X, y)
    assert est.n_iter_ == 2


# -- Monitor and callbacks ------------------------------------------------------

class StopAfter(EpochMonitor):
    def __init__(self, n):
        self.n, self.seen = n, []

    def end_epoch(self, epoch, params, train_loss):
        self.seen.append(train_loss)
        return None, epoch + 1 >= self.n


def test_solver_obeys_the_monitor():
    from sklosses._objective import Objective
    from sklosses.losses import SquaredError
    from sklosses.models import LinearModel
    from sklosses.penalties import make_penalty

    X, y = regression_data(n_samples=100)
    objective = Objective(SquaredError(), LinearModel(5, 1), make_penalty(0.0, 0.0), X, y)
    monitor = StopAfter(3)
    result = MinibatchSolver(Adam(), max_iter=50).solve(objective, np.zeros(6),
                                                        monitor=monitor)
    assert result.n_iter == 3 and monitor.seen == result.loss_curve


class StoppingCallback:
    """A FitCallback asking to stop after a number of epochs."""

    def __init__(self, n_epochs):
        self.n_epochs, self.calls = n_epochs, []

    def setup(self, estimator, context):
        self.calls.append("setup")

    def teardown(self, estimator, context):
        self.calls.append("teardown")

    def on_fit_task_begin(self, estimator, context):
        self.calls.append(("begin", context.task_name))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.calls.append(("end", context.task_name))
        if context.task_name == "epoch":
            assert fitted_estimator.predict(np.zeros((1, 5))).shape == (1,)
            return context.task_id + 1 >= self.n_epochs
        return False


def test_sklearn_callbacks_get_one_task_per_epoch_and_can_stop():
    pytest.importorskip("sklearn.callback")
    X, y = regression_data(n_samples=100)
    callback = StoppingCallback(3)
    est = LossRegressor(solver="adam", max_iter=50, random_state=0).set_callbacks(callback)
    est.fit(X, y)
    assert est.n_iter_ == 3
    assert callback.calls[0] == "setup" and callback.calls[-1] == "teardown"
    assert callback.calls.count(("end", "epoch")) == 3
    assert callback.calls[-2] == ("end", "fit")
    assert not hasattr(est, "_callback_fit_ctx")


def test_scoring_monitor_logs_every_epoch():
    callback_module = pytest.importorskip("sklearn.callback")
    pytest.importorskip("pandas")
    X, y = classification_data(n_classes=2, n_samples=200)
    monitor = callback_module.ScoringMonitor(scoring="accuracy")
    clf = LossClassifier(solver="sgd", learning_rate=1e-2, max_iter=6, tol=0.0,
                         random_state=0).set_callbacks(monitor)
    fit_quietly(clf, X, y)
    data = monitor.get_logs().data
    epochs = [row for row in data if row["task_name"] == "epoch"]
    assert len(epochs) == clf.n_iter_ == 6
    assert epochs[-1]["accuracy"] == pytest.approx(clf.score(X, y))


def test_progress_bar_runs():
    callback_module = pytest.importorskip("sklearn.callback")
    pytest.importorskip("rich")
    X, y = regression_data(n_samples=100)
    est = LossRegressor(solver="adam", max_iter=3, random_state=0)
    fit_quietly(est.set_callbacks(callback_module.ProgressBar()), X, y)
    assert est.n_iter_ == 3

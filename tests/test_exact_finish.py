"""First-order fits of piecewise-linear losses end on the exact optimum.

:func:`sklosses.solvers._exact_finish.exact_finish` turns the smoothed
problem's last point into the original problem's optimum (a crossover from
the smoothed dual point; on small programs the interior point from the
first-order coefficients), kept only where a duality gap within tol
certifies it. So fits of the same problem written differently (weighted
rows, repeated rows) agree, and a continuation that ran out of max_iter
still returns the optimum where it can be certified.
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import (
    check_sample_weight_equivalence_on_dense_data,
    check_sample_weight_equivalence_on_sparse_data,
)

import sklosses.solvers._exact_finish as finish_module
from sklosses import LossClassifier, LossRegressor
from sklosses._objective import Objective
from sklosses.losses import Hinge, Quantile
from sklosses.models import LinearModel
from sklosses.penalties import BasePenalty, ElasticNet


@pytest.fixture
def routes(monkeypatch):
    """Which route each output's finish took: 'crossover', 'interior point' or None."""
    seen = []
    cross_over = finish_module._cross_over

    def spy_cross_over(*args):
        fit = cross_over(*args)
        seen.append("crossover" if fit is not None else "interior point")
        return fit

    monkeypatch.setattr(finish_module, "_cross_over", spy_cross_over)
    return seen


# The L-BFGS continuations run to max_iter on the check's flat data before
# the finish (10-30 s a check): slow.
_SLOW = pytest.mark.slow
FIRST_ORDER = [
    LossRegressor(loss="quantile", alpha=1e-3, l1_ratio=1.0, solver="proximal"),
    LossRegressor(loss="absolute_error", alpha=1e-3, l1_ratio=0.5, solver="proximal"),
    LossRegressor(loss="epsilon_insensitive", solver="proximal"),
    LossClassifier(loss="hinge", alpha=1e-3, l1_ratio=1.0, solver="proximal"),
    pytest.param(LossRegressor(loss="quantile", alpha=1e-3, l1_ratio=1.0, solver="lbfgs"),
                 marks=_SLOW),
    pytest.param(LossRegressor(loss="epsilon_insensitive", solver="lbfgs"), marks=_SLOW),
    pytest.param(LossClassifier(loss="hinge", solver="lbfgs"), marks=_SLOW),
]


@pytest.mark.parametrize("estimator", FIRST_ORDER, ids=repr)
@pytest.mark.parametrize("check", [check_sample_weight_equivalence_on_dense_data,
                                   check_sample_weight_equivalence_on_sparse_data])
def test_weighted_and_repeated_rows_agree(estimator, check):
    # The check's 15 rows and 30 features: a flat optimum, on which the
    # first-order fits alone stop at points 1e-2 apart.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        check(type(estimator).__name__, estimator)


def _objective(est, X, y):
    """J of a fitted regressor: its mean loss plus the elastic-net penalty."""
    coef = np.ravel(est.coef_)
    value = est.loss_(y, X @ coef + est.intercept_)
    return value + est.alpha * (est.l1_ratio * np.abs(coef).sum()
                                + 0.5 * (1 - est.l1_ratio) * coef @ coef)


def _reference(est, X, y):
    """The same fit by the exact solver at a tight tolerance."""
    return type(est)(**{**est.get_params(), "solver": "exact", "tol": 1e-10}).fit(X, y)


@pytest.mark.parametrize("loss", ["quantile", "absolute_error", "epsilon_insensitive"])
@pytest.mark.parametrize("solver", ["lbfgs", "proximal"])
@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
def test_raw_diabetes_fit_is_the_exact_optimum(loss, solver, l1_ratio):
    X, y = load_diabetes(return_X_y=True)
    X = X * 1e3  # raw-scale features, far from unit variance
    est = LossRegressor(loss=loss, solver=solver, alpha=1e-3, l1_ratio=l1_ratio)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    ref = _reference(est, X, y)
    scale = np.max(np.abs(ref.coef_))
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-7 * scale)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, atol=1e-7 * max(abs(y)))


def test_crossover_is_taken_where_the_smoothed_point_identifies_the_vertex(routes):
    X, y = load_diabetes(return_X_y=True)
    LossRegressor(loss="quantile", solver="proximal").fit(X, y)
    assert routes == ["crossover"]


def test_no_small_program_fallback_keeps_the_first_order_point(routes, monkeypatch):
    # With the interior-point fallback ruled out and a partition that does
    # not lead to a vertex (the check's flat data), the first-order point
    # and its ConvergenceWarning stay: nothing uncertified replaces them.
    monkeypatch.setattr(finish_module, "_SMALL_PROGRAM", 0)
    rng = np.random.RandomState(42)
    X = rng.uniform(1, 3, size=(15, 30))
    y = rng.randint(0, 3, 15).astype(float)
    est = LossRegressor(loss="quantile", alpha=1e-3, l1_ratio=1.0, solver="proximal")
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        est.fit(X, y)
    assert routes == ["interior point"]  # the crossover failed, no fallback ran
    exact = _reference(est, X, y)
    assert not np.allclose(est.coef_, exact.coef_, atol=1e-6)


def test_a_continuation_out_of_iterations_still_ends_on_the_optimum(monkeypatch):
    X, y = load_diabetes(return_X_y=True)
    est = LossRegressor(loss="quantile", solver="lbfgs", max_iter=4)
    with monkeypatch.context() as patched:
        patched.setattr(finish_module, "_SMALL_PROGRAM", 0)
        patched.setattr(finish_module, "_cross_over", lambda *args: None)
        with pytest.warns(ConvergenceWarning, match="max_iter=4"):
            est.fit(X, y)  # the same fit without the finish
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    # Certified within tol (the interior point's; its crossover may or may
    # not reach the vertex itself).
    j_star = _objective(_reference(est, X, y), X, y)
    assert _objective(est, X, y) - j_star <= est.tol * j_star


def test_float32_fit_ends_near_the_float64_optimum():
    X, y = load_diabetes(return_X_y=True)
    est = LossRegressor(loss="quantile", solver="proximal").fit(X.astype(np.float32), y)
    ref = _reference(est, X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-4, atol=1e-4 * np.max(
        np.abs(ref.coef_)))


def test_models_and_losses_without_decoupled_programs_are_left_alone(routes):
    X, y = load_diabetes(return_X_y=True)
    # An MLP (not a linear program) and the Crammer-Singer hinge (the
    # classes' programs are coupled) keep the first-order route.
    LossRegressor(loss="quantile", hidden_layer_sizes=(4,), max_iter=50,
                  random_state=0).fit(X[:100], y[:100])
    labels = np.digitize(y, np.quantile(y, [0.33, 0.66]))
    LossClassifier(loss=Hinge(multiclass="crammer_singer"), solver="lbfgs").fit(X, labels)
    assert routes == []


def test_a_custom_penalty_or_a_float32_copy_on_large_data_is_left_alone():
    class Ridge(BasePenalty):
        """A penalty of the user's own: no l1 / l2 strengths, no exact program."""

        is_smooth = True

        def smooth_value_gradient(self, w):
            return 0.5 * float(w @ w), w

        def nonsmooth_value(self, w):
            return 0.0

        def prox(self, w, step):
            return w

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.normal(size=30)
    objective = Objective(Quantile(), LinearModel(3, 1), Ridge(), X, y)
    assert finish_module.exact_finish(objective, np.zeros(4), objective.value(np.zeros(4)),
                                      Quantile().smoothed(1e-3), 1e-6) is None
    # Large float32 data: the programs would need a float64 copy of X.
    X32 = rng.normal(size=(50_000, 10)).astype(np.float32)
    objective = Objective(Quantile(), LinearModel(10, 1), ElasticNet(1e-3, 0.0), X32,
                          X32[:, 0].astype(float))
    assert finish_module.exact_finish(objective, np.zeros(11), objective.value(np.zeros(11)),
                                      Quantile().smoothed(1e-3), 1e-6) is None


def test_an_uncertified_crossover_falls_through_to_the_interior_point(monkeypatch):
    # A crossover point taken without a certificate within tol is not the
    # finish: the small program's interior point still runs and ends it.
    X, y = load_diabetes(return_X_y=True)
    monkeypatch.setattr(finish_module._Certificate, "offer_crossover",
                        lambda self, *args: True)
    solves = []
    solve = finish_module._OutputProblem.solve

    def spy_solve(self, *args, **kwargs):
        solves.append(1)
        return solve(self, *args, **kwargs)

    monkeypatch.setattr(finish_module._OutputProblem, "solve", spy_solve)
    est = LossRegressor(loss="quantile", solver="lbfgs", max_iter=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X, y)
    assert solves == [1]
    j_star = _objective(_reference(est, X, y), X, y)
    assert _objective(est, X, y) - j_star <= est.tol * j_star

"""The preconditioner on lists of levels: output scales and the location-shift map.

A list of ``K`` levels compares one target column with ``K`` outputs; each
output must be measured in the target's units (as a single level is), and the
location-shift model of ``noncrossing="monotone"`` needs its own exact change
of variables. References: the target's standard deviation, the map's matrix
built column by column from ``push_forward``, and the exact solver's optimum
after a change of units.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_pinball_loss

from sklosses import LossRegressor
from sklosses._objective import Objective
from sklosses._preconditioning import ScaledProblem, output_scales
from sklosses.losses import Expectile, Quantile
from sklosses.models import LinearModel
from sklosses.models._monotone import LocationShiftModel
from sklosses.penalties import L2


def _data(n=80, p=3, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p) * np.array([1e-3, 1.0, 1e3]) + np.array([5.0, 0.0, -2e3])
    y = 300.0 * (X @ np.array([1e3, -1.0, 1e-3])) + 50.0 * rng.standard_t(3, size=n)
    return X, y


@pytest.mark.parametrize("loss", [Quantile([0.1, 0.5, 0.9], noncrossing="sort"),
                                  Expectile([0.2, 0.8], noncrossing="sort")])
def test_every_level_is_measured_in_the_targets_units(loss):
    X, y = _data()
    model = LinearModel(X.shape[1], loss.n_levels)
    scales = output_scales(Objective(loss, model, L2(0.0), X, y))
    assert_allclose(scales, np.full(loss.n_levels, y.std()), rtol=1e-12)


def _location_shift_problem(fit_intercept, alpha, seed=0):
    X, y = _data(seed=seed)
    loss = Quantile([0.1, 0.4, 0.9]).smoothed(1.0)
    model = LocationShiftModel(X.shape[1], 3, fit_intercept=fit_intercept)
    objective = Objective(loss, model, L2(alpha), X, y)
    x0 = model.set_output_intercept(model.init_params(),
                                    np.quantile(y, [0.1, 0.4, 0.9]))
    return objective, x0, ScaledProblem(objective, x0)


def _matrix(problem, n):
    """The linear part ``M`` of the map, column by column."""
    return np.column_stack([problem._map.push_forward(unit) for unit in np.eye(n)])


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [0.0, 1e-2])
def test_location_shift_map_is_an_exact_affine_change_of_variables(fit_intercept, alpha):
    objective, x0, problem = _location_shift_problem(fit_intercept, alpha)
    n = x0.size
    assert not problem._map.is_identity
    assert_allclose(problem.to_variables(x0), np.zeros(n), atol=1e-12)
    z = np.random.RandomState(1).randn(n)
    theta = problem.to_params(z)
    assert_allclose(problem.to_variables(theta), z, rtol=1e-10, atol=1e-12)
    # Affine: theta(z) - theta(0) = M z, with M from push_forward.
    M = _matrix(problem, n)
    assert_allclose(theta - problem.to_params(np.zeros(n)), M @ z, rtol=1e-10, atol=1e-9)
    # The chain rule: the gradient in z is M^T times the gradient in theta.
    g = np.random.RandomState(2).randn(n)
    assert_allclose(problem._map.pull_back(g), M.T @ g, rtol=1e-10, atol=1e-12)
    A = np.random.RandomState(3).randn(n, n)
    H = A @ A.T
    assert_allclose(problem._map.pull_back_hessian(H), M.T @ H @ M, rtol=1e-9, atol=1e-9)
    assert_allclose(problem._map.pull_back_diagonal(np.diag(H), lambda v: H @ v),
                    np.diag(M.T @ H @ M), rtol=1e-9, atol=1e-9)


def test_location_shift_variables_are_unit_free():
    # At the start every variable moves its levels by about sigma per unit
    # (the gap arguments through the softplus' slope there), so the scaled
    # value and gradient do not depend on the units of y or of a column.
    X, y = _data()
    results = []
    for x_unit, y_unit in [(1.0, 1.0), (1e-6, 1e-3), (1e6, 1e6)]:
        loss = Quantile([0.1, 0.4, 0.9]).smoothed(y_unit)
        model = LocationShiftModel(X.shape[1], 3)
        objective = Objective(loss, model, L2(0.0), X * x_unit, y * y_unit)
        start = model.set_output_intercept(model.init_params(),
                                           np.quantile(y * y_unit, [0.1, 0.4, 0.9]))
        results.append(ScaledProblem(objective, start).smooth_value_gradient(
            np.zeros(start.size)))
    for value, grad in results[1:]:
        assert_allclose(value, results[0][0], rtol=1e-9)
        assert_allclose(grad, results[0][1], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("noncrossing", ["sort", "monotone"])
@pytest.mark.parametrize("y_unit", [1e-5, 1e5])
def test_level_list_fit_reaches_the_optimum_in_any_units(noncrossing, y_unit):
    X, y = _data()
    y = y * y_unit
    levels = [0.1, 0.5, 0.9]

    def objective(reg):
        raw = X @ reg.coef_.T + reg.intercept_
        return np.mean([mean_pinball_loss(y, raw[:, k], alpha=q)
                        for k, q in enumerate(levels)])

    exact = LossRegressor(loss=Quantile(levels, noncrossing=noncrossing), alpha=0.0,
                          solver="exact", tol=1e-10).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = LossRegressor(loss=Quantile(levels, noncrossing=noncrossing), alpha=0.0,
                            solver="lbfgs", max_iter=2000).fit(X, y)
    assert (objective(reg) - objective(exact)) / objective(exact) <= 1e-5


def _expectile_list_objective(reg, X, y, levels):
    residual = y[:, None] - (X @ reg.coef_.T + reg.intercept_)
    return np.mean(np.abs(np.asarray(levels) - (residual < 0)) * residual**2)


def test_collapsed_expectile_gap_is_reopened():
    # On these data an early L-BFGS step collapses the top gap onto the flat
    # part of the softplus (its gradient then vanishes); the free fit of each
    # level (noncrossing="sort", no crossing here) is the reference.
    X, y = _data()
    levels = [0.1, 0.5, 0.9]
    free = LossRegressor(loss=Expectile(levels, noncrossing="sort"), alpha=0.0,
                         solver="lbfgs", tol=1e-10, max_iter=5000).fit(X, y)
    assert np.all(np.diff(free.predict(X), axis=1) >= 0)  # the ordered fit too, then
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        shared = LossRegressor(loss=Expectile(levels), alpha=0.0, solver="lbfgs").fit(X, y)
    assert np.all(np.diff(shared.intercept_) > 1e-3 * y.std())
    # One slope costs something against free slopes, but little on these data.
    assert _expectile_list_objective(shared, X, y, levels) <= \
        1.01 * _expectile_list_objective(free, X, y, levels)


def test_tied_quantiles_keep_their_zero_gap_without_warning():
    # A discrete target whose 0.4 and 0.5 quantiles coincide: the optimum's
    # gap is zero, and reopening it must not be attempted forever. Many
    # residuals sit on a kink here, so the smoothing's bias reaches its bound,
    # tol (a single level ends 2.8e-5 above too): the test asks for tol.
    rng = np.random.RandomState(0)
    X = rng.randn(200, 2)
    y = np.round(0.3 * X[:, 0] + 0.2 * rng.randn(200))
    levels = [0.4, 0.5]
    exact = LossRegressor(loss=Quantile(levels), alpha=0.0, solver="exact",
                          tol=1e-10).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        reg = LossRegressor(loss=Quantile(levels), alpha=0.0, solver="lbfgs").fit(X, y)

    def objective(fit):
        raw = X @ fit.coef_.T + fit.intercept_
        return np.mean([mean_pinball_loss(y, raw[:, k], alpha=q)
                        for k, q in enumerate(levels)])

    assert (objective(reg) - objective(exact)) / objective(exact) <= reg.tol

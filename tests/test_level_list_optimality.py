"""Lists of levels fitted by the smooth solvers reach the optimum or warn.

``solver="lbfgs"`` and ``"proximal"`` fit a list of quantile levels by
smoothing continuation, and a list of expectile levels directly; both run on
the preconditioner's unit-free variables. The references are independent of
those solvers: the interior-point fit (``solver="exact"``, certified by a
duality gap) for quantiles, scipy's L-BFGS-B on a standardised problem written
out here for expectiles. The objective is computed here from the fitted
attributes: the mean over levels of the mean pinball (or expectile) loss on
the raw outputs ``X @ coef_.T + intercept_``, plus ``alpha / 2 ||W||^2`` on
the model's weights (one shared slope for ``noncrossing="monotone"``).

The data are real and raw (no scaling): statsmodels' ``engel`` (income in
thousands, food expenditure in its units) and scikit-learn's ``diabetes``.
"""

import functools
import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_pinball_loss

from sklosses import LossRegressor
from sklosses.losses import Expectile, Quantile

# Relative objective gap a fit at the default tol may leave without warning.
GAP = 1e-5


def _engel():
    sm = pytest.importorskip("statsmodels.api")
    data = sm.datasets.engel.load_pandas().data
    return data[["income"]].to_numpy() / 1000, data["foodexp"].to_numpy()


DATASETS = {"engel": _engel, "diabetes": lambda: load_diabetes(return_X_y=True)}
LEVEL_LISTS = {"two": (0.05, 0.95), "three": (0.1, 0.5, 0.9)}


def _penalised_weights(reg):
    """The model's own weights: one shared slope for a location-shift model."""
    coef = np.atleast_2d(reg.coef_)
    return coef[0] if reg.loss.noncrossing == "monotone" else coef


def _quantile_objective(reg, X, y, alpha):
    raw = (X @ reg.coef_.T + reg.intercept_).reshape(len(y), -1)
    levels = reg.loss.quantile
    data = np.mean([mean_pinball_loss(y, raw[:, k], alpha=q) for k, q in enumerate(levels)])
    return data + 0.5 * alpha * np.sum(_penalised_weights(reg) ** 2)


def _expectile_objective(reg, X, y, alpha):
    residual = y[:, None] - (X @ reg.coef_.T + reg.intercept_).reshape(len(y), -1)
    levels = np.asarray(reg.loss.expectile)
    data = np.mean(np.abs(levels - (residual < 0)) * residual**2)
    return data + 0.5 * alpha * np.sum(_penalised_weights(reg) ** 2)


@functools.cache
def _exact_quantile_optimum(dataset, levels, noncrossing, alpha):
    X, y = DATASETS[dataset]()
    reg = LossRegressor(loss=Quantile(list(levels), noncrossing=noncrossing), alpha=alpha,
                        solver="exact", tol=1e-10).fit(X, y)
    return _quantile_objective(reg, X, y, alpha)


@functools.cache
def _scipy_expectile_optimum(dataset, levels, noncrossing, alpha):
    """L-BFGS-B on standardised columns and target, written out independently.

    Free levels have one slope and intercept each; ordered levels
    (``"monotone"``) one shared slope and intercepts ``b_1 + cumsum(d)``,
    ``d >= 0`` (bound constraints).
    """
    X, y = DATASETS[dataset]()
    centre, spread = X.mean(axis=0), X.std(axis=0)
    Z = (X - centre) / spread
    y_centre, y_spread = y.mean(), y.std()
    t = (y - y_centre) / y_spread
    tau = np.asarray(levels)
    n, p, K = X.shape[0], X.shape[1], tau.size
    shared = noncrossing == "monotone"

    def unpack(v):
        if shared:
            slopes = np.tile(v[:p], (K, 1))
            offsets = v[p] + np.concatenate([[0.0], np.cumsum(v[p + 1:])])
        else:
            slopes, offsets = v[: K * p].reshape(K, p), v[K * p:]
        return slopes, offsets

    def value_gradient(v):
        slopes, offsets = unpack(v)
        r = t[:, None] - (Z @ slopes.T + offsets)
        a = np.abs(tau - (r < 0))
        # In the units of y: the loss scales by y_spread^2, a raw weight is
        # y_spread * slope / spread.
        loss = np.mean(a * r * r) * y_spread**2
        penalty_scale = alpha * y_spread**2 / spread**2
        g_raw = -2.0 * a * r / (n * K) * y_spread**2
        g_slopes = g_raw.T @ Z + penalty_scale * slopes
        g_offsets = g_raw.sum(axis=0)
        if shared:
            penalty = 0.5 * np.sum(penalty_scale * slopes[0] ** 2)
            grad = np.concatenate([g_slopes.sum(axis=0) - (K - 1) * penalty_scale * slopes[0],
                                   [g_offsets.sum()], np.cumsum(g_offsets[::-1])[::-1][1:]])
        else:
            penalty = 0.5 * np.sum(penalty_scale * slopes**2)
            grad = np.concatenate([g_slopes.ravel(), g_offsets])
        return loss + penalty, grad

    size = p + K if shared else K * (p + 1)
    start = np.zeros(size)
    bounds = None
    if shared:
        start[p + 1:] = 0.1
        bounds = [(None, None)] * (p + 1) + [(0.0, None)] * (K - 1)
    result = minimize(value_gradient, start, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"gtol": 1e-13, "ftol": 1e-16, "maxiter": 20000,
                               "maxcor": 30})
    return result.fun


def _fit(loss, alpha, solver, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        reg = LossRegressor(loss=loss, alpha=alpha, solver=solver).fit(X, y)
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return reg, warned


@pytest.mark.parametrize("solver", ["lbfgs", "proximal"])
@pytest.mark.parametrize("alpha", [0.0, 1e-4])
@pytest.mark.parametrize("noncrossing", ["sort", "monotone"])
@pytest.mark.parametrize("levels", LEVEL_LISTS)
@pytest.mark.parametrize("dataset", DATASETS)
def test_quantile_list_reaches_the_exact_optimum_or_warns(dataset, levels, noncrossing,
                                                          alpha, solver):
    X, y = DATASETS[dataset]()
    reg, warned = _fit(Quantile(list(LEVEL_LISTS[levels]), noncrossing=noncrossing),
                       alpha, solver, X, y)
    optimum = _exact_quantile_optimum(dataset, LEVEL_LISTS[levels], noncrossing, alpha)
    gap = (_quantile_objective(reg, X, y, alpha) - optimum) / optimum
    assert gap > -1e-8  # the certified optimum is a lower bound
    assert warned or gap <= GAP, f"silent relative gap {gap:.2e}"


@pytest.mark.parametrize("alpha", [0.0, 1e-4])
@pytest.mark.parametrize("noncrossing", ["sort", "monotone"])
@pytest.mark.parametrize("levels", LEVEL_LISTS)
@pytest.mark.parametrize("dataset", DATASETS)
def test_expectile_list_reaches_the_optimum_or_warns(dataset, levels, noncrossing, alpha):
    X, y = DATASETS[dataset]()
    reg, warned = _fit(Expectile(list(LEVEL_LISTS[levels]), noncrossing=noncrossing),
                       alpha, "lbfgs", X, y)
    optimum = _scipy_expectile_optimum(dataset, LEVEL_LISTS[levels], noncrossing, alpha)
    gap = (_expectile_objective(reg, X, y, alpha) - optimum) / optimum
    assert gap > -1e-8
    assert warned or gap <= GAP, f"silent relative gap {gap:.2e}"


@pytest.mark.parametrize("noncrossing", ["sort", "monotone"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_ridge_quantile_list_converges_rather_than_warns(dataset, noncrossing):
    # Warning is allowed above, but these well-posed fits must simply converge:
    # the preconditioner, not the warning, is what makes them correct.
    X, y = DATASETS[dataset]()
    loss = Quantile([0.05, 0.95], noncrossing=noncrossing)
    reg, warned = _fit(loss, 1e-4, "lbfgs", X, y)
    optimum = _exact_quantile_optimum(dataset, (0.05, 0.95), noncrossing, 1e-4)
    assert not warned
    assert (_quantile_objective(reg, X, y, 1e-4) - optimum) / optimum <= GAP

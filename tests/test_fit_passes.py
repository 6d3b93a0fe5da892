"""Shortcuts that save passes over the data at the end of a fit keep its verdicts.

A fit on large dense data keeps its solver's last evaluation, and the
diagnostics after the fit reuse it: the penalty probe
(:func:`sklosses._diagnostics._stretch_helps`) is settled by a convexity
bound where that bound suffices. The tests lower the blocked path's size
thresholds so that small data takes it, and compare each shortcut with the
computation it replaces.
"""

import warnings

import numpy as np
import pytest

import sklosses._blocked as blocked
from sklosses import LossRegressor, PenaltyDominatesWarning
from sklosses import _diagnostics as diagnostics
from sklosses._objective import Objective, _LastEvaluation
from sklosses.losses import Gamma, Huber, LogLoss, Poisson, SquaredError
from sklosses.models import LinearModel
from sklosses.penalties import L2
from sklosses.solvers import LBFGS

N, P = 600, 4


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 100 rows on any data (the thresholds set for the tests' sizes)."""
    monkeypatch.setattr(blocked, "_MIN_DATA_BYTES", 0)
    monkeypatch.setattr(blocked, "_BLOCK_BYTES", 100 * P * 8)
    monkeypatch.setattr(blocked, "_MIN_BLOCK_ROWS", 1)


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, P)) + 2.0
    return X, X @ rng.normal(size=P) + rng.normal(size=N)


# (loss, targets, alpha): well-posed fits and one the penalty flattens (Huber
# on targets in the hundreds of thousands, where the probe fires).
CASES = {
    "poisson": (Poisson(), lambda y: np.random.default_rng(1).poisson(np.exp(0.3 * y / 4)), 1e-4),
    "squared_error": (SquaredError(), lambda y: y, 1e-3),
    "huber": (Huber(), lambda y: y, 1e-2),
    "huber_dollars": (Huber(), lambda y: 1e5 + 3e4 * y, 1e-2),
    "squared_error_strong": (SquaredError(), lambda y: y, 3.0),
}


def _fitted(name):
    loss, targets, alpha = CASES[name]
    X, y = _data()
    y = np.asarray(targets(y), dtype=float)
    objective = Objective(loss, LinearModel(P, 1), L2(alpha), X, y)
    x0 = np.zeros(P + 1)
    x0[P] = float(loss.init_raw(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = LBFGS(tol=1e-6).solve(objective, x0)
    return objective, np.asarray(result.x, dtype=np.float64)


def _last_evaluation(objective, params):
    """The last evaluation at ``params``: the solver's, or made here (a loss
    whose rows are not declared independent is not evaluated by blocks)."""
    last = objective._last_at(params)
    if last is None:
        value, grad = objective.data_loss_gradient(params)
        last = _LastEvaluation(params.copy(), value, grad, objective.raw(params))
    return last


@pytest.mark.parametrize("name", list(CASES))
def test_penalty_probe_bound_never_contradicts_the_probe(small_blocks, name):
    objective, params = _fitted(name)
    if CASES[name][0].rows_independent:
        assert objective._last_at(params) is not None  # L-BFGS ended where it evaluated
    last = _last_evaluation(objective, params)
    assert objective._column_means is not None
    settled = diagnostics._stretch_cannot_help(objective, params, last)
    # the probe itself, from a fresh forward pass (no last evaluation)
    objective._last = None
    probe = diagnostics._stretch_helps(objective, params)
    if settled:
        assert not probe
    if name == "huber_dollars":
        assert probe and not settled
    if name == "poisson":
        assert settled  # the bound saves the probe on a well-posed fit


@pytest.mark.parametrize("name", list(CASES))
def test_penalty_probe_from_the_last_evaluation_equals_a_fresh_one(small_blocks, name):
    """The probe on the last evaluation's predictions equals the one-pass probe."""
    objective, params = _fitted(name)
    last = objective._last = _last_evaluation(objective, params)
    np.testing.assert_allclose(last.raw, objective.raw(params), rtol=1e-12, atol=1e-9)
    objective._column_means = None  # no bound: the probe runs on last.raw
    from_last = diagnostics._stretch_helps(objective, params)
    objective._last = None
    assert from_last == diagnostics._stretch_helps(objective, params)


def test_penalty_warning_still_fires_and_stays_quiet(small_blocks):
    X, y = _data()
    with pytest.warns(PenaltyDominatesWarning, match="flattens the fit of loss Huber"):
        LossRegressor(loss="huber", alpha=1e-2, solver="lbfgs").fit(X, 1e5 + 3e4 * y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PenaltyDominatesWarning)
        LossRegressor(loss="huber", solver="lbfgs").fit(X, y)


def _kernel_cases():
    rng = np.random.default_rng(7)
    n = 2000
    raw = np.concatenate([rng.normal(scale=3.0, size=n - 6),
                          [0.0, -40.0, 40.0, -700.0, 700.0, 1e-12]])
    weight = rng.uniform(0, 2, size=n)
    weight[:5] = 0.0
    weight /= weight.sum()
    counts = rng.poisson(2.0, size=n).astype(float)  # zeros included
    amounts = rng.gamma(2.0, 1.5, size=n)
    labels = rng.integers(0, 2, size=n)
    return {"poisson": (Poisson(), counts), "gamma": (Gamma(), amounts),
            "log_loss": (LogLoss(), labels)}, raw, weight


@pytest.mark.parametrize("name", ["poisson", "gamma", "log_loss"])
def test_weighted_kernel_equals_the_per_sample_loss(name):
    """Weighted total and gradient of a kernel equal ``loss_gradient``'s, block by block."""
    cases, raw, weight = _kernel_cases()
    loss, y = cases[name]
    kernel = loss._weighted_kernel(y, weight)
    with np.errstate(all="ignore"):
        per_sample, gradient = loss.loss_gradient(y, raw, weight)
    finite = np.isfinite(per_sample)
    total, grad = kernel.constant, np.empty_like(raw)
    kept = raw.copy()
    for start in range(0, raw.size, 300):
        rows = slice(start, start + 300)
        block_raw = raw[rows].copy() if not finite[rows].all() else raw[rows]
        with np.errstate(all="ignore"):
            value, grad[rows] = kernel(block_raw, rows)
        total += value
    np.testing.assert_array_equal(raw, kept)  # the raw predictions are kept
    with np.errstate(all="ignore"):
        # Rounding of w (mu - y) against w mu - w y where they cancel: a few
        # machine epsilons of the weighted terms, not of their difference.
        terms = weight * (1.0 + np.abs(np.asarray(y, dtype=float))) + np.abs(gradient)
        close = np.abs(grad - gradient) <= 1e-13 * np.abs(gradient) + 1e-15 * terms
        assert np.all(close | (grad == gradient))
    if finite.all():
        assert total == pytest.approx(float(per_sample.sum()), rel=1e-12)
    else:  # overflow where the loss overflows
        assert not np.isfinite(total)
    # on moderate raw predictions, an exact match of the value
    moderate = np.clip(raw, -30, 30)
    with np.errstate(all="ignore"):
        expected = float(loss.loss_gradient(y, moderate, weight)[0].sum())
    value, _ = kernel(moderate, slice(None))
    assert value + kernel.constant == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", ["poisson", "gamma", "log_loss"])
@pytest.mark.parametrize("value", [-3.0, 0.0, 0.7, 40.0])
def test_weighted_kernel_at_a_constant_equals_the_per_sample_loss(name, value):
    """A fit's start (every raw prediction equal): the kernel's shortcut there."""
    cases, raw, weight = _kernel_cases()
    loss, y = cases[name]
    kernel = loss._weighted_kernel(y, weight)
    constant = np.full(raw.size, value)
    per_sample, gradient = loss.loss_gradient(y, constant, weight)
    total, grad = kernel.at_constant(value, raw.size, 300)
    assert total == pytest.approx(float(per_sample.sum()), rel=1e-12)
    np.testing.assert_allclose(grad, gradient, rtol=1e-13, atol=1e-15 * np.abs(gradient).max())


@pytest.mark.parametrize("name", ["poisson", "gamma", "log_loss"])
def test_blocked_evaluation_with_a_kernel_equals_the_whole_one(small_blocks, name):
    cases, _, _ = _kernel_cases()
    loss, y = cases[name]
    X = np.random.default_rng(8).normal(size=(y.size, P))
    weight = np.random.default_rng(9).uniform(0, 3, size=y.size)
    made = [Objective(loss, LinearModel(P, 1), L2(1e-3), X, y, sample_weight=weight)
            for _ in range(2)]
    made[1]._block_rows = None
    assert made[0]._block_rows is not None and made[0]._kernel() is not None
    params = np.random.default_rng(10).normal(size=P + 1) * 0.3
    (value, grad), (value_whole, grad_whole) = (m.smooth_value_gradient(params) for m in made)
    assert value == pytest.approx(value_whole, rel=1e-12)
    np.testing.assert_allclose(grad, grad_whole, rtol=1e-11, atol=1e-14)
    # float32 keeps the general path
    assert Objective(loss, LinearModel(P, 1, dtype=np.float32), L2(1e-3),
                     X.astype(np.float32), y)._kernel() is None


@pytest.mark.parametrize("name", ["poisson", "gamma", "log_loss"])
def test_weighted_kernel_hessian_equals_the_loss_hessian(name):
    cases, raw, weight = _kernel_cases()
    loss, y = cases[name]
    raw = np.clip(raw, -30, 30)
    kernel = loss._weighted_kernel(y, weight)
    _, hessian = loss.gradient_hessian(y, raw, weight)
    expected = hessian.entry(0, 0)
    if name == "gamma":
        # 2 w y / mu from its formula: the loss's 2 w (expm1(t) + 1) rounds
        # where y / mu is tiny; the two agree to 1e-13 elsewhere.
        formula = 2 * weight * y * np.exp(-raw)
        moderate = np.abs(np.log(y) - raw) < 5
        np.testing.assert_allclose(expected[moderate], formula[moderate], rtol=1e-13)
        expected = formula
    np.testing.assert_allclose(kernel.hessian_diagonal(raw), expected, rtol=1e-13, atol=0)

"""The joint location-shift quantile fit through reduced pair programs (globbing).

References are independent of the reduced programs: scipy's HiGHS on the
full joint linear program, and the unreduced interior point at a tight tol.
Each test checks that the reduced path ran (and certified the fit, or gave
up so that the full program was solved) through a spy on its ``solve``.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from numpy.testing import assert_allclose
from scipy.optimize import linprog
from sklearn.metrics import mean_pinball_loss

from sklosses import LossRegressor
from sklosses.losses import Quantile
from sklosses.penalties import NoPenalty
from sklosses.solvers import _joint_globbing
from sklosses.solvers._joint_quantile import _JointProblem, ordered_offsets

LEVELS = [0.1, 0.3, 0.5, 0.7, 0.9]


def _data(n, p, seed, *, shift=0.5, heteroscedastic=0.5):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p)
    X[:, 0] *= 10.0  # unequal column scales
    noise = (1 + heteroscedastic * np.abs(X[:, 0] / 10)) * rng.standard_t(3, size=n)
    return X, X @ rng.randn(p) + shift + noise


def _objective(reg, X, y, w, alpha=0.0, l1_ratio=0.0):
    """The estimator's objective: mean over levels of the weighted mean pinball, plus penalty."""
    P = X @ reg.coef_.T + reg.intercept_
    data = np.mean(
        [
            mean_pinball_loss(y, P[:, k], alpha=q, sample_weight=w)
            for k, q in enumerate(reg.loss.quantiles_)
        ]
    )
    coef = reg.coef_[0]
    return (
        data + alpha * l1_ratio * np.abs(coef).sum() + 0.5 * alpha * (1 - l1_ratio) * coef @ coef
    )


def _highs_optimum(X, y, w, levels, *, fit_intercept, l1=0.0):
    """HiGHS on the joint LP (offsets free, or b_1 = 0 <= b_k without intercept)."""
    n, p = X.shape
    K = len(levels)
    w = np.ones(n) if w is None else np.asarray(w, float)
    share = np.tile(w / w.sum() / K, K)
    q = np.repeat(levels, n)
    rows = sp.vstack([sp.csr_matrix(X)] * K)
    A_eq = sp.hstack(
        [rows, -rows, sp.kron(sp.eye(K), np.ones((n, 1))), sp.eye(n * K), -sp.eye(n * K)]
    ).tocsr()
    c = np.concatenate([np.full(2 * p, l1), np.zeros(K), share * q, share * (1 - q)])
    b_bounds = [(None, None)] * K if fit_intercept else [(0, 0)] + [(0, None)] * (K - 1)
    bounds = [(0, None)] * (2 * p) + b_bounds + [(0, None)] * (2 * n * K)
    res = linprog(c, A_eq=A_eq, b_eq=np.tile(y, K), bounds=bounds, method="highs")
    assert res.status == 0
    return res.fun


@pytest.fixture
def spy(monkeypatch):
    """Records each reduced-path solve: its history and whether it certified the fit."""
    calls = []
    solve = _joint_globbing.JointGlobbedFit.solve

    def recording(self, *args, **kwargs):
        fit = solve(self, *args, **kwargs)
        calls.append({"certified": fit is not None, "history": list(self.history), "fit": fit})
        return fit

    monkeypatch.setattr(_joint_globbing.JointGlobbedFit, "solve", recording)
    return calls


@pytest.fixture
def low_threshold(monkeypatch):
    """The reduced path on small data, so that HiGHS stays quick."""
    monkeypatch.setattr(_joint_globbing, "MIN_ROWS", 500)


def _unreduced(monkeypatch, X, y, w=None, **kwargs):
    """The estimator fitted by the full joint program only."""
    with monkeypatch.context() as m:
        m.setattr(_joint_globbing, "MIN_ROWS", 10**12)
        return LossRegressor(**kwargs).fit(X, y, sample_weight=w)


def test_above_the_threshold_the_reduced_fit_is_the_highs_optimum(spy):
    X, y = _data(2500, 4, seed=0)
    reg = LossRegressor(loss=Quantile(LEVELS), alpha=0.0).fit(X, y)
    assert len(spy) == 1 and spy[0]["certified"]
    assert spy[0]["history"][-1]["kept"] < 0.25 * len(y) * len(LEVELS)
    best = _highs_optimum(X, y, None, LEVELS, fit_intercept=True)
    value = _objective(reg, X, y, None)
    assert best <= value <= best * (1 + 1e-6)
    assert (value - best) / value <= reg.duality_gap_ + 1e-12


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_reduced_fit_equals_highs_and_the_unreduced_program(
    low_threshold, spy, monkeypatch, fit_intercept, weighted
):
    X, y = _data(900, 3, seed=1, shift=3.0 if not fit_intercept else 0.5)
    w = np.random.RandomState(2).randint(1, 4, size=len(y)) if weighted else None
    kwargs = dict(loss=Quantile(LEVELS), alpha=0.0, fit_intercept=fit_intercept, tol=1e-8)
    reg = LossRegressor(**kwargs).fit(X, y, sample_weight=w)
    assert spy and spy[-1]["certified"]
    best = _highs_optimum(X, y, w, LEVELS, fit_intercept=fit_intercept)
    value = _objective(reg, X, y, w)
    assert_allclose(value, best, rtol=1e-7)
    n_calls = len(spy)
    full = _unreduced(monkeypatch, X, y, w, **kwargs)
    assert len(spy) == n_calls  # the reference did not take the reduced path
    assert_allclose(value, _objective(full, X, y, w), rtol=1e-7)
    scale = np.abs(full.coef_).max()
    assert_allclose(reg.coef_, full.coef_, atol=1e-4 * scale)
    assert_allclose(reg.intercept_, full.intercept_, atol=1e-4 * np.abs(y).max())


def test_without_intercept_the_ordering_bound_is_kept(low_threshold, spy):
    # The lowest offset is 0 and the others are bounded by it: with a target
    # well below the lines, several offsets sit at that bound.
    X, y = _data(900, 3, seed=3, shift=-2.0)
    reg = LossRegressor(loss=Quantile(LEVELS), alpha=0.0, fit_intercept=False, tol=1e-8).fit(X, y)
    assert spy[-1]["certified"]
    assert np.all(np.diff(reg.intercept_) >= 0) and reg.intercept_[0] == 0
    assert_allclose(
        _objective(reg, X, y, None),
        _highs_optimum(X, y, None, LEVELS, fit_intercept=False),
        rtol=1e-7,
    )


def test_l1_penalty_equals_highs(low_threshold, spy):
    X, y = _data(900, 5, seed=4)
    alpha = 0.02
    reg = LossRegressor(loss=Quantile(LEVELS), alpha=alpha, l1_ratio=1.0, tol=1e-8).fit(X, y)
    assert spy[-1]["certified"]
    best = _highs_optimum(X, y, None, LEVELS, fit_intercept=True, l1=alpha)
    value = _objective(reg, X, y, None, alpha, 1.0)
    assert_allclose(value, best, rtol=1e-7)
    assert (value - best) / value <= reg.duality_gap_ + 1e-12


@pytest.mark.parametrize("l1_ratio", [0.0, 0.5])
def test_l2_and_elastic_net_equal_the_unreduced_program(low_threshold, spy, monkeypatch, l1_ratio):
    X, y = _data(1500, 6, seed=5)
    kwargs = dict(loss=Quantile(LEVELS), alpha=0.05, l1_ratio=l1_ratio)
    reg = LossRegressor(**kwargs).fit(X, y)
    assert spy[-1]["certified"]
    reference = _unreduced(monkeypatch, X, y, **kwargs, tol=1e-11)
    best = _objective(reference, X, y, None, 0.05, l1_ratio)
    value = _objective(reg, X, y, None, 0.05, l1_ratio)
    assert best * (1 - 1e-10) <= value <= best * (1 + 1e-6)
    assert (value - best) / value <= reg.duality_gap_ + 1e-12


def _bad_pilot(monkeypatch, factor):
    """A pilot whose slope is ``factor`` times the middle level's loose fit."""
    pilot = _joint_globbing.JointGlobbedFit.pilot

    def bad(self, *args):
        return factor * pilot(self, *args)

    monkeypatch.setattr(_joint_globbing.JointGlobbedFit, "pilot", bad)


def test_a_bad_pilot_is_repaired_by_the_fix_up_loop(low_threshold, spy, monkeypatch):
    X, y = _data(3000, 4, seed=6)
    best = _highs_optimum(X, y, None, LEVELS, fit_intercept=True)
    _bad_pilot(monkeypatch, 0.995)
    reg = LossRegressor(loss=Quantile(LEVELS), alpha=0.0, tol=1e-8).fit(X, y)
    history = spy[-1]["history"]
    # More than one reduced solve: wrongly globbed members were put back or
    # the band was widened before the fit was certified.
    assert len(history) >= 2 and history[0]["wrong"] > 0
    assert spy[-1]["certified"]
    assert_allclose(_objective(reg, X, y, None), best, rtol=1e-7)


def test_a_hopeless_pilot_falls_back_to_the_full_program(low_threshold, spy, monkeypatch):
    X, y = _data(3000, 4, seed=7)
    best = _highs_optimum(X, y, None, LEVELS, fit_intercept=True)
    _bad_pilot(monkeypatch, -1.0)
    reg = LossRegressor(loss=Quantile(LEVELS), alpha=0.0, tol=1e-8).fit(X, y)
    assert not spy[-1]["certified"]  # the loop gave up; the full program was solved
    assert reg.n_iter_ > sum(entry["n_iter"] for entry in spy[-1]["history"])
    assert_allclose(_objective(reg, X, y, None), best, rtol=1e-7)
    assert reg.duality_gap_ <= 1e-8


@pytest.mark.parametrize("seed", range(4))
def test_the_certificate_never_under_reports_the_gap(low_threshold, spy, seed):
    # Loose tol, narrow bands: the reduced fits stop early, often with members
    # on the wrong side; the certified gap must still bound the true one.
    X, y = _data(1200, 3, seed=10 + seed)
    best = _highs_optimum(X, y, None, LEVELS, fit_intercept=True)
    for tol in (1e-3, 1e-5):
        reg = LossRegressor(loss=Quantile(LEVELS), alpha=0.0, tol=tol).fit(X, y)
        value = _objective(reg, X, y, None)
        assert spy[-1]["certified"]
        assert value >= best * (1 - 1e-12)
        assert (value - best) / value <= reg.duality_gap_ + 1e-12 <= tol + 1e-12


def test_full_certificate_of_a_reduced_dual_point_bounds_the_optimum():
    # Direct check of the construction: a reduced dual point spread to the
    # members of its globs is a feasible dual point of the full program.
    X, y = _data(2000, 3, seed=20)
    w = np.full(len(y), 1 / len(y))
    levels = np.array(LEVELS)
    full = _JointProblem(X, y, w, levels, NoPenalty(), fit_intercept=True)
    fit = _joint_globbing.JointGlobbedFit(
        X, y, w, levels, NoPenalty(), fit_intercept=True, band_share=0.02
    )
    result = fit.solve(full, np.zeros(3), np.zeros(len(levels)), 1e-3, 100)
    best = _highs_optimum(X, y, None, LEVELS, fit_intercept=True)
    assert result is not None
    assert result.dual <= best * (1 + 1e-12) <= result.primal * (1 + 1e-12)
    residual = y - X @ result.beta[:3]
    assert_allclose(result.beta[3:], ordered_offsets(residual, w, levels, fit_intercept=True))


def test_sparse_and_small_data_take_the_full_program(spy):
    X, y = _data(2500, 4, seed=8)
    LossRegressor(loss=Quantile(LEVELS), alpha=0.0).fit(sp.csr_matrix(X), y)
    LossRegressor(loss=Quantile(LEVELS), alpha=0.0).fit(X[:1000], y[:1000])
    assert not spy
    # Too many columns for the rows: the band would exceed its limit.
    assert not _joint_globbing.applies(np.zeros((2500, 120)), True)

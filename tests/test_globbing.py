"""Portnoy-Koenker preprocessing of large exact fits (``solvers/_globbing.py``).

References: HiGHS (``scipy.optimize.linprog``) on the epigraph LP of the
full problem, and the exact solver without preprocessing at tol=1e-10. Every
fit is judged by its full objective, computed here from the estimator's own
loss; the reported (certified) gap must bound the true relative error.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog
from sklearn.exceptions import ConvergenceWarning

from sklosses import LossRegressor
from sklosses.losses import Quantile
from sklosses.solvers import _globbing

N = 20_000


@pytest.fixture
def record_globbing(monkeypatch):
    """Lower the crossover to the tests' size and record what each globbed solve returned."""
    monkeypatch.setattr(_globbing, "MIN_ROWS", 1_000)
    outcomes = []
    solve = _globbing.GlobbedFit.solve

    def recording(self, *args, **kwargs):
        fit = solve(self, *args, **kwargs)
        outcomes.append(fit is not None)
        return fit

    monkeypatch.setattr(_globbing.GlobbedFit, "solve", recording)
    return outcomes


def _data(seed=0, n=N, p=5, noise="t"):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    scale = 1 + 0.5 * np.abs(X[:, 0])
    e = rng.standard_t(3, size=n) if noise == "t" else rng.standard_cauchy(size=n)
    return X, X @ rng.normal(size=p) + scale * e


def objective(est, X, y, sw):
    raw = X @ np.asarray(est.coef_).T + est.intercept_
    coef = np.ravel(est.coef_)
    value = est.loss_(y, raw, sample_weight=sw)
    return value + est.alpha * (est.l1_ratio * np.abs(coef).sum()
                                + 0.5 * (1 - est.l1_ratio) * coef @ coef)


def linprog_objective(X, y, sw, q, l1, fit_intercept):
    """Optimum of the (L1-penalised) quantile LP by HiGHS, sparse epigraph form.

    Variables ``[beta (p), b, a (p), u (n), v (n)]``: ``X beta + b + u - v = y``,
    ``-a <= beta <= a``, cost ``sum w (q u + (1 - q) v) + l1 sum a``.
    """
    n, p = X.shape
    w = sw / sw.sum()
    eye = sp.identity(n, format="csr")
    ones = np.ones((n, 1)) if fit_intercept else np.zeros((n, 1))
    A_eq = sp.hstack([sp.csr_matrix(X), sp.csr_matrix(ones), sp.csr_matrix((n, p)), eye,
                      -eye]).tocsr()
    eye_p = sp.identity(p, format="csr")
    A_ub = sp.vstack([sp.hstack([eye_p, sp.csr_matrix((p, 1)), -eye_p, sp.csr_matrix((p, 2 * n))]),
                      sp.hstack([-eye_p, sp.csr_matrix((p, 1)), -eye_p,
                                 sp.csr_matrix((p, 2 * n))])]).tocsr()
    cost = np.concatenate([np.zeros(p + 1), np.full(p, l1), q * w, (1 - q) * w])
    bounds = [(None, None)] * (p + 1) + [(0, None)] * (p + 2 * n)
    # The interior point with crossover: a vertex, ten times faster than simplex here.
    res = linprog(cost, A_ub=A_ub, b_ub=np.zeros(2 * p), A_eq=A_eq, b_eq=y, bounds=bounds,
                  method="highs-ipm")
    assert res.status == 0, res.message
    return res.fun


def _check(est, X, y, sw, reference):
    j_ours = objective(est, X, y, sw)
    assert j_ours <= reference * (1 + est.tol) + 1e-12
    true_gap = (j_ours - min(reference, j_ours)) / j_ours
    # The certified gap is of the full problem and bounds the true error.
    assert est.duality_gap_ >= true_gap - 1e-9
    assert est.duality_gap_ <= est.tol
    return j_ours


@pytest.mark.parametrize("q, l1, fit_intercept, weighted, tol", [
    (0.5, 0.0, True, False, 1e-4),
    (0.2, 0.0, True, True, 1e-8),
    (0.9, 0.0, False, True, 1e-4),
    (0.3, 0.01, True, True, 1e-8),
])
def test_matches_linprog(record_globbing, q, l1, fit_intercept, weighted, tol):
    X, y = _data(seed=int(100 * q))
    sw = np.random.default_rng(1).uniform(0.2, 2.0, size=N) if weighted else np.ones(N)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = LossRegressor(loss=Quantile(q), alpha=l1, l1_ratio=1.0, solver="exact",
                            fit_intercept=fit_intercept, tol=tol).fit(X, y, sample_weight=sw)
    assert record_globbing == [True]  # the reduced programs certified the fit
    _check(est, X, y, sw, linprog_objective(X, y, sw, q, l1, fit_intercept))


@pytest.mark.parametrize("loss, alpha, l1_ratio", [
    (Quantile(0.7), 0.01, 0.0),
    ("absolute_error", 0.02, 0.5),
])
def test_l2_and_absolute_match_the_direct_fit(record_globbing, monkeypatch, loss, alpha,
                                              l1_ratio):
    X, y = _data(seed=3, p=8)
    sw = np.random.default_rng(2).uniform(0.2, 2.0, size=N)
    kwargs = dict(loss=loss, alpha=alpha, l1_ratio=l1_ratio, solver="exact")
    est = LossRegressor(**kwargs).fit(X, y, sample_weight=sw)
    assert record_globbing == [True]
    monkeypatch.setattr(_globbing, "MIN_ROWS", 10**9)
    direct = LossRegressor(tol=1e-10, **kwargs).fit(X, y, sample_weight=sw)
    assert record_globbing == [True]  # the direct fit did not preprocess
    _check(est, X, y, sw, objective(direct, X, y, sw))


@pytest.mark.parametrize("case", ["ties", "cauchy", "leverage"])
def test_adversarial_data_stays_exact(record_globbing, case):
    """Whatever path the loop takes, the fit is the full optimum within tol."""
    rng = np.random.default_rng(7)
    if case == "ties":  # discrete features and targets: most residuals tie
        X = rng.integers(0, 3, size=(N, 4)).astype(float)
        y = np.round(X @ [1.0, -1.0, 0.5, 0.0] + rng.integers(-2, 3, size=N))
    elif case == "cauchy":
        X, y = _data(seed=8, noise="cauchy")
    else:  # a few high-leverage rows that a subsample misses
        X, y = _data(seed=9)
        X[:20] *= 300.0
        y[:20] = -y[:20] * 300.0
    sw = np.ones(N)
    est = LossRegressor(loss=Quantile(0.4), alpha=0.0, solver="exact").fit(X, y)
    if case == "leverage":
        # The band, by rank of the residual, ignores leverage: the rows that
        # decide the fit are globbed, the loop gives up, the full fit runs.
        assert record_globbing == [False]
    else:
        assert len(record_globbing) == 1
    _check(est, X, y, sw, linprog_objective(X, y, sw, 0.4, 0.0, True))


def test_failed_preprocessing_falls_back(record_globbing, monkeypatch):
    """A band too narrow to hold the optimum: the loop gives up, the full fit is certified."""
    monkeypatch.setattr(_globbing, "BAND_FACTOR", 1e-3)
    X, y = _data(seed=11)
    sw = np.ones(N)
    est = LossRegressor(loss=Quantile(0.5), alpha=0.0, solver="exact").fit(X, y)
    assert record_globbing == [False]
    _check(est, X, y, sw, linprog_objective(X, y, sw, 0.5, 0.0, True))


def test_wrong_globs_are_not_certified(monkeypatch):
    """The full-problem gap detects members globbed on the wrong side."""
    from sklosses.penalties import ElasticNet  # noqa: PLC0415
    from sklosses.solvers._exact import _OutputProblem, _ScaledDesign  # noqa: PLC0415

    X, y = _data(seed=12, n=4000)
    w = np.full(y.shape[0], 1.0 / y.shape[0])
    form = Quantile(0.5).piecewise_linear(y)
    penalty = ElasticNet(0.0, 0.0)

    def make_problem(X_part, part_form, part_weight):
        return _OutputProblem(_ScaledDesign(X_part, part_weight, fit_intercept=True),
                              part_form, part_weight, penalty)

    globbed = _globbing.GlobbedFit(X, form, w, fit_intercept=True,
                                   make_problem=make_problem)
    full = make_problem(X, form, w)
    direct = full.solve(np.zeros(X.shape[1] + 1), 1e-10, 100)
    t = globbed.arguments(direct.beta)
    right_below, right_above = t < -0.5, t > 0.5
    # Correct globs: the reduced fit certifies the full problem.
    fit = globbed._solve_reduced(right_below, right_above, 10.0, direct.beta, 1e-8, 100, 1.0)
    assert globbed._full_gap(fit, right_below, right_above, full)[0] <= 1e-8
    # Swap a tenth of the above members into the below glob: not certified.
    moved = right_above & (np.arange(t.size) % 10 == 0)
    fit = globbed._solve_reduced(right_below | moved, right_above & ~moved, 10.0,
                                 direct.beta, 1e-8, 100, 1.0)
    assert globbed._full_gap(fit, right_below | moved, right_above & ~moved, full)[0] > 1e-4


def test_l1_zeros_and_outputs_match_the_direct_fit(record_globbing, monkeypatch):
    """Exact zeros of a strong L1 penalty, and two outputs (each preprocessed)."""
    X, y = _data(seed=13, p=8)
    y = y - X[:, 3:] @ np.linalg.lstsq(X[:, 3:], y, rcond=None)[0]  # 3 informative columns
    Y = np.column_stack([y, 2 * y - X[:, 0]])
    kwargs = dict(loss=Quantile(0.6), alpha=0.02, l1_ratio=1.0, solver="exact")
    one = LossRegressor(**kwargs).fit(X, y)
    two = LossRegressor(**kwargs).fit(X, Y)
    assert record_globbing == [True, True, True]
    monkeypatch.setattr(_globbing, "MIN_ROWS", 10**9)
    one_direct = LossRegressor(tol=1e-10, **kwargs).fit(X, y)
    two_direct = LossRegressor(tol=1e-10, **kwargs).fit(X, Y)
    assert len(record_globbing) == 3
    np.testing.assert_array_equal(one.coef_ == 0, one_direct.coef_ == 0)
    assert np.count_nonzero(one.coef_) < X.shape[1]
    _check(one, X, y, np.ones(N), objective(one_direct, X, y, np.ones(N)))
    j_two = objective(two, X, Y, np.ones(N))
    j_ref = objective(two_direct, X, Y, np.ones(N))
    assert j_ref <= j_two <= j_ref * (1 + two.tol)
    assert two.duality_gap_ >= (j_two - j_ref) / j_two - 1e-9

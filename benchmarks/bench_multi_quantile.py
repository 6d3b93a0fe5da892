"""Joint multi-level quantile fits against single-level and scikit-learn fits.

Part 1: a 9-level joint linear fit (non-crossing location-shift model, and the
free-slope ``noncrossing="sort"`` model) against one single-level sklosses fit,
n = 50 000, p = 50, alternating in one process over several rounds. The
default solver ("auto": the exact interior point) and, for comparison, L-BFGS
on the smoothed loss.
Part 2 (n = 5 000): the free-slope joint fit against nine
``QuantileRegressor(solver="highs")`` fits of the same objective (alpha = 0),
with each level's relative gap in the pinball objective; and the
location-shift joint fit against HiGHS on the same joint LP (scipy's
``linprog``), with the relative gap in the joint objective. Judge:
``mean_pinball_loss`` on the training rows, per level.

Run with OPENBLAS_NUM_THREADS=1 (``--rounds`` for part 1, ``--part 1`` or
``--part 2`` for one part).
"""

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import QuantileRegressor
from sklearn.metrics import mean_pinball_loss

from sklosses import LossRegressor
from sklosses.losses import Quantile

LEVELS = [round(float(q), 2) for q in np.linspace(0.1, 0.9, 9)]


def data(n, p, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(n, p)
    y = X @ rng.randn(p) + (1 + 0.5 * np.abs(X[:, 0])) * rng.standard_t(3, size=n)
    return X, y


def timed(make, X, y):
    start = time.perf_counter()
    est = make().fit(X, y)
    return time.perf_counter() - start, est


def per_level_loss(P, y):
    return np.array([mean_pinball_loss(y, P[:, k], alpha=q) for k, q in enumerate(LEVELS)])


def part1(rounds=3):
    X, y = data(50_000, 50)
    makers = {
        "single level (q=0.5)": lambda: LossRegressor(loss=Quantile(0.5), alpha=0.0),
        "9 levels, monotone": lambda: LossRegressor(loss=Quantile(LEVELS), alpha=0.0),
        "9 levels, sort": lambda: LossRegressor(
            loss=Quantile(LEVELS, noncrossing="sort"), alpha=0.0),
        "9 levels, monotone, lbfgs": lambda: LossRegressor(
            loss=Quantile(LEVELS), alpha=0.0, solver="lbfgs"),
        "9 levels, sort, exact": lambda: LossRegressor(
            loss=Quantile(LEVELS, noncrossing="sort"), alpha=0.0, solver="exact"),
    }
    times = {name: [] for name in makers}
    fitted = {}
    for _ in range(rounds):
        for name, make in makers.items():
            t, fitted[name] = timed(make, X, y)
            times[name].append(t)
    base = np.median(times["single level (q=0.5)"])
    print("Part 1: n=50000, p=50")
    for name, ts in times.items():
        ratio = np.median(ts) / base
        gap = getattr(fitted[name], "duality_gap_", float("nan"))
        print(f"  {name:26s} median {np.median(ts):6.2f} s  ratio to single {ratio:5.2f}"
              f"  certified gap {gap:.1e}")
    reference = LossRegressor(loss=Quantile(LEVELS), alpha=0.0, solver="exact",
                              tol=1e-10).fit(X, y)
    best = per_level_loss(reference.predict(X), y).mean()
    for name in ("9 levels, monotone", "9 levels, monotone, lbfgs"):
        value = per_level_loss(fitted[name].predict(X), y).mean()
        print(f"  {name}: relative gap to the tol=1e-10 exact joint fit "
              f"{(value - best) / best:.1e}")
    mono = per_level_loss(fitted["9 levels, monotone"].predict(X), y)
    free = per_level_loss(fitted["9 levels, sort"].predict(X), y)
    print("  cost of non-crossing everywhere (monotone / free slopes, pinball per level):")
    print("  ", np.round(mono / free, 4))


def part2(n=5_000, p=50):
    X, y = data(n, p, seed=1)
    t_ours, ours = timed(lambda: LossRegressor(loss=Quantile(LEVELS, noncrossing="sort"),
                                               alpha=0.0, tol=1e-5), X, y)
    # the unsorted fitted functions: what each level's objective saw
    raw = X @ ours.coef_.T + ours.intercept_
    start = time.perf_counter()
    theirs = np.column_stack([
        QuantileRegressor(quantile=q, alpha=0.0, solver="highs").fit(X, y).predict(X)
        for q in LEVELS
    ])
    t_theirs = time.perf_counter() - start
    gap = (per_level_loss(raw, y) - per_level_loss(theirs, y)) / per_level_loss(theirs, y)
    print(f"Part 2: n={n}, p={p}: joint sort fit {t_ours:.2f} s, nine QuantileRegressor(highs) "
          f"{t_theirs:.2f} s, speed-up {t_theirs / t_ours:.1f}x")
    print("  relative gap per level:", np.array2string(gap, precision=1, separator=", "))
    t_exact, exact = timed(lambda: LossRegressor(loss=Quantile(LEVELS, noncrossing="sort"),
                                                 alpha=0.0, solver="exact"), X, y)
    raw = X @ exact.coef_.T + exact.intercept_
    gap = (per_level_loss(raw, y) - per_level_loss(theirs, y)) / per_level_loss(theirs, y)
    print(f"  sort fit by the exact solver {t_exact:.2f} s, speed-up {t_theirs / t_exact:.1f}x; "
          "relative gap per level:", np.array2string(gap, precision=1, separator=", "))
    t_ours, ours = timed(lambda: LossRegressor(loss=Quantile(LEVELS), alpha=0.0), X, y)
    value = per_level_loss(ours.predict(X), y).mean()
    start = time.perf_counter()
    reference = joint_lp_optimum(X, y)
    t_lp = time.perf_counter() - start
    print(f"  joint monotone fit {t_ours:.2f} s, HiGHS on the joint LP {t_lp:.2f} s; "
          f"relative gap {(value - reference) / reference:.1e} "
          f"(certified {ours.duality_gap_:.1e})")


def joint_lp_optimum(X, y):
    """HiGHS's optimum of the location-shift LP (mean over levels of the mean pinball)."""
    n, p = X.shape
    K = len(LEVELS)
    q = np.repeat(np.asarray(LEVELS), n)
    # variables: w (p, free), b (K, free), u (n K) >= 0, v (n K) >= 0;
    # rows (k, i): x_i w + b_k + u_ik - v_ik = y_i
    A = sp.hstack([sp.vstack([sp.csr_matrix(X)] * K), sp.kron(sp.eye(K), np.ones((n, 1))),
                   sp.eye(n * K), -sp.eye(n * K)]).tocsr()
    c = np.concatenate([np.zeros(p + K), q, 1 - q]) / (n * K)
    bounds = [(None, None)] * (p + K) + [(0, None)] * (2 * n * K)
    res = linprog(c, A_eq=A, b_eq=np.tile(y, K), bounds=bounds, method="highs")
    return res.fun


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part", type=int, choices=(1, 2))
    args = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    if args.part in (None, 1):
        part1(args.rounds)
    if args.part in (None, 2):
        part2()

"""Quantile regression with L1: LossRegressor against QuantileRegressor(highs).

Both minimise the same objective,

    J(w, b) = mean_i pinball_q(y_i - x_i @ w - b) + alpha * ||w||_1,

QuantileRegressor's with the same ``alpha`` and ours with ``l1_ratio=1``.
HiGHS solves the linear program exactly; ours runs L-BFGS on a continuation
of Nesterov-smoothed pinball losses (``solver="auto"``) at its default
``tol=1e-4``, which promises J within 1e-4 relative of the optimum. Both fits
are judged by ``objective`` below, timed alternately in one process,
single-threaded (threadpoolctl). HiGHS takes minutes per fit here, so the
default is 3 rounds rather than 5.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_quantile_l1.py [--rounds 3]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.linear_model import QuantileRegressor
from threadpoolctl import threadpool_limits

from sklosses import LossRegressor
from sklosses.losses import Quantile

N_SAMPLES, N_FEATURES, QUANTILE, ALPHA = 50_000, 50, 0.9, 0.01
TARGET = 1e-4  # relative objective accuracy asked from ours


def objective(X, y, coef, intercept):
    """Mean pinball loss plus alpha ||w||_1, evaluated independently of both fits."""
    r = y - X @ np.ravel(coef) - float(intercept)
    pinball = np.maximum(QUANTILE * r, (QUANTILE - 1) * r)
    return float(pinball.mean() + ALPHA * np.abs(coef).sum())


def make_data():
    """Ten informative features, heteroscedastic heavy-tailed (Student t3) noise."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N_SAMPLES, N_FEATURES))
    coef = np.zeros(N_FEATURES)
    coef[:10] = rng.uniform(-2, 2, size=10)
    noise = (1 + 0.5 * np.abs(X[:, 0])) * rng.standard_t(3, size=N_SAMPLES)
    return X, X @ coef + noise


def fit_ours(X, y, solver="auto"):
    return LossRegressor(loss=Quantile(QUANTILE), alpha=ALPHA, l1_ratio=1,
                         solver=solver, max_iter=10_000).fit(X, y)


def fit_sklearn(X, y):
    return QuantileRegressor(quantile=QUANTILE, alpha=ALPHA, solver="highs").fit(X, y)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = make_data()
    print(f"n={N_SAMPLES}, p={N_FEATURES}, quantile={QUANTILE}, alpha={ALPHA}, "
          f"rounds={args.rounds}, single thread (threadpool_limits(1))")
    fitters = {"sklosses": fit_ours, "scikit-learn highs": fit_sklearn}
    times = {name: [] for name in fitters}
    fits = {}
    with threadpool_limits(limits=1):
        for _ in range(args.rounds):
            for name, fit in fitters.items():
                start = time.perf_counter()
                fits[name] = fit(X, y)
                times[name].append(time.perf_counter() - start)
    values = {name: objective(X, y, f.coef_, f.intercept_) for name, f in fits.items()}
    exact = values["scikit-learn highs"]
    for name, fit in fits.items():
        print(f"  {name:18s} median {statistics.median(times[name]):8.3f} s (rounds: "
              f"{', '.join(f'{t:.2f}' for t in times[name])})  J = {values[name]:.10f}  "
              f"nnz = {np.count_nonzero(fit.coef_)}")
    rel = (values["sklosses"] - exact) / exact
    speedup = statistics.median(times["scikit-learn highs"]) / statistics.median(
        times["sklosses"])
    print(f"  (J_sklosses - J_highs) / J_highs = {rel:+.1e} (target <= {TARGET:g}); "
          f"sklosses is {speedup:.0f}x faster; n_iter = {fits['sklosses'].n_iter_}")
    # The "auto" rule picks L-BFGS (split) inside the smoothing; FISTA for the record.
    with threadpool_limits(limits=1):
        for solver in ("lbfgs", "proximal"):
            start = time.perf_counter()
            fit = fit_ours(X, y, solver=solver)
            value = objective(X, y, fit.coef_, fit.intercept_)
            print(f"  solver={solver!r}: {time.perf_counter() - start:.2f} s, "
                  f"(J - J_highs) / J_highs = {(value - exact) / exact:+.1e} (one run)")


if __name__ == "__main__":
    main()

"""L1 logistic regression: LossClassifier against LogisticRegression(saga).

Both minimise the same objective,

    J(w, b) = mean_i log_loss(y_i, x_i @ w + b) + alpha * ||w||_1,

which is LogisticRegression's (C * sum log_loss + ||w||_1) divided by n * C,
with C = 1 / (n * alpha) and l1_ratio=1. Every fit is judged by ``objective``
below. The reference optimum J* is the lowest J of two very tight fits (ours
with tol=1e-10, saga with tol=1e-8). Each side's ``tol`` is then chosen
the same way: the loosest of 1e-1, 1e-2, ... whose fit lands within 1e-6
relative of J*; that is the accuracy target, and neither side is asked for
more. The two fits are then timed alternately in one process, several
rounds, single-threaded (threadpoolctl) and with the default BLAS threads.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_l1_logistic.py [--rounds 5]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklosses import LossClassifier

N_SAMPLES, N_FEATURES, ALPHA = 50_000, 500, 1e-3
TARGET = 1e-6  # relative objective accuracy asked from both fits
TOLS = [1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8]


def objective(X, y, coef, intercept):
    """Mean log-loss plus alpha ||w||_1, evaluated independently of both fits."""
    coef = np.ravel(coef)
    z = X @ coef + np.ravel(intercept)[0]
    log_loss = np.logaddexp(0, z) - y * z
    return float(log_loss.mean() + ALPHA * np.abs(coef).sum())


def make_data():
    X, y = make_classification(
        n_samples=N_SAMPLES, n_features=N_FEATURES, n_informative=50,
        flip_y=0.05, class_sep=0.8, random_state=0,
    )
    return StandardScaler().fit_transform(X), y


def fit_ours(X, y, tol, solver="auto"):
    return LossClassifier(alpha=ALPHA, l1_ratio=1, solver=solver, tol=tol,
                          max_iter=10_000).fit(X, y)


def fit_sklearn(X, y, tol):
    C = 1.0 / (X.shape[0] * ALPHA)
    return LogisticRegression(C=C, l1_ratio=1, solver="saga", tol=tol,
                              max_iter=10_000, random_state=0).fit(X, y)


def judged(fit, X, y):
    return objective(X, y, fit.coef_, fit.intercept_)


def loosest_tol(fit, X, y, best):
    """The loosest tol whose fit is within TARGET of ``best`` (and that fit's J)."""
    for tol in TOLS:
        value = judged(fit(X, y, tol), X, y)
        if value - best <= TARGET * abs(best):
            return tol, value
    raise RuntimeError("no tol reached the target")


def run(X, y, tols, rounds):
    fitters = {"sklosses": fit_ours, "scikit-learn saga": fit_sklearn}
    times = {name: [] for name in fitters}
    fits = {}
    for _ in range(rounds):
        for name, fit in fitters.items():
            start = time.perf_counter()
            fits[name] = fit(X, y, tols[name])
            times[name].append(time.perf_counter() - start)
    return times, fits


def report(label, times, fits, X, y, best):
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"[{label}]")
    for name, fit in fits.items():
        value = judged(fit, X, y)
        print(f"  {name:18s} median {medians[name]:7.3f} s (rounds: "
              f"{', '.join(f'{t:.2f}' for t in times[name])})  J = {value:.12f}  "
              f"(J - J*)/J* = {(value - best) / best:+.1e}  "
              f"nnz = {np.count_nonzero(fit.coef_)}  n_iter = {int(np.max(fit.n_iter_))}")
    ratio = medians["sklosses"] / medians["scikit-learn saga"]
    print(f"  time ratio sklosses / saga = {ratio:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = make_data()
    print(f"n={N_SAMPLES}, p={N_FEATURES}, alpha={ALPHA} (C={1 / (N_SAMPLES * ALPHA):g}), "
          f"target (J - J*)/J* <= {TARGET:g}, rounds={args.rounds}")
    with threadpool_limits(limits=1):
        best = min(judged(fit_ours(X, y, 1e-10), X, y),
                   judged(fit_sklearn(X, y, 1e-8), X, y))
        print(f"J* = {best:.12f}")
        tols = {}
        for name, fit in (("sklosses", fit_ours), ("scikit-learn saga", fit_sklearn)):
            tol, value = loosest_tol(fit, X, y, best)
            tols[name] = tol
            print(f"  {name}: loosest tol reaching the target = {tol:g} "
                  f"((J - J*)/J* = {(value - best) / best:+.1e})")
        # The "auto" rule picks L-BFGS (split) here; FISTA at the same tol for the record.
        for solver in ("lbfgs", "proximal"):
            start = time.perf_counter()
            fit = fit_ours(X, y, tols["sklosses"], solver=solver)
            print(f"  solver={solver!r}: {time.perf_counter() - start:.2f} s, "
                  f"(J - J*)/J* = {(judged(fit, X, y) - best) / best:+.1e} (one run)")
        times, fits = run(X, y, tols, args.rounds)
    report("single thread (threadpool_limits(1))", times, fits, X, y, best)
    times, fits = run(X, y, tols, args.rounds)
    report("default BLAS threads", times, fits, X, y, best)


if __name__ == "__main__":
    main()

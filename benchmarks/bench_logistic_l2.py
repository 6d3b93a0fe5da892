"""L2 logistic regression: LossClassifier against LogisticRegression(lbfgs).

Both minimise the same objective,

    J(w, b) = mean_i log_loss(y_i, x_i @ w + b) + alpha / 2 * ||w||^2,

which is LogisticRegression's with C = 1 / (n * alpha). The two fits are timed
alternately in one process on the same data, several rounds, and judged by
``objective`` below. Run once with the default BLAS threads and once on one
thread (threadpoolctl) as the machine is shared.

Usage: python benchmarks/bench_logistic_l2.py [--rounds 5]
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

N_SAMPLES, N_FEATURES, ALPHA, TOL = 100_000, 100, 1e-4, 1e-6


def objective(X, y, coef, intercept, alpha):
    """Mean log-loss plus alpha/2 ||w||^2, evaluated independently of both fits."""
    z = X @ coef.ravel() + intercept.ravel()[0]
    log_loss = np.logaddexp(0, z) - y * z
    return log_loss.mean() + 0.5 * alpha * coef.ravel() @ coef.ravel()


def make_data():
    X, y = make_classification(
        n_samples=N_SAMPLES, n_features=N_FEATURES, n_informative=60,
        flip_y=0.05, class_sep=0.8, random_state=0,
    )
    return StandardScaler().fit_transform(X), y


def fit_ours(X, y):
    return LossClassifier(loss="log_loss", alpha=ALPHA, tol=TOL, max_iter=1000).fit(X, y)


def fit_sklearn(X, y):
    C = 1.0 / (X.shape[0] * ALPHA)
    return LogisticRegression(C=C, solver="lbfgs", tol=TOL, max_iter=1000).fit(X, y)


def run(X, y, rounds):
    times = {"sklosses": [], "scikit-learn": []}
    fits = {}
    for _ in range(rounds):
        for name, fit in (("sklosses", fit_ours), ("scikit-learn", fit_sklearn)):
            start = time.perf_counter()
            fits[name] = fit(X, y)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, fits


def report(label, medians, fits, X, y):
    obj = {n: objective(X, y, f.coef_, f.intercept_, ALPHA) for n, f in fits.items()}
    rel = (obj["sklosses"] - obj["scikit-learn"]) / abs(obj["scikit-learn"])
    ratio = medians["sklosses"] / medians["scikit-learn"]
    print(f"[{label}]")
    for name in medians:
        print(f"  {name:13s} median fit {medians[name]:.3f} s   objective {obj[name]:.12f}"
              f"   n_iter {int(np.max(fits[name].n_iter_))}")
    print(f"  time ratio sklosses / scikit-learn = {ratio:.2f}x; "
          f"objective relative difference = {rel:+.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = make_data()
    print(f"n={N_SAMPLES}, p={N_FEATURES}, alpha={ALPHA}, tol={TOL}, rounds={args.rounds}")
    medians, fits = run(X, y, args.rounds)
    report("default BLAS threads", medians, fits, X, y)
    with threadpool_limits(limits=1):
        medians, fits = run(X, y, args.rounds)
    report("single thread", medians, fits, X, y)


if __name__ == "__main__":
    main()

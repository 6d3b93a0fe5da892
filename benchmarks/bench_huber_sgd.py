"""Huber regression: LossRegressor against SGDRegressor(loss="huber").

Both minimise the same objective. SGDRegressor's huber loss with
``epsilon=delta`` is ``r**2 / 2`` for ``|r| <= delta`` and
``delta * (|r| - delta / 2)`` beyond (scikit-learn's ``CyHuberLoss``), its L2
penalty is ``alpha * ||w||^2 / 2`` and its intercept is not penalised:

    J(w, b) = mean_i huber_delta(y_i - x_i @ w - b) + alpha / 2 * ||w||^2,

which is exactly sklosses' objective for ``Huber(delta)``, the same ``alpha``
and ``l1_ratio=0``. The data are ``make_regression`` with 5 % gross outliers.
Every fit is judged by ``objective`` below, written independently of both
libraries. Fits are timed alternately in one process, several rounds, with the
default BLAS threads and on one thread (threadpoolctl), as the machine is
shared.

sklosses runs three ways: solver "auto" (L-BFGS: Huber is smooth), and the
minibatch solvers "adam" and "sgd" with their defaults but a learning rate
suited to the data, to show where the minibatch loop stands.

Usage: python benchmarks/bench_huber_sgd.py [--rounds 5] [--no-minibatch]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor
from threadpoolctl import threadpool_limits

from sklosses import LossRegressor
from sklosses.losses import Huber

N_SAMPLES, N_FEATURES, DELTA, ALPHA = 100_000, 100, 1.0, 1e-4


def objective(X, y, coef, intercept):
    """Mean Huber loss plus alpha/2 ||w||^2, independent of both libraries."""
    r = np.abs(y - X @ np.ravel(coef) - float(np.ravel(intercept)[0]))
    loss = np.where(r <= DELTA, 0.5 * r**2, DELTA * (r - 0.5 * DELTA))
    return loss.mean() + 0.5 * ALPHA * np.ravel(coef) @ np.ravel(coef)


def make_data():
    X, y = make_regression(n_samples=N_SAMPLES, n_features=N_FEATURES, n_informative=50,
                           noise=1.0, random_state=0)
    y = y / y.std()
    rng = np.random.RandomState(1)
    outliers = rng.choice(N_SAMPLES, size=N_SAMPLES // 20, replace=False)
    y[outliers] += rng.choice([-1.0, 1.0], size=outliers.size) * rng.uniform(5, 20,
                                                                          outliers.size)
    return X, y


FITS = {
    "sklosses auto (lbfgs)": lambda: LossRegressor(Huber(delta=DELTA), alpha=ALPHA),
    "sklosses adam": lambda: LossRegressor(Huber(delta=DELTA), alpha=ALPHA, solver="adam",
                                           learning_rate=1e-2, random_state=0),
    "sklosses sgd": lambda: LossRegressor(Huber(delta=DELTA), alpha=ALPHA, solver="sgd",
                                          learning_rate=1e-3, random_state=0),
    "SGDRegressor": lambda: SGDRegressor(loss="huber", epsilon=DELTA, alpha=ALPHA,
                                         penalty="l2", random_state=0),
}


def run(X, y, names, rounds):
    times = {name: [] for name in names}
    fitted = {}
    for _ in range(rounds):
        for name in names:  # alternate the fits so drifts hit all alike
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                fitted[name] = FITS[name]().fit(X, y)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, fitted


def optimum(X, y):
    """J at a tight L-BFGS solution: the yardstick for every fit's gap."""
    est = LossRegressor(Huber(delta=DELTA), alpha=ALPHA, tol=1e-10, max_iter=10_000)
    est.fit(X, y)
    return objective(X, y, est.coef_, est.intercept_)


def report(label, medians, fitted, X, y, j_star):
    ref_time = medians["SGDRegressor"]
    print(f"[{label}]  (gap = (J - J*) / J*, J* = {j_star:.10f})")
    for name, seconds in medians.items():
        j = objective(X, y, fitted[name].coef_, fitted[name].intercept_)
        print(f"  {name:22s} median {seconds:7.3f} s  ({seconds / ref_time:5.2f}x)  "
              f"J {j:.10f}  gap {(j - j_star) / j_star:8.1e}  "
              f"n_iter {int(np.max(fitted[name].n_iter_))}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-minibatch", action="store_true",
                        help="time only sklosses' default solver and SGDRegressor")
    args = parser.parse_args()
    names = list(FITS)
    if args.no_minibatch:
        names = ["sklosses auto (lbfgs)", "SGDRegressor"]
    X, y = make_data()
    j_star = optimum(X, y)
    print(f"n={N_SAMPLES}, p={N_FEATURES}, delta={DELTA}, alpha={ALPHA}, "
          f"{args.rounds} rounds, medians")
    report("default threads", *run(X, y, names, args.rounds), X, y, j_star)
    with threadpool_limits(limits=1):
        report("1 thread", *run(X, y, names, args.rounds), X, y, j_star)


if __name__ == "__main__":
    main()

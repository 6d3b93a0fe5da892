"""The exact finish of first-order fits of piecewise-linear losses: cost and gain.

``solver="lbfgs"`` and ``"proximal"`` fit a non-smooth loss through smoothed
surrogates; a linear model of a piecewise-linear loss then ends on the exact
optimum where a duality gap within tol certifies it
(``sklosses/solvers/_exact_finish.py``). This script fits each problem with
the finish and with it switched off (the function replaced by one returning
None), alternating in one process, several rounds, and prints the median
times, their ratio and the relative objective gap ``(J - J*) / |J*|`` of
each, ``J*`` from ``solver="exact"`` at ``tol=1e-10`` (itself checked against
``scipy.optimize.linprog`` in the tests). It also says which route the
finish took: the crossover from the smoothed dual point, the interior point
on a small program, or none (the first-order point kept).

Usage: python benchmarks/bench_exact_finish.py [--rounds 5] [--threads 1]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from threadpoolctl import threadpool_limits

import sklosses.solvers._exact_finish as finish_module
import sklosses.solvers._smoothing as smoothing_module
from sklosses import LossClassifier, LossRegressor


def objective(est, X, y):
    """J of a fitted estimator: its mean loss plus the elastic-net penalty."""
    coef = np.ravel(est.coef_)
    raw = X @ coef + est.intercept_
    target = y if isinstance(est, LossRegressor) else (y == est.classes_[1]).astype(int)
    value = est.loss_(target, raw)
    return value + est.alpha * (est.l1_ratio * np.abs(coef).sum()
                                + 0.5 * (1 - est.l1_ratio) * coef @ coef)


def problems():
    rng = np.random.default_rng(0)
    X_d, y_d = load_diabetes(return_X_y=True)
    flat_X = rng.uniform(1, 3, size=(15, 30))
    flat_y = rng.integers(0, 3, 15).astype(float)
    n, p = 20_000, 20
    X_s = rng.normal(size=(n, p)) * rng.uniform(0.5, 5, size=p)
    beta = rng.normal(size=p)
    y_s = X_s @ beta + rng.standard_t(3, size=n) * (1 + np.abs(X_s[:, 0]))
    labels = (X_s @ beta + rng.logistic(size=n) > 0).astype(int)
    return [
        ("diabetes raw, quantile, lbfgs", LossRegressor(loss="quantile", solver="lbfgs"),
         X_d, y_d),
        ("diabetes raw, quantile L1, proximal",
         LossRegressor(loss="quantile", solver="proximal", l1_ratio=1.0, alpha=1e-3), X_d, y_d),
        ("diabetes raw, eps-insensitive, proximal",
         LossRegressor(loss="epsilon_insensitive", solver="proximal"), X_d, y_d),
        ("15 x 30 flat, quantile L1, proximal",
         LossRegressor(loss="quantile", solver="proximal", l1_ratio=1.0, alpha=1e-3),
         flat_X, flat_y),
        ("n=2e4 p=20, quantile, lbfgs", LossRegressor(loss="quantile", solver="lbfgs"),
         X_s, y_s),
        ("n=2e4 p=20, hinge, lbfgs", LossClassifier(loss="hinge", solver="lbfgs"),
         X_s, labels),
    ]


class Routes:
    """Counts the finish's routes during one fit."""

    def __init__(self):
        self.seen = []
        self._cross_over = finish_module._cross_over

    def __call__(self, *args):
        fit = self._cross_over(*args)
        self.seen.append("crossover" if fit is not None else "no crossover")
        return fit


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and OpenMP threads (0: the defaults)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    finish = smoothing_module.exact_finish

    def without_finish(*args, **kwargs):
        return None

    with threadpool_limits(args.threads or None):
        for name, est, X, y in problems():
            reference = type(est)(**{**est.get_params(deep=False), "solver": "exact",
                                     "tol": 1e-10}).fit(X, y)
            j_star = objective(reference, X, y)
            times = {"finish": [], "no finish": []}
            fitted = {}
            for _ in range(args.rounds):
                for label, function in (("finish", finish), ("no finish", without_finish)):
                    smoothing_module.exact_finish = function
                    start = time.perf_counter()
                    fitted[label] = type(est)(**est.get_params(deep=False)).fit(X, y)
                    times[label].append(time.perf_counter() - start)
            smoothing_module.exact_finish = finish
            routes = Routes()
            finish_module._cross_over = routes
            type(est)(**est.get_params(deep=False)).fit(X, y)
            finish_module._cross_over = routes._cross_over
            medians = {label: statistics.median(t) for label, t in times.items()}
            small = X.shape[0] * (X.shape[1] + 1) ** 2 <= finish_module._SMALL_PROGRAM
            fallback = "interior point" if small else "first-order point kept"
            route = ", ".join(r if r == "crossover" else fallback for r in routes.seen)
            print(f"\n{name} (route: {route or 'none'})")
            for label, median in medians.items():
                gap = (objective(fitted[label], X, y) - j_star) / abs(j_star)
                print(f"  {label:10s} {median * 1e3:9.2f} ms  gap {gap:.1e}")
            print(f"  ratio finish / no finish {medians['finish'] / medians['no finish']:.2f}")


if __name__ == "__main__":
    main()

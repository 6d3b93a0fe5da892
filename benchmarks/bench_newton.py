"""Second-order fits: sklosses (solver="auto" and "newton") against scikit-learn.

Each problem is one objective, judged by ``objective`` below (independent of
both packages); the anchors minimise the same one:

- ridge: mean squared error + alpha/2 ||w||^2 = ``Ridge(alpha=n * alpha / 2)``;
- logistic (binary) and multinomial: mean log-loss + alpha/2 ||W||^2 =
  ``LogisticRegression(C=1 / (n * alpha))`` (lbfgs, its default);
- poisson and gamma: mean deviance + alpha/2 ||w||^2 = ``PoissonRegressor`` /
  ``GammaRegressor(alpha=alpha / 2)`` with ``lbfgs`` and ``newton-cholesky``,
  the faster one counting;
- tiny: the ridge, logistic and Poisson problems on n = 50 and 500 rows,
  p = 5, where the fixed cost of a fit (validation, set-up) dominates.

Fits alternate in one process on the same data, several rounds; the table
gives medians, the ratio ours / anchor and the relative objective gap
``(J - J_best) / |J_best|`` of each fit. Single-threaded by default
(threadpoolctl: BLAS and OpenMP, whose threads scikit-learn's loss kernels
use: with ``OPENBLAS_NUM_THREADS=1`` alone they still ran on two threads,
which on this shared box made them up to three times slower under a busy
neighbour and flattered the ratios); ``--threads 0`` leaves the defaults.

Usage: python benchmarks/bench_newton.py [--problem NAME] [--rounds 3] [--threads 1]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from scipy.special import logsumexp
from sklearn.linear_model import GammaRegressor, LogisticRegression, PoissonRegressor, Ridge
from threadpoolctl import threadpool_limits

from sklosses import LossClassifier, LossRegressor


def objective(kind, X, y, coef, intercept, alpha):
    """J of the problem ``kind`` at (coef, intercept), computed from scratch."""
    coef = np.atleast_2d(coef)
    raw = X @ coef.T + np.ravel(intercept)
    penalty = 0.5 * alpha * float(np.sum(coef * coef))
    if kind == "ridge":
        return float(np.mean((y - raw[:, 0]) ** 2)) + penalty
    if kind == "logistic":
        z = raw[:, 0]
        return float(np.mean(np.logaddexp(0, z) - y * z)) + penalty
    if kind == "multinomial":
        log_p = raw - logsumexp(raw, axis=1, keepdims=True)
        return float(-np.mean(log_p[np.arange(len(y)), y])) + penalty
    mu_log = raw[:, 0]
    if kind == "poisson":
        dev = 2 * (np.where(y > 0, y * (np.log(np.where(y > 0, y, 1)) - mu_log), 0)
                   - y + np.exp(mu_log))
    else:  # gamma
        dev = 2 * (mu_log - np.log(y) + y * np.exp(-mu_log) - 1)
    return float(np.mean(dev)) + penalty


def make_data(kind, n, p, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    w = rng.normal(size=p) / np.sqrt(p)
    if kind == "ridge":
        return X, X @ w + rng.normal(size=n)
    if kind == "logistic":
        return X, (X @ w + rng.logistic(size=n) > 0).astype(int)
    if kind == "multinomial":
        W = rng.normal(size=(p, 10)) / np.sqrt(p)
        return X, np.argmax(X @ W + rng.gumbel(size=(n, 10)), axis=1)
    mu = np.exp(0.5 * X @ w)
    if kind == "poisson":
        return X, rng.poisson(mu).astype(float)
    return X, rng.gamma(2.0, mu / 2)


def anchors(kind, n, alpha, tol):
    """The scikit-learn estimators minimising the same objective."""
    if kind == "ridge":
        return {"Ridge": lambda: Ridge(alpha=n * alpha / 2)}
    if kind in ("logistic", "multinomial"):
        kw = {} if tol is None else {"tol": tol}
        return {"LogisticRegression(lbfgs)":
                lambda: LogisticRegression(C=1 / (n * alpha), max_iter=1000, **kw)}
    Est = PoissonRegressor if kind == "poisson" else GammaRegressor
    kw = {} if tol is None else {"tol": tol}
    return {f"{Est.__name__}({s})": (lambda s=s: Est(alpha=alpha / 2, solver=s,
                                                     max_iter=1000, **kw))
            for s in ("lbfgs", "newton-cholesky")}


def ours(kind, alpha, tol):
    kw = {} if tol is None else {"tol": tol}
    if kind in ("logistic", "multinomial"):
        make = lambda solver: LossClassifier(alpha=alpha, solver=solver, max_iter=1000, **kw)  # noqa: E731
    else:
        loss = "squared_error" if kind == "ridge" else kind
        make = lambda solver: LossRegressor(loss=loss, alpha=alpha, solver=solver,  # noqa: E731
                                            max_iter=1000, **kw)
    fits = {"sklosses(auto)": lambda: make("auto")}
    if kind != "multinomial":  # multinomial K=10, p=50: 510 parameters, auto takes lbfgs
        fits["sklosses(newton)"] = lambda: make("newton")
    return fits


PROBLEMS = {
    # name: (kind, n, p, alpha, tol, repeats per timing)
    "ridge": ("ridge", 200_000, 200, 1e-3, None, 1),
    "logistic": ("logistic", 100_000, 100, 1e-4, None, 1),
    "logistic-tol1e-8": ("logistic", 100_000, 100, 1e-4, 1e-8, 1),
    "multinomial": ("multinomial", 100_000, 50, 1e-4, None, 1),
    "poisson": ("poisson", 100_000, 50, 1e-4, None, 1),
    "gamma": ("gamma", 100_000, 50, 1e-4, None, 1),
    "tiny-ridge-50": ("ridge", 50, 5, 1e-2, None, 50),
    "tiny-logistic-50": ("logistic", 50, 5, 1e-2, None, 50),
    "tiny-poisson-50": ("poisson", 50, 5, 1e-2, None, 50),
    "tiny-ridge-500": ("ridge", 500, 5, 1e-2, None, 50),
    "tiny-logistic-500": ("logistic", 500, 5, 1e-2, None, 50),
    "tiny-poisson-500": ("poisson", 500, 5, 1e-2, None, 50),
}


def run(name, rounds):
    kind, n, p, alpha, tol, repeats = PROBLEMS[name]
    X, y = make_data(kind, n, p)
    contenders = {**ours(kind, alpha, tol), **anchors(kind, n, alpha, tol)}
    times = {label: [] for label in contenders}
    fitted = {}
    for _ in range(rounds):
        for label, make in contenders.items():
            start = time.perf_counter()
            for _ in range(repeats):
                est = make().fit(X, y)
            times[label].append((time.perf_counter() - start) / repeats)
            fitted[label] = est
    values = {label: objective(kind, X, y, est.coef_, est.intercept_, alpha)
              for label, est in fitted.items()}
    best = min(values.values())
    medians = {label: statistics.median(t) for label, t in times.items()}
    anchor = min((m, label) for label, m in medians.items() if not label.startswith("sklosses"))
    print(f"\n{name}: n={n}, p={p}, alpha={alpha}, tol={'default' if tol is None else tol}")
    for label, median in medians.items():
        gap = (values[label] - best) / abs(best)
        print(f"  {label:32s} {median * 1e3:9.2f} ms  ratio {median / anchor[0]:5.2f}  "
              f"gap {gap:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", choices=sorted(PROBLEMS), action="append")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and OpenMP threads (0: the defaults)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with threadpool_limits(args.threads or None):
        for name in args.problem or PROBLEMS:
            run(name, args.rounds)


if __name__ == "__main__":
    main()

"""Linear SVR (epsilon-insensitive + L2): solver="exact" against LinearSVR.

``LinearSVR(C, epsilon, fit_intercept=False)`` minimises
``1/2 ||w||^2 + C sum_i max(0, |y_i - x_i @ w| - epsilon)``, which is ``n C``
times our objective ``mean_i max(0, |r_i| - epsilon) + alpha/2 ||w||^2`` at
``alpha = 1 / (C n)``. Both run without an intercept (LinearSVR penalises its
intercept), so the objectives are the same. Ours runs at its defaults
(``tol=1e-4``, a certified relative duality gap), LinearSVR at its defaults
(dual coordinate descent, ``tol=1e-4``). Both fits are judged by
``objective`` below against a reference optimum (ours at ``tol=1e-10``);
fits alternate in one process, single-threaded (threadpoolctl); medians.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_svr.py [--rounds 5] [--small]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_diabetes, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVR
from threadpoolctl import threadpool_limits

from sklosses import LossRegressor
from sklosses.losses import EpsilonInsensitive

C, EPSILON = 1.0, 0.1


def objective(X, y, coef, alpha):
    """Mean epsilon-insensitive loss plus alpha/2 ||w||^2."""
    r = y - X @ np.ravel(coef)
    return float(np.maximum(0.0, np.abs(r) - EPSILON).mean() + 0.5 * alpha * coef @ coef)


def datasets(small=False):
    problems = [("diabetes", load_diabetes(return_X_y=True))]
    if not small:
        rng = np.random.default_rng(0)
        X_syn, y_syn = make_regression(n_samples=100_000, n_features=100,
                                       n_informative=30, noise=10.0, random_state=0)
        y_syn = y_syn + 20 * rng.standard_t(3, size=y_syn.shape[0])
        problems.append(("synthetic 1e5 x 100", (X_syn, y_syn)))
    for name, (X, y) in problems:
        y = (y - y.mean()) / y.std()
        yield name, StandardScaler().fit_transform(X), y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", action="store_true",
                        help="skip the 1e5 x 100 synthetic problem")
    args = parser.parse_args()
    print(f"C={C}, epsilon={EPSILON}, rounds={args.rounds}, single thread")
    loss = EpsilonInsensitive(epsilon=EPSILON)
    with threadpool_limits(limits=1):
        for name, X, y in datasets(args.small):
            alpha = 1.0 / (C * X.shape[0])
            fitters = {
                "sklosses exact": lambda X=X, y=y, a=alpha: LossRegressor(
                    loss=loss, alpha=a, fit_intercept=False).fit(X, y),
                "LinearSVR": lambda X=X, y=y: LinearSVR(
                    C=C, epsilon=EPSILON, fit_intercept=False).fit(X, y),
            }
            times = {k: [] for k in fitters}
            fits, warned = {}, {k: False for k in fitters}
            for _ in range(args.rounds):
                for key, fit in fitters.items():
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", ConvergenceWarning)
                        start = time.perf_counter()
                        fits[key] = fit()
                        times[key].append(time.perf_counter() - start)
                    warned[key] |= any(issubclass(w.category, ConvergenceWarning)
                                       for w in caught)
            best = LossRegressor(loss=loss, alpha=alpha, fit_intercept=False,
                                 tol=1e-10).fit(X, y)
            j_star = objective(X, y, best.coef_, alpha)
            ours = statistics.median(times["sklosses exact"])
            print(f"{name} (n={X.shape[0]}, p={X.shape[1]}, alpha={alpha:.3g})")
            for key, est in fits.items():
                median = statistics.median(times[key])
                gap = (objective(X, y, est.coef_, alpha) - j_star) / j_star
                extra = (f", reported gap {est.duality_gap_:.1e}, {est.n_iter_} it"
                         if key == "sklosses exact" else f", {est.n_iter_} it")
                print(f"  {key:15s} median {median * 1e3:9.2f} ms ({median / ours:5.2f}x ours)  "
                      f"(J - J*)/J* = {gap:.1e}{extra}"
                      f"{'  ConvergenceWarning' if warned[key] else ''}")


if __name__ == "__main__":
    main()

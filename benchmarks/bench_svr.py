"""Linear SVR (epsilon-insensitive + L2): solver="exact" against LinearSVR.

``LinearSVR(C, epsilon, fit_intercept=False)`` minimises
``1/2 ||w||^2 + C sum_i max(0, |y_i - x_i @ w| - epsilon)``, which is ``n C``
times our objective ``mean_i max(0, |r_i| - epsilon) + alpha/2 ||w||^2`` at
``alpha = 1 / (C n)``. Both run without an intercept (LinearSVR penalises its
intercept), so the objectives are the same. Ours runs at its defaults
(``tol=1e-4``, a certified relative duality gap), LinearSVR at its defaults
(dual coordinate descent, ``tol=1e-4``). Both fits are judged by
``objective`` below against a reference optimum (ours at ``tol=1e-10``).
``--tight`` adds both sides at ``tol=1e-8`` (LinearSVR with
``max_iter=100_000``). Fits alternate in one process, single-threaded
(threadpoolctl); medians over the rounds of the wall time and of the
thread's CPU time (which a loaded machine's preemption does not inflate).

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_svr.py [--rounds 5] [--small] [--tight]
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


def fitters(X, y, alpha, loss, tight):
    """The fits to time, by label: ours and LinearSVR, at defaults and (``tight``) at tol=1e-8."""
    out = {
        "sklosses": lambda: LossRegressor(loss=loss, alpha=alpha, fit_intercept=False).fit(X, y),
        "LinearSVR": lambda: LinearSVR(C=C, epsilon=EPSILON, fit_intercept=False).fit(X, y),
    }
    if tight:
        out["sklosses tol=1e-8"] = lambda: LossRegressor(
            loss=loss, alpha=alpha, fit_intercept=False, tol=1e-8).fit(X, y)
        out["LinearSVR tol=1e-8"] = lambda: LinearSVR(
            C=C, epsilon=EPSILON, fit_intercept=False, tol=1e-8, max_iter=100_000).fit(X, y)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", action="store_true",
                        help="skip the 1e5 x 100 synthetic problem")
    parser.add_argument("--tight", action="store_true",
                        help="also both sides at tol=1e-8")
    args = parser.parse_args()
    print(f"C={C}, epsilon={EPSILON}, rounds={args.rounds}, single thread")
    loss = EpsilonInsensitive(epsilon=EPSILON)
    with threadpool_limits(limits=1):
        for name, X, y in datasets(args.small):
            alpha = 1.0 / (C * X.shape[0])
            fits_to_time = fitters(X, y, alpha, loss, args.tight)
            wall = {k: [] for k in fits_to_time}
            cpu = {k: [] for k in fits_to_time}
            fits, warned = {}, {k: False for k in fits_to_time}
            for _ in range(args.rounds):
                for key, fit in fits_to_time.items():
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", ConvergenceWarning)
                        start, start_cpu = time.perf_counter(), time.thread_time()
                        fits[key] = fit()
                        cpu[key].append(time.thread_time() - start_cpu)
                        wall[key].append(time.perf_counter() - start)
                    warned[key] |= any(issubclass(w.category, ConvergenceWarning)
                                       for w in caught)
            best = LossRegressor(loss=loss, alpha=alpha, fit_intercept=False,
                                 tol=1e-10).fit(X, y)
            j_star = objective(X, y, best.coef_, alpha)
            ours = statistics.median(wall["sklosses"])
            ours_cpu = statistics.median(cpu["sklosses"])
            print(f"{name} (n={X.shape[0]}, p={X.shape[1]}, alpha={alpha:.3g})")
            for key, est in fits.items():
                median, median_cpu = statistics.median(wall[key]), statistics.median(cpu[key])
                gap = (objective(X, y, est.coef_, alpha) - j_star) / j_star
                extra = (f", reported gap {est.duality_gap_:.1e}, {est.n_iter_} it"
                         if key.startswith("sklosses") else f", {est.n_iter_} it")
                print(f"  {key:19s} wall {median * 1e3:9.2f} ms ({median / ours:5.2f}x ours), "
                      f"cpu {median_cpu * 1e3:9.2f} ms ({median_cpu / ours_cpu:5.2f}x ours)  "
                      f"(J - J*)/J* = {gap:.1e}{extra}"
                      f"{'  ConvergenceWarning' if warned[key] else ''}")


if __name__ == "__main__":
    main()

"""Linear SVM (hinge + L2): solver="exact" against LinearSVC.

``LinearSVC(C, loss="hinge", fit_intercept=False)`` minimises
``1/2 ||w||^2 + C sum_i hinge(y_i x_i @ w)``, which is ``n C`` times our
objective ``mean_i hinge + alpha/2 ||w||^2`` at ``alpha = 1 / (C n)``
(one-vs-rest for several classes, one binary problem per class on both
sides). Both run without an intercept, so the objectives are the same.
Ours runs at its defaults (``tol=1e-4``, a certified relative duality gap);
LinearSVC at its defaults (dual coordinate descent, ``tol=1e-4``). Both fits
are judged by ``objective`` below against a reference optimum (ours at
``tol=1e-10``); fits alternate in one process, single-threaded
(threadpoolctl); medians over the rounds.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_hinge_svc.py [--rounds 5] [--small]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from sklosses import LossClassifier

C = 1.0


def objective(X, y, coef, alpha):
    """Sum over one-vs-rest columns of the mean hinge, plus alpha/2 ||W||^2."""
    coef = np.atleast_2d(coef)
    classes = np.unique(y)
    signs = (np.where(y == classes[1], 1.0, -1.0)[:, None] if coef.shape[0] == 1
             else np.where(y[:, None] == classes[None, :], 1.0, -1.0))
    margins = signs * (X @ coef.T)
    return float(np.maximum(0.0, 1.0 - margins).sum(axis=1).mean()
                 + 0.5 * alpha * (coef * coef).sum())


def datasets(small=False):
    problems = [("breast_cancer", load_breast_cancer(return_X_y=True)),
                ("digits (OvR)", load_digits(return_X_y=True))]
    if not small:
        problems.append(("synthetic 1e5 x 100", make_classification(
            n_samples=100_000, n_features=100, n_informative=20, random_state=0)))
    for name, (X, y) in problems:
        yield name, StandardScaler().fit_transform(X), y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", action="store_true",
                        help="skip the 1e5 x 100 synthetic problem")
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    print(f"C={C}, rounds={args.rounds}, single thread (threadpool_limits(1))")
    with threadpool_limits(limits=1):
        for name, X, y in datasets(args.small):
            alpha = 1.0 / (C * X.shape[0])
            fitters = {
                "sklosses exact": lambda X=X, y=y, a=alpha: LossClassifier(
                    loss="hinge", alpha=a, fit_intercept=False).fit(X, y),
                "LinearSVC": lambda X=X, y=y: LinearSVC(
                    C=C, loss="hinge", fit_intercept=False).fit(X, y),
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
            best = LossClassifier(loss="hinge", alpha=alpha, fit_intercept=False,
                                  tol=1e-10).fit(X, y)
            j_star = objective(X, y, best.coef_, alpha)
            ours = statistics.median(times["sklosses exact"])
            print(f"{name} (n={X.shape[0]}, p={X.shape[1]}, alpha={alpha:.3g})")
            for key, est in fits.items():
                median = statistics.median(times[key])
                gap = (objective(X, y, est.coef_, alpha) - j_star) / j_star
                extra = (f", reported gap {est.duality_gap_:.1e}, {est.n_iter_} it"
                         if key == "sklosses exact" else f", {np.max(est.n_iter_)} it")
                print(f"  {key:15s} median {median * 1e3:9.2f} ms ({median / ours:5.2f}x ours)  "
                      f"(J - J*)/J* = {gap:.1e}{extra}"
                      f"{'  ConvergenceWarning' if warned[key] else ''}")


if __name__ == "__main__":
    main()

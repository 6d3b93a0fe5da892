"""Linear SVM (hinge or squared hinge + L2) against LinearSVC.

``LinearSVC(C, loss=..., fit_intercept=False)`` minimises
``1/2 ||w||^2 + C sum_i loss(y_i x_i @ w)``, which is ``n C`` times our
objective ``mean_i loss + alpha/2 ||w||^2`` at ``alpha = 1 / (C n)``
(one-vs-rest for several classes, one binary problem per class on both
sides). Both run without an intercept, so the objectives are the same.
Ours runs at its defaults (``solver="auto"``, ``tol=1e-4``: for the hinge the
exact solver and its certified relative duality gap); LinearSVC at its
defaults (``tol=1e-4``; dual coordinate descent for the hinge, and for the
squared hinge ``dual="auto"`` picks the primal trust-region Newton method
when n > p). Both fits are judged by ``objective`` below against a reference
optimum J*: for the hinge ours at ``tol=1e-10``, for the squared hinge the
lower of ours at ``tol=1e-10`` and LinearSVC at ``tol=1e-10`` (two
independent tight solves). ``--tight`` adds both sides at ``tol=1e-8``
(LinearSVC with ``max_iter=100_000``). Fits alternate in one process,
single-threaded (threadpoolctl); medians over the rounds of the wall time
and of the thread's CPU time (which a loaded machine's preemption does not
inflate).

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_hinge_svc.py [--rounds 5] [--small]
       [--loss hinge|squared_hinge] [--tight]
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


def objective(X, y, coef, alpha, squared=False):
    """Sum over one-vs-rest columns of the mean (squared) hinge, plus alpha/2 ||W||^2."""
    coef = np.atleast_2d(coef)
    classes = np.unique(y)
    signs = (np.where(y == classes[1], 1.0, -1.0)[:, None] if coef.shape[0] == 1
             else np.where(y[:, None] == classes[None, :], 1.0, -1.0))
    margins = signs * (X @ coef.T)
    hinge = np.maximum(0.0, 1.0 - margins)
    if squared:
        hinge = hinge * hinge
    return float(hinge.sum(axis=1).mean() + 0.5 * alpha * (coef * coef).sum())


def datasets(small=False):
    problems = [("breast_cancer", load_breast_cancer(return_X_y=True)),
                ("digits (OvR)", load_digits(return_X_y=True))]
    if not small:
        problems.append(("synthetic 1e5 x 100", make_classification(
            n_samples=100_000, n_features=100, n_informative=20, random_state=0)))
    for name, (X, y) in problems:
        yield name, StandardScaler().fit_transform(X), y


def fitters(X, y, alpha, loss, tight):
    """The fits to time, by label: ours and LinearSVC, at defaults and (``tight``) at tol=1e-8."""
    out = {
        "sklosses": lambda: LossClassifier(loss=loss, alpha=alpha, fit_intercept=False).fit(X, y),
        "LinearSVC": lambda: LinearSVC(C=C, loss=loss, fit_intercept=False).fit(X, y),
    }
    if tight:
        out["sklosses tol=1e-8"] = lambda: LossClassifier(
            loss=loss, alpha=alpha, fit_intercept=False, tol=1e-8).fit(X, y)
        out["LinearSVC tol=1e-8"] = lambda: LinearSVC(
            C=C, loss=loss, fit_intercept=False, tol=1e-8, max_iter=100_000).fit(X, y)
    return out


def reference_optimum(X, y, alpha, loss):
    """J* from tight solves (see the module docstring)."""
    squared = loss == "squared_hinge"
    best = LossClassifier(loss=loss, alpha=alpha, fit_intercept=False, tol=1e-10,
                          max_iter=10_000).fit(X, y)
    values = [objective(X, y, best.coef_, alpha, squared)]
    if squared:
        svc = LinearSVC(C=C, loss=loss, fit_intercept=False, tol=1e-10,
                        max_iter=100_000).fit(X, y)
        values.append(objective(X, y, svc.coef_, alpha, squared))
    return min(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small", action="store_true",
                        help="skip the 1e5 x 100 synthetic problem")
    parser.add_argument("--loss", choices=("hinge", "squared_hinge"), default="hinge")
    parser.add_argument("--tight", action="store_true",
                        help="also both sides at tol=1e-8")
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    squared = args.loss == "squared_hinge"
    print(f"loss={args.loss}, C={C}, rounds={args.rounds}, single thread (threadpool_limits(1))")
    with threadpool_limits(limits=1):
        for name, X, y in datasets(args.small):
            alpha = 1.0 / (C * X.shape[0])
            fits_to_time = fitters(X, y, alpha, args.loss, args.tight)
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
            j_star = reference_optimum(X, y, alpha, args.loss)
            ours = statistics.median(wall["sklosses"])
            ours_cpu = statistics.median(cpu["sklosses"])
            print(f"{name} (n={X.shape[0]}, p={X.shape[1]}, alpha={alpha:.3g})")
            for key, est in fits.items():
                median, median_cpu = statistics.median(wall[key]), statistics.median(cpu[key])
                gap = (objective(X, y, est.coef_, alpha, squared) - j_star) / j_star
                gap_text = f", reported gap {est.duality_gap_:.1e}" if hasattr(
                    est, "duality_gap_") else ""
                extra = (f"{gap_text}, {est.n_iter_} it" if key.startswith("sklosses")
                         else f", {np.max(est.n_iter_)} it")
                print(f"  {key:19s} wall {median * 1e3:9.2f} ms ({median / ours:5.2f}x ours), "
                      f"cpu {median_cpu * 1e3:9.2f} ms ({median_cpu / ours_cpu:5.2f}x ours)  "
                      f"(J - J*)/J* = {gap:.1e}{extra}"
                      f"{'  ConvergenceWarning' if warned[key] else ''}")


if __name__ == "__main__":
    main()

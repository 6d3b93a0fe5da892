"""Crammer-Singer multiclass hinge + L2 against LinearSVC(multi_class="crammer_singer").

``LinearSVC(C, multi_class="crammer_singer", fit_intercept=False)`` minimises
``1/2 ||W||^2 + C sum_i max(0, 1 + max_{k != y_i} w_k x_i - w_{y_i} x_i)``,
which is ``n C`` times our objective ``mean_i loss + alpha/2 ||W||^2`` at
``alpha = 1 / (C n)``; both run without an intercept, so the objectives are
the same. Ours at its defaults (``solver="auto"``: the exact interior-point
program on fewer than 5000 samples, else the smoothing path; ``tol=1e-4``),
with ``solver="exact"`` and with ``solver="lbfgs"`` (the smoothing path, the
previous default); LinearSVC at its defaults
(``tol=1e-4``; Keerthi et al.'s dual coordinate descent). Every fit is
judged by ``objective`` below against J*, the lower of ours at
``tol=1e-10`` and LinearSVC at ``tol=1e-8``. Fits alternate in one process,
single-threaded (threadpoolctl); medians over the rounds of the wall time
and of the process's CPU time.

Usage: python benchmarks/bench_crammer_singer.py [--rounds 5] [--raw]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits, load_iris, load_wine, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from sklosses import LossClassifier
from sklosses.losses import Hinge

C = 1.0
CS = Hinge(multiclass="crammer_singer")


def objective(X, y, coef, alpha):
    """Mean Crammer-Singer hinge of ``X @ coef.T`` (labels 0..K-1) plus alpha/2 ||W||^2."""
    raw = X @ coef.T
    rows = np.arange(len(y))
    margins = raw + 1.0
    margins[rows, y] -= 1.0
    loss = margins.max(axis=1) - raw[rows, y]
    return float(loss.mean() + 0.5 * alpha * (coef * coef).sum())


def datasets(raw):
    problems = [("iris", load_iris(return_X_y=True)), ("wine", load_wine(return_X_y=True)),
                ("digits", load_digits(return_X_y=True)),
                ("synthetic 1e4 x 20, K=5", make_classification(
                    n_samples=10_000, n_features=20, n_informative=10, n_classes=5,
                    random_state=0))]
    for name, (X, y) in problems:
        yield name, (X.astype(float) if raw else StandardScaler().fit_transform(X)), y


def fitters(X, y, alpha):
    return {
        "sklosses auto": lambda: LossClassifier(loss=CS, alpha=alpha,
                                                fit_intercept=False).fit(X, y),
        "sklosses exact": lambda: LossClassifier(loss=CS, alpha=alpha, fit_intercept=False,
                                                 solver="exact").fit(X, y),
        "sklosses lbfgs": lambda: LossClassifier(loss=CS, alpha=alpha, fit_intercept=False,
                                                 solver="lbfgs").fit(X, y),
        "LinearSVC": lambda: LinearSVC(C=C, multi_class="crammer_singer",
                                       fit_intercept=False).fit(X, y),
    }


def reference_optimum(X, y, alpha):
    ours = LossClassifier(loss=CS, alpha=alpha, fit_intercept=False, solver="exact",
                          tol=1e-10).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        svc = LinearSVC(C=C, multi_class="crammer_singer", fit_intercept=False, tol=1e-8,
                        max_iter=200_000).fit(X, y)
    return min(objective(X, y, ours.coef_, alpha), objective(X, y, svc.coef_, alpha))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--raw", action="store_true", help="features as shipped")
    args = parser.parse_args()
    print("| data | fit | wall | CPU | CPU ratio to LinearSVC | relative gap | warnings |")
    print("|---|---|---|---|---|---|---|")
    with threadpool_limits(1):
        for name, X, y in datasets(args.raw):
            alpha = 1.0 / (C * X.shape[0])
            j_star = reference_optimum(X, y, alpha)
            fits = fitters(X, y, alpha)
            wall = {label: [] for label in fits}
            cpu = {label: [] for label in fits}
            gaps, warned = {}, {}
            for _ in range(args.rounds):
                for label, fit in fits.items():
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always", ConvergenceWarning)
                        start_wall, start_cpu = time.perf_counter(), time.process_time()
                        model = fit()
                        cpu[label].append(time.process_time() - start_cpu)
                        wall[label].append(time.perf_counter() - start_wall)
                    gaps[label] = (objective(X, y, model.coef_, alpha) - j_star) / j_star
                    warned[label] = sum(issubclass(w.category, ConvergenceWarning)
                                        for w in caught)
            anchor = statistics.median(cpu["LinearSVC"])
            for label in fits:
                c = statistics.median(cpu[label])
                print(f"| {name} | {label} | {statistics.median(wall[label]):.3f} s | "
                      f"{c:.3f} s | {c / anchor:.2f}× | {gaps[label]:.1e} | "
                      f"{warned[label]} |", flush=True)


if __name__ == "__main__":
    main()

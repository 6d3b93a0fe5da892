"""Level lists on the smoothing path: objective gap and time against the exact fit.

``solver="lbfgs"`` (smoothing continuation) on lists of quantile levels, raw
real data (statsmodels' ``engel``: income in thousands, food expenditure;
scikit-learn's ``diabetes``), ``noncrossing`` "sort" and "monotone", alpha 0
and 1e-4, default tol. For each case: the relative objective gap to a
``solver="exact"`` fit at tol=1e-10 (certified by its duality gap), whether a
ConvergenceWarning was raised, the iterations, and the median time of the
lbfgs and of the default-tol exact fits, alternating in one process.

Objective: mean over levels of the mean pinball loss on the raw outputs
``X @ coef_.T + intercept_``, plus ``alpha / 2 ||W||^2`` on the model's
weights (one shared slope for "monotone").

Run with OPENBLAS_NUM_THREADS=1.
"""

import sys
import time
import warnings

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import mean_pinball_loss

from sklosses import LossRegressor
from sklosses.losses import Quantile


def engel():
    import statsmodels.api as sm

    data = sm.datasets.engel.load_pandas().data
    return data[["income"]].to_numpy() / 1000, data["foodexp"].to_numpy()


DATASETS = {"engel": engel, "diabetes": lambda: load_diabetes(return_X_y=True)}
LEVEL_LISTS = ([0.05, 0.95], [0.1, 0.5, 0.9])


def objective(reg, X, y, alpha):
    raw = X @ reg.coef_.T + reg.intercept_
    levels = reg.loss.quantile
    data = np.mean([mean_pinball_loss(y, raw[:, k], alpha=q) for k, q in enumerate(levels)])
    weights = reg.coef_[0] if reg.loss.noncrossing == "monotone" else reg.coef_
    return data + 0.5 * alpha * np.sum(weights**2)


def fit(make, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        reg = make().fit(X, y)
        elapsed = time.perf_counter() - start
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return elapsed, reg, warned


def main(rounds=5):
    print(f"{'data':8s} {'levels':15s} {'noncrossing':11s} {'alpha':6s} "
          f"{'gap':>9s} warn iters  lbfgs s  exact s")
    for name, load in DATASETS.items():
        X, y = load()
        for levels in LEVEL_LISTS:
            for noncrossing in ("sort", "monotone"):
                for alpha in (0.0, 1e-4):
                    def make(solver, tol=1e-4, levels=levels, noncrossing=noncrossing,
                             alpha=alpha):
                        return LossRegressor(loss=Quantile(levels, noncrossing=noncrossing),
                                             alpha=alpha, solver=solver, tol=tol)

                    reference = make("exact", tol=1e-10).fit(X, y)
                    best = objective(reference, X, y, alpha)
                    times = {"lbfgs": [], "exact": []}
                    for _ in range(rounds):
                        for solver in times:
                            t, reg, warned = fit(lambda s=solver: make(s), X, y)
                            times[solver].append(t)
                            if solver == "lbfgs":
                                gap = (objective(reg, X, y, alpha) - best) / best
                                iters, lbfgs_warned = reg.n_iter_, warned
                    print(f"{name:8s} {str(levels):15s} {noncrossing:11s} {alpha:<6g} "
                          f"{gap:9.1e} {'yes' if lbfgs_warned else 'no ':4s} {iters:5d} "
                          f"{np.median(times['lbfgs']):8.3f} {np.median(times['exact']):8.3f}",
                          flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)

"""L1 and elastic-net fits on raw real data: does each fit reach its optimum or say so?

Not a timing race against an anchor but the reliability sweep behind
``solver="auto"``'s choice with an L1 part: every data set shipped with
statsmodels and scikit-learn used here is taken with its columns as shipped
(years, dollars, populations), and each configuration (loss, alpha,
l1_ratio, intercept, sample weights) is fitted at the default ``tol`` by
``solver="lbfgs"`` (split variables), ``solver="newton"`` (proximal Newton)
and ``solver="auto"``. Each fit is judged by one function, ``objective``,
against the best of tight fits (``tol=1e-10``) of every solver: a fit more
than ``tol`` (relative) above it *without* a ``ConvergenceWarning`` is a
silent failure. The table gives, per solver, the silent failures, the
warnings and the median time per fit (single BLAS thread).

Usage: python benchmarks/sweep_l1_raw_data.py [--task regression,classification] [--verbose]
"""

import argparse
import itertools
import statistics
import time
import warnings

import numpy as np
import statsmodels.api as sm
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from sklosses import LossClassifier, LossRegressor

TOL = 1e-4  # the default tol
SOLVERS = ("lbfgs", "newton", "auto")


def _statsmodels(name, fraction=False):
    data = getattr(sm.datasets, name).load_pandas()
    y = np.asarray(data.endog, dtype=float)
    if fraction:  # star98: NABOVE / (NABOVE + NBELOW)
        y = y[:, 0] / y.sum(axis=1)
    return np.asarray(data.exog.select_dtypes("number"), dtype=float), y


def regression_data():
    sets = {name: _statsmodels(name) for name in
            ("longley", "scotland", "cpunish", "engel", "copper", "stackloss", "committee",
             "fair")}
    sets["star98"] = _statsmodels("star98", fraction=True)
    sets["diabetes"] = datasets.load_diabetes(return_X_y=True, scaled=False)
    return sets, ("squared_error", "huber", "poisson"), LossRegressor


def classification_data():
    spector = sm.datasets.spector.load_pandas()
    sets = {
        "breast_cancer": datasets.load_breast_cancer(return_X_y=True),
        "wine": datasets.load_wine(return_X_y=True),
        "spector": (np.asarray(spector.exog, dtype=float),
                    np.asarray(spector.endog, dtype=int)),
    }
    return sets, ("log_loss", "squared_hinge", "modified_huber"), LossClassifier


def objective(est, X, y, sample_weight):
    """J of API.md at the fitted parameters, from the estimator's own encoding of y."""
    from sklosses._objective import Objective  # noqa: PLC0415
    from sklosses._resolve import resolve_penalty  # noqa: PLC0415

    y_enc = est._encode_target(y, est.loss_)[0]
    weight = est._combine_weights(
        y_enc, np.ones(len(y)) if sample_weight is None else sample_weight)
    penalty = resolve_penalty(est.alpha, est.l1_ratio)
    problem = Objective(est.loss_, est._model, penalty, X.astype(est._model.dtype), y_enc,
                        weight)
    return float(problem.value(est._flat_params()))


def fit(cls, X, y, sample_weight, **options):
    """``(estimator or None, warned, seconds)``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            est = cls(**options).fit(X, y, sample_weight=sample_weight)
        except (ValueError, FloatingPointError):
            return None, False, 0.0
        seconds = time.perf_counter() - start
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return est, warned, seconds


def sweep(sets, losses, cls, verbose):
    tally = {solver: {"silent": 0, "warned": 0, "fits": 0, "times": []} for solver in SOLVERS}
    grid = itertools.product(sets.items(), losses, (1e-4, 1e-2), (0.5, 1.0), (True, False),
                             (False, True))
    for (name, (X, y)), loss, alpha, l1_ratio, intercept, weighted in grid:
        if loss == "poisson" and np.any(y < 0):
            continue
        sw = np.random.RandomState(0).uniform(0.1, 3.0, len(y)) if weighted else None
        options = dict(loss=loss, alpha=alpha, l1_ratio=l1_ratio, fit_intercept=intercept)
        tight = [fit(cls, X, y, sw, solver=s, tol=1e-10, max_iter=20_000, **options)[0]
                 for s in ("newton", "lbfgs")]
        best = min(objective(e, X, y, sw) for e in tight if e is not None)
        for solver in SOLVERS:
            est, warned, seconds = fit(cls, X, y, sw, solver=solver, **options)
            if est is None:
                continue
            gap = (objective(est, X, y, sw) - best) / abs(best)
            row = tally[solver]
            row["fits"] += 1
            row["times"].append(seconds)
            row["warned"] += warned
            silent = gap > TOL and not warned
            row["silent"] += silent
            if verbose or silent:
                print(f"  {solver:6s} {name} {loss} alpha={alpha:g} l1_ratio={l1_ratio} "
                      f"intercept={intercept} weighted={weighted}: gap {gap:.2e}"
                      f"{' (warned)' if warned else ''}{' SILENT' if silent else ''}")
    return tally


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="regression,classification")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    builders = {"regression": regression_data, "classification": classification_data}
    with threadpool_limits(1):
        for task in args.task.split(","):
            print(f"== {task}")
            tally = sweep(*builders[task](), verbose=args.verbose)
            print("| solver | fits | silently above tol | warned | median time |")
            print("|---|---|---|---|---|")
            for solver, row in tally.items():
                median = 1e3 * statistics.median(row["times"]) if row["times"] else float("nan")
                print(f"| {solver} | {row['fits']} | {row['silent']} | {row['warned']} | "
                      f"{median:.1f} ms |")


if __name__ == "__main__":
    main()

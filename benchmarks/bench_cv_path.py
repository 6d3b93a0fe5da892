"""Cross-validated regularisation paths: LossRegressorCV / LossClassifierCV against anchors.

Every comparison runs both sides on the same folds and the same alpha grid
(mapped to the anchor's parametrisation), alternating in one process for
several rounds; it prints the median times, their ratio, and what each side
chose, judged by one function, ``judge``: the mean validation score of the
choice on the shared folds, computed here the same way for both.

- ``lasso``: ``LossRegressorCV(l1_ratio=1)`` against ``LassoCV``. Ours is
  mean (y - p)^2 + alpha ||w||_1, twice Lasso's objective at alpha / 2.
- ``logistic``: L1 ``LossClassifierCV`` against ``LogisticRegressionCV``
  (liblinear and saga, the faster counts) with ``C = 1 / (n_train alpha)``
  (the folds have equal sizes), and against ``GridSearchCV(LossClassifier)``
  with a cold fit per alpha and fold.
- ``robust``: a Huber and a quantile path per fold (no anchor) against one
  fit at the chosen alpha.
- ``losses``: ``LossRegressorCV(loss=[4 losses])`` against the equivalent
  ``GridSearchCV`` over losses x alphas (cold fits).

Sizes default to a fraction of the issue's (the box is shared); ``--full``
uses n=5e4, p=500 (logistic) and n=1e5, p=200 (lasso). Everything runs on
one thread (threadpoolctl) unless ``--threads`` says otherwise; each row
prints wall and CPU (process) time medians, the CPU ones being what to read
on a shared box.

Usage: python benchmarks/bench_cv_path.py [--rounds 3] [--full] [--threads 1]
       [--only lasso,logistic,robust,losses] [--robust-size n,p] [--quantile-only]
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LassoCV, LogisticRegressionCV
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklosses import LossClassifier, LossClassifierCV, LossRegressor, LossRegressorCV
from sklosses._diagnostics import PenaltyDominatesWarning
from sklosses.losses import Huber


def judge(scores_by_alpha):
    """The one criterion: the best mean validation score over the grid, and where."""
    means = np.asarray(scores_by_alpha).mean(axis=1)
    return int(np.argmax(means)), float(means.max())


CPU_TIMES = {}


def timed(fit, rounds, names):
    """Median wall time of each fitter, run alternately ``rounds`` times.

    The median CPU (process) times go to ``CPU_TIMES``, which ``report``
    prints beside them.
    """
    times = {name: [] for name in names}
    cpu = {name: [] for name in names}
    results = {}
    for _ in range(rounds):
        for name in names:
            start, start_cpu = time.perf_counter(), time.process_time()
            results[name] = fit[name]()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    CPU_TIMES.clear()
    CPU_TIMES.update({name: statistics.median(t) for name, t in cpu.items()})
    return {name: statistics.median(t) for name, t in times.items()}, results


def report(title, medians, notes):
    print(f"\n== {title}")
    names = list(medians)
    for name in names:
        print(f"  {name:<36} {medians[name]:8.3f} s wall {CPU_TIMES.get(name, np.nan):8.3f} s CPU"
              f"   {notes.get(name, '')}")
    ours, ours_cpu = medians[names[0]], CPU_TIMES.get(names[0], np.nan)
    for name in names[1:]:
        print(f"  ratio {names[0]} / {name}: {ours / medians[name]:.2f} wall, "
              f"{ours_cpu / CPU_TIMES.get(name, np.nan):.2f} CPU")


def bench_lasso(args):
    n, p = (100_000, 200) if args.full else (20_000, 100)
    X, y = make_regression(n_samples=n, n_features=p, n_informative=20, noise=20.0,
                           random_state=0)
    X = StandardScaler().fit_transform(X)
    folds = list(KFold(5, shuffle=True, random_state=0).split(X))
    grid = LossRegressorCV(alphas=50, l1_ratio=1.0, cv=folds)._grids(
        LossRegressor(), ["squared_error"], [1.0], X, y, None)[0, 0]
    fit = {
        "LossRegressorCV": lambda: LossRegressorCV(
            alphas=grid, l1_ratio=1.0, cv=folds, scoring="neg_mean_squared_error",
            tol=1e-6).fit(X, y),
        "LassoCV": lambda: LassoCV(alphas=grid / 2, cv=folds, tol=1e-6).fit(X, y),
    }
    medians, fitted = timed(fit, args.rounds, list(fit))
    ours, lasso = fitted["LossRegressorCV"], fitted["LassoCV"]
    scores = np.column_stack([ours.cv_results_[f"split{k}_test_score"] for k in range(5)])
    index, _ = judge(scores)
    notes = {"LossRegressorCV": f"alpha_/2 = {ours.alpha_ / 2:.4g} (grid index {index})",
             "LassoCV": f"alpha_ = {lasso.alpha_:.4g}"}
    report(f"lasso n={n} p={p}, 50 alphas x 5 folds", medians, notes)


def bench_logistic(args):
    n, p = (50_000, 500) if args.full else (5_000, 50)
    X, y = make_classification(n_samples=n, n_features=p, n_informative=20, flip_y=0.05,
                               random_state=0)
    X = StandardScaler().fit_transform(X)
    folds = list(StratifiedKFold(5, shuffle=True, random_state=0).split(X, y))
    n_train = len(folds[0][0])
    grid = LossClassifierCV(alphas=50, l1_ratio=1.0)._grids(
        LossClassifier(), ["log_loss"], [1.0], X, y, None)[0, 0]
    Cs = 1.0 / (n_train * grid)

    def sklearn_cv(solver):
        return LogisticRegressionCV(Cs=Cs, l1_ratios=(1.0,), solver=solver, cv=folds,
                                    scoring="neg_log_loss", tol=1e-4, max_iter=1000,
                                    use_legacy_attributes=False)

    fit = {
        "LossClassifierCV": lambda: LossClassifierCV(
            alphas=grid, l1_ratio=1.0, cv=folds, scoring="neg_log_loss").fit(X, y),
        "LogisticRegressionCV liblinear": lambda: sklearn_cv("liblinear").fit(X, y),
        "LogisticRegressionCV saga": lambda: sklearn_cv("saga").fit(X, y),
        "GridSearchCV(LossClassifier) cold": lambda: GridSearchCV(
            LossClassifier(l1_ratio=1.0), {"alpha": list(grid)}, cv=folds,
            scoring="neg_log_loss").fit(X, y),
    }
    if args.no_liblinear:
        # At the size liblinear (no warm start along C) is the slower
        # anchor by far (6x saga at n=5000): skipped on request.
        del fit["LogisticRegressionCV liblinear"]
    if args.no_saga:
        # saga took 10 minutes at the size (0.08x ours): skipped on
        # request when only ours against the cold grid is measured.
        del fit["LogisticRegressionCV saga"]
    medians, fitted = timed(fit, args.rounds, list(fit))
    notes = {"LossClassifierCV": f"alpha_ = {fitted['LossClassifierCV'].alpha_:.4g}, "
                                 f"score {fitted['LossClassifierCV'].best_score_:.5f}"}
    for name in [name for name in fit if name.startswith("LogisticRegressionCV")]:
        notes[name] = f"alpha = 1/(n_train C_) = {1 / (n_train * fitted[name].C_):.4g}"
    grid_search = fitted["GridSearchCV(LossClassifier) cold"]
    notes["GridSearchCV(LossClassifier) cold"] = (
        f"alpha = {grid_search.best_params_['alpha']:.4g}, "
        f"score {grid_search.best_score_:.5f}")
    report(f"L1 logistic n={n} p={p}, 50 alphas x 5 folds", medians, notes)


def bench_robust(args):
    n, p = (20_000, 50) if args.full else (5_000, 20)
    if args.robust_size:
        n, p = (int(v) for v in args.robust_size.split(","))
    X, y = make_regression(n_samples=n, n_features=p, n_informative=10, noise=5.0,
                           random_state=0)
    y = y + 50 * np.random.default_rng(0).standard_t(2, size=n)
    X = StandardScaler().fit_transform(X)
    folds = list(KFold(5, shuffle=True, random_state=0).split(X))
    train = folds[0][0]
    for loss in (Huber(delta=1.35, scale="joint"), "quantile")[args.robust_losses]:
        search = LossRegressorCV(loss=loss, alphas=50, l1_ratio=1.0, cv=folds).fit(X, y)
        fit = {
            "path of 50 alphas, one fold": lambda loss=loss, search=search: _one_path(
                loss, search.alphas_, X, y, folds[0]),
            "one fit at the chosen alpha": lambda loss=loss, search=search: LossRegressor(
                loss=loss, alpha=search.alpha_, l1_ratio=1.0).fit(X[train], y[train]),
        }
        medians, _ = timed(fit, args.rounds, list(fit))
        notes = {}
        if loss == "quantile" and hasattr(_piecewise_path().PiecewisePath, "vertices"):
            routes, pivots = _quantile_routes(search.alphas_, X, y, folds[0])
            notes["path of 50 alphas, one fold"] = (
                f"points (the first walked from the best constant): {routes}; "
                f"{pivots} vertex-walk pivots")
        report(f"{loss} L1 path n={n} p={p} (alpha_ = {search.alpha_:.3g})", medians, notes)


def _one_path(loss, alphas, X, y, fold):
    from sklosses._path import fit_path

    return fit_path(LossRegressor(loss=loss, l1_ratio=1.0), X, y, None, *fold, alphas,
                    LossRegressor.score)


def _piecewise_path():
    from sklosses.solvers import _piecewise_path

    return _piecewise_path


def _quantile_routes(alphas, X, y, fold):
    """How one fold's quantile path solved its points, and the walk's pivots in all.

    Its first point too: an L1 path walks it from the best constant model
    (``sklosses._path._first_point``) when the walk applies.
    """
    PiecewisePath = _piecewise_path().PiecewisePath

    seen = []
    solve = PiecewisePath.solve

    def recording(self, *args):
        fit = solve(self, *args)
        seen.append((self.routes[-1], self.vertices.n_iter_ if self.routes[-1] == "vertex"
                     else 0))
        return fit

    PiecewisePath.solve = recording
    try:
        _one_path("quantile", alphas, X, y, fold)
    finally:
        PiecewisePath.solve = solve
    counts = {route: sum(r == route for r, _ in seen) for route in dict.fromkeys(
        r for r, _ in seen)}
    return counts, sum(n for _, n in seen)


def bench_losses(args):
    n, p = (20_000, 50) if args.full else (3_000, 20)
    X, y = make_regression(n_samples=n, n_features=p, n_informative=10, noise=10.0,
                           random_state=0)
    y = y + 20 * np.random.default_rng(1).standard_t(3, size=n)
    X = StandardScaler().fit_transform(X)
    folds = list(KFold(5, shuffle=True, random_state=0).split(X))
    losses = ["squared_error", Huber(delta=1.35, scale="joint"), "log_cosh", "quantile"]
    search = LossRegressorCV(loss=losses, alphas=50, cv=folds)
    base = LossRegressor()
    grids = search._grids(base, losses, [0.0], X, y, None)
    param_grid = [{"loss": [loss], "alpha": list(grids[i, 0])} for i, loss in enumerate(losses)]
    fit = {
        "LossRegressorCV(4 losses)": lambda: LossRegressorCV(
            loss=losses, alphas=50, cv=folds).fit(X, y),
        "GridSearchCV(losses x alphas) cold": lambda: GridSearchCV(
            LossRegressor(), param_grid, cv=folds).fit(X, y),
    }
    medians, fitted = timed(fit, args.rounds, list(fit))
    ours, grid_search = fitted["LossRegressorCV(4 losses)"], fitted[
        "GridSearchCV(losses x alphas) cold"]
    notes = {
        "LossRegressorCV(4 losses)": f"{ours.loss_}, alpha {ours.alpha_:.3g}, "
                                     f"R2 {ours.best_score_:.5f}",
        "GridSearchCV(losses x alphas) cold": f"{grid_search.best_params_['loss']}, alpha "
        f"{grid_search.best_params_['alpha']:.3g}, R2 {grid_search.best_score_:.5f}",
    }
    report(f"4 losses x 50 alphas x 5 folds, n={n} p={p}", medians, notes)


BENCHES = {"lasso": bench_lasso, "logistic": bench_logistic, "robust": bench_robust,
           "losses": bench_losses}

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--full", action="store_true", help="the issue's sizes")
    parser.add_argument("--only", default=",".join(BENCHES))
    parser.add_argument("--no-liblinear", action="store_true",
                        help="skip LogisticRegressionCV(liblinear) in the logistic bench")
    parser.add_argument("--no-saga", action="store_true",
                        help="skip LogisticRegressionCV(solver='saga')")
    parser.add_argument("--robust-size", default="",
                        help="n,p of the robust bench (default 5000,20; --full 20000,50)")
    parser.add_argument("--quantile-only", dest="robust_losses", action="store_const",
                        const=slice(1, 2), default=slice(0, 2),
                        help="the robust bench's quantile path only")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (threadpoolctl); 0 leaves the default")
    arguments = parser.parse_args()
    warnings.simplefilter("ignore", ConvergenceWarning)
    # The grid's largest alphas flatten the fit by design (each cold fit says so).
    warnings.simplefilter("ignore", PenaltyDominatesWarning)
    with threadpool_limits(arguments.threads if arguments.threads > 0 else None):
        for name in arguments.only.split(","):
            BENCHES[name](arguments)

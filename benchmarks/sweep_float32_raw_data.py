"""Float32 fits on raw real data: does each reach its float64 optimum or say so?

Not a timing race but a reliability sweep (issue 11): scikit-learn's wine,
breast_cancer (classification: log loss, squared hinge, modified Huber) and
diabetes with its raw columns (regression: Huber, log-cosh, Poisson), their
columns as shipped, cast to float32, at alpha 1e-6 and 1e-4, fitted with
the defaults (``solver="auto"``, ``tol=1e-4``), and the same with every
column multiplied by 100 (``--scales``). Each fit is judged by one
float64 objective, ``objective`` (mean loss + alpha/2 ||W||^2 of API.md, on
the float32 data cast to float64), against the best of float64 fits of the
same data: the default fit (its distance is the last column: what
``tol`` alone leaves), Newton and L-BFGS at ``tol=1e-10``, and, for the
one-vs-rest margin losses, an independent scipy L-BFGS-B solve per class on
standardised columns. "Silent" means more than ``--threshold`` (relative,
default 1e-6) above it without a ``ConvergenceWarning``.

Usage: python benchmarks/sweep_float32_raw_data.py [--threshold 1e-6] [--scales 1,100]
"""

import argparse
import itertools
import time
import warnings

import numpy as np
from scipy.optimize import minimize
from sklearn import datasets
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from sklosses import LossClassifier, LossRegressor

ALPHAS = (1e-6, 1e-4)


def cases():
    """``(name, X, y, estimator class, losses)`` of the sweep."""
    wine = datasets.load_wine(return_X_y=True)
    cancer = datasets.load_breast_cancer(return_X_y=True)
    diabetes = datasets.load_diabetes(return_X_y=True, scaled=False)
    margin = ("log_loss", "squared_hinge", "modified_huber")
    return [("wine", *wine, LossClassifier, margin),
            ("breast_cancer", *cancer, LossClassifier, margin),
            ("diabetes", *diabetes, LossRegressor, ("huber", "log_cosh", "poisson"))]


def _targets(est, y):
    """The targets as the loss sees them (class indices for a classifier)."""
    return np.searchsorted(est.classes_, y) if hasattr(est, "classes_") else y


def objective(est, X, y, W=None, b=None):
    """J of API.md in float64 from the fitted parameters (or ``W``, ``b``)."""
    W = np.asarray(est.coef_ if W is None else W, dtype=np.float64)
    b = np.asarray(est.intercept_ if b is None else b, dtype=np.float64)
    raw = X @ W.T + b if W.ndim == 2 else X @ W + b
    if raw.ndim == 2 and raw.shape[1] == 1:
        raw = raw[:, 0]
    loss, _ = est.loss_.loss_gradient(_targets(est, y), raw)
    return float(np.mean(loss) + est.alpha / 2 * np.sum(W**2))


def _margin(loss, u):
    t = np.maximum(1 - u, 0)
    if loss == "squared_hinge":
        return t * t, -2 * t
    quadratic = u >= -1
    return np.where(quadratic, t * t, -4 * u), np.where(quadratic, -2 * t, -4.0)


def scipy_margin_optimum(loss, X, y, alpha):
    """One-vs-rest margin loss: ``(W, b)`` of per-class scipy solves on standardised columns."""
    mean, scale = X.mean(axis=0), X.std(axis=0)
    scale[scale == 0] = 1
    Z = (X - mean) / scale
    classes = np.unique(y)
    W, b = [], []
    for c in classes[1:] if len(classes) == 2 else classes:
        s = np.where(y == c, 1.0, -1.0)

        def f(p, s=s):
            u = s * (Z @ p[:-1] + p[-1])
            value, deriv = _margin(loss, u)
            g = s * deriv / len(s)
            w = p[:-1] / scale
            return (value.mean() + alpha / 2 * w @ w,
                    np.append(Z.T @ g + alpha * w / scale, g.sum()))

        p = np.zeros(X.shape[1] + 1)
        for _ in range(5):  # restarts with a fresh memory
            p = minimize(f, p, jac=True, method="L-BFGS-B",
                         options=dict(maxiter=100_000, maxfun=200_000, ftol=1e-16,
                                      gtol=1e-13, maxcor=50)).x
        w = p[:-1] / scale
        W.append(w)
        b.append(p[-1] - mean @ w)
    return np.array(W), np.array(b)


def optimum(Est, loss, X, y, alpha):
    """The best float64 objective value found, the default float64 fit's, and its warning."""
    fits, warned = [], []
    for options in ({}, dict(solver="newton", tol=1e-10, max_iter=2000),
                    dict(solver="lbfgs", tol=1e-10, max_iter=20_000)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fits.append(Est(loss=loss, alpha=alpha, **options).fit(X, y))
        warned.append(any(issubclass(w.category, ConvergenceWarning) for w in caught))
    values = [objective(e, X, y) for e in fits]
    if loss in ("squared_hinge", "modified_huber"):
        values.append(objective(fits[0], X, y, *scipy_margin_optimum(loss, X, y, alpha)))
    return min(values), values[0], warned[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=1e-6)
    parser.add_argument("--scales", default="1,100", help="factors applied to every column")
    args = parser.parse_args()
    scales = [float(v) for v in args.scales.split(",")]
    print("| data | scale | loss | alpha | float32 fit above J* (rel.) | warned | n_iter | CPU ms "
          "| float64 fit above J* |")
    print("|---|---|---|---|---|---|---|---|---|")
    silent = 0
    for (name, X, y, Est, losses), scale in itertools.product(cases(), scales):
        X32 = (scale * X).astype(np.float32)
        X64 = X32.astype(np.float64)  # the same data, in float64
        for loss in losses:
            for alpha in ALPHAS:
                best, default64, warned64 = optimum(Est, loss, X64, y, alpha)
                est = Est(loss=loss, alpha=alpha)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    start = time.process_time()
                    est.fit(X32, y)
                    cpu = time.process_time() - start
                warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
                above = (objective(est, X64, y) - best) / abs(best)
                flag = above > args.threshold and not warned
                silent += flag
                tol_only = (default64 - best) / abs(best)
                print(f"| {name} | {scale:g} | {loss} | {alpha:g} | "
                      f"{above:.1e}{' **silent**' if flag else ''} | {'yes' if warned else 'no'} "
                      f"| {est.n_iter_} | {1e3 * cpu:.0f} | {tol_only:.1e}"
                      f"{' (warned)' if warned64 else ''} |")
    print(f"\nsilently above {args.threshold:g}: {silent}")


if __name__ == "__main__":
    with threadpool_limits(1):
        main()

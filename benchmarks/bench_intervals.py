"""Prediction intervals on real data: coverage and width over random splits.

90 % intervals on two data sets shipped with packages (scikit-learn's
``diabetes``; statsmodels' ``engel``, food expenditure against income, in
thousands), 200 random splits each (a quarter of the rows held out), every
method fitted on the same training rows and judged by one function,
``judge``: the share of held-out targets inside the interval and the mean
interval width.

- ``sklosses split CQR``: ``ConformalRegressor()`` (split conformalized
  quantile regression around its default band, the levels 0.05 and 0.95
  with free slopes, unpenalised: one exact program per level; a quarter of
  the training rows for calibration);
- ``sklosses CV+ CQR``: ``ConformalRegressor(method="cv+")`` (5 folds);
- ``QuantileRegressor pair``: ``QuantileRegressor(quantile=0.05 / 0.95,
  alpha=0, solver="highs")`` fitted on all training rows, not calibrated
  (what a user gets without conformal prediction);
- ``MAPIE CQR + QuantileRegressor``: MAPIE's ``ConformalizedQuantileRegressor``
  around ``QuantileRegressor(alpha=0, solver="highs")``, on the same
  fit / calibration rows as ours;
- ``MAPIE CQR + sklosses``: the same MAPIE class with our joint fit of the
  levels 0.05, 0.5 and 0.95 (``prefit=True``, one fitted column per level,
  ``symmetric_correction``): split CQR again, computed by MAPIE.

MAPIE is optional: its rows are left out when it is not installed.

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_intervals.py [--splits 200]
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import QuantileRegressor
from sklearn.model_selection import train_test_split

from sklosses import ConformalRegressor, LossRegressor
from sklosses.losses import Quantile

COVERAGE = 0.9
LOW, HIGH = (1 - COVERAGE) / 2, (1 + COVERAGE) / 2
CALIBRATION = 0.25


def judge(interval, y):
    """Share of ``y`` inside the interval, and its mean width."""
    inside = (interval[:, 0] <= y) & (y <= interval[:, 1])
    return float(inside.mean()), float(np.mean(interval[:, 1] - interval[:, 0]))


def diabetes():
    return load_diabetes(return_X_y=True)


def engel():
    import statsmodels.api as sm  # noqa: PLC0415

    data = sm.datasets.engel.load_pandas().data
    return data[["income"]].to_numpy() / 1000, data["foodexp"].to_numpy()


class _Column(RegressorMixin, BaseEstimator):
    """One fitted level of a joint quantile fit, as MAPIE's prefit models."""

    def __init__(self, fitted, column):
        self.fitted, self.column = fitted, column

    def fit(self, X, y):
        return self

    def predict(self, X):
        return self.fitted.predict(X)[:, self.column]

    def __sklearn_is_fitted__(self):
        return True


def _quantile_pair(X, y):
    models = [QuantileRegressor(quantile=q, alpha=0.0, solver="highs").fit(X, y)
              for q in (LOW, HIGH)]
    return lambda X_new: np.column_stack([m.predict(X_new) for m in models])


def methods(mapie):
    """Each method: ``(X_train, y_train, seed) -> predict_interval``."""
    def split_fit_calibration(X, y, seed):
        return train_test_split(X, y, test_size=CALIBRATION, random_state=seed)

    def ours(method):
        def run(X, y, seed):
            conformal = ConformalRegressor(method=method, calibration_fraction=CALIBRATION,
                                           random_state=seed).fit(X, y)
            return conformal.predict_interval
        return run

    def pair(X, y, seed):
        return _quantile_pair(X, y)

    def mapie_quantile_regressor(X, y, seed):
        X_fit, X_cal, y_fit, y_cal = split_fit_calibration(X, y, seed)
        cqr = mapie.ConformalizedQuantileRegressor(
            QuantileRegressor(alpha=0.0, solver="highs"), confidence_level=COVERAGE)
        cqr.fit(X_fit, y_fit).conformalize(X_cal, y_cal)
        return lambda X_new: np.asarray(cqr.predict_interval(X_new)[1])[:, :, 0]

    def mapie_sklosses(X, y, seed):
        X_fit, X_cal, y_fit, y_cal = split_fit_calibration(X, y, seed)
        # The band of ConformalRegressor's default (free slopes, unpenalised),
        # with the median MAPIE also asks for.
        joint = LossRegressor(loss=Quantile([LOW, 0.5, HIGH], noncrossing="sort"),
                              alpha=0.0).fit(X_fit, y_fit)
        cqr = mapie.ConformalizedQuantileRegressor(
            [_Column(joint, 0), _Column(joint, 2), _Column(joint, 1)],
            confidence_level=COVERAGE, prefit=True)
        cqr.conformalize(X_cal, y_cal)
        return lambda X_new: np.asarray(
            cqr.predict_interval(X_new, symmetric_correction=True)[1])[:, :, 0]

    table = {"sklosses split CQR": ours("split"), "sklosses CV+ CQR": ours("cv+"),
             "QuantileRegressor pair (not calibrated)": pair}
    if mapie is not None:
        table["MAPIE CQR + QuantileRegressor"] = mapie_quantile_regressor
        table["MAPIE CQR + sklosses"] = mapie_sklosses
    return table


def main(n_splits):
    try:
        import mapie.regression as mapie  # noqa: PLC0415
    except ImportError:
        mapie = None
    for name, load in (("diabetes", diabetes), ("engel", engel)):
        X, y = load()
        table = methods(mapie)
        results = {method: [] for method in table}
        times = {method: 0.0 for method in table}
        warned = {method: 0 for method in table}
        for seed in range(n_splits):
            X_train, X_test, y_train, y_test = train_test_split(
                X, y, test_size=0.25, random_state=seed)
            for method, run in table.items():
                start = time.perf_counter()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    predict_interval = run(X_train, y_train, seed)
                    interval = predict_interval(X_test)
                times[method] += time.perf_counter() - start
                results[method].append(judge(interval, y_test))
                # A fit that did not converge is counted, not hidden.
                warned[method] += any(issubclass(w.category, ConvergenceWarning)
                                      for w in caught)
        print(f"\n== {name}: n={len(y)}, p={X.shape[1]}, {n_splits} splits, "
              f"{COVERAGE:.0%} intervals")
        print(f"  {'method':<42} {'coverage':>9} {'(min split)':>12} {'mean width':>11} "
              f"{'time/split':>11} {'warned':>7}")
        for method, rows in results.items():
            coverage, width = np.asarray(rows).T
            print(f"  {method:<42} {coverage.mean():9.3f} {coverage.min():12.3f} "
                  f"{width.mean():11.2f} {1e3 * times[method] / n_splits:9.1f} ms "
                  f"{warned[method]:7d}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=200)
    main(parser.parse_args().splits)

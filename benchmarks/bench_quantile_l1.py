"""Quantile regression with L1: solver="exact" against HiGHS and statsmodels.

All fits minimise, and are judged by ``objective`` below,

    J(w, b) = mean_i pinball_q(y_i - x_i @ w - b) + alpha * ||w||_1,

QuantileRegressor's with the same ``alpha`` and ours with ``l1_ratio=1``;
statsmodels' ``QuantReg`` has no penalty, so it is compared with our fit at
``alpha=0`` (``--statsmodels``). Ours is ``solver="exact"`` (the interior-point
method, also what ``"auto"`` picks here) at ``tol=1e-6``: it stops at a
certified relative duality gap of at most 1e-6, reported beside the relative
difference to HiGHS's objective. Fits alternate in one process, single-threaded
(threadpoolctl); medians over the rounds. HiGHS takes tens of seconds to
minutes per fit at these sizes: ``--anchor-rounds`` limits its rounds.

Usage:
  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_quantile_l1.py --n 10000 --alpha 1e-4
  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_quantile_l1.py --n 10000 --alpha 0 --statsmodels
  OPENBLAS_NUM_THREADS=1 python benchmarks/bench_quantile_l1.py --n 1000000 --p 10 --no-highs \
      --direct

``--direct`` adds our fit without the Portnoy-Koenker preprocessing (the
full interior point), which "exact" applies from 10 000 rows on.
"""

import argparse
import statistics
import time
import warnings

import numpy as np
from sklearn.linear_model import QuantileRegressor
from threadpoolctl import threadpool_limits

from sklosses import LossRegressor
from sklosses.losses import Quantile
from sklosses.solvers import _globbing

QUANTILE = 0.9
TOL = 1e-6  # relative duality gap asked from ours


def objective(X, y, coef, intercept, alpha):
    """Mean pinball loss plus alpha ||w||_1, evaluated independently of every fit."""
    r = y - X @ np.ravel(coef) - float(intercept)
    pinball = np.maximum(QUANTILE * r, (QUANTILE - 1) * r)
    return float(pinball.mean() + alpha * np.abs(coef).sum())


def make_data(n_samples, n_features):
    """Ten informative features, heteroscedastic heavy-tailed (Student t3) noise."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_samples, n_features))
    coef = np.zeros(n_features)
    coef[:10] = rng.uniform(-2, 2, size=min(10, n_features))
    noise = (1 + 0.5 * np.abs(X[:, 0])) * rng.standard_t(3, size=n_samples)
    return X, X @ coef + noise


def fit_ours(X, y, alpha):
    est = LossRegressor(loss=Quantile(QUANTILE), alpha=alpha, l1_ratio=1, solver="exact",
                        tol=TOL).fit(X, y)
    return est.coef_, est.intercept_, f"gap {est.duality_gap_:.1e}, {est.n_iter_} it"


def fit_ours_direct(X, y, alpha):
    """Ours on the full program: preprocessing switched off for this fit."""
    crossover = _globbing.MIN_ROWS
    _globbing.MIN_ROWS = X.shape[0] + 1
    try:
        return fit_ours(X, y, alpha)
    finally:
        _globbing.MIN_ROWS = crossover


def fit_highs(X, y, alpha):
    est = QuantileRegressor(quantile=QUANTILE, alpha=alpha, solver="highs").fit(X, y)
    return est.coef_, est.intercept_, ""


def fit_statsmodels(X, y, alpha):
    import statsmodels.api as sm  # noqa: PLC0415 - optional anchor

    assert alpha == 0, "QuantReg has no penalty: run with --alpha 0"
    res = sm.QuantReg(y, sm.add_constant(X)).fit(q=QUANTILE)
    return res.params[1:], res.params[0], f"{res.iterations} it"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--p", type=int, default=50)
    parser.add_argument("--alpha", type=float, default=1e-4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--anchor-rounds", type=int, default=None,
                        help="rounds of the anchors (default: --rounds)")
    parser.add_argument("--no-highs", action="store_true")
    parser.add_argument("--statsmodels", action="store_true")
    parser.add_argument("--direct", action="store_true",
                        help="also fit ours without the preprocessing")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    X, y = make_data(args.n, args.p)
    fitters = {"sklosses exact": fit_ours}
    if args.direct:
        fitters["sklosses exact, direct"] = fit_ours_direct
    if not args.no_highs:
        fitters["scikit-learn highs"] = fit_highs
    if args.statsmodels:
        fitters["statsmodels QuantReg"] = fit_statsmodels
    anchor_rounds = args.rounds if args.anchor_rounds is None else args.anchor_rounds
    print(f"n={args.n}, p={args.p}, quantile={QUANTILE}, alpha={args.alpha:g}, "
          f"rounds={args.rounds} (anchors {anchor_rounds}), single thread")
    times = {name: [] for name in fitters}
    fits = {}
    with threadpool_limits(limits=1):
        for round_ in range(args.rounds):
            for name, fit in fitters.items():
                if not name.startswith("sklosses") and round_ >= anchor_rounds:
                    continue
                start = time.perf_counter()
                fits[name] = fit(X, y, args.alpha)
                times[name].append(time.perf_counter() - start)
    values = {name: objective(X, y, c, b, args.alpha) for name, (c, b, _) in fits.items()}
    best = min(values.values())
    ours = statistics.median(times["sklosses exact"])
    for name, (coef, _, note) in fits.items():
        median = statistics.median(times[name])
        print(f"  {name:22s} median {median:8.3f} s (rounds: "
              f"{', '.join(f'{t:.2f}' for t in times[name])})  J = {values[name]:.10f} "
              f"(J - J_best) / J_best = {(values[name] - best) / best:.1e}  "
              f"nnz = {np.count_nonzero(coef)}  {note}  ours is {median / ours:.0f}x faster")


if __name__ == "__main__":
    main()

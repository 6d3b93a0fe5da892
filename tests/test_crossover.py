"""The crossover from the interior point's last iterate to the exact optimum.

Where the optimum is unique, the crossover solves the optimal partition's
linear system, so fits of the same problem written differently (weighted
rows, repeated rows) agree to rounding, not to the interior point's
distance from the optimum; where it is not unique, or the partition cannot
be read, the interior point's certified point is kept.
"""

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_sample_weight_equivalence_on_dense_data

import sklosses.solvers._exact as exact_module
from sklosses import LossClassifier, LossRegressor
from sklosses.losses import EpsilonInsensitive, Quantile
from sklosses.penalties import ElasticNet
from sklosses.solvers._crossover import crossover_point
from sklosses.solvers._exact import _OutputProblem, _ScaledDesign


@pytest.fixture
def crossovers(monkeypatch):
    """The crossover's results during a fit: True where it was taken."""
    seen = []

    def spy(problem, x_box):
        point = crossover_point(problem, x_box)
        seen.append(point is not None)
        return point

    monkeypatch.setattr(exact_module, "crossover_point", spy)
    return seen


def _data(seed, n=60, p=4, classification=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p)) * rng.uniform(0.1, 10, size=p)
    raw = X @ rng.normal(size=p) / np.sqrt(p)
    if classification:
        return X, (raw + rng.logistic(size=n) > 0).astype(int)
    return X, raw + rng.standard_t(3, size=n)


CASES = {
    "hinge enet": (LossClassifier, dict(loss="hinge", alpha=1e-3, l1_ratio=0.5), True),
    "hinge l2 small alpha": (LossClassifier, dict(loss="hinge", alpha=1e-5), True),
    "epsilon l2": (LossRegressor, dict(loss=EpsilonInsensitive(epsilon=0.3), alpha=1e-3),
                   False),
    "quantile enet": (LossRegressor, dict(loss=Quantile(quantile=0.8), alpha=1e-2,
                                          l1_ratio=0.5), False),
}


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("case", list(CASES))
def test_weighted_and_repeated_rows_agree_to_rounding(case, seed, crossovers):
    cls, params, classification = CASES[case]
    X, y = _data(seed, classification=classification)
    counts = np.random.default_rng(seed + 10).integers(0, 4, size=len(y))
    weighted = cls(solver="exact", **params).fit(X, y, sample_weight=counts)
    repeated = cls(solver="exact", **params).fit(np.repeat(X, counts, axis=0),
                                                 np.repeat(y, counts))
    # A unique optimum (an L2 part): the crossover finds it in both fits.
    assert crossovers == [True, True]
    scale = np.max(np.abs(weighted.coef_))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(weighted.intercept_, repeated.intercept_, rtol=0,
                               atol=1e-9 * max(scale, 1.0))


def test_margin_samples_sit_exactly_on_the_margin(crossovers):
    # The crossover solves for the samples on the kink: their margins are 1
    # to rounding, where the interior point leaves them ~1e-6 off.
    X, y = _data(3, n=200, p=6, classification=True)
    est = LossClassifier(loss="hinge", alpha=1e-3, l1_ratio=0.5, solver="exact").fit(X, y)
    assert crossovers == [True]
    margins = (2 * y - 1) * est.decision_function(X)
    near = np.abs(margins - 1) < 1e-3
    assert near.sum() >= 3
    np.testing.assert_allclose(margins[near], 1.0, atol=1e-10)
    # The L1 part's zeros are exact zeros.
    assert np.any(est.coef_ == 0.0) or est.coef_.size == np.count_nonzero(est.coef_)


def test_the_sample_weight_check_passes_for_hinge_with_elastic_net():
    # Was an expected failure (FLAT_OPTIMUM): predictions 1e-4 apart at the
    # interior point's certified 1e-10 gap.
    est = LossClassifier(loss="hinge", l1_ratio=0.5)
    check_sample_weight_equivalence_on_dense_data(type(est).__name__, est)


def test_a_flat_optimum_keeps_the_certified_interior_point(crossovers):
    # The median of an even number of targets with only an intercept: a
    # whole interval of optima, no vertex to cross over to.
    rng = np.random.default_rng(0)
    X = np.zeros((40, 1))
    y = rng.normal(size=40)
    est = LossRegressor(loss="absolute_error", alpha=0.0, solver="exact").fit(X, y)
    assert crossovers == [False]
    assert est.duality_gap_ <= est.tol
    low, high = np.sort(y)[19], np.sort(y)[20]
    assert low <= est.intercept_ <= high


@pytest.mark.parametrize("loss", [Quantile(quantile=0.3), EpsilonInsensitive(epsilon=0.5)],
                         ids=["one kink", "two kinks"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_columns_equal_the_operator_applied_to_unit_vectors(loss, fit_intercept):
    # The dense columns the crossover uses, against the operator itself.
    X, y = _data(4, n=25, p=3)
    w = np.random.default_rng(4).uniform(0.5, 2.0, size=25)
    w /= w.sum()
    design = _ScaledDesign(X, w, fit_intercept=fit_intercept)
    penalty = ElasticNet(alpha=0.1, l1_ratio=0.5)
    problem = _OutputProblem(design, loss.piecewise_linear(y), w, penalty)
    qp = problem.box_qp()
    op = qp.operator
    n_box, n_free = qp.cost.size, qp.curvature.size
    index = np.array([0, 3, n_box // 2, n_box - 2, n_box - 1])
    box, free = op.columns(index)
    for column, j in zip(box.T, index):
        unit = np.zeros(n_box)
        unit[j] = 1.0
        np.testing.assert_allclose(column, op.apply(unit, np.zeros(n_free)), atol=1e-14)
    for column, j in zip(free.T, range(n_free)):
        unit = np.zeros(n_free)
        unit[j] = 1.0
        np.testing.assert_allclose(column, op.apply(np.zeros(n_box), unit), atol=1e-14)

"""Penalties: closed-form proxes, the prox inequality, value splits, gradients."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize

from sklosses._objective import Objective
from sklosses.losses import SquaredError
from sklosses.models import LinearModel
from sklosses.penalties import L1, L2, ElasticNet, NoPenalty, make_penalty

PENALTIES = [NoPenalty(), L2(0.7), L1(0.3), ElasticNet(0.5, 0.25), ElasticNet(2.0, 0.9)]
IDS = [repr(p) for p in PENALTIES]

finite = st.floats(-50, 50, allow_nan=False, allow_infinity=False)
vectors = arrays(np.float64, st.integers(1, 8), elements=finite)
alphas = st.floats(0.0, 10.0, allow_nan=False)
ratios = st.floats(0.0, 1.0, allow_nan=False)
steps = st.floats(1e-3, 10.0, allow_nan=False)


def soft_threshold(w, threshold):
    """The textbook soft-thresholding operator, written out per entry."""
    out = np.zeros_like(w)
    for i, wi in enumerate(w):
        if wi > threshold:
            out[i] = wi - threshold
        elif wi < -threshold:
            out[i] = wi + threshold
    return out


def test_soft_threshold_values():
    w = np.array([-3.0, -1.0, -0.5, 0.0, 0.2, 1.5, 4.0])
    expected = np.array([-2.0, 0.0, 0.0, 0.0, 0.0, 0.5, 3.0])
    np.testing.assert_array_equal(L1(2.0).prox(w, 0.5), expected)


@pytest.mark.parametrize("penalty", PENALTIES, ids=IDS)
def test_prox_is_soft_thresholding_of_the_l1_part(penalty):
    rng = np.random.default_rng(0)
    w = rng.normal(scale=2.0, size=20)
    step = 0.8
    expected = soft_threshold(w, step * penalty.alpha * penalty.l1_ratio)
    np.testing.assert_allclose(penalty.prox(w, step), expected, rtol=0, atol=1e-15)


@pytest.mark.parametrize("penalty", PENALTIES, ids=IDS)
def test_prox_minimises_its_definition(penalty):
    """prox(w) = argmin_z nonsmooth(z) + ||z - w||^2 / (2 step), checked numerically."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=6)
    step = 0.6

    def moreau(z):
        return penalty.nonsmooth_value(z) + 0.5 * np.sum((z - w) ** 2) / step

    p = penalty.prox(w, step)
    for _ in range(200):
        z = p + rng.normal(scale=0.3, size=w.size)
        assert moreau(p) <= moreau(z) + 1e-12


@pytest.mark.parametrize("penalty", PENALTIES, ids=IDS)
def test_elastic_net_full_prox_closed_form(penalty):
    """The prox of the whole elastic net is soft-thresholding then shrinkage.

    argmin_z a (r ||z||_1 + (1 - r)/2 ||z||^2) + ||z - w||^2 / (2 s)
        = soft(w, s a r) / (1 + s a (1 - r))
    """
    rng = np.random.default_rng(2)
    w = rng.normal(scale=2.0, size=5)
    step = 0.7
    l1 = penalty.alpha * penalty.l1_ratio
    l2 = penalty.alpha * (1 - penalty.l1_ratio)
    closed = soft_threshold(w, step * l1) / (1 + step * l2)
    # Composition of the two parts the solvers use: the L1 prox, then the
    # exact prox of the smooth L2 part (a shrinkage).
    composed = penalty.prox(w, step) / (1 + step * l2)
    np.testing.assert_allclose(composed, closed, atol=1e-14)

    def moreau(z):
        return penalty.value(z) + 0.5 * np.sum((z - w) ** 2) / step

    numeric = minimize(moreau, w, method="Powell", options={"xtol": 1e-10, "ftol": 1e-14}).x
    assert moreau(closed) <= moreau(numeric) + 1e-9
    np.testing.assert_allclose(closed, numeric, atol=1e-5)


@pytest.mark.parametrize("penalty", PENALTIES, ids=IDS)
def test_three_point_inequality(penalty):
    """<x - p, z - p> <= step (g(z) - g(p)) for p = prox(x) and every z."""
    rng = np.random.default_rng(3)
    for _ in range(50):
        x = rng.normal(scale=2.0, size=7)
        step = rng.uniform(0.01, 3.0)
        p = penalty.prox(x, step)
        z = rng.normal(scale=2.0, size=7)
        lhs = float((x - p) @ (z - p))
        rhs = step * (penalty.nonsmooth_value(z) - penalty.nonsmooth_value(p))
        assert lhs <= rhs + 1e-10


@pytest.mark.parametrize("penalty", PENALTIES, ids=IDS)
def test_value_is_smooth_plus_nonsmooth(penalty):
    w = np.array([1.0, -2.0, 0.0, 0.5])
    l1 = penalty.alpha * penalty.l1_ratio
    l2 = penalty.alpha * (1 - penalty.l1_ratio)
    expected = l1 * 3.5 + 0.5 * l2 * (1 + 4 + 0.25)
    smooth, _ = penalty.smooth_value_gradient(w)
    assert penalty.value(w) == pytest.approx(expected, rel=1e-15)
    assert penalty.value(w) == pytest.approx(smooth + penalty.nonsmooth_value(w), rel=1e-15)


@pytest.mark.parametrize("penalty", PENALTIES, ids=IDS)
def test_smooth_gradient_matches_finite_differences(penalty):
    rng = np.random.default_rng(4)
    w = rng.normal(size=6)
    _, grad = penalty.smooth_value_gradient(w)
    h = 1e-6
    numeric = np.array([
        (penalty.smooth_value_gradient(w + h * e)[0]
         - penalty.smooth_value_gradient(w - h * e)[0]) / (2 * h)
        for e in np.eye(w.size)
    ])
    np.testing.assert_allclose(grad, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize(
    "alpha, l1_ratio, cls",
    [(0, 0.5, NoPenalty), (1.0, 0, L2), (1.0, 1, L1), (1.0, 0.3, ElasticNet)],
)
def test_make_penalty_picks_the_simplest(alpha, l1_ratio, cls):
    penalty = make_penalty(alpha, l1_ratio)
    assert type(penalty) is cls
    assert penalty.is_smooth == (alpha == 0 or l1_ratio == 0)


def test_objective_prox_and_penalty_leave_intercepts_alone():
    X = np.eye(3)
    objective = Objective(SquaredError(), LinearModel(3, 1), L1(1.0), X, np.ones(3))
    params = np.array([0.5, -2.0, 0.1, -0.3])  # three weights, one intercept
    out = objective.prox(params, 1.0)
    np.testing.assert_array_equal(out, [0.0, -1.0, 0.0, -0.3])
    assert objective.nonsmooth_value(params) == pytest.approx(2.6)


# --- property tests: bounded examples --------------------------------------


@settings(max_examples=60, deadline=None)
@given(w=vectors, alpha=alphas, l1_ratio=ratios, step=steps)
def test_prop_prox_closed_form(w, alpha, l1_ratio, step):
    penalty = ElasticNet(alpha, l1_ratio)
    p = penalty.prox(w, step)
    np.testing.assert_allclose(p, soft_threshold(w, step * alpha * l1_ratio), atol=1e-12)
    # Soft-thresholding never grows a weight nor flips its sign.
    assert np.all(np.abs(p) <= np.abs(w))
    assert np.all(p * w >= 0)


@settings(max_examples=60, deadline=None)
@given(x=vectors, alpha=alphas, l1_ratio=ratios, step=steps, seed=st.integers(0, 2**16))
def test_prop_three_point_inequality(x, alpha, l1_ratio, step, seed):
    penalty = ElasticNet(alpha, l1_ratio)
    p = penalty.prox(x, step)
    z = np.random.default_rng(seed).normal(scale=10.0, size=x.size)
    lhs = float((x - p) @ (z - p))
    rhs = step * (penalty.nonsmooth_value(z) - penalty.nonsmooth_value(p))
    assert lhs <= rhs + 1e-9 * (1 + abs(rhs))


@settings(max_examples=60, deadline=None)
@given(w=vectors, alpha=alphas, l1_ratio=ratios)
def test_prop_value_split_and_nonnegative(w, alpha, l1_ratio):
    penalty = ElasticNet(alpha, l1_ratio)
    smooth, grad = penalty.smooth_value_gradient(w)
    total = penalty.value(w)
    assert total >= 0
    assert total == pytest.approx(smooth + penalty.nonsmooth_value(w), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad, alpha * (1 - l1_ratio) * w, rtol=1e-12, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(w=vectors, alpha=alphas, l1_ratio=ratios, step=steps)
def test_prop_prox_is_firmly_nonexpansive(w, alpha, l1_ratio, step):
    """||prox(a) - prox(b)||^2 <= <a - b, prox(a) - prox(b)> (prox of a convex g)."""
    penalty = ElasticNet(alpha, l1_ratio)
    b = w[::-1] * 0.5 + 1.0
    pa, pb = penalty.prox(w, step), penalty.prox(b, step)
    assert float((pa - pb) @ (pa - pb)) <= float((w - b) @ (pa - pb)) + 1e-9

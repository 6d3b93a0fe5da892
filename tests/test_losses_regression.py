"""Tests of the regression losses: values, gradients, dtypes, constants, domains."""

import pickle

import numpy as np
import pytest
from _domains import targets_in
from numpy.testing import assert_allclose
from scipy.optimize import minimize, minimize_scalar
from scipy.special import log_softmax, softmax
from sklearn.base import clone
from sklearn.metrics import (
    mean_absolute_error,
    mean_gamma_deviance,
    mean_pinball_loss,
    mean_poisson_deviance,
    mean_squared_error,
    mean_squared_log_error,
    mean_tweedie_deviance,
)

from sklosses.losses import (
    AbsoluteError,
    EpsilonInsensitive,
    Gamma,
    Huber,
    KLDivergence,
    LogCosh,
    Poisson,
    Quantile,
    SquaredError,
    SquaredLogError,
    Tweedie,
)
from sklosses.losses._regression import REGRESSION_LOSSES

LOSSES = [
    SquaredError(),
    AbsoluteError(),
    Huber(),
    Huber(delta=0.5),
    LogCosh(),
    SquaredLogError(),
    Quantile(),
    Quantile(quantile=0.1),
    Quantile(quantile=0.9),
    EpsilonInsensitive(),
    EpsilonInsensitive(epsilon=0.0),
    Poisson(),
    Gamma(),
    Tweedie(power=-0.5),
    Tweedie(power=0),
    Tweedie(power=1),
    Tweedie(power=1.5),
    Tweedie(power=2),
    Tweedie(power=3),
    KLDivergence(),
]
NON_SMOOTH = [
    AbsoluteError(),
    Quantile(),
    Quantile(quantile=0.1),
    Quantile(quantile=0.9),
    EpsilonInsensitive(),
    EpsilonInsensitive(epsilon=0.0),
]
SMOOTHED = [loss.smoothed(mu) for loss in NON_SMOOTH for mu in (0.05, 1.0)]


def _id(loss):
    return repr(loss)


# ---------------------------------------------------------------------------
# Data and references
# ---------------------------------------------------------------------------


def _is_log_link(loss):
    return loss.link.name == "log"


def _make_y(loss, rng, shape):
    """Targets inside the loss's declared domain (on a closed bound where it has one)."""
    return targets_in(loss.target_domain, rng, shape)


def make_data(loss, rng, n_outputs=None, n=40, extreme=False):
    """Targets and raw predictions; ``extreme`` puts raw at +-30 or +-1e3."""
    if isinstance(loss, KLDivergence):
        shape = (n, 4)
    else:
        shape = (n,) if n_outputs is None else (n, n_outputs)
    y = _make_y(loss, rng, shape)
    noise = rng.standard_normal(y.shape)
    if extreme:
        # exp and expm1 links overflow beyond raw ~ 700: +-30 is extreme for them.
        big = 30.0 if loss.link.name in ("log", "log1p") else 1e3
        raw = rng.choice([-big, big], size=y.shape) + 0.1 * noise
    elif _is_log_link(loss):
        raw = np.log(np.abs(y).mean() + 0.5) + 0.5 * noise
    elif loss.link.name == "log1p":
        raw = np.log1p(np.abs(y).mean()) + 0.5 * noise
    else:
        raw = 2 * noise
    return y, raw


def hand_reference(loss, y, p):
    """Per-element losses written out from their textbook formulas."""
    r = y - p
    if isinstance(loss, Huber):
        d = loss.delta
        return np.where(np.abs(r) <= d, 0.5 * r**2, d * (np.abs(r) - 0.5 * d))
    if isinstance(loss, LogCosh):
        # cosh overflows beyond |r| ~ 710; there log cosh r = |r| - log 2 to 1e-17
        a = np.minimum(np.abs(r), 20.0)
        return np.where(np.abs(r) < 20, np.log(np.cosh(a)), np.abs(r) - np.log(2.0))
    if isinstance(loss, EpsilonInsensitive):
        return np.maximum(0.0, np.abs(r) - loss.epsilon)
    raise AssertionError(loss)


def keras_kl(y, p, sample_weight=None):
    """Keras' KLDivergence: clips both to [1e-7, 1], sums over the last axis."""
    yt = np.clip(y, 1e-7, 1)
    yp = np.clip(p, 1e-7, 1)
    return np.average(np.sum(yt * np.log(yt / yp), axis=-1), weights=sample_weight)


def sklearn_metric(loss):
    """The scikit-learn metric of a loss, or None when it has none."""
    if isinstance(loss, SquaredError):
        return mean_squared_error
    if isinstance(loss, AbsoluteError):
        return mean_absolute_error
    if isinstance(loss, SquaredLogError):
        return mean_squared_log_error
    if isinstance(loss, Quantile):
        return lambda y, p, sample_weight=None: mean_pinball_loss(
            y, p, sample_weight=sample_weight, alpha=loss.quantile
        )
    if isinstance(loss, Poisson):
        return mean_poisson_deviance
    if isinstance(loss, Gamma):
        return mean_gamma_deviance
    if isinstance(loss, Tweedie):
        return lambda y, p, sample_weight=None: mean_tweedie_deviance(
            y, p, sample_weight=sample_weight, power=loss.power
        )
    return None


def reference_value(loss, y, p, sample_weight):
    """Weighted mean loss from an independent reference, outputs averaged."""
    if isinstance(loss, KLDivergence):
        return np.average(
            np.sum(np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / p), 0), axis=1),
            weights=sample_weight,
        )
    metric = sklearn_metric(loss)
    if metric is None:
        per_sample = hand_reference(loss, y, p)
        if per_sample.ndim == 2:
            per_sample = per_sample.mean(axis=1)
        return np.average(per_sample, weights=sample_weight)
    if y.ndim == 1:
        return metric(y, p, sample_weight=sample_weight)
    # uniform average over outputs (the deviances reject 2-D input)
    return np.mean(
        [metric(y[:, j], p[:, j], sample_weight=sample_weight) for j in range(y.shape[1])]
    )


def kink_distance(loss, y, raw):
    """Distance of each element to the nearest kink (inf for smooth losses)."""
    a = np.abs(raw - y)
    if isinstance(loss, (AbsoluteError, Quantile)):
        return a
    if isinstance(loss, EpsilonInsensitive):
        return np.abs(a - loss.epsilon)
    if isinstance(loss, Huber):  # C1 only: the second derivative jumps
        return np.abs(a - loss.delta)
    return np.full(np.shape(raw), np.inf)


def numerical_gradient(loss, y, raw, h=1e-4):
    """Five-point central differences of the per-sample loss, column by column.

    Rows are independent, so shifting a whole column gives, row by row, the
    derivative of that row's loss with respect to that column's raw value. The
    stencil's error is O(h**4), so an absolute step suits raw values of any
    size; rounding contributes about ``eps * |loss| / h``.
    """
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    raw2 = raw.reshape(raw.shape[0], -1)
    grad = np.zeros_like(raw2)

    def shifted_loss(j, step):
        moved = raw2.copy()
        moved[:, j] += step
        return loss.loss_gradient(y, moved.reshape(raw.shape))[0]

    for j in range(raw2.shape[1]):
        grad[:, j] = (
            -shifted_loss(j, 2 * h)
            + 8 * shifted_loss(j, h)
            - 8 * shifted_loss(j, -h)
            + shifted_loss(j, -2 * h)
        ) / (12 * h)
    return grad.reshape(raw.shape)


def _smooth_rows(loss, y, raw):
    """Rows whose elements are all well away from kinks."""
    dist = kink_distance(loss, y, raw).reshape(raw.shape[0], -1)
    return np.all(dist > 1e-3, axis=1)


# ---------------------------------------------------------------------------
# 1. Values on predictions equal the metrics
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES, ids=_id)
@pytest.mark.parametrize("n_outputs", [None, 3], ids=["1d", "2d"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_value_equals_reference(loss, n_outputs, weighted):
    if isinstance(loss, KLDivergence) and n_outputs is None:
        pytest.skip("KL targets are always 2-D")
    rng = np.random.default_rng(0)
    y, raw = make_data(loss, rng, n_outputs)
    p = loss.link.inverse(raw)
    sw = rng.uniform(0.1, 2.0, size=y.shape[0]) if weighted else None
    expected = reference_value(loss, y, p, sw)
    assert_allclose(loss(y, p, sample_weight=sw), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "loss",
    [SquaredError(), AbsoluteError(), SquaredLogError(), Quantile(quantile=0.9)],
    ids=_id,
)
def test_multioutput_metric_directly(loss):
    # These metrics accept 2-D input; their uniform average is our row mean.
    rng = np.random.default_rng(1)
    y, raw = make_data(loss, rng, n_outputs=3)
    p = loss.link.inverse(raw)
    sw = rng.uniform(0.1, 2.0, size=y.shape[0])
    expected = sklearn_metric(loss)(y, p, sample_weight=sw)
    assert_allclose(loss(y, p, sample_weight=sw), expected, rtol=1e-12)


@pytest.mark.parametrize(
    "loss", [Huber(), Huber(delta=0.5), LogCosh(), EpsilonInsensitive()], ids=_id
)
def test_value_equals_hand_formula(loss):
    rng = np.random.default_rng(2)
    y, p = 2 * rng.standard_normal((2, 50))
    assert_allclose(loss.pointwise(y, p), hand_reference(loss, y, p), rtol=1e-12)


def test_kl_equals_keras_formula():
    rng = np.random.default_rng(3)
    y = rng.dirichlet(np.ones(5), size=30)
    p = softmax(rng.standard_normal((30, 5)), axis=1)
    sw = rng.uniform(0.5, 2.0, size=30)
    assert_allclose(KLDivergence()(y, p, sample_weight=sw), keras_kl(y, p, sw), rtol=1e-5)
    # 0 log 0 = 0: a one-hot target gives -log p of its class
    onehot = np.eye(5)[[0, 3]]
    assert_allclose(
        KLDivergence().pointwise(onehot, p[:2]), -np.log(p[[0, 1], [0, 3]]), rtol=1e-12
    )


def test_known_values():
    assert SquaredError()([0.0, 0.0], [1.0, 3.0]) == 5.0
    assert Huber(delta=1.0)([0.0], [3.0]) == 2.5
    assert Quantile(quantile=0.1)([0.0, 0.0], [1.0, -1.0]) == pytest.approx(0.5)
    assert EpsilonInsensitive(epsilon=0.5)([0.0], [2.0]) == 1.5
    assert Poisson()([0.0], [2.0]) == pytest.approx(4.0)
    assert Gamma()([1.0], [1.0]) == 0.0
    assert_allclose(LogCosh()([0.0], [1e-8]), 0.5e-16, rtol=1e-10)  # no cancellation


@pytest.mark.parametrize("loss", LOSSES, ids=_id)
def test_raw_and_prediction_formulas_agree(loss):
    # loss_gradient works on raw and pointwise on predictions; they must agree.
    rng = np.random.default_rng(4)
    y, raw = make_data(loss, rng, n_outputs=2)
    assert_allclose(
        loss.loss(y, raw),
        loss.pointwise(y, loss.link.inverse(raw)),
        rtol=1e-9,
        atol=1e-12,
    )


def test_column_vector_and_1d_accepted_together():
    y = np.array([1.0, 2.0, 3.0])
    p = np.array([[1.5], [2.0], [2.0]])
    assert SquaredError()(y, p) == pytest.approx(mean_squared_error(y, p))
    with pytest.raises(ValueError, match="shape"):
        SquaredError()(y, np.ones((3, 2)))
    with pytest.raises(ValueError, match="shape"):
        SquaredError().loss_gradient(y, np.ones(4))


@pytest.mark.parametrize("loss", LOSSES, ids=_id)
@pytest.mark.parametrize("extreme", [False, True], ids=["ordinary", "extreme"])
def test_float32_value_equals_reference(loss, extreme):
    # The float32 path against the independent float64 reference (the
    # scikit-learn metric or the textbook formula) at the same float32
    # inputs, targets drawn from the declared domain.
    rng = np.random.default_rng(13)
    y, raw = make_data(loss, rng, n_outputs=2 if loss.link.name != "softmax" else None,
                       extreme=extreme)
    y32, raw32 = y.astype(np.float32), raw.astype(np.float32)
    value32 = loss.loss(y32, raw32)
    assert value32.dtype == np.float32 and np.all(np.isfinite(value32))
    raw64, y64 = raw32.astype(np.float64), y32.astype(np.float64)
    if isinstance(loss, KLDivergence):
        # softmax probabilities underflow to 0 at extreme raw: use log-softmax
        terms = np.where(y64 > 0, y64 * (np.log(np.where(y64 > 0, y64, 1))
                                        - log_softmax(raw64, axis=1)), 0.0)
        expected = terms.sum(axis=1).mean()
    else:
        expected = reference_value(loss, y64, loss.link.inverse(raw64), None)
    assert_allclose(np.mean(value32, dtype=np.float64), expected, rtol=2e-5)


# ---------------------------------------------------------------------------
# 2. Gradients against finite differences
# ---------------------------------------------------------------------------


def _check_gradient(loss, y, raw):
    rows = _smooth_rows(loss, y, raw)
    assert rows.sum() >= 0.8 * rows.size  # the mask must not hide the test
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value, grad = loss.loss_gradient(y, raw)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    assert grad.shape == raw.shape and value.shape == (raw.shape[0],)
    fd = numerical_gradient(loss, y, raw)
    # rounding error of the differences is about 3e-12 * |loss|
    scale = (1 + np.abs(value))[:, None] if raw.ndim == 2 else 1 + np.abs(value)
    ok = np.abs(grad - fd) <= 1e-6 * np.abs(fd) + 1e-10 * scale
    assert np.all(ok[rows]), (grad[rows][~ok[rows]], fd[rows][~ok[rows]])

    # float32 gradient against float64 differences at the same float32 inputs
    y32, raw32 = y.astype(np.float32), raw.astype(np.float32)
    value32, grad32 = loss.loss_gradient(y32, raw32)
    assert value32.dtype == grad32.dtype == np.float32
    assert np.all(np.isfinite(value32)) and np.all(np.isfinite(grad32))
    y64, raw64 = y32.astype(np.float64), raw32.astype(np.float64)
    rows32 = _smooth_rows(loss, y64, raw64)
    fd64 = numerical_gradient(loss, y64, raw64)
    ok32 = np.abs(grad32 - fd64) <= 1e-3 * np.abs(fd64) + 1e-5 * scale
    assert np.all(ok32[rows32]), (grad32[rows32][~ok32[rows32]], fd64[rows32][~ok32[rows32]])


@pytest.mark.parametrize("loss", LOSSES + SMOOTHED, ids=_id)
@pytest.mark.parametrize("n_outputs", [None, 3], ids=["1d", "2d"])
@pytest.mark.parametrize("extreme", [False, True], ids=["ordinary", "extreme"])
def test_gradient_finite_differences(loss, n_outputs, extreme):
    if isinstance(loss, KLDivergence) and n_outputs is None:
        pytest.skip("KL targets are always 2-D")
    rng = np.random.default_rng(5)
    y, raw = make_data(loss, rng, n_outputs, extreme=extreme)
    _check_gradient(loss, y, raw)


def test_kl_gradient_for_unnormalised_rows():
    # loss_gradient does not validate y; its gradient p * sum(y) - y must match
    # the loss it returns even when rows do not sum to one.
    rng = np.random.default_rng(12)
    y = 3 * rng.dirichlet(np.ones(4), size=20)
    raw = rng.standard_normal((20, 4))
    _check_gradient(KLDivergence(), y, raw)


@pytest.mark.parametrize("power", [0, 1, 2])
def test_tweedie_special_powers(power):
    rng = np.random.default_rng(6)
    reference = {0: None, 1: Poisson(), 2: Gamma()}[power]
    y, raw = make_data(Tweedie(power=power), rng)
    if reference is None:
        reference_loss = (y - np.exp(raw)) ** 2
        assert_allclose(Tweedie(power=0).loss(y, raw), reference_loss, rtol=1e-12)
        return
    a = Tweedie(power=power).loss_gradient(y, raw)
    b = reference.loss_gradient(y, raw)
    assert_allclose(a[0], b[0], rtol=1e-12)
    assert_allclose(a[1], b[1], rtol=1e-12)
    # powers near the special ones agree with them (the general formula's limit)
    near = Tweedie(power=power + 1e-7).loss(y, raw)
    assert_allclose(near, a[0], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# 3. dtypes and sample weights
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES + SMOOTHED, ids=_id)
def test_float32_preserved_and_sample_weight(loss):
    rng = np.random.default_rng(7)
    y, raw = make_data(loss, rng, n_outputs=2)
    raw32 = raw.astype(np.float32)
    # float64 y with float32 raw still gives float32
    value, grad = loss.loss_gradient(y, raw32)
    assert value.dtype == np.float32 and grad.dtype == np.float32
    assert loss.pointwise(y, loss.link.inverse(raw32)).dtype == np.float32

    sw = rng.uniform(0.0, 3.0, size=y.shape[0])
    value_w, grad_w = loss.loss_gradient(y, raw32, sample_weight=sw)
    assert value_w.dtype == np.float32 and grad_w.dtype == np.float32
    assert_allclose(value_w, sw.astype(np.float32) * value, rtol=1e-6)
    assert_allclose(grad_w, sw.astype(np.float32)[:, None] * grad, rtol=1e-6)

    # weights in __call__: integer weights equal repeated rows
    p = loss.link.inverse(raw)
    counts = rng.integers(0, 3, size=y.shape[0])
    counts[0] = 1
    repeated = loss(np.repeat(y, counts, axis=0), np.repeat(p, counts, axis=0))
    assert_allclose(loss(y, p, sample_weight=counts), repeated, rtol=1e-12)


# ---------------------------------------------------------------------------
# 4. The best constant
# ---------------------------------------------------------------------------


def _mean_loss(loss, y, c, sw):
    raw = np.full(y.shape, c, dtype=float) if y.ndim == 1 else np.tile(c, (y.shape[0], 1))
    return np.average(loss.loss(y, raw), weights=sw)


@pytest.mark.parametrize("loss", LOSSES + SMOOTHED, ids=_id)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_init_raw_is_optimal(loss, weighted):
    rng = np.random.default_rng(8)
    y, _ = make_data(loss, rng, n=31)
    sw = rng.uniform(0.1, 2.0, size=y.shape[0]) if weighted else None
    c0 = loss.init_raw(y, sample_weight=sw)
    f0 = _mean_loss(loss, y, c0, sw)
    # smoothed surrogates start at the unsmoothed optimum: mu-optimal
    slack = loss.mu if hasattr(loss, "mu") else 0.0
    if isinstance(loss, KLDivergence):
        assert c0.shape == (y.shape[1],)
        ref = minimize(
            lambda c: _mean_loss(loss, y, c, sw),
            np.zeros(y.shape[1]),
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000},
        )
        assert f0 <= ref.fun + 1e-10
        assert_allclose(softmax(c0), np.average(y, axis=0, weights=sw), rtol=1e-12)
        assert abs(c0.sum()) < 1e-12  # centred
        return
    assert isinstance(c0, float)
    ref = minimize_scalar(
        lambda c: _mean_loss(loss, y, c, sw),
        bounds=(c0 - 5, c0 + 5),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert f0 <= ref.fun + 1e-10 * (1 + abs(ref.fun)) + slack
    # and no nearby constant does better
    for step in (1e-3, -1e-3, 0.1, -0.1):
        assert f0 <= _mean_loss(loss, y, c0 + step, sw) + 1e-12 + slack

    # multi-output: one constant per output, each the 1-D answer
    y2 = np.column_stack([y, y[::-1]])
    c2 = loss.init_raw(y2, sample_weight=sw)
    assert c2.shape == (2,)
    assert_allclose(c2[0], c0, rtol=1e-10, atol=1e-12)
    assert_allclose(c2[1], loss.init_raw(y[::-1], sample_weight=sw), rtol=1e-10)


def test_init_raw_closed_forms():
    rng = np.random.default_rng(9)
    y = rng.standard_normal(40)
    sw = rng.uniform(0.1, 2.0, size=40)
    yp = rng.gamma(2.0, 1.0, size=40)
    assert_allclose(SquaredError().init_raw(y, sw), np.average(y, weights=sw))
    assert AbsoluteError().init_raw(y) == np.median(y)  # even n: midpoint
    assert AbsoluteError().init_raw(y[:39]) == np.median(y[:39])
    for q in (0.1, 0.5, 0.9):
        expected = np.quantile(y, q, weights=sw, method="inverted_cdf")
        assert Quantile(quantile=q).init_raw(y, sw) == expected
    assert EpsilonInsensitive(epsilon=0.0).init_raw(y) == np.median(y)
    assert_allclose(SquaredLogError().init_raw(yp, sw), np.average(np.log1p(yp), weights=sw))
    for loss in (Poisson(), Gamma(), Tweedie(power=1.5), Tweedie(power=3)):
        assert_allclose(loss.init_raw(yp, sw), np.log(np.average(yp, weights=sw)))
    # zero weights drop rows
    assert Quantile(0.5).init_raw([1.0, 2.0, 100.0], [1.0, 1.0, 0.0]) == 1.5


def test_init_raw_degenerate_means_are_finite():
    assert np.isfinite(Poisson().init_raw(np.zeros(5)))
    assert np.isfinite(Tweedie(power=0).init_raw(-np.ones(5)))
    y = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert np.all(np.isfinite(KLDivergence().init_raw(y)))
    assert LogCosh().init_raw(np.full(3, 2.0)) == 2.0
    assert Huber().init_raw(np.full(3, 2.0)) == 2.0


# ---------------------------------------------------------------------------
# 5. Domains and parameters
# ---------------------------------------------------------------------------

BAD_TARGETS = [
    (Poisson(), [-1.5, 1.0], r"y >= 0 \(found min y = -1.5\)"),
    (Gamma(), [0.0, 1.0], r"y > 0"),
    (SquaredLogError(), [-1.0, 0.0], r"y > -1"),
    (Tweedie(power=1.5), [-1.0, 1.0], r"y >= 0"),
    (Tweedie(power=1), [-1.0, 1.0], r"y >= 0"),
    (Tweedie(power=2), [0.0, 1.0], r"y > 0"),
    (Tweedie(power=3), [0.0, 1.0], r"y > 0"),
    (KLDivergence(), [0.5, 0.5], r"shape \(n_samples, n_classes\)"),
    (KLDivergence(), [[1.5, -0.5]], r"y >= 0"),
    (KLDivergence(), [[0.5, 0.4]], r"sum to 1"),
    (SquaredError(), [1.0, np.nan], r"NaN"),
    (Huber(), ["a", "b"], r"numeric"),
]


@pytest.mark.parametrize(
    "loss, y, match", BAD_TARGETS, ids=[f"{b[0]!r}-{b[2]}" for b in BAD_TARGETS]
)
def test_validate_target_errors(loss, y, match):
    with pytest.raises(ValueError, match=match):
        loss.validate_target(y)
    if np.asarray(y).dtype.kind == "f":
        # the metric refuses the same targets, as scikit-learn's metrics do
        with pytest.raises(ValueError):
            loss(y, np.full(np.shape(y), 0.5))


@pytest.mark.parametrize(
    "loss, y",
    [
        (Tweedie(power=0), [-3.0, 1.0]),
        (Tweedie(power=-0.5), [-3.0, 1.0]),
        (Poisson(), [0.0, 1.0]),
        (Tweedie(power=1.5), [0.0, 1.0]),
        (SquaredLogError(), [-0.5, 1.0]),
        (KLDivergence(), [[1.0, 0.0], [0.3, 0.7]]),
    ],
    ids=_id,
)
def test_validate_target_accepts_domain(loss, y):
    loss.validate_target(y)


def test_error_message_says_what_to_do():
    with pytest.raises(ValueError, match="squared_error"):
        Poisson().validate_target([-1.5, 2.0])


def test_bad_predictions_are_refused():
    with pytest.raises(ValueError, match="negative"):
        Poisson()([1.0], [-1.0])
    with pytest.raises(ValueError, match=">= -1"):
        SquaredLogError()([1.0], [-2.0])
    with pytest.raises(ValueError, match="NaN"):
        SquaredError()([1.0], [np.nan])
    # the normal deviance accepts any prediction, as mean_tweedie_deviance does
    assert Tweedie(power=0)([1.0], [-1.0]) == mean_tweedie_deviance([1.0], [-1.0])
    # a prediction of -1 is the limit of the log1p link: infinite, not an error
    assert SquaredLogError()([1.0], [-1.0]) == np.inf


BAD_PARAMS = [
    (Huber(delta=0.0), "delta > 0"),
    (Huber(delta=-1.0), "delta > 0"),
    (Huber(delta="a"), "real number"),
    (Quantile(quantile=0.0), "0 < quantile < 1"),
    (Quantile(quantile=1.0), "0 < quantile < 1"),
    (Quantile(quantile=1.5), "0 < quantile < 1"),
    (Quantile(quantile=np.nan), "finite"),
    (EpsilonInsensitive(epsilon=-0.1), "epsilon >= 0"),
    (Tweedie(power=0.5), "power <= 0 or power >= 1"),
    (AbsoluteError().smoothed(0.0), "mu must be > 0"),
    (Quantile(0.3).smoothed(-1.0), "mu must be > 0"),
    (Quantile(1.3).smoothed(1.0), "0 < quantile < 1"),
    (EpsilonInsensitive(-1.0).smoothed(1.0), "epsilon >= 0"),
]


@pytest.mark.parametrize("loss, match", BAD_PARAMS, ids=[repr(b[0]) for b in BAD_PARAMS])
def test_parameter_errors_at_use(loss, match):
    y = np.array([1.0, 2.0])
    with pytest.raises(ValueError, match=match):
        loss.validate_target(y)
    with pytest.raises(ValueError, match=match):
        loss.loss_gradient(y, y)
    with pytest.raises(ValueError, match=match):
        loss(y, y)
    with pytest.raises(ValueError, match=match):
        loss.init_raw(y)


# ---------------------------------------------------------------------------
# 6. Smoothing
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("loss", NON_SMOOTH, ids=_id)
@pytest.mark.parametrize("mu", [1e-3, 0.1, 1.0])
def test_smoothed_bound_and_lipschitz(loss, mu):
    assert not loss.is_smooth
    smooth = loss.smoothed(mu)
    assert smooth.is_smooth and smooth.link == loss.link
    assert smooth.smoothed(mu) is smooth
    kinks = np.array(
        [0.0, -loss.get_params().get("epsilon", 0.0), loss.get_params().get("epsilon", 0.0)]
    )
    raw = np.unique(
        np.concatenate(
            [
                np.linspace(-5, 5, 4001),
                kinks,
                kinks + 2 * mu,
                kinks - 2 * mu,
                kinks + 4 * mu,
                kinks - 4 * mu,
            ]
        )
    )
    rng = np.random.default_rng(10)
    for y0 in (0.0, rng.standard_normal()):
        shifted = np.unique(raw + y0)
        y = np.full_like(shifted, y0)
        gap = loss.loss(y, shifted) - smooth.loss(y, shifted)
        assert np.all(gap >= -1e-12) and np.all(gap <= mu + 1e-12)
        assert gap.max() > 0.5 * mu  # the bound is not vacuous
        # the gradient is 1 / (2 mu)-Lipschitz
        grad = smooth.loss_gradient(y, shifted)[1]
        slopes = np.abs(np.diff(grad)) / np.diff(shifted)
        assert slopes.max() <= (1 + 1e-9) / (2 * mu)
    # and it approximates the gradient of the loss away from the kinks
    far = kink_distance(loss, y, shifted) > 4 * mu
    assert_allclose(grad[far], loss.loss_gradient(y, shifted)[1][far], atol=1e-12)


@pytest.mark.parametrize("loss", [lo for lo in LOSSES if lo.is_smooth], ids=_id)
def test_smooth_losses_smoothed_is_self(loss):
    assert loss.smoothed(0.1) is loss


def test_smoothed_objects_clone_and_pickle():
    smooth = Quantile(quantile=0.2).smoothed(0.5)
    copy = clone(smooth)
    assert copy.get_params() == {"quantile": 0.2, "mu": 0.5}
    y = np.array([0.0, 1.0, 3.0])
    raw = np.array([0.5, 0.2, 2.0])
    again = pickle.loads(pickle.dumps(smooth))
    assert_allclose(again.loss(y, raw), smooth.loss(y, raw))


# ---------------------------------------------------------------------------
# 7. Estimator-like behaviour and the registry
# ---------------------------------------------------------------------------


def test_clone_get_set_params():
    huber = Huber(delta=2.0)
    assert clone(huber).delta == 2.0
    assert huber.get_params() == {"delta": 2.0, "scale": None}
    assert huber.set_params(delta=3.0) is huber and huber.delta == 3.0
    assert Tweedie(power=3).get_params() == {"power": 3}
    assert Quantile().get_params() == {"quantile": 0.5, "noncrossing": "monotone"}
    assert EpsilonInsensitive().get_params() == {"epsilon": 0.1}
    assert SquaredError().get_params() == {}


@pytest.mark.parametrize("loss", LOSSES, ids=_id)
def test_clone_and_pickle_preserve_behaviour(loss):
    rng = np.random.default_rng(11)
    y, raw = make_data(loss, rng, n=10)
    for copy in (clone(loss), pickle.loads(pickle.dumps(loss))):
        assert copy.get_params() == loss.get_params()
        assert_allclose(copy.loss(y, raw), loss.loss(y, raw))


def test_registry_and_flags():
    assert set(REGRESSION_LOSSES) == {
        "squared_error",
        "absolute_error",
        "huber",
        "log_cosh",
        "squared_log_error",
        "quantile",
        "epsilon_insensitive",
        "poisson",
        "gamma",
        "tweedie",
        "kl_divergence",
    }
    links = {
        "squared_error": "identity",
        "absolute_error": "identity",
        "huber": "identity",
        "log_cosh": "identity",
        "squared_log_error": "log1p",
        "quantile": "identity",
        "epsilon_insensitive": "identity",
        "poisson": "log",
        "gamma": "log",
        "tweedie": "log",
        "kl_divergence": "softmax",
    }
    for name, cls in REGRESSION_LOSSES.items():
        loss = cls()
        assert loss.name == name
        assert loss.task == "regression"
        assert loss.link.name == links[name]
        assert not loss.is_probabilistic and not loss.is_margin
        assert loss.is_smooth == (
            name not in {"absolute_error", "quantile", "epsilon_insensitive"}
        )

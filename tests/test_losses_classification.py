"""Tests of the classification losses against metrics, formulas and derivatives."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy.optimize import minimize
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import hinge_loss, log_loss

from sklosses.losses import (
    ClassificationLoss,
    Exponential,
    Focal,
    Hinge,
    LogLoss,
    ModifiedHuber,
    SmoothedHinge,
    SquaredHinge,
)
from sklosses.losses._classification import CLASSIFICATION_LOSSES

COMMON = [
    LogLoss(),
    LogLoss(label_smoothing=0.1),
    Focal(),
    Focal(gamma=0),
    Focal(gamma=0.5),
    Hinge(),
    Hinge(margin=2),
    Hinge(multiclass="crammer_singer"),
    SquaredHinge(),
    SquaredHinge(margin=2.0),
    ModifiedHuber(),
    Exponential(),
]
BINARY = [*COMMON, Focal(alpha=0.25), Focal(gamma=1.5, alpha=[0.7, 0.3])]
MULTICLASS = [*COMMON, Focal(alpha=[0.2, 0.3, 0.5])]
SMOOTHED = [
    Hinge().smoothed(0.1),
    Hinge(margin=2).smoothed(0.5),
    Hinge(multiclass="crammer_singer").smoothed(0.1),
]
CASES = [(loss, 2) for loss in BINARY + SMOOTHED] + [
    (loss, 3) for loss in MULTICLASS + SMOOTHED
]
CASE_IDS = [f"{loss!r}-K{k}" for loss, k in CASES]
LOGISTIC = [LogLoss(), LogLoss(label_smoothing=0.1), Focal(), Focal(gamma=0.5)]


def make_data(n_classes, n_samples=40, seed=0, scale=2.0):
    """Class indices and raw predictions (1-D for binary problems)."""
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n_samples) % n_classes)
    shape = (n_samples,) if n_classes == 2 else (n_samples, n_classes)
    raw = scale * rng.standard_normal(shape)
    sample_weight = rng.uniform(0.2, 3.0, n_samples)
    return y, raw, sample_weight


def finite_difference(loss, y, raw, h=1e-5):
    """Central differences of the per-sample loss, one raw column at a time."""
    raw = np.asarray(raw, dtype=np.float64)
    if raw.ndim == 1:
        return (loss.loss(y, raw + h) - loss.loss(y, raw - h)) / (2 * h)
    grad = np.empty_like(raw)
    for k in range(raw.shape[1]):
        step = np.zeros(raw.shape[1])
        step[k] = h
        grad[:, k] = (loss.loss(y, raw + step) - loss.loss(y, raw - step)) / (2 * h)
    return grad


def prediction(loss, raw):
    """What ``__call__`` takes: probabilities or decision values."""
    if loss.is_margin:
        return raw
    return loss.link.inverse(raw)


# --------------------------------------------------------------------------
# values against scikit-learn metrics and hand-written formulas
# --------------------------------------------------------------------------


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_loss_equals_sklearn(n_classes, dtype):
    y, raw, sw = make_data(n_classes)
    proba = LogLoss().link.inverse(raw).astype(dtype)
    loss = LogLoss()
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert_allclose(loss(y, proba), log_loss(y, proba), rtol=rtol)
    assert_allclose(
        loss(y, proba, sample_weight=sw),
        log_loss(y, proba, sample_weight=sw),
        rtol=rtol,
    )
    # Same value from raw predictions (the stable path).
    assert_allclose(loss.loss(y, raw).mean(), log_loss(y, proba), rtol=rtol)


def test_log_loss_clips_like_sklearn():
    y = np.array([1, 0, 1])
    proba = np.array([0.0, 1.0, 1.0])
    assert_allclose(LogLoss()(y, proba), log_loss(y, proba), rtol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_label_smoothing_formula(n_classes):
    eps = 0.1
    y, raw, sw = make_data(n_classes)
    proba = LogLoss().proba(raw)
    target = (1 - eps) * np.eye(n_classes)[y] + eps / n_classes
    expected = -(target * np.log(proba)).sum(axis=1)
    loss = LogLoss(label_smoothing=eps)
    assert_allclose(loss.loss(y, raw), expected, rtol=1e-10)
    assert_allclose(loss.pointwise(y, prediction(loss, raw)), expected, rtol=1e-10)
    assert_allclose(
        loss(y, prediction(loss, raw), sw), np.average(expected, weights=sw)
    )


def torchvision_sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0):
    """torchvision.ops.sigmoid_focal_loss(reduction="none") written with numpy."""
    p = expit(inputs)
    ce = np.maximum(inputs, 0) - inputs * targets + np.log1p(np.exp(-np.abs(inputs)))
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return loss


@pytest.mark.parametrize(
    "gamma, alpha", [(2.0, 0.25), (2.0, None), (0.5, 0.75), (3.0, 0.25)]
)
def test_focal_equals_torchvision_formula(gamma, alpha):
    y, raw, sw = make_data(2)
    expected = torchvision_sigmoid_focal_loss(
        raw, y.astype(float), alpha=-1 if alpha is None else alpha, gamma=gamma
    )
    loss = Focal(gamma=gamma, alpha=alpha)
    assert_allclose(loss.loss(y, raw), expected, rtol=1e-10)
    assert_allclose(loss.pointwise(y, expit(raw)), expected, rtol=1e-8)
    assert_allclose(loss(y, expit(raw), sw), np.average(expected, weights=sw))


@pytest.mark.parametrize("alpha", [None, [0.2, 0.3, 0.5]])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_focal_multiclass_formula(gamma, alpha):
    y, raw, _ = make_data(3)
    p_y = softmax(raw, axis=1)[np.arange(len(y)), y]
    weight = 1.0 if alpha is None else np.asarray(alpha)[y]
    expected = -weight * (1 - p_y) ** gamma * np.log(p_y)
    loss = Focal(gamma=gamma, alpha=alpha)
    assert_allclose(loss.loss(y, raw), expected, rtol=1e-10)
    assert_allclose(loss.pointwise(y, softmax(raw, axis=1)), expected, rtol=1e-8)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_focal_gamma_zero_is_log_loss(n_classes):
    y, raw, sw = make_data(n_classes)
    focal, logloss = Focal(gamma=0.0), LogLoss()
    for a, b in zip(focal.loss_gradient(y, raw, sw), logloss.loss_gradient(y, raw, sw)):
        assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    proba = logloss.link.inverse(raw)
    assert_allclose(focal(y, proba), log_loss(y, proba), rtol=1e-12)


@pytest.mark.parametrize("labels", ["01", "pm1"])
@pytest.mark.parametrize("with_weight", [False, True])
def test_hinge_equals_sklearn_binary(labels, with_weight):
    y, raw, sw = make_data(2)
    y_true = y if labels == "01" else 2 * y - 1
    sw = sw if with_weight else None
    assert_allclose(
        Hinge()(y_true, raw, sample_weight=sw),
        hinge_loss(y_true, raw, sample_weight=sw),
        rtol=1e-12,
    )
    # crammer_singer on a binary problem is the binary hinge.
    assert_allclose(
        Hinge(multiclass="crammer_singer")(y_true, raw, sample_weight=sw),
        hinge_loss(y_true, raw, sample_weight=sw),
        rtol=1e-12,
    )


@pytest.mark.parametrize("with_weight", [False, True])
def test_crammer_singer_equals_sklearn_multiclass(with_weight):
    y, raw, sw = make_data(3)
    sw = sw if with_weight else None
    loss = Hinge(multiclass="crammer_singer")
    expected = hinge_loss(y, raw, labels=[0, 1, 2], sample_weight=sw)
    assert_allclose(loss(y, raw, sample_weight=sw), expected, rtol=1e-12)
    # A subset of y still uses the K columns of raw.
    subset = y != 2
    assert_allclose(
        loss(y[subset], raw[subset]),
        hinge_loss(y[subset], raw[subset], labels=[0, 1, 2]),
        rtol=1e-12,
    )


def margin_reference(name, u, margin=1.0):
    """phi(u) for the margin losses, one scalar at a time."""
    out = []
    for v in u.ravel():
        if name == "hinge":
            out.append(max(0.0, margin - v))
        elif name == "squared_hinge":
            out.append(max(0.0, margin - v) ** 2)
        elif name == "modified_huber":
            out.append(max(0.0, 1 - v) ** 2 if v >= -1 else -4 * v)
        else:
            out.append(np.exp(-v))
    return np.array(out).reshape(u.shape)


MARGIN = [
    ("hinge", Hinge(margin=2.0), 2.0),
    ("hinge", Hinge(), 1.0),
    ("squared_hinge", SquaredHinge(margin=0.5), 0.5),
    ("modified_huber", ModifiedHuber(), 1.0),
    ("exponential", Exponential(), 1.0),
]


@pytest.mark.parametrize("name, loss, margin", MARGIN, ids=[repr(m[1]) for m in MARGIN])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_margin_formulas_and_ovr_sum(name, loss, margin, n_classes):
    y, raw, _ = make_data(n_classes)
    if n_classes == 2:
        u = (2 * y - 1) * raw
        expected = margin_reference(name, u, margin)
    else:
        signs = np.where(np.eye(n_classes)[y] == 1, 1.0, -1.0)
        expected = margin_reference(name, signs * raw, margin).sum(axis=1)
    assert_allclose(loss.pointwise(y, raw), expected, rtol=1e-12)
    assert_allclose(loss(y, raw), expected.mean(), rtol=1e-12)


@pytest.mark.parametrize("name, loss, margin", MARGIN, ids=[repr(m[1]) for m in MARGIN])
@pytest.mark.parametrize("dtype, big", [(np.float64, 500.0), (np.float32, 40.0)],
                         ids=["float64", "float32"])
def test_margin_values_at_extreme_raw(name, loss, margin, dtype, big):
    # Decision values far on both sides of the margin; exp(-u) stays below
    # the dtype's largest value (overflow to inf is tested separately).
    y = np.array([0, 1, 0, 1, 1, 0])
    raw = np.array([big, big, -big, -big, 0.5 * big, -0.5 * big], dtype=dtype)
    value, grad = loss.loss_gradient(y, raw)
    assert value.dtype == grad.dtype == dtype
    u = (2 * y - 1) * raw.astype(np.float64)
    assert_allclose(value, margin_reference(name, u, margin), rtol=1e-6)
    assert np.all(np.isfinite(grad))
    expected = finite_difference(loss, y, raw.astype(np.float64), h=1e-3)
    assert_allclose(grad, expected, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------
# gradients
# --------------------------------------------------------------------------


@pytest.mark.parametrize("loss, n_classes", CASES, ids=CASE_IDS)
def test_gradient_finite_differences_float64(loss, n_classes):
    y, raw, _ = make_data(n_classes)
    value, grad = loss.loss_gradient(y, raw)
    assert value.shape == (len(y),)
    assert grad.shape == raw.shape
    assert_allclose(grad, finite_difference(loss, y, raw), rtol=1e-6, atol=1e-8)
    assert_allclose(value, loss.pointwise(y, prediction(loss, raw)), rtol=1e-8)


@pytest.mark.parametrize("loss, n_classes", CASES, ids=CASE_IDS)
def test_gradient_float32(loss, n_classes):
    y, raw, _ = make_data(n_classes, seed=1)
    raw32 = raw.astype(np.float32)
    value, grad = loss.loss_gradient(y, raw32)
    assert value.dtype == np.float32
    assert grad.dtype == np.float32
    expected = finite_difference(loss, y, raw32.astype(np.float64))
    assert_allclose(grad, expected, rtol=1e-3, atol=1e-5)
    assert_allclose(value, loss.loss(y, raw32.astype(np.float64)), rtol=1e-5, atol=1e-6)


SATURATION = [(loss, k) for loss in LOGISTIC for k in (2, 3)] + [
    (Focal(alpha=0.25), 2),
    (Focal(gamma=0.25, alpha=[0.2, 0.3, 0.5]), 3),
]


@pytest.mark.parametrize(
    "loss, n_classes", SATURATION, ids=[f"{lo!r}-K{k}" for lo, k in SATURATION]
)
def test_gradient_near_saturation(loss, n_classes):
    # p_y within 1e-13 of one: a gradient computed from 1 - expit(z) would be
    # 0 or rounding noise; ours keeps full relative precision.
    y = np.arange(6) % n_classes
    if n_classes == 2:
        raw = np.where(y == 1, 30.0, -30.0) + np.linspace(-1, 1, 6)
    else:
        raw = 30.0 * np.eye(n_classes)[y] + np.linspace(-1, 1, 6)[:, None]
    _, grad = loss.loss_gradient(y, raw)
    atol = 1e-8 if loss.get_params().get("label_smoothing") else 0
    assert_allclose(grad, finite_difference(loss, y, raw, h=1e-3), rtol=1e-5, atol=atol)


@pytest.mark.parametrize("loss", LOGISTIC, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_extreme_raw_is_finite(loss, dtype, n_classes):
    y = np.arange(6) % n_classes
    if n_classes == 2:
        raw = np.array([1e3, -1e3, 1e3, -1e3, -1e3, 1e3], dtype=dtype)
        wrong = (raw > 0) != (y == 1)
        expected_loss = np.where(wrong, 1e3, 0.0)
    else:
        raw = np.full((6, 3), -1e3, dtype=dtype)
        raw[np.arange(6), (np.arange(6) // 2) % 3] = 1e3
        wrong = raw[np.arange(6), y] < 0
        expected_loss = np.where(wrong, 2e3, 0.0)
    value, grad = loss.loss_gradient(y, raw)
    assert value.dtype == dtype
    assert grad.dtype == dtype
    assert np.all(np.isfinite(value))
    assert np.all(np.isfinite(grad))
    if loss.get_params().get("label_smoothing", 0) == 0:
        # (1 - p_y)^gamma is 1 when confidently wrong and 0 when right, so the
        # focal loss equals the log loss here.
        assert_allclose(value, expected_loss, rtol=1e-6)
        # Confidently right: zero gradient; confidently wrong: entries +-1.
        total = np.abs(grad).sum(axis=1) if grad.ndim == 2 else np.abs(grad)
        expected_total = np.where(wrong, 2.0 if n_classes == 3 else 1.0, 0.0)
        assert_allclose(total, expected_total, atol=1e-6)


def test_exponential_overflow_gives_no_nan():
    y = np.array([1, 0, 1, 0])
    raw = np.array([-1e3, 1e3, 1e3, -1e3])
    for dtype in (np.float32, np.float64):
        value, grad = Exponential().loss_gradient(y, raw.astype(dtype))
        assert not np.any(np.isnan(value)) and not np.any(np.isnan(grad))
        assert_array_equal(value, [np.inf, np.inf, 0, 0])
        assert value.dtype == dtype
    # Finite wherever exp(-y z) is representable.
    value, grad = Exponential().loss_gradient(np.array([0]), np.array([700.0]))
    assert np.isfinite(value).all() and np.isfinite(grad).all()


# --------------------------------------------------------------------------
# dtype and sample weights
# --------------------------------------------------------------------------


@pytest.mark.parametrize("loss, n_classes", CASES, ids=CASE_IDS)
def test_float32_in_float32_out(loss, n_classes):
    y, raw, sw = make_data(n_classes)
    raw32 = raw.astype(np.float32)
    value, grad = loss.loss_gradient(y, raw32, sample_weight=sw.astype(np.float32))
    assert value.dtype == grad.dtype == np.float32
    assert loss.pointwise(y, prediction(loss, raw32)).dtype == np.float32
    if loss.is_probabilistic:
        assert loss.proba(raw32).dtype == np.float32


@pytest.mark.parametrize("loss, n_classes", CASES, ids=CASE_IDS)
def test_sample_weight_multiplies_loss_and_gradient(loss, n_classes):
    y, raw, sw = make_data(n_classes)
    value, grad = loss.loss_gradient(y, raw)
    value_w, grad_w = loss.loss_gradient(y, raw, sample_weight=sw)
    assert_allclose(value_w, sw * value, rtol=1e-12)
    assert_allclose(grad_w, (sw[:, None] if grad.ndim == 2 else sw) * grad, rtol=1e-12)
    pred = prediction(loss, raw)
    assert_allclose(loss(y, pred, sample_weight=sw), np.average(value, weights=sw))
    # Integer weights are repeated rows.
    counts = np.arange(len(y)) % 3
    assert_allclose(
        loss(y, pred, sample_weight=counts),
        loss(np.repeat(y, counts), np.repeat(pred, counts, axis=0)),
        rtol=1e-12,
    )


# --------------------------------------------------------------------------
# best constant
# --------------------------------------------------------------------------


def mean_loss_at(loss, y, c, sw, n_classes):
    c = np.atleast_1d(c)
    raw = np.full(len(y), c[0]) if n_classes == 2 else np.tile(c, (len(y), 1))
    return np.average(loss.loss(y, raw), weights=sw)


def scipy_best_constant_value(loss, y, sw, n_classes):
    """Best mean loss over constants by derivative-free search from several starts."""
    dim = 1 if n_classes == 2 else n_classes
    best = np.inf
    for start in (0.0, 1.0, -1.0):
        x0 = np.full(dim, start) + 0.1 * np.arange(dim)
        result = minimize(
            lambda c: mean_loss_at(loss, y, c, sw, n_classes),
            x0,
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 20000},
        )
        best = min(best, result.fun)
    return best


@pytest.mark.parametrize("loss, n_classes", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("weighted", [False, True])
def test_init_raw_is_best_constant(loss, n_classes, weighted):
    rng = np.random.default_rng(3)
    # Unbalanced classes so that the optimum is not at the symmetric point.
    probs = [0.7, 0.3] if n_classes == 2 else [0.5, 0.3, 0.2]
    y = rng.choice(n_classes, size=60, p=probs)
    sw = rng.uniform(0.1, 2.0, 60) if weighted else None
    c = loss.init_raw(y, sample_weight=sw)
    if n_classes == 2:
        assert isinstance(c, float)
    else:
        assert np.shape(c) == (n_classes,)
    ours = mean_loss_at(loss, y, c, sw, n_classes)
    assert ours <= scipy_best_constant_value(loss, y, sw, n_classes) + 1e-8


@pytest.mark.parametrize("eps", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_log_loss_init_raw_closed_form(eps, weighted):
    rng = np.random.default_rng(4)
    sw = rng.uniform(0.1, 2.0, 50) if weighted else np.ones(50)
    y2 = (rng.uniform(size=50) < 0.3).astype(int)
    p1 = (1 - eps) * np.average(y2, weights=sw) + eps / 2
    c = LogLoss(label_smoothing=eps).init_raw(y2, sample_weight=sw)
    assert_allclose(c, np.log(p1 / (1 - p1)), rtol=1e-12)
    y3 = rng.choice(3, size=50, p=[0.2, 0.5, 0.3])
    freq = np.bincount(y3, weights=sw, minlength=3) / sw.sum()
    freq = (1 - eps) * freq + eps / 3
    c3 = LogLoss(label_smoothing=eps).init_raw(y3, sample_weight=sw)
    assert_allclose(c3, np.log(freq) - np.log(freq).mean(), rtol=1e-12)
    assert_allclose(softmax(c3), freq, rtol=1e-12)


def test_init_raw_single_class_is_finite():
    y = np.ones(10, dtype=int)
    for loss in BINARY:
        assert np.isfinite(loss.init_raw(y))
    assert LogLoss().init_raw(y) > 30


# --------------------------------------------------------------------------
# probabilities
# --------------------------------------------------------------------------


@pytest.mark.parametrize("loss", [LogLoss(), Focal(gamma=0.5)], ids=repr)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_proba_matches_link(loss, n_classes):
    _, raw, _ = make_data(n_classes, scale=5.0)
    proba = loss.proba(raw)
    assert proba.shape == (raw.shape[0], n_classes)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    p = loss.link.inverse(raw)
    assert_allclose(proba[:, 1] if n_classes == 2 else proba, p, rtol=1e-12)
    if n_classes == 2:
        assert_allclose(proba[:, 0], 1 - p, rtol=1e-10)


def test_modified_huber_proba_equals_sgd_classifier():
    rng = np.random.default_rng(0)
    for n_classes in (2, 3):
        centers = 1.5 * rng.standard_normal((n_classes, 2))
        y = np.repeat(np.arange(n_classes), 20)
        X = centers[y] + rng.standard_normal((len(y), 2))
        clf = SGDClassifier(loss="modified_huber", max_iter=5, tol=None, random_state=0)
        clf.fit(X, y)
        # Shrink the fitted model so that decision values straddle [-1, 1],
        # where the clipping rule matters.
        shrink = 1.0 / np.median(np.abs(clf.decision_function(X)))
        clf.coef_ = clf.coef_ * shrink
        clf.intercept_ = clf.intercept_ * shrink
        for intercept_shift in (0.0, -10.0):
            # A large negative shift puts every decision value below -1, where
            # scikit-learn falls back to uniform multiclass probabilities.
            clf.intercept_ = clf.intercept_ + intercept_shift
            scores = clf.decision_function(X)
            if intercept_shift == 0.0:
                assert np.any(np.abs(scores) < 1) and np.any(np.abs(scores) > 1)
            proba = ModifiedHuber().proba(scores)
            assert_allclose(proba, clf.predict_proba(X), rtol=1e-12, atol=1e-15)
            assert_allclose(proba.sum(axis=1), 1.0)


def test_non_probabilistic_losses_have_no_proba():
    for loss in (Hinge(), SquaredHinge(), Exponential()):
        assert not loss.is_probabilistic
        with pytest.raises(AttributeError):
            loss.proba(np.zeros(3))


# --------------------------------------------------------------------------
# smoothing
# --------------------------------------------------------------------------


@pytest.mark.parametrize("mu", [0.01, 0.3])
@pytest.mark.parametrize(
    "hinge, n_classes",
    [
        (Hinge(), 2),
        (Hinge(margin=2.0), 3),
        (Hinge(multiclass="crammer_singer"), 2),
        (Hinge(multiclass="crammer_singer"), 3),
        (Hinge(margin=0.5, multiclass="crammer_singer"), 4),
    ],
    ids=lambda v: repr(v) if isinstance(v, Hinge) else f"K{v}",
)
def test_smoothed_hinge_bound_and_smoothness(hinge, mu, n_classes):
    y, raw, _ = make_data(n_classes, n_samples=300, scale=3.0)
    smooth = hinge.smoothed(mu)
    assert not hinge.is_smooth and smooth.is_smooth
    assert smooth.smoothed(0.5) is smooth
    gap = hinge.loss(y, raw) - smooth.loss(y, raw)
    assert np.all(np.abs(gap) <= mu * (1 + 1e-12))
    crammer_singer = hinge.multiclass == "crammer_singer" and n_classes > 2
    if crammer_singer:
        # Upper bound, reached where every competitor's margin is zero.
        assert np.all(gap <= 1e-12)
        row = -hinge.margin * np.ones((1, n_classes))
        row[0, 0] = 0.0
        tight = hinge.loss([0], row) - smooth.loss([0], row)
        assert_allclose(tight, -mu, rtol=1e-10)
    else:
        # Lower bound, within a hair of mu far from the margin.
        assert np.all(gap >= -1e-12)
        assert gap.max() > 0.99 * mu
    # Lipschitz gradient: a bound that holds for the constructions documented
    # (1/(2 mu') per entry for the quadratic, K/(2 tau) for log-sum-exp).
    if crammer_singer:
        lipschitz = n_classes * np.log(n_classes) / (2 * mu)
    else:
        lipschitz = n_classes / (2 * mu)
    rng = np.random.default_rng(1)
    other = raw + mu * rng.standard_normal(raw.shape)
    _, g1 = smooth.loss_gradient(y, raw)
    _, g2 = smooth.loss_gradient(y, other)
    num = np.linalg.norm((g1 - g2).reshape(len(y), -1), axis=1)
    den = np.linalg.norm((raw - other).reshape(len(y), -1), axis=1)
    assert np.all(num <= lipschitz * den * (1 + 1e-9))


def test_smoothed_gradient_is_continuous_at_the_kink():
    y = np.array([1, 1])
    raw = np.array([1 - 1e-9, 1 + 1e-9])
    _, g_hinge = Hinge().loss_gradient(y, raw)
    _, g_smooth = Hinge().smoothed(0.1).loss_gradient(y, raw)
    assert abs(g_hinge[0] - g_hinge[1]) == 1.0
    assert abs(g_smooth[0] - g_smooth[1]) < 1e-7


def test_smooth_losses_return_themselves():
    for loss in (LogLoss(), Focal(), SquaredHinge(), ModifiedHuber(), Exponential()):
        assert loss.is_smooth
        assert loss.smoothed(0.1) is loss


# --------------------------------------------------------------------------
# labels, validation and parameters
# --------------------------------------------------------------------------


MARGIN_LOSSES = [
    Hinge(),
    Hinge(multiclass="crammer_singer"),
    SquaredHinge(),
    ModifiedHuber(),
    Exponential(),
    *SMOOTHED[:1],
]


@pytest.mark.parametrize("loss", MARGIN_LOSSES, ids=repr)
def test_margin_losses_accept_both_binary_encodings(loss):
    y, raw, sw = make_data(2)
    y_pm = 2 * y - 1
    assert loss.is_margin
    for a, b in zip(loss.loss_gradient(y, raw, sw), loss.loss_gradient(y_pm, raw, sw)):
        assert_array_equal(a, b)
    assert loss(y, raw) == loss(y_pm, raw)
    assert_allclose(loss.init_raw(y, sw), loss.init_raw(y_pm, sw), atol=1e-10)
    loss.validate_target(y)
    loss.validate_target(y_pm)
    with pytest.raises(ValueError, match="-1"):
        loss.validate_target(np.array([-1, 0, 1]))
    with pytest.raises(ValueError):
        loss.validate_target(np.array([0.5, 1.0]))


def test_probabilistic_losses_validate_target():
    for loss in (LogLoss(), Focal()):
        loss.validate_target(np.array([0, 1, 2]))
        with pytest.raises(ValueError, match="class indices"):
            loss.validate_target(np.array([-1, 1]))
        with pytest.raises(ValueError, match="NaN"):
            loss.validate_target(np.array([0.0, np.nan]))


@pytest.mark.parametrize(
    "loss, n_classes, match",
    [
        (Hinge(margin=0.0), 2, "margin"),
        (Hinge(multiclass="weston_watkins"), 2, "multiclass"),
        (SquaredHinge(margin=-1.0), 2, "margin"),
        (LogLoss(label_smoothing=1.5), 2, "label_smoothing"),
        (Focal(gamma=-1.0), 2, "gamma"),
        (Focal(alpha=1.5), 2, "alpha"),
        (Focal(alpha=0.25), 3, "binary"),
        (Focal(alpha=[0.5, 0.5]), 3, "3 classes"),
        (Focal(alpha=[[0.5, 0.5]]), 2, "alpha"),
        (SmoothedHinge(mu=0.0), 2, "mu"),
    ],
    ids=lambda v: repr(v) if not isinstance(v, (int, str)) else str(v),
)
def test_invalid_parameters_raise_at_use(loss, n_classes, match):
    y, raw, _ = make_data(n_classes)
    with pytest.raises(ValueError, match=match):
        loss.loss_gradient(y, raw)


def test_smoothed_rejects_bad_mu():
    with pytest.raises(ValueError, match="mu"):
        Hinge().smoothed(0.0)


@pytest.mark.parametrize("loss", BINARY + MULTICLASS + SMOOTHED, ids=repr)
def test_clone_and_params(loss):
    cloned = clone(loss)
    assert type(cloned) is type(loss)
    assert repr(cloned.get_params()) == repr(loss.get_params())
    assert isinstance(loss, ClassificationLoss)
    assert loss.task == "classification"


def test_set_params_changes_behaviour():
    y, raw, _ = make_data(2)
    loss = Hinge()
    before = loss(y, raw)
    loss.set_params(margin=3.0)
    assert loss.get_params()["margin"] == 3.0
    assert loss(y, raw) > before
    focal = Focal().set_params(gamma=0.0)
    assert_allclose(focal(y, expit(raw)), LogLoss()(y, expit(raw)))


def test_registry_and_raw_outputs():
    assert set(CLASSIFICATION_LOSSES) == {
        "log_loss",
        "focal",
        "hinge",
        "squared_hinge",
        "modified_huber",
        "exponential",
    }
    for name, cls in CLASSIFICATION_LOSSES.items():
        loss = cls()
        assert loss.name == name
        assert loss.n_raw_outputs(2) == 1
        assert loss.n_raw_outputs(5) == 5
    assert {LogLoss.is_probabilistic, Focal.is_probabilistic} == {True}
    assert ModifiedHuber.is_probabilistic and ModifiedHuber.is_margin

"""Second derivatives of every smooth loss against finite differences.

``gradient_hessian`` must return the gradient of ``loss_gradient`` and, per
sample, the derivative of that gradient: checked along random directions by
central differences of the gradient in float64, and the float32 result
against the float64 one.
"""

import numpy as np
import pytest

from sklosses.losses import (
    AbsoluteError,
    ElementwiseHessian,
    Exponential,
    Focal,
    Gamma,
    Hinge,
    Huber,
    KLDivergence,
    LogCosh,
    LogLoss,
    ModifiedHuber,
    Poisson,
    Quantile,
    SoftmaxHessian,
    SquaredError,
    SquaredHinge,
    SquaredLogError,
    Tweedie,
)

N = 40


def _regression_target(loss, rng, shape):
    if isinstance(loss, Poisson) or (isinstance(loss, Tweedie) and 1 <= loss.power < 2):
        return rng.poisson(2.0, size=shape).astype(float)
    if isinstance(loss, (Gamma, SquaredLogError, Tweedie)):
        return rng.gamma(2.0, 1.0, size=shape)
    return rng.normal(size=shape)


# (id, loss, kind) with kind in {"1d", "2d", "binary", "multi", "kl"}
CASES = [
    ("squared_error", SquaredError(), "1d"),
    ("squared_error-multioutput", SquaredError(), "2d"),
    ("huber", Huber(delta=0.7), "1d"),
    ("huber-multioutput", Huber(delta=0.7), "2d"),
    ("log_cosh", LogCosh(), "1d"),
    ("squared_log_error", SquaredLogError(), "1d"),
    ("poisson", Poisson(), "1d"),
    ("poisson-multioutput", Poisson(), "2d"),
    ("gamma", Gamma(), "1d"),
    ("tweedie-0", Tweedie(power=0), "1d"),
    ("tweedie-1.5", Tweedie(power=1.5), "1d"),
    ("tweedie-3", Tweedie(power=3), "1d"),
    ("tweedie--1", Tweedie(power=-1), "1d"),
    ("kl_divergence", KLDivergence(), "kl"),
    ("log_loss-binary", LogLoss(), "binary"),
    ("log_loss-multiclass", LogLoss(), "multi"),
    ("log_loss-smoothed-binary", LogLoss(label_smoothing=0.2), "binary"),
    ("log_loss-smoothed-multiclass", LogLoss(label_smoothing=0.2), "multi"),
    ("focal-binary", Focal(gamma=2.0), "binary"),
    ("focal-alpha-binary", Focal(gamma=0.5, alpha=0.25), "binary"),
    ("focal-multiclass", Focal(gamma=2.0), "multi"),
    ("focal-alpha-multiclass", Focal(gamma=1.5, alpha=[0.2, 0.5, 0.3, 1.0]), "multi"),
    ("focal-gamma0-multiclass", Focal(gamma=0.0), "multi"),
    ("squared_hinge-binary", SquaredHinge(margin=0.5), "binary"),
    ("squared_hinge-ovr", SquaredHinge(), "multi"),
    ("modified_huber-binary", ModifiedHuber(), "binary"),
    ("modified_huber-ovr", ModifiedHuber(), "multi"),
    ("exponential-binary", Exponential(), "binary"),
    ("exponential-ovr", Exponential(), "multi"),
]
IDS = [case[0] for case in CASES]


def _problem(loss, kind, seed=0):
    rng = np.random.default_rng(seed)
    n_classes = 4
    if kind == "1d":
        y = _regression_target(loss, rng, N)
        raw = loss.link.link(np.maximum(y, 0.5)) + rng.normal(scale=0.8, size=N) \
            if not isinstance(loss, (SquaredError, Huber, LogCosh)) else \
            y + rng.normal(scale=1.5, size=N)
    elif kind == "2d":
        y = _regression_target(loss, rng, (N, 3))
        raw = rng.normal(scale=1.0, size=(N, 3))
    elif kind == "kl":
        y = rng.dirichlet(np.ones(n_classes), size=N)
        raw = rng.normal(scale=2.0, size=(N, n_classes))
    elif kind == "binary":
        y = rng.integers(0, 2, size=N)
        raw = rng.normal(scale=2.0, size=N)
    else:
        y = rng.integers(0, n_classes, size=N)
        raw = rng.normal(scale=2.0, size=(N, n_classes))
    return y, np.asarray(raw, dtype=float), rng


def _kink_distance(loss, y, raw):
    """Distance of each sample's raw entries to the loss's kinks (inf without)."""
    if isinstance(loss, Huber):
        d = np.abs(np.abs(raw - y) - loss.delta)
    elif isinstance(loss, (SquaredHinge, ModifiedHuber)):
        n_cols = raw.shape[1] if raw.ndim == 2 else 0
        if n_cols:
            signs = np.where(np.asarray(y)[:, None] == np.arange(n_cols), 1.0, -1.0)
        else:
            signs = np.where(np.asarray(y) > 0, 1.0, -1.0)
        u = signs * raw
        margin = getattr(loss, "margin", 1.0)
        d = np.abs(u - margin)
        if isinstance(loss, ModifiedHuber):
            d = np.minimum(d, np.abs(u + 1))
    else:
        return np.full(raw.shape[0], np.inf)
    return d.min(axis=1) if d.ndim == 2 else d


@pytest.mark.parametrize("loss, kind", [case[1:] for case in CASES], ids=IDS)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_hessian_matches_finite_differences_of_gradient(loss, kind, weighted):
    y, raw, rng = _problem(loss, kind)
    sw = rng.uniform(0.5, 2.0, size=N) if weighted else None
    gradient, hessian = loss.gradient_hessian(y, raw, sw)
    np.testing.assert_allclose(gradient, loss.loss_gradient(y, raw, sw)[1], rtol=1e-12,
                               atol=1e-14)
    assert hessian.shape == raw.shape
    v = rng.normal(size=raw.shape)
    eps = 1e-6
    fd = (loss.loss_gradient(y, raw + eps * v, sw)[1]
          - loss.loss_gradient(y, raw - eps * v, sw)[1]) / (2 * eps)
    keep = _kink_distance(loss, y, raw) > 1e-3
    assert keep.sum() > N // 2
    Hv = hessian.matvec(v)
    scale = np.abs(fd[keep]).max() + 1e-300
    np.testing.assert_allclose(Hv[keep], fd[keep], rtol=1e-5, atol=1e-6 * scale)
    # the entries give the same per-sample matrices as the products
    if raw.ndim == 2:
        dense = hessian.to_dense()
        np.testing.assert_allclose(np.einsum("ikl,il->ik", dense, v), Hv,
                                   rtol=1e-10, atol=1e-12 * scale)
        np.testing.assert_allclose(dense, np.swapaxes(dense, 1, 2), atol=1e-14)


@pytest.mark.parametrize("loss, kind", [case[1:] for case in CASES], ids=IDS)
def test_hessian_float32_matches_float64(loss, kind):
    y, raw, rng = _problem(loss, kind, seed=1)
    raw32 = raw.astype(np.float32)
    y32 = y.astype(np.float32) if kind in ("1d", "2d", "kl") else y
    gradient, hessian = loss.gradient_hessian(y32, raw32)
    assert gradient.dtype == np.float32
    v = rng.normal(size=raw.shape).astype(np.float32)
    Hv = hessian.matvec(v)
    assert Hv.dtype == np.float32
    _, reference = loss.gradient_hessian(y, raw32.astype(float))
    expected = reference.matvec(v.astype(float))
    keep = _kink_distance(loss, y, raw) > 1e-3
    scale = np.abs(expected[keep]).max()
    np.testing.assert_allclose(Hv[keep], expected[keep], rtol=2e-4, atol=2e-5 * scale)


def test_hessian_types_follow_the_raw_structure():
    y = np.array([0, 1, 2])
    raw = np.zeros((3, 3))
    assert isinstance(LogLoss().gradient_hessian(y, raw)[1], SoftmaxHessian)
    assert isinstance(SquaredHinge().gradient_hessian(y, raw)[1], ElementwiseHessian)
    _, h = LogLoss().gradient_hessian(y, raw)
    # one third on the diagonal, minus one ninth everywhere
    np.testing.assert_allclose(h.to_dense()[0], np.eye(3) / 3 - 1 / 9)
    assert h.is_nonnegative()


def test_focal_hessian_is_finite_when_confident():
    # p_y within rounding of one: every term must stay finite (q**(gamma-1) would not).
    loss = Focal(gamma=0.5)
    raw = np.array([[60.0, 0.0, 0.0], [800.0, 0.0, -3.0]])
    _, h = loss.gradient_hessian(np.array([0, 0]), raw)
    assert np.all(np.isfinite(h.to_dense()))
    _, hb = loss.gradient_hessian(np.array([1, 0]), np.array([700.0, -700.0]))
    assert np.all(np.isfinite(hb.diagonal))


@pytest.mark.parametrize("loss", [AbsoluteError(), Quantile(), Hinge()], ids=repr)
def test_nonsmooth_losses_offer_no_hessian(loss):
    # Second-order solvers declare gradient_hessian; non-smooth losses must be refused.
    assert not hasattr(loss, "gradient_hessian")

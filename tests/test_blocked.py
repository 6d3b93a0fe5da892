"""The cache-blocked evaluation of a linear model equals the whole one.

Blocks are used only on data larger than the cache; the tests lower the
size thresholds so that small data takes the blocked path, and compare it
with the whole evaluation, with a log loss written here from its formula,
and with scikit-learn's and scipy's optima.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize
from scipy.special import logsumexp
from sklearn.linear_model import LogisticRegression

import sklosses._blocked as blocked
from sklosses import LossClassifier
from sklosses._objective import Objective
from sklosses.losses import Huber, LogLoss, SquaredError
from sklosses.models import LinearModel
from sklosses.penalties import L2

N, P, K = 1037, 6, 4  # rows not a multiple of the block, so the last block is short


@pytest.fixture
def small_blocks(monkeypatch):
    """Blocks of 100 rows on any data (the thresholds set for the tests' sizes)."""
    monkeypatch.setattr(blocked, "_MIN_DATA_BYTES", 0)
    monkeypatch.setattr(blocked, "_BLOCK_BYTES", 100 * P * 8)
    monkeypatch.setattr(blocked, "_MIN_BLOCK_ROWS", 1)


def _data(n_classes, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, P)) + 1.5
    W = rng.normal(size=(P, n_classes))
    y = np.argmax(X @ W + rng.gumbel(size=(N, n_classes)), axis=1)
    return X, y


def _log_loss(X, y, params, n_outputs, weight):
    """Weighted mean log loss from its formula (binary: one log-odds column)."""
    W = params[: n_outputs * P].reshape(n_outputs, P)
    raw = X @ W.T + params[n_outputs * P :]
    if n_outputs == 1:
        raw = np.c_[np.zeros(N), raw]
    log_p = raw - logsumexp(raw, axis=1, keepdims=True)
    return float(-np.sum(weight * log_p[np.arange(N), y]) / weight.sum())


@pytest.mark.parametrize("n_classes", [2, K], ids=["binary", "multinomial"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_blocked_loss_and_gradient_equal_the_whole_ones(small_blocks, n_classes, weighted):
    X, y = _data(n_classes)
    n_outputs = 1 if n_classes == 2 else n_classes
    weight = (np.random.default_rng(1).uniform(0, 3, size=N) if weighted
              else np.ones(N))
    objective = Objective(LogLoss(), LinearModel(P, n_outputs), L2(1e-2), X, y,
                          sample_weight=weight if weighted else None)
    assert objective._block_rows == 100
    params = np.random.default_rng(2).normal(size=objective.model.n_params) * 0.3
    value, grad = objective.data_loss_gradient(params)
    whole = Objective(LogLoss(), LinearModel(P, n_outputs), L2(1e-2), X, y,
                      sample_weight=weight if weighted else None)
    whole._block_rows = None
    value_whole, grad_whole = whole.data_loss_gradient(params)
    np.testing.assert_allclose(value, value_whole, rtol=1e-13)
    np.testing.assert_allclose(grad, grad_whole, rtol=1e-11, atol=1e-14)
    assert value == pytest.approx(_log_loss(X, y, params, n_outputs, weight), rel=1e-12)
    # the gradient is the derivative of that formula (central differences)
    step = 1e-6
    for i in (0, P - 1, objective.model.n_params - 1):
        e = np.zeros_like(params)
        e[i] = step
        slope = (_log_loss(X, y, params + e, n_outputs, weight)
                 - _log_loss(X, y, params - e, n_outputs, weight)) / (2 * step)
        assert grad[i] == pytest.approx(slope, rel=1e-6, abs=1e-9)


def test_blocks_only_where_they_are_exact(small_blocks):
    X, y = _data(2)
    model = LinearModel(P, 1)
    reals = X[:, 0] + 0.1
    # a loss that does not declare independent rows (Huber's joint scale ties them)
    assert Objective(Huber(scale="joint"), model, L2(0.0), X, reals)._block_rows is None
    # only losses that declare it (Huber with a fixed scale has not)
    assert Objective(Huber(), model, L2(0.0), X, reals)._block_rows is None
    assert Objective(SquaredError(), model, L2(0.0), X, reals)._block_rows == 100
    assert Objective(LogLoss(), model, L2(0.0), sp.csr_matrix(X), y)._block_rows is None
    assert Objective(LogLoss(), model, L2(0.0), np.asfortranarray(X), y)._block_rows is None
    # a surrogate loss re-decides
    objective = Objective(LogLoss(), model, L2(0.0), X, y)
    assert objective._block_rows == 100
    assert objective.with_loss(Huber(scale="joint"))._block_rows is None


def test_large_data_is_blocked_by_default():
    X = np.zeros((60_000, 100))  # 48 MB, above the cache
    objective = Objective(LogLoss(), LinearModel(100, 1), L2(0.0), X, np.zeros(60_000, int))
    rows = objective._block_rows
    assert rows is not None and rows * 100 * 8 <= 2 * 2**20
    small = Objective(LogLoss(), LinearModel(100, 1), L2(0.0), X[:1000], np.zeros(1000, int))
    assert small._block_rows is None


@pytest.mark.parametrize("n_classes", [2, K], ids=["binary", "multinomial"])
def test_blocked_fit_matches_scikit_learn_and_scipy(small_blocks, n_classes):
    X, y = _data(n_classes, seed=3)
    alpha = 1e-3
    est = LossClassifier(alpha=alpha, solver="lbfgs", tol=1e-10, max_iter=2000).fit(X, y)
    ref = LogisticRegression(C=1 / (N * alpha), tol=1e-12, max_iter=5000,
                             solver="newton-cholesky").fit(X, y)
    n_outputs = 1 if n_classes == 2 else n_classes

    def J(params):
        W = params[: n_outputs * P]
        return _log_loss(X, y, params, n_outputs, np.ones(N)) + 0.5 * alpha * W @ W

    ours = np.r_[np.ravel(est.coef_), np.ravel(est.intercept_)]
    theirs = np.r_[np.ravel(ref.coef_), np.ravel(ref.intercept_)]
    tight = minimize(J, theirs, method="BFGS", options={"gtol": 1e-12}).x
    best = min(J(theirs), J(tight))
    assert J(ours) - best <= 1e-10 * best
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-5)


@pytest.mark.parametrize("n_classes", [2, K], ids=["binary", "multinomial"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_start_evaluation_is_the_first_evaluation(small_blocks, n_classes, weighted):
    # The value and gradient at a start without weights come from the column
    # pass; they must be what a fresh evaluation gives there.
    from sklosses._preconditioning import ScaledProblem  # noqa: PLC0415

    X, y = _data(n_classes, seed=5)
    n_outputs = 1 if n_classes == 2 else n_classes
    weight = np.random.default_rng(6).uniform(0, 3, size=N) if weighted else None
    objective = Objective(LogLoss(), LinearModel(P, n_outputs), L2(1e-2), X, y,
                          sample_weight=weight)
    x0 = np.zeros(objective.model.n_params)
    x0[n_outputs * P :] = np.atleast_1d(LogLoss().init_raw(y, weight))[:n_outputs]
    problem = ScaledProblem(objective, x0)
    assert problem._start is not None
    z0 = problem.to_variables(x0)
    value, grad = problem.smooth_value_gradient(z0)
    assert value == pytest.approx(1.0, rel=1e-14)  # J at the best constant is F
    fresh_value, fresh_grad = objective.smooth_value_gradient(x0)
    assert value * problem.value_scale == pytest.approx(fresh_value, rel=1e-13)
    fresh = problem._map.pull_back(np.asarray(fresh_grad, float)) / problem.value_scale
    np.testing.assert_allclose(grad, fresh, rtol=1e-10, atol=1e-14)
    # elsewhere the evaluation is the objective's own
    z1 = z0 + 0.1
    v1, g1 = problem.smooth_value_gradient(z1)
    v1_ref, _ = objective.smooth_value_gradient(problem.to_params(z1))
    assert v1 * problem.value_scale == pytest.approx(v1_ref, rel=1e-13)
    # a start with weights is evaluated as usual
    x_w = x0.copy()
    x_w[0] = 0.3
    assert ScaledProblem(objective, x_w)._start is None


@pytest.mark.parametrize("loss", ["squared_error", "poisson", "gamma"])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_blocked_regression_losses_equal_the_whole_ones(small_blocks, loss, n_outputs):
    from sklosses._resolve import resolve_loss  # noqa: PLC0415

    rng = np.random.default_rng(7)
    X = rng.normal(size=(N, P))
    mu = np.exp(0.3 * X[:, :n_outputs])
    y = rng.poisson(mu).astype(float) if loss == "poisson" else rng.gamma(2.0, mu / 2)
    y = y[:, 0] if n_outputs == 1 else y
    weight = rng.uniform(0, 3, size=N)
    loss_ = resolve_loss(loss, "regression")
    objective = Objective(loss_, LinearModel(P, n_outputs), L2(1e-2), X, y, weight)
    assert objective._block_rows == 100
    params = rng.normal(size=objective.model.n_params) * 0.1
    whole = Objective(loss_, LinearModel(P, n_outputs), L2(1e-2), X, y, weight)
    whole._block_rows = None
    value, grad = objective.data_loss_gradient(params)
    value_whole, grad_whole = whole.data_loss_gradient(params)
    np.testing.assert_allclose(value, value_whole, rtol=1e-13)
    np.testing.assert_allclose(grad, grad_whole, rtol=1e-11, atol=1e-14)


def test_blocked_poisson_fit_matches_scikit_learn(small_blocks):
    from sklearn.linear_model import PoissonRegressor  # noqa: PLC0415

    from sklosses import LossRegressor  # noqa: PLC0415

    rng = np.random.default_rng(8)
    X = rng.normal(size=(N, P))
    y = rng.poisson(np.exp(0.3 * X[:, 0] - 0.2 * X[:, 1])).astype(float)
    est = LossRegressor(loss="poisson", alpha=1e-2, solver="lbfgs", tol=1e-10).fit(X, y)
    ref = PoissonRegressor(alpha=5e-3, solver="newton-cholesky", tol=1e-12).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, atol=1e-6)


@pytest.mark.parametrize("n_classes", [2, K], ids=["binary", "multinomial"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_second_order_products_after_a_blocked_evaluation(small_blocks, n_classes, dtype):
    """Gradient and Hessian products at the last evaluated point (taken from
    that evaluation, and blocked) equal those of the whole evaluation, and the
    Hessian product equals finite differences of the gradient."""
    X, y = _data(n_classes)
    X = X.astype(dtype)
    n_outputs = 1 if n_classes == 2 else n_classes

    def objective(blocks):
        made = Objective(LogLoss(), LinearModel(P, n_outputs, dtype=dtype), L2(1e-2), X, y)
        if not blocks:
            made._block_rows = None
        return made

    rng = np.random.default_rng(3)
    params = rng.normal(size=objective(True).model.n_params) * 0.3
    vector = rng.normal(size=params.size)
    blocked_one, whole = objective(True), objective(False)
    blocked_one.smooth_value_gradient(params)  # the last evaluation, kept
    assert blocked_one._last_at(params.astype(dtype)) is not None
    value, grad, hessp = blocked_one.gradient_hessp(params)
    value_whole, grad_whole, hessp_whole = whole.gradient_hessp(params)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert value == pytest.approx(value_whole, rel=rtol)
    np.testing.assert_allclose(grad, grad_whole, rtol=rtol, atol=rtol * 1e-2)
    np.testing.assert_allclose(hessp(vector), hessp_whole(vector), rtol=rtol,
                               atol=rtol * 1e-2)
    np.testing.assert_allclose(blocked_one.hessian(params), whole.hessian(params),
                               rtol=rtol, atol=rtol * 1e-2)
    if dtype == np.float64:
        step = 1e-6
        slope = (whole.smooth_value_gradient(params + step * vector)[1]
                 - whole.smooth_value_gradient(params - step * vector)[1]) / (2 * step)
        np.testing.assert_allclose(hessp(vector), slope, rtol=1e-6, atol=1e-8)
    # elsewhere the cache does not apply
    other = params + 0.1
    assert blocked_one._last_at(other.astype(dtype)) is None
    np.testing.assert_allclose(blocked_one.gradient_hessp(other)[1],
                               whole.gradient_hessp(other)[1], rtol=rtol, atol=rtol * 1e-2)

"""Property-based tests: any small dataset, loss, penalty, solver and model shape.

Each property draws a dataset of 5-40 rows and 1-5 columns whose columns have
scales from 1e-6 to 1e6, targets mapped into the loss's domain, sample weights
with zeros, and a configuration. The properties:

- ``fit`` either succeeds with finite parameters and finite predictions, or
  raises a documented exception whose message comes from this package or from
  scikit-learn's validation, not a raw NumPy or SciPy message;
- the loss curve of the full-batch solvers (L-BFGS, monotone FISTA) never
  increases on smooth losses;
- for a strongly convex linear problem, the full-batch fit does not depend on
  the order of the rows.
"""

import re
import traceback
import warnings

import numpy as np
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sklosses import LossClassifier, LossRegressor
from sklosses._resolve import SOLVERS, loss_registry

REGRESSION_LOSSES = sorted(n for n, c in loss_registry().items() if c.task == "regression")
CLASSIFICATION_LOSSES = sorted(
    n for n, c in loss_registry().items() if c.task == "classification"
)
SMOOTH_LOSSES = {n for n, c in loss_registry().items() if c.is_smooth}
FULL_BATCH = ("lbfgs", "proximal")

# Derandomised so that CI runs the same examples every time, and no example
# database is written into the checkout. Budget: the whole file runs in about
# 20 s on one core.
SETTINGS = settings(
    max_examples=100, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Messages that NumPy, SciPy or Python raise on their own: an estimator that
# lets one of them through did not validate its input.
RAW_MESSAGES = re.compile(
    "|".join([
        r"operands could not be broadcast",
        r"could not broadcast",
        r"setting an array element with a sequence",
        r"truth value of an array",
        r"math domain error",
        r"array must not contain infs or NaNs",
        r"zero-size array",
        r"cannot reshape array",
        r"is out of bounds",
        r"not aligned",
        r"matmul: Input operand",
        r"division by zero",
        r"invalid value encountered",
        r"overflow encountered",
    ])
)


# -- strategies ------------------------------------------------------------------


@st.composite
def features(draw):
    n = draw(st.integers(5, 40))
    p = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.RandomState(seed)
    exponents = draw(st.lists(st.sampled_from([-6, -3, 0, 0, 3, 6]), min_size=p, max_size=p))
    X = rng.randn(n, p) * 10.0 ** np.array(exponents)
    if draw(st.booleans()):  # degenerate columns: constant or duplicated
        X[:, 0] = 1.0 if p == 1 else X[:, -1]
    return X, rng


@st.composite
def sample_weights(draw, n):
    kind = draw(st.sampled_from(["none", "positive", "with_zeros"]))
    if kind == "none":
        return None
    seed = draw(st.integers(0, 2**31 - 1))
    weights = np.random.RandomState(seed).uniform(0.1, 5.0, size=n)
    if kind == "with_zeros":
        weights[draw(st.integers(0, n - 1)):] = 0.0
    return weights


def regression_target(loss, X, rng):
    """Targets in the domain of ``loss``, on a scale drawn with the data."""
    z = X @ rng.randn(X.shape[1]) + rng.randn(X.shape[0])
    z = z / (np.std(z) or 1.0) * 10.0 ** rng.randint(-3, 4)
    if loss in ("poisson", "tweedie"):
        return np.floor(np.abs(z))  # counts, zeros included
    if loss == "gamma":
        return np.abs(z) + 1e-3
    if loss == "squared_log_error":
        return np.abs(z)
    if loss == "kl_divergence":
        logits = np.c_[z, -z, rng.randn(len(z))]
        proba = np.exp(logits - logits.max(axis=1, keepdims=True))
        return proba / proba.sum(axis=1, keepdims=True)
    return z


def classification_target(X, rng, n_classes):
    scores = X @ rng.randn(X.shape[1], n_classes) / (np.std(X) or 1.0)
    labels = np.argmax(scores + rng.gumbel(size=scores.shape), axis=1)
    labels[:n_classes] = np.arange(n_classes)  # every class present
    return rng.permutation(labels)


def configurations(solvers=SOLVERS):
    """Penalty, solver and model shape."""
    return st.fixed_dictionaries({
        "alpha": st.sampled_from([0.0, 1e-4, 1e-2, 1.0]),
        "l1_ratio": st.sampled_from([0.0, 0.5, 1.0]),
        "solver": st.sampled_from(solvers),
        "hidden_layer_sizes": st.sampled_from([(), (4,)]),
    })


@st.composite
def problems(draw, losses=None):
    """``(estimator, X, y, sample_weight)`` for any loss of ``losses`` (default all)."""
    X, rng = draw(features())
    loss = draw(st.sampled_from(losses or REGRESSION_LOSSES + CLASSIFICATION_LOSSES))
    if loss in REGRESSION_LOSSES:
        y = regression_target(loss, X, rng)
        estimator = LossRegressor(loss=loss, random_state=0)
    else:
        y = classification_target(X, rng, draw(st.integers(2, 4)))
        estimator = LossClassifier(loss=loss, random_state=0)
    weights = draw(sample_weights(len(y)))
    return estimator, X, y, weights


def _fit(estimator, X, y, weights):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, sample_weight=weights)


def _parameters(estimator):
    if hasattr(estimator, "coefs_"):
        return [*estimator.coefs_, *estimator.intercepts_]
    return [np.asarray(estimator.coef_), np.asarray(estimator.intercept_)]


def _assert_clear_error(exc):
    """The message is ours or scikit-learn's validation, never a raw one."""
    message = str(exc)
    assert len(message) >= 20, f"uninformative message: {message!r}"
    assert not RAW_MESSAGES.search(message), f"raw message leaked: {message!r}"
    origin = traceback.extract_tb(exc.__traceback__)[-1].filename.replace("\\", "/")
    assert "/sklosses/" in origin or "/sklearn/utils/" in origin, (
        f"{type(exc).__name__} raised outside validation code, in {origin}: {message!r}"
    )


# -- properties --------------------------------------------------------------------


@settings(SETTINGS, max_examples=300)
@given(problem=problems(), config=configurations())
def test_fit_succeeds_with_finite_output_or_raises_a_clear_error(problem, config):
    estimator, X, y, weights = problem
    estimator.set_params(max_iter=50, **config)
    try:
        _fit(estimator, X, y, weights)
    except (ValueError, FloatingPointError) as exc:
        event(f"raised {type(exc).__name__}: {str(exc)[:40]}")
        _assert_clear_error(exc)
        if isinstance(exc, FloatingPointError):
            assert "diverged" in str(exc) or "not finite" in str(exc)
        return
    event("fitted")
    for array in _parameters(estimator):
        assert np.all(np.isfinite(array))
    assert np.all(np.isfinite(estimator.loss_curve_))
    prediction = estimator.predict(X)
    assert len(prediction) == len(X)
    if isinstance(estimator, LossRegressor):
        assert not np.any(np.isnan(prediction))
        if estimator.loss_.link.name not in ("log", "log1p"):
            assert np.all(np.isfinite(prediction))
        # else exp(raw) overflows to +inf for raw > 709, possible when an
        # unconverged fit meets features at 1e6: documented, and the raw
        # predictions are finite since the parameters are.
    else:
        assert set(np.unique(prediction)) <= set(estimator.classes_)
        assert np.all(np.isfinite(estimator.decision_function(X)))
        if hasattr(estimator, "predict_proba"):
            proba = estimator.predict_proba(X)
            assert np.all(np.isfinite(proba))
            np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)


@SETTINGS
@given(
    problem=problems(losses=sorted(SMOOTH_LOSSES)),
    config=configurations(FULL_BATCH),
)
def test_full_batch_loss_curve_never_increases(problem, config):
    # L-BFGS's line search enforces sufficient decrease and the FISTA here is
    # the monotone variant; both record the objective after each iteration.
    # (Non-smooth losses are left out: their curve spans several smoothing
    # stages, each with its own surrogate objective.)
    estimator, X, y, weights = problem
    estimator.set_params(max_iter=100, **config)
    try:
        _fit(estimator, X, y, weights)
    except (ValueError, FloatingPointError) as exc:
        _assert_clear_error(exc)
        return
    curve = np.asarray(estimator.loss_curve_)
    slack = 1e-10 * np.maximum(np.abs(curve[:-1]), 1e-300)
    increases = np.diff(curve) - slack
    assert np.all(increases <= 0), (
        f"solver {config['solver']!r} increased the objective: {curve.tolist()}"
    )


@st.composite
def convex_problems(draw):
    """A strongly convex linear problem on unit-scale data (unique optimum)."""
    n = draw(st.integers(5, 40))
    p = draw(st.integers(1, 5))
    rng = np.random.RandomState(draw(st.integers(0, 2**31 - 1)))
    X = rng.randn(n, p)
    task = draw(st.sampled_from(["regression", "classification"]))
    pool = REGRESSION_LOSSES if task == "regression" else CLASSIFICATION_LOSSES
    loss = draw(st.sampled_from(sorted(SMOOTH_LOSSES & set(pool))))
    options = dict(loss=loss, alpha=draw(st.sampled_from([1e-2, 1e-1, 1.0])),
                   l1_ratio=draw(st.sampled_from([0.0, 0.5])),
                   solver=draw(st.sampled_from(FULL_BATCH)), tol=1e-10, max_iter=5000)
    if task == "regression":
        y = regression_target(loss, X, rng)
        if loss != "kl_divergence":
            y = y / (np.max(np.abs(y)) or 1.0) * 3  # unit scale, domain kept
        estimator = LossRegressor(**options)
    else:
        y = classification_target(X, rng, draw(st.integers(2, 4)))
        estimator = LossClassifier(**options)
    weights = draw(sample_weights(n).filter(lambda w: w is None or w[0] > 0))
    return estimator, X, y, weights


@SETTINGS
@given(problem=convex_problems(), seed=st.integers(0, 2**31 - 1))
def test_full_batch_fit_does_not_depend_on_row_order(problem, seed):
    estimator, X, y, weights = problem
    order = np.random.RandomState(seed).permutation(len(X))
    try:
        original = _fit(estimator, X, y, weights)
    except ValueError as exc:  # e.g. a class left with zero weight only
        _assert_clear_error(exc)
        return
    raw_original = _raw(original, X)
    permuted = _fit(
        estimator.__class__(**estimator.get_params()), X[order], y[order],
        None if weights is None else weights[order],
    )
    # Both fits stop within tol of the same unique optimum; the tolerance on
    # the raw predictions allows for tol / alpha on the parameters.
    np.testing.assert_allclose(_raw(permuted, X), raw_original, rtol=1e-5, atol=1e-5)


def _raw(estimator, X):
    if isinstance(estimator, LossClassifier):
        return estimator.decision_function(X)
    return estimator.predict(X)


def test_the_strategies_cover_every_loss_and_solver():
    # Guards the properties against a registry or solver list that shrank.
    assert len(REGRESSION_LOSSES) >= 10 and len(CLASSIFICATION_LOSSES) >= 6
    assert {"auto", "lbfgs", "proximal", "sgd", "adam"} <= set(SOLVERS)

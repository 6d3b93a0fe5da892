"""Scaling out: Dask and Ray joblib backends, pickling, out-of-core partial_fit.

The parallel runs must give exactly the sequential results: every fit is
deterministic, so a backend that lost a loss's hyper-parameter, mangled a
custom loss in transit or mixed up folds shows up as a difference.

The clusters are real (worker processes, pickling across them). Each is
started once per class and shut down when the class's tests end, even when
one fails, so Dask's workers are gone before Ray starts and no process
outlives the test run.
"""

import os
import pickle
import tracemalloc

import _scale_out_helpers
import cloudpickle  # a dependency of joblib, so always there
import joblib
import numpy as np
import pytest
from _scale_out_helpers import (
    custom_classification_loss,
    custom_regression_loss,
    score_and_pid,
)
from sklearn.datasets import make_classification, make_regression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from sklosses import LossClassifier, LossRegressor, compare_losses
from sklosses.losses import Focal, Huber, Quantile

# Clusters start worker processes (seconds each): CI runs these, the README's
# quick test command skips them.
pytestmark = pytest.mark.slow

NEEDS_DASK = "needs the extra: pip install 'sklosses[dask]'"
NEEDS_RAY = "needs the extra: pip install 'sklosses[ray]'"


# ---------------------------------------------------------------------------
# Data and grids shared by the backends
# ---------------------------------------------------------------------------


def regression_data():
    X, y = make_regression(n_samples=150, n_features=4, noise=10.0, random_state=0)
    return X, y


def classification_data():
    X, y = make_classification(
        n_samples=150, n_features=4, n_informative=3, n_redundant=0, random_state=0
    )
    return StandardScaler().fit_transform(X), y


def regression_grid():
    # A string, a loss object with a hyper-parameter, and a custom loss.
    return {
        "loss": ["squared_error", Huber(delta=2.0), Quantile(quantile=0.5),
                 custom_regression_loss()],
        "alpha": [1e-4, 1e-1],
    }


def classification_grid():
    return {
        "loss": ["log_loss", Focal(gamma=1.0), "hinge", custom_classification_loss()],
        "alpha": [1e-4, 1e-1],
    }


GRID_CASES = {
    "regressor": (LossRegressor(max_iter=300), regression_data, regression_grid),
    "classifier": (LossClassifier(max_iter=300), classification_data, classification_grid),
}

COMPARED_LOSSES = ["squared_error", "absolute_error", Huber(delta=2.0)]


def sequential_and_parallel_search(case, backend):
    estimator, data, grid = GRID_CASES[case]
    X, y = data()
    options = {"cv": 3, "scoring": score_and_pid, "refit": "score"}
    sequential = GridSearchCV(estimator, grid(), **options).fit(X, y)
    with joblib.parallel_config(backend=backend):
        parallel = GridSearchCV(estimator, grid(), n_jobs=-1, **options).fit(X, y)
    return sequential, parallel


def fitting_pids(search):
    return {int(pid) for k in range(3) for pid in search.cv_results_[f"split{k}_test_pid"]}


def assert_same_search(sequential, parallel):
    seq, par = sequential.cv_results_, parallel.cv_results_
    assert [repr(p) for p in seq["params"]] == [repr(p) for p in par["params"]]
    for k in range(3):
        key = f"split{k}_test_score"
        np.testing.assert_allclose(par[key], seq[key], rtol=1e-12)
    np.testing.assert_allclose(par["mean_test_score"], seq["mean_test_score"], rtol=1e-12)
    assert repr(parallel.best_params_) == repr(sequential.best_params_)
    # The parallel fits ran in the backend's worker processes, not here.
    assert fitting_pids(sequential) == {os.getpid()}
    assert os.getpid() not in fitting_pids(parallel)


def assert_same_comparison(sequential, parallel):
    np.testing.assert_allclose(
        parallel.results_["mean_test_score"], sequential.results_["mean_test_score"],
        rtol=1e-12,
    )
    assert list(parallel.results_["loss"]) == list(sequential.results_["loss"])
    assert list(parallel.results_["error"]) == ["", "", ""]
    np.testing.assert_array_equal(
        parallel.results_["rank_test_score"], sequential.results_["rank_test_score"]
    )


def compare_sequential_and_parallel(backend):
    X, y = regression_data()
    sequential = compare_losses(LossRegressor(), X, y, COMPARED_LOSSES, cv=3)
    with joblib.parallel_config(backend=backend):
        parallel = compare_losses(LossRegressor(), X, y, COMPARED_LOSSES, cv=3, n_jobs=-1)
    return sequential, parallel


# ---------------------------------------------------------------------------
# Dask
# ---------------------------------------------------------------------------


@pytest.fixture(scope="class")
def dask_client():
    distributed = pytest.importorskip("distributed", reason=NEEDS_DASK)
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    try:
        client = distributed.Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


@pytest.mark.usefixtures("dask_client")
class TestDask:
    @pytest.mark.parametrize("case", GRID_CASES)
    def test_grid_search_over_losses_equals_sequential(self, case):
        assert_same_search(*sequential_and_parallel_search(case, "dask"))

    def test_compare_losses_equals_sequential(self):
        assert_same_comparison(*compare_sequential_and_parallel("dask"))

    def test_incremental_on_the_cluster_equals_in_memory_partial_fit(self, dask_client):
        # dask-ml's Incremental sends the model from task to task (pickling it
        # between worker processes); the optimiser state must survive that.
        from distributed import get_task_stream

        Incremental = pytest.importorskip(
            "dask_ml.wrappers", reason=NEEDS_DASK
        ).Incremental
        X, y = lazy_regression_data()
        expected = in_memory_partial_fit(make_streaming_estimator("mlp"), X, y, n_epochs=2)
        inc = Incremental(make_streaming_estimator("mlp"), shuffle_blocks=False)
        with get_task_stream(dask_client) as stream:
            for _ in range(2):
                inc.partial_fit(X, y)  # the client is the default scheduler here
        assert_same_parameters(inc.estimator_, expected)
        # One partial_fit task per block and pass, run by the workers (key
        # ("fit-<token>", -1) holds the initial model).
        keys = [task["key"] for task in stream.data]
        fit_tasks = [k for k in keys if str(k[0]).startswith("fit-") and k[1] >= 0]
        assert len(fit_tasks) == 2 * X.numblocks[0]


# ---------------------------------------------------------------------------
# Ray
# ---------------------------------------------------------------------------


@pytest.fixture(scope="class")
def ray_backend():
    ray = pytest.importorskip("ray", reason=NEEDS_RAY)
    from ray.util.joblib import register_ray

    if ray.is_initialized():  # someone else's instance: use it, leave it running
        register_ray()
        yield ray
        return
    try:
        # address="local" starts a fresh instance even when RAY_ADDRESS points
        # elsewhere; starting takes seconds and ray.init waits for it. Ray's
        # workers do not share pytest's sys.path: point them at the module
        # that defines the custom losses' functions.
        helpers_dir = os.path.dirname(os.path.abspath(_scale_out_helpers.__file__))
        python_path = os.pathsep.join(filter(None, [helpers_dir, os.environ.get("PYTHONPATH")]))
        ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": python_path}})
        register_ray()
        yield ray
    finally:
        ray.shutdown()


@pytest.mark.usefixtures("ray_backend")
class TestRay:
    @pytest.mark.parametrize("case", GRID_CASES)
    def test_grid_search_over_losses_equals_sequential(self, case):
        assert_same_search(*sequential_and_parallel_search(case, "ray"))

    def test_compare_losses_equals_sequential(self):
        assert_same_comparison(*compare_sequential_and_parallel("ray"))


# ---------------------------------------------------------------------------
# Pickling
# ---------------------------------------------------------------------------

PICKLERS = {"pickle": pickle, "cloudpickle": cloudpickle}


def fitted_estimators():
    Xr, yr = regression_data()
    Xc, yc = classification_data()
    reg, clf = custom_regression_loss(), custom_classification_loss()
    return {
        "linear-regressor": (LossRegressor(loss=reg).fit(Xr, yr), Xr, yr),
        "mlp-regressor": (
            LossRegressor(loss=reg, hidden_layer_sizes=(8,), random_state=0).fit(Xr, yr),
            Xr, yr,
        ),
        "linear-classifier": (LossClassifier(loss=clf).fit(Xc, yc), Xc, yc),
        "mlp-classifier": (
            LossClassifier(loss=clf, hidden_layer_sizes=(8,), random_state=0).fit(Xc, yc),
            Xc, yc,
        ),
    }


def raw_and_target(est, X, y):
    """What the fitted loss sees: raw predictions and encoded targets."""
    if hasattr(est, "classes_"):
        return est.decision_function(X), np.searchsorted(est.classes_, y)
    return est.predict(X), y  # identity link: raw predictions are predictions


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("pickler", PICKLERS)
def test_fitted_estimators_with_custom_losses_round_trip(pickler):
    module = PICKLERS[pickler]
    for name, (est, X, y) in fitted_estimators().items():
        restored = module.loads(module.dumps(est))
        assert repr(restored.loss_) == repr(est.loss_), name
        np.testing.assert_array_equal(restored.predict(X), est.predict(X), err_msg=name)
        if hasattr(est, "predict_proba"):
            np.testing.assert_array_equal(restored.predict_proba(X), est.predict_proba(X))
        # The custom loss came back with its function: same values and gradients.
        raw, target = raw_and_target(est, X, y)
        for got, expected in zip(restored.loss_.loss_gradient(target, raw),
                                 est.loss_.loss_gradient(target, raw), strict=True):
            np.testing.assert_array_equal(got, expected, err_msg=name)


@pytest.mark.parametrize("pickler", PICKLERS)
@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_partial_fit_resumes_identically_after_pickling(pickler, kind):
    # What Incremental on a cluster does: the model travels between chunks.
    module = PICKLERS[pickler]
    X, y = regression_data()
    chunks = np.array_split(np.arange(len(y)), 3)
    kept = make_streaming_estimator(kind)
    travelled = make_streaming_estimator(kind)
    for rows in chunks:
        kept.partial_fit(X[rows], y[rows])
        travelled = module.loads(module.dumps(travelled.partial_fit(X[rows], y[rows])))
    assert_same_parameters(travelled, kept)


@pytest.mark.parametrize("pickler", PICKLERS)
def test_loss_comparison_round_trips(pickler):
    module = PICKLERS[pickler]
    X, y = regression_data()
    comparison = compare_losses(
        LossRegressor(), X, y, [*COMPARED_LOSSES, custom_regression_loss()], cv=3
    )
    restored = module.loads(module.dumps(comparison))
    assert restored.results_.keys() == comparison.results_.keys()
    for key, value in comparison.results_.items():
        np.testing.assert_array_equal(restored.results_[key], value, err_msg=key)
    assert repr(restored.best_loss_) == repr(comparison.best_loss_)
    assert restored.best_score_ == comparison.best_score_
    assert str(restored) == str(comparison)


# ---------------------------------------------------------------------------
# Out-of-core: partial_fit over the chunks of a dask array
# ---------------------------------------------------------------------------


def lazy_regression_data(n_samples=6_000, chunk_rows=1_000):
    """A lazy non-linear regression problem: nothing is computed until asked."""
    da = pytest.importorskip("dask.array", reason=NEEDS_DASK)
    rng = da.random.RandomState(0)
    X = rng.uniform(-2.0, 2.0, size=(n_samples, 4), chunks=(chunk_rows, 4))
    y = (2.0 * da.sin(X[:, 0]) + X[:, 1] ** 2 - X[:, 2]
         + 0.1 * rng.normal(size=n_samples, chunks=chunk_rows))
    return X, y


def make_streaming_estimator(kind):
    hidden = (16,) if kind == "mlp" else ()
    return LossRegressor(loss=Huber(delta=1.0), hidden_layer_sizes=hidden, solver="adam",
                         learning_rate=1e-2, batch_size=250, random_state=0)


def stream_dask_blocks(estimator, X, y, *, n_epochs, **fit_params):
    """partial_fit over the blocks of dask arrays, computing one block at a time."""
    dask = pytest.importorskip("dask", reason=NEEDS_DASK)
    for _ in range(n_epochs):
        for X_block, y_block in zip(X.blocks, y.blocks):
            X_chunk, y_chunk = dask.compute(X_block, y_block, scheduler="synchronous")
            estimator.partial_fit(X_chunk, y_chunk, **fit_params)
    return estimator


def in_memory_partial_fit(estimator, X, y, *, n_epochs, **fit_params):
    """The same rows in the same order, from NumPy arrays held in memory."""
    dask = pytest.importorskip("dask", reason=NEEDS_DASK)
    X_all, y_all = dask.compute(X, y, scheduler="synchronous")
    bounds = np.cumsum((0, *X.chunks[0]))
    for _ in range(n_epochs):
        for start, stop in zip(bounds[:-1], bounds[1:]):
            estimator.partial_fit(X_all[start:stop], y_all[start:stop], **fit_params)
    return estimator


def parameters(est):
    if est.hidden_layer_sizes:
        return [*est.coefs_, *est.intercepts_]
    return [est.coef_, np.atleast_1d(est.intercept_)]


def assert_same_parameters(est, ref):
    """Bit-for-bit the same fit: same parameters, epochs and loss curve."""
    for got, expected in zip(parameters(est), parameters(ref), strict=True):
        np.testing.assert_array_equal(got, expected)
    assert est.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(est.loss_curve_, ref.loss_curve_)


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_streaming_dask_blocks_equals_in_memory_partial_fit(kind):
    X, y = lazy_regression_data()
    streamed = stream_dask_blocks(make_streaming_estimator(kind), X, y, n_epochs=3)
    expected = in_memory_partial_fit(make_streaming_estimator(kind), X, y, n_epochs=3)
    assert streamed.n_iter_ == 3 * X.numblocks[0]
    assert_same_parameters(streamed, expected)


@pytest.mark.parametrize("kind", ["linear", "mlp"])
def test_dask_ml_incremental_equals_in_memory_partial_fit(kind):
    dask = pytest.importorskip("dask", reason=NEEDS_DASK)
    Incremental = pytest.importorskip(
        "dask_ml.wrappers", reason=NEEDS_DASK
    ).Incremental
    X, y = lazy_regression_data()
    inc = Incremental(make_streaming_estimator(kind), shuffle_blocks=False)
    with dask.config.set(scheduler="synchronous"):
        for _ in range(3):  # one call of Incremental.partial_fit is one pass over the blocks
            inc.partial_fit(X, y)
    expected = in_memory_partial_fit(make_streaming_estimator(kind), X, y, n_epochs=3)
    assert_same_parameters(inc.estimator_, expected)


def test_incremental_classifier_equals_in_memory_partial_fit():
    dask = pytest.importorskip("dask", reason=NEEDS_DASK)
    Incremental = pytest.importorskip(
        "dask_ml.wrappers", reason=NEEDS_DASK
    ).Incremental
    X, y = lazy_regression_data()
    labels = y > y.mean()  # boolean labels, computed chunk by chunk
    make = lambda: LossClassifier(loss="hinge", solver="sgd", random_state=0)  # noqa: E731
    inc = Incremental(make(), shuffle_blocks=False)
    with dask.config.set(scheduler="synchronous"):
        inc.fit(X, labels, classes=[False, True])
    expected = in_memory_partial_fit(make(), X, labels, n_epochs=1, classes=[False, True])
    assert_same_parameters(inc.estimator_, expected)
    np.testing.assert_array_equal(inc.estimator_.classes_, [False, True])


def objective(est, X, y):
    """J of API.md: mean loss plus the L2 penalty (l1_ratio=0)."""
    return est.loss_(y, est.predict(X)) + est.alpha / 2 * np.sum(est.coef_ ** 2)


def test_streaming_linear_model_reaches_the_full_batch_optimum():
    dask = pytest.importorskip("dask", reason=NEEDS_DASK)
    da = pytest.importorskip("dask.array", reason=NEEDS_DASK)
    rng = da.random.RandomState(1)
    X = rng.normal(size=(20_000, 10), chunks=(2_000, 10))
    y = X @ np.linspace(-2.0, 2.0, 10) + 3.0 + rng.normal(size=20_000, chunks=2_000)
    X_all, y_all = dask.compute(X, y)
    full = LossRegressor(alpha=1e-4, tol=1e-10).fit(X_all, y_all)
    streamed = stream_dask_blocks(
        LossRegressor(alpha=1e-4, solver="sgd", learning_rate=3e-3, batch_size=500,
                      random_state=0),
        X, y, n_epochs=4,
    )
    best, reached = objective(full, X_all, y_all), objective(streamed, X_all, y_all)
    # L-BFGS is at the optimum; four passes of SGD over the chunks come within 1 %.
    assert best <= reached * (1 + 1e-8)
    assert reached <= best * (1 + 1e-2)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_streaming_mlp_reaches_the_in_memory_fit():
    dask = pytest.importorskip("dask", reason=NEEDS_DASK)
    X, y = lazy_regression_data(n_samples=12_000, chunk_rows=1_500)
    X_all, y_all = dask.compute(X, y)
    n_epochs = 10
    in_memory = LossRegressor(
        hidden_layer_sizes=(16,), solver="adam", learning_rate=1e-2, batch_size=250,
        max_iter=n_epochs, tol=0.0, n_iter_no_change=n_epochs + 1, random_state=0,
    ).fit(X_all, y_all)
    streamed = stream_dask_blocks(
        LossRegressor(hidden_layer_sizes=(16,), solver="adam", learning_rate=1e-2,
                      batch_size=250, random_state=0),
        X, y, n_epochs=n_epochs,
    )
    assert in_memory.n_iter_ == n_epochs
    # Same epochs and steps, rows shuffled within chunks instead of across the
    # whole data: the streamed fit's training loss is within 10 % of fit's.
    mse = [est.loss_(y_all, est.predict(X_all)) for est in (in_memory, streamed)]
    assert mse[1] <= 1.1 * mse[0]
    assert streamed.score(X_all, y_all) > 0.95


@pytest.mark.parametrize("driver", ["blocks", "incremental"])
def test_streaming_memory_is_bounded_by_the_chunk_size(driver):
    """A 200 MB dask array streams through partial_fit in a few chunks' memory."""
    dask = pytest.importorskip("dask", reason=NEEDS_DASK)
    da = pytest.importorskip("dask.array", reason=NEEDS_DASK)
    n_features, chunk_rows, n_chunks = 20, 12_500, 100
    rng = da.random.RandomState(2)
    X = rng.normal(size=(chunk_rows * n_chunks, n_features), chunks=(chunk_rows, n_features))
    true_coef = np.linspace(-1.0, 1.0, n_features)
    y = X @ true_coef + 0.1 * rng.normal(size=X.shape[0], chunks=chunk_rows)
    chunk_bytes = X.blocks[0].nbytes
    assert X.nbytes == 200e6 and chunk_bytes == 2e6
    estimator = LossRegressor(solver="sgd", learning_rate=1e-2, batch_size=1_000,
                              random_state=0)
    if driver == "incremental":
        Incremental = pytest.importorskip(
            "dask_ml.wrappers", reason=NEEDS_DASK
        ).Incremental
        # The synchronous scheduler computes a block only when partial_fit needs
        # it; the threaded one reads ahead (documented in docs/scaling.rst).
        with dask.config.set(scheduler="synchronous"):
            tracemalloc.start()
            try:
                fitted = Incremental(estimator, shuffle_blocks=False).fit(X, y).estimator_
                peak = tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()
    else:
        tracemalloc.start()
        try:
            fitted = stream_dask_blocks(estimator, X, y, n_epochs=1)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    # NumPy reports its buffers to tracemalloc. The whole array would be 100
    # chunks; the stream holds one chunk, its copies in validation and batching.
    assert peak < 5 * chunk_bytes, f"peak {peak / 1e6:.1f} MB"
    assert fitted.n_iter_ == n_chunks  # every chunk was seen, once
    np.testing.assert_allclose(fitted.coef_, true_coef, atol=0.05)

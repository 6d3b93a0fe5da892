"""L-BFGS on a blocked objective runs with one BLAS thread, and restores the user's."""

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import sklosses._blocked as blocked
from sklosses import LossClassifier
from sklosses._objective import Objective


def _blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


@pytest.mark.parametrize("large", [True, False], ids=["blocked", "whole"])
def test_lbfgs_limits_blas_threads_only_on_blocked_objectives(monkeypatch, large):
    if not _blas_threads():
        pytest.skip("no BLAS library visible to threadpoolctl")
    if large:  # small data takes the blocked path
        monkeypatch.setattr(blocked, "_MIN_DATA_BYTES", 0)
        monkeypatch.setattr(blocked, "_BLOCK_BYTES", 100 * 5 * 8)
        monkeypatch.setattr(blocked, "_MIN_BLOCK_ROWS", 1)
    seen = []
    evaluate = Objective.data_loss_gradient

    def recording(self, params):
        seen.append(tuple(_blas_threads()))
        return evaluate(self, params)

    monkeypatch.setattr(Objective, "data_loss_gradient", recording)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 5))
    y = (X @ rng.normal(size=5) + rng.logistic(size=1000) > 0).astype(int)
    with threadpool_limits(2, user_api="blas"):
        before = _blas_threads()
        LossClassifier(solver="lbfgs", alpha=1e-3).fit(X, y)
        assert _blas_threads() == before  # restored
    assert seen
    expected = tuple(1 for _ in before) if large else tuple(before)
    assert set(seen) == {expected}

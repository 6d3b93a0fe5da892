"""BLAS threads around solver loops whose own work is not BLAS.

scipy's L-BFGS-B does its bookkeeping by BLAS and LAPACK calls on vectors of
``n_params`` and matrices of its memory's size (tens of rows). With two
OpenBLAS threads each such call wakes the second thread; on a shared 2-core
machine whose other core is busy the wake waits for the scheduler, and the
calls that take microseconds on one thread took 16-19 ms per binary
log-loss fit (1e5 x 100, ten calls) on two, the same for scikit-learn's
LogisticRegression. Where the evaluations do not need BLAS threads either
(large data evaluated by blocks of 1 MB: compiled row products for one
output, :mod:`sklosses._row_products`, small ``gemm`` products for several,
which two threads did not speed up here: a multinomial fit, 1e5 x 50 and ten
classes, took 0.49 of LogisticRegression's time with default threads so,
0.90 before), the loop runs with one BLAS thread, as scikit-learn's KMeans limits BLAS
inside its own parallel loops; the user's setting is restored on leaving it.
"""

import contextlib

_CONTROLLER = []  # made at the first use: inspecting the loaded libraries takes ~1 ms


def one_blas_thread(active=True):
    """A context in which BLAS runs on one thread (a no-op when not ``active``)."""
    if not active:
        return contextlib.nullcontext()
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")

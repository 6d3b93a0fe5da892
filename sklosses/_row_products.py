"""Matrix-vector products of a dense block of rows, compiled with Numba.

The blocked evaluation of a linear model (:mod:`sklosses._blocked`) and the
column moments of the change of variables (:mod:`sklosses._preconditioning`)
stream a large ``X`` through a few matrix-vector products per pass. Through
BLAS's ``gemv`` their speed hangs on one kernel of one BLAS build on one
processor: on an AMD EPYC, OpenBLAS's product of a C-ordered block with a
vector took 8.6 ms per pass over a 1e5 x 100 float64 ``X`` whose plain sum
takes 2.7 ms, NumPy's ``einsum`` 4.7 ms, while on an Intel Xeon ``gemv`` was
the faster of those two. A loop over the rows, compiled, reads each row once
at the speed of memory on both kinds of processor (4.2 ms there), and the
backward product ``X_B^T r`` the same way; both accumulate in float64.

The loops run on one thread: each product is bound by memory, and two BLAS
threads on blocks of 1 MB were no faster on this 2-core machine (their
start-up per call ate the second core's share). Without Numba (a platform it
does not support), the same functions fall back to NumPy's BLAS products.
"""

import numpy as np

from ._compiling import compiled

# Reassociation lets the compiler keep several partial sums in SIMD
# registers (the speed of memory); no other fast-math flag, so that a NaN or
# an infinity in the data propagates as in NumPy.
_FLAGS = {"reassoc", "contract"}


def _compile(function):
    """``function`` compiled by Numba, or None where Numba cannot be imported."""
    return compiled(function, fastmath=_FLAGS)


def _forward_loop(block, vector, out):
    n_rows, n_columns = block.shape
    for i in range(n_rows):
        total = 0.0
        for j in range(n_columns):
            total += block[i, j] * vector[j]
        out[i] = total


def _add_backward_loop(block, row_values, out):
    n_rows, n_columns = block.shape
    for i in range(n_rows):
        value = row_values[i]
        for j in range(n_columns):
            out[j] += block[i, j] * value


def _add_moments_loop(block, weight, mean, square):
    n_rows, n_columns = block.shape
    for i in range(n_rows):
        w_i = weight[i]
        for j in range(n_columns):
            wx = w_i * block[i, j]
            mean[j] += wx
            square[j] += wx * block[i, j]


def _add_moments_product_loop(block, weight, extra, mean, square, products):
    n_rows, n_columns = block.shape
    for i in range(n_rows):
        w_i = weight[i]
        e_i = extra[i]
        for j in range(n_columns):
            x = block[i, j]
            wx = w_i * x
            mean[j] += wx
            square[j] += wx * x
            products[j] += e_i * x


_COMPILED = {}

# The first compiled call in a process imports Numba and loads the machine
# code from its disk cache (about 0.6 s here; compiling, the first time ever,
# about 1 s per loop): worth it only on data whose passes cost milliseconds
# each, which callers ask for by this size (that of the blocked evaluation).
MIN_COMPILED_BYTES = 2**25


def _compiled(name, loop):
    """The loop compiled at its first use (importing Numba costs ~0.2 s: small fits never do)."""
    if name not in _COMPILED:
        _COMPILED[name] = _compile(loop) if use_compiled else None
    return _COMPILED[name]


# False forces NumPy's products (tests compare the two).
use_compiled = True


def _compilable(*arrays):
    """Whether the loops take these arrays (native float32, float64); NumPy does the rest."""
    return all(a.dtype in _FLOATS for a in arrays)


_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # native byte order only


def forward(block, vector, out):
    """``out[:] = block @ vector`` for a C-ordered 2-D ``block``; returns ``out``."""
    loop = _compiled("forward", _forward_loop) if _compilable(block, vector, out) else None
    if loop is None:
        return np.dot(block, vector, out=out)
    loop(block, vector, out)
    return out


def add_backward(block, row_values, out):
    """``out += block.T @ row_values``, ``out`` float64 of shape (n_columns,)."""
    loop = (_compiled("add_backward", _add_backward_loop)
            if _compilable(block, row_values, out) else None)
    if loop is None:
        out += row_values @ block
        return out
    loop(block, row_values, out)
    return out


def add_moments(block, weight, mean, square, extra=None, products=None, *, compiled=True):
    """Add one block's weighted column sums and sums of squares, in one read of it.

    ``mean += weight @ block`` and ``square += weight @ block**2`` (float64
    outputs of shape (n_columns,), ``weight`` of shape (n_rows,)); with
    ``extra`` of shape (n_rows,), also ``products += extra @ block``.
    ``compiled=False`` uses NumPy's products (data too small to be worth
    the first compiled call, see :data:`MIN_COMPILED_BYTES`).
    """
    if not compiled or not _compilable(block, weight, mean, square):
        loop = None
    elif extra is None:
        loop = _compiled("add_moments", _add_moments_loop)
    else:
        loop = _compiled("add_moments_product", _add_moments_product_loop)
    if loop is None:
        block = np.asarray(block, dtype=np.float64)  # float32 squares lose digits
        mean += weight @ block
        square += weight @ (block * block)
        if extra is not None:
            products += extra @ block
    elif extra is None:
        loop(block, weight, mean, square)
    else:
        loop(block, weight, extra, mean, square, products)


def reset():
    """Forget the compiled loops (after changing :data:`use_compiled`)."""
    _COMPILED.clear()

"""Compile a loop with Numba, where Numba can.

The package's compiled loops (:mod:`sklosses._row_products`,
:mod:`sklosses.solvers._vertex_kernels`) are plain Python functions over
NumPy arrays and scalars, compiled at their first call. Numba is a run-time
dependency; a platform it does not support still runs them (the callers
decide how: NumPy's products, or the function itself as Python).
"""


def compiled(function, *, fastmath=(), error_model="python"):
    """``function`` compiled by Numba (lazily, at its first call), or None without Numba.

    Parameters
    ----------
    function : callable
        A function Numba's ``nopython`` mode compiles.
    fastmath : set of str
        Numba's fast-math flags (none: IEEE semantics, NaN and infinity
        propagate).
    error_model : {"python", "numpy"}
        ``"numpy"``: a float division by zero gives an infinity or NaN, as in
        NumPy, instead of raising.

    Returns
    -------
    dispatcher : callable or None
    """
    try:  # a run-time dependency; the fallback keeps a platform without it working
        import numba
    except ImportError:  # pragma: no cover - the fallbacks are tested by their callers
        return None
    # cache=True: the machine code is kept on disk, so that a new process
    # does not compile again. Numba refuses it where no cache directory is
    # writable (a read-only install without a home): then compile in memory
    # only, and failing that leave the function to the caller's fallback.
    # (Numba compiles at the first call: an error of its there raises, as
    # any error of the function would.)
    for cache in (True, False):
        try:
            return numba.njit(fastmath=set(fastmath), error_model=error_model, cache=cache,
                              nogil=True, boundscheck=False)(function)
        except Exception:  # noqa: BLE001 - any refusal leaves the fallback
            continue
    return None

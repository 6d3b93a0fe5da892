"""Solves with a Hessian matrix: equilibrated Cholesky, pseudo-inverse, damping."""

import numpy as np
from scipy.linalg import LinAlgError, get_lapack_funcs

# A reciprocal condition number below this marks the (equilibrated) Hessian
# as singular, solved by its pseudo-inverse instead of Cholesky.
_SINGULAR = 1e-10


class Factor:
    """Solves with a symmetric positive semi-definite Hessian.

    The Hessian is equilibrated by its diagonal first (Jacobi scaling), which
    makes the step invariant to the units of the features and keeps badly
    scaled data (features of 1e5 beside features of 1) solvable. Then:

    - Cholesky, the common case;
    - a singular Hessian (a reciprocal condition number below
      ``_SINGULAR``: the softmax's common shift of the intercepts, a
      constant or repeated feature, no penalty) is solved by its
      pseudo-inverse, so that directions without curvature get a zero step
      instead of one set by rounding errors (the multinomial intercepts then
      keep the sum they start with, as under L-BFGS). Its null space comes
      from an eigendecomposition, or is the one ``null`` passed in: then
      ``S + N N^T`` (``N`` the null space in the scaled coordinates) is
      factorised by Cholesky, whose solution on right-hand sides orthogonal
      to ``N`` is the pseudo-inverse's;
    - an indefinite Hessian (focal loss, Tweedie with power < 1) is damped
      by a growing multiple of the identity until Cholesky succeeds, which
      gives a descent direction (Levenberg-Marquardt).

    Parameters
    ----------
    hessian : ndarray of shape (n_params, n_params)
    null : ndarray of shape (n_params, n_null) or None
        Orthonormal basis of directions believed to have no curvature.
    singular : float, default=1e-10
        Reciprocal condition number below which the Hessian counts as
        singular; a Hessian summed in float32 needs a larger one (its
        zero eigenvalues come out near 1e-7), see :func:`singular_threshold`.

    Attributes
    ----------
    null : ndarray of shape (n_params, n_null) or None
        Orthonormal basis of the Hessian's null space in the parameters.
    """

    def __init__(self, hessian, null=None, *, singular=_SINGULAR):
        self.singular = singular
        # Coordinates without curvature keep scale 1 (their zero row makes
        # the matrix singular, which the pseudo-inverse handles); no floor
        # relative to the largest entry, which would freeze the coordinates
        # of a feature in small units beside one in units 1e18 times larger.
        diag = np.diag(hessian).copy()
        self.scale = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
        scaled = hessian * self.scale[:, None]
        scaled *= self.scale[None, :]
        self.cholesky = self.eigen = None
        self.null = null
        if null is not None:
            basis = np.linalg.qr(null / self.scale[:, None])[0]
            if self._try_cholesky(scaled + basis @ basis.T):
                return
        self.null = None
        if self._try_cholesky(scaled):
            return
        values, vectors = np.linalg.eigh(scaled)
        if values[0] > -self.singular * values[-1]:  # semi-definite: pseudo-inverse
            keep = values > self.singular * values[-1]
            # The null space of H itself is the scale times that of the
            # scaled matrix; the step is made orthogonal to it, the
            # minimum-norm Newton step in the original parameters.
            self.null = np.linalg.qr(vectors[:, ~keep] * self.scale[:, None])[0]
            self.eigen = (values[keep], vectors[:, keep])
            return
        index = np.arange(scaled.shape[0])
        jitter = self.singular
        while True:
            trial = scaled.copy()
            trial[index, index] += jitter
            factor = _cholesky(trial)
            if factor is not None:
                self.cholesky = factor
                return
            if jitter > 1e12:
                raise LinAlgError("the damped Hessian has no Cholesky factorisation")
            jitter *= 100.0

    def _try_cholesky(self, matrix):
        factor = _cholesky(matrix)
        if factor is None:
            return False
        if _reciprocal_condition(factor, matrix) <= self.singular:
            return False
        self.cholesky = factor
        return True

    def solve(self, rhs):
        """``H^{-1} rhs`` (pseudo-inverse on a singular Hessian)."""
        projected = self.null is not None and self.null.shape[1]
        if projected:
            # The right-hand side is projected off the null space as the
            # solution is, so that ``rhs @ solve(rhs)`` (the decrement) is a
            # quadratic form, never negative: with the null space of an
            # earlier iterate that no longer is one (squared hinge on
            # separable wine x 1e3, whose pieces change), the one-sided
            # projection gave a negative decrement, which met the test.
            rhs = rhs - self.null @ (self.null.T @ rhs)
        b = self.scale * rhs
        if self.cholesky is not None:
            out = _cholesky_solve(self.cholesky, b)
        else:
            values, vectors = self.eigen
            out = vectors @ ((vectors.T @ b) / values)
        out *= self.scale
        if projected:
            out -= self.null @ (self.null.T @ out)
        return out


# LAPACK's routines called directly: scipy.linalg's cho_factor and cho_solve
# add checks and conversions that cost more than the factorisation itself on
# the small matrices of a Newton iteration (measured: 30 x 30, several times).
_POTRF, _POTRS, _POCON = get_lapack_funcs(("potrf", "potrs", "pocon"), dtype=np.float64)


def _cholesky(matrix):
    """The upper Cholesky factor of a float64 ``matrix``, or None if not positive definite."""
    upper, info = _POTRF(matrix, lower=False, clean=True, overwrite_a=False)
    return upper if info == 0 else None


def _cholesky_solve(upper, rhs):
    """``A^{-1} rhs`` from the upper Cholesky factor of ``A``."""
    out, info = _POTRS(upper, rhs, lower=False, overwrite_b=False)
    if info != 0:
        raise ValueError(f"LAPACK potrs failed (info={info})")
    return out


def _reciprocal_condition(upper, matrix):
    """LAPACK's estimate of ``1 / cond_1(matrix)`` from its Cholesky factor."""
    anorm = float(np.abs(matrix).sum(axis=0).max())
    rcond, info = _POCON(upper, anorm, uplo="U")
    return float(rcond) if info == 0 else 0.0


def singular_threshold(dtype):
    """Reciprocal condition number marking a Hessian summed in ``dtype`` as singular."""
    return max(_SINGULAR, 1e3 * float(np.finfo(dtype).eps))


# The rounding of a computed objective value, in units of its last place
# (a sum of many terms in the objective's dtype).
_ROUNDING_ULPS = 10


def objective_rounding(dtype, value):
    """The rounding of an objective's value ``value`` computed in ``dtype``."""
    return _ROUNDING_ULPS * np.finfo(dtype).eps * abs(value)


def null_space_step(null, hessian, rhs, significant, dtype):
    r"""The Newton step along directions set aside as null that the gradient points along.

    A float32 Hessian counts as singular below a reciprocal condition number
    of 1e3 machine epsilons (:func:`singular_threshold`), above the rounding
    of its zero eigenvalues; a well-posed but ill-conditioned problem has real
    curvature there too (standardised breast_cancer, alpha=1e-6: eigenvalues
    1e-5 of the largest), and the pseudo-inverse then never steps along it,
    while its decrement misses the gap left there (the fit stopped 7.4e-3
    above its optimum with both tests met). A true null direction (a
    constant feature, the softmax's common shift of the intercepts) is one
    the objective is flat along: the gradient's component there is rounding.
    So the directions ``N`` of ``null`` whose gradient component promises,
    on the Hessian's curvature along them (at least its rounding), a
    decrease above ``significant`` (the rounding of J) are not set aside:
    the step is then the Newton step on the whole Hessian (eigenvalues
    floored at its rounding) with only the other directions projected out;
    the others (measured: gradient components of 1e-9 to 1e-7 on the multinomial
    intercepts' shift and raw wine's float32 noise, against 2e-5 on
    breast_cancer) stay out.

    Parameters
    ----------
    null : ndarray of shape (n_params, n_null) or None
        Orthonormal basis of the directions set aside (``Factor.null``).
    hessian : ndarray of shape (n_params, n_params)
    rhs : ndarray of shape (n_params,)
        The gradient.
    significant : float
        The smallest decrease that is not rounding.
    dtype : numpy dtype
        The precision the Hessian was summed in.

    Returns
    -------
    step : ndarray of shape (n_params,) or None
        ``H^{-1} rhs`` in place of :meth:`Factor.solve`'s; None when no
        direction qualifies.
    """
    if null is None or not null.shape[1]:
        return None
    component = null.T @ rhs
    curvature = null.T @ (hessian @ null)
    largest = float(np.max(np.diag(hessian), initial=0.0))
    # Below this the curvature along a direction is the Hessian's own rounding.
    noise = max(10.0 * float(np.finfo(dtype).eps) * largest, np.finfo(float).tiny)
    along = np.diag(curvature)
    chosen = 0.5 * component**2 / np.maximum(along, noise) > significant
    if not chosen.any():
        return None
    # The whole Newton step, on the Hessian with its eigenvalues floored at
    # its rounding and the true null directions (the others) projected out:
    # a direction coupled to the rest by the Hessian needs the joint solve.
    # A direction whose curvature is within rounding of zero, where the
    # gradient is not, is no null direction either: its step on the rounding
    # curvature (long, for the line search to cut) and its decrement (large)
    # keep the fit from stopping there.
    diag = np.diag(hessian).copy()
    scale = 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0))
    values, vectors = np.linalg.eigh(hessian * scale[:, None] * scale[None, :])
    floor = 10.0 * float(np.finfo(dtype).eps) * max(float(values[-1]), np.finfo(float).tiny)
    rest = null[:, ~chosen]
    projected = rhs - rest @ (rest.T @ rhs)
    b = vectors.T @ (scale * projected)
    out = scale * (vectors @ (b / np.maximum(values, floor)))
    return out - rest @ (rest.T @ out)

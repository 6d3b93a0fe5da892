r"""Exact elastic-net paths of a quadratic data term (squared error and kin).

When the loss has a constant second derivative in the raw prediction
(``loss.has_constant_hessian``: squared error, squared log error) and the
model is linear, the data term is exactly the quadratic

.. math::
    L(x) = L(0) + g^\top x + \tfrac12 x^\top H x

in the parameters, with ``H`` the weighted Gram matrix. ``H`` and ``g`` are
computed once per training set; every alpha of a path is then a problem in
``n_params`` unknowns, independent of ``n_samples``, which is what makes
``LassoCV``'s Gram-matrix mode fast.

Each alpha is solved exactly by *feature-sign search* (Lee, Battle, Raina and
Ng, 2007), an active-set method: guess the signs of the non-zero weights,
solve the linear system those signs give, walk towards its solution and stop
at the first point where the objective is lowest (a weight crossing zero
leaves the set), and add the weight that violates the optimality condition
``|grad_j| <= lambda`` most. Each step lowers the objective, so the method
ends in finitely many steps at the exact optimum; warm-started from the
previous alpha of a path it usually needs one or two linear solves.

Two choices keep it accurate on raw features:

- the columns are centred before ``H`` is formed, so a feature with a large
  offset does not make the intercept's block nearly collinear with it (the
  cancellation that forming the centred Gram by subtraction would suffer);
- ``H`` is solved in Jacobi-scaled variables (unit diagonal), so columns on
  very different scales give a well-scaled system.

A problem the method cannot certify (a singular system, no decrease, the
iteration cap) returns ``None``: the caller falls back to a regular fit.

References
----------
H. Lee, A. Battle, R. Raina and A. Y. Ng, "Efficient sparse coding
algorithms", Advances in Neural Information Processing Systems 19 (2007).
"""

import numpy as np
from scipy.linalg.lapack import dposv

from .._objective import Objective
from ..models import LinearModel
from ..penalties import NoPenalty

# Largest number of parameters for which H is formed, and the least number
# of rows per parameter. Active-set steps cost a factorisation of the active
# block each and features enter one at a time, so with many features and few
# rows per feature the warm-started regular fits are faster (measured at
# n=1500, p=600: 3x slower); with many rows per feature forming H once is
# what makes the path cheap (as LassoCV's precompute="auto" when n > p).
MAX_PARAMS = 300
MIN_ROWS_PER_PARAM = 5
# Optimality conditions hold to this share of the problem's gradient scale:
# the solves are direct, so what is left is rounding.
_KKT_RTOL = 1e-9


def quadratic_path_applies(loss, model, X, *, min_rows_per_param=MIN_ROWS_PER_PARAM):
    """Whether :class:`QuadraticPath` solves this problem exactly.

    Parameters
    ----------
    loss : BaseLoss
        The fitted loss.
    model : BaseModel
        The fitted model; only a plain :class:`~sklosses.models.LinearModel`
        qualifies (not an MLP, nor the ordered model of a list of levels).
    X : {ndarray, sparse matrix}
        The training data (sparse data are left to the regular solvers:
        centring them would make a dense copy).
    min_rows_per_param : int, default=MIN_ROWS_PER_PARAM
        Least number of rows per parameter (a path's warm fits win with
        fewer; a single fit, which forms ``H`` once either way, passes 0).

    Returns
    -------
    bool
    """
    return (getattr(loss, "has_constant_hessian", False)
            and type(model) is LinearModel
            and not hasattr(X, "tocsr")
            and model.n_params <= MAX_PARAMS
            and X.shape[0] >= min_rows_per_param * model.n_params)


class QuadraticPath:
    """Exact solutions of a quadratic data term plus the elastic net, alpha by alpha.

    Parameters
    ----------
    loss : BaseLoss
        A loss with ``has_constant_hessian``.
    model : LinearModel
        The linear model (its ``fit_intercept`` and number of outputs).
    X : ndarray of shape (n_samples, n_features)
        Training data.
    y : ndarray
        Encoded targets.
    sample_weight : ndarray of shape (n_samples,) or None
        Per-sample weights.

    Attributes
    ----------
    n_iter_ : int
        Linear solves of the last :meth:`solve`.
    """

    def __init__(self, loss, model, X, y, sample_weight=None):
        self.model = model
        hessian, gradient, self._centre, varies = _centred_quadratic(
            loss, model, X, y, sample_weight)
        penalised = np.zeros(model.n_params, dtype=bool)
        penalised[: model.n_weights] = True
        diagonal = np.diag(hessian).copy()
        # A column that is constant on the rows with weight has no curvature
        # and no gradient: its weight stays zero (optimal for any penalty).
        # Tested on X itself: centring leaves rounding (~1e-16) behind.
        movable = np.ones(model.n_params, dtype=bool)
        movable[: model.n_weights] = np.tile(varies, model.n_outputs)
        live = self._live = (diagonal > 0) & movable
        root = self._root = np.sqrt(diagonal[live])
        self._H = hessian[np.ix_(live, live)] / np.outer(root, root)
        self._g = gradient[live] / root
        self._penalised = penalised[live]
        self.n_iter_ = 0

    def solve(self, alpha, l1_ratio, params0):
        """The optimum at ``alpha``, started from ``params0``.

        Parameters
        ----------
        alpha : float
            Penalty strength.
        l1_ratio : float
            Share of the L1 part.
        params0 : ndarray of shape (n_params,)
            Starting parameters, in the model's layout (weights, then
            intercepts); the previous point of a path.

        Returns
        -------
        params : ndarray of shape (n_params,) or None
            The exact optimum, or None when it could not be certified.
        """
        z0 = self._to_scaled(np.asarray(params0, dtype=np.float64))
        pen = self._penalised
        lam = np.where(pen, alpha * l1_ratio / self._root, 0.0)
        ridge = np.where(pen, alpha * (1.0 - l1_ratio) / self._root**2, 0.0)
        z, self.n_iter_ = _feature_sign_search(self._H, ridge, self._g, lam, z0)
        return None if z is None else self._from_scaled(z)

    def _to_scaled(self, params):
        shifted = params.copy()
        model = self.model
        if model.fit_intercept:
            weights = params[: model.n_weights].reshape(model.n_outputs, model.n_features)
            shifted[model.n_weights:] += weights @ self._centre
        return shifted[self._live] * self._root

    def _from_scaled(self, z):
        model = self.model
        params = np.zeros(model.n_params)
        params[self._live] = z / self._root
        if model.fit_intercept:
            weights = params[: model.n_weights].reshape(model.n_outputs, model.n_features)
            params[model.n_weights:] -= weights @ self._centre
        return params


# Rows per block when forming H: the centred block is a small buffer, as a
# centred copy of all of X would cost more (in fresh memory) than the Gram.
_BLOCK_ROWS = 4096


def _centred_quadratic(loss, model, X, y, sample_weight):
    """``H``, ``g`` of the data term at zero in centred variables, the centre,
    and which columns vary on the rows with positive weight.

    Formed by row blocks, with no copy of ``X``. The data term's Hessian and gradient are sums over
    rows, so each block's (from an :class:`Objective` on the centred block,
    whose weights it normalises by the block's total) enters with the
    block's share of the total weight.
    """
    X = np.asarray(X)
    n = X.shape[0]
    weight = (np.ones(n) if sample_weight is None
              else np.asarray(sample_weight, dtype=np.float64))
    total = float(weight.sum())
    centre = (
        (weight @ X) / total if model.fit_intercept else np.zeros(X.shape[1]))
    centred = LinearModel(X.shape[1], model.n_outputs, fit_intercept=model.fit_intercept,
                          dtype=np.float64)
    zero = centred.zeros()
    hessian = np.zeros((centred.n_params, centred.n_params))
    gradient = np.zeros(centred.n_params)
    buffer = np.empty((min(n, _BLOCK_ROWS), X.shape[1]))
    low = np.full(X.shape[1], np.inf)
    high = np.full(X.shape[1], -np.inf)
    for start in range(0, n, _BLOCK_ROWS):
        rows = slice(start, min(start + _BLOCK_ROWS, n))
        share = float(weight[rows].sum()) / total
        if share == 0:
            continue
        counted = (weight[rows] > 0)[:, None]
        np.minimum(low, np.min(X[rows], axis=0, where=counted, initial=np.inf), out=low)
        np.maximum(high, np.max(X[rows], axis=0, where=counted, initial=-np.inf), out=high)
        block = buffer[: rows.stop - start]
        np.subtract(X[rows], centre, out=block)
        data = Objective(loss, centred, NoPenalty(), block, y[rows], weight[rows])
        _, block_gradient, block_hessian = data.gradient_hessian(zero)
        hessian += share * block_hessian
        gradient += share * np.asarray(block_gradient, dtype=np.float64)
    return hessian, gradient, centre, high > low


def _objective(H, ridge, g, lam, z):
    return float(0.5 * z @ (H @ z) + 0.5 * ridge @ (z * z) + g @ z + lam @ np.abs(z))


def _feature_sign_search(H, ridge, g, lam, z0, max_iter=None, enter=1):
    """Minimise ``z'Hz/2 + ridge.z^2/2 + g'z + lam.|z|`` from ``z0``.

    Coordinates with ``lam == 0`` are free (always in the active set, no
    sign); the others enter when they violate ``|grad_j| <= lam_j``, the
    ``enter`` worst at a time (each with the sign that lowers the objective,
    so the step towards the new system's solution still descends).
    Returns the optimum (None when it could not be certified) and the number
    of linear solves.
    """
    n = z0.size
    max_iter = 4 * n + 50 if max_iter is None else max_iter
    free = lam == 0
    z = z0.copy()
    sign = np.where(free, 0.0, np.sign(z))
    active = free | (z != 0)
    # Per coordinate: a column on a tiny scale has a huge threshold lam_j in
    # these scaled variables, which must not loosen every other condition.
    gradient_scale = float(np.max(np.abs(g), initial=0.0))
    eps = _KKT_RTOL * np.maximum(np.maximum(np.abs(g), lam),
                                 max(1e-6 * gradient_scale, np.finfo(float).tiny))
    value = _objective(H, ridge, g, lam, z)
    for solves in range(max_iter):
        grad = H @ z + ridge * z + g
        index = np.flatnonzero(active)
        residual = grad[index] + lam[index] * sign[index]
        if np.all(np.abs(residual) <= eps[index]):
            # Optimal on the active set: done, or let the worst violator in
            # with the sign that lowers the objective.
            violation = np.where(active, -np.inf, np.abs(grad) - lam - eps)
            if active.all() or violation.max() <= 0:
                return z, solves
            if enter == 1:
                j = np.array([int(np.argmax(violation))])
            else:
                j = np.flatnonzero(violation > 0)
                if j.size > enter:
                    j = j[np.argpartition(-violation[j], enter - 1)[:enter]]
            sign[j] = -np.sign(grad[j])
            active[j] = True
            index = np.flatnonzero(active)
        system = H[np.ix_(index, index)]
        system.flat[:: index.size + 1] += ridge[index]
        # LAPACK's Cholesky solve directly: the system is small, and the
        # wrappers' checks would cost more than the factorisation.
        _, target, info = dposv(system, -(g[index] + lam[index] * sign[index]))
        if info != 0 or not np.all(np.isfinite(target)):  # not positive definite
            return None, solves + 1
        z, value, moved = _sign_line_search(H, ridge, g, lam, z, grad, index, target,
                                            value, free)
        if not moved:
            return None, solves + 1
        sign = np.where(free, 0.0, np.sign(z))
        active = free | (z != 0)
    return None, max_iter


def _sign_line_search(H, ridge, g, lam, z, grad, index, target, value, free):
    """Best of the solution and the zero crossings on the segment towards it.

    Along ``z + t d`` the smooth part is the quadratic
    ``s(z) + t grad.d + t^2 d'(H + ridge)d / 2`` (``grad`` its gradient at
    ``z``), so each candidate costs its L1 term only; the chosen point's
    objective is then evaluated afresh, so that rounding does not accumulate
    over the steps. Returns the new point, its objective and whether it
    lowered the objective (beyond rounding).
    """
    start = z[index]
    step = target - start
    curvature = float(step @ (H[np.ix_(index, index)] @ step) + ridge[index] @ (step * step))
    slope = float(grad[index] @ step)
    smooth = value - float(lam @ np.abs(z))
    best, best_value = None, value
    candidates = [(1.0, -1)]
    for k in np.flatnonzero((start != 0) & (start * target < 0) & ~free[index]):
        candidates.append((start[k] / (start[k] - target[k]), k))
    for t, k in candidates:
        moved = start + t * step
        if k >= 0:
            moved[k] = 0.0  # exactly at its crossing
        candidate_value = (smooth + t * slope + 0.5 * t * t * curvature
                           + float(lam[index] @ np.abs(moved)))
        if candidate_value < best_value:
            best, best_value = moved, candidate_value
    if best is None:  # rounding: the caller falls back to a regular fit
        return z, value, False
    point = z.copy()
    point[index] = best
    return point, _objective(H, ridge, g, lam, point), True

r"""Exact fit of Crammer and Singer's multiclass hinge by an interior-point method.

The loss of sample :math:`i` is the largest of its classes' margins,
:math:`\ell_i = \max_k (m [k \ne y_i] + z_{ik} - z_{iy_i})` with
:math:`z_i = B^\top \tilde x_i` (``K`` columns of coefficients, one per
class, on the row :math:`\tilde x_i` with a 1 for the intercept). Writing
the maximum over its pieces as one over the simplex,
:math:`\ell_i = \max_{\alpha_i \in \Delta_K} \sum_k \alpha_{ik}
(m [k \ne y_i] + z_{ik} - z_{iy_i})`, and taking the minimum over the
coefficients first gives the dual (as in :mod:`sklosses.solvers._exact`,
with :math:`h_r^*` the conjugate of coefficient :math:`r`'s penalty)

.. math::
    \max_{\alpha}\; \sum_i w_i m (1 - \alpha_{iy_i})
    - \sum_{k, j} h_{kj}^*\big(-G_{kj}(\alpha)\big),
    \qquad G_k = \sum_i w_i (\alpha_{ik} - [k = y_i]) \tilde x_i,

subject to :math:`0 \le \alpha_{ik} \le 1` and :math:`\sum_k \alpha_{ik} =
1`: a box QP with one equality per coefficient and one per sample. The
multipliers of the coefficients' equalities are the coefficients.

The ``n`` simplex equalities would make the normal matrix of a Newton step
``(K q + n)``-square, but their block is diagonal (``e_i = sum_k D_ik``), so
it is eliminated: the step solves with the Schur complement on the
coefficients, whose ``(k, l)`` block is
:math:`\tilde X^\top \operatorname{diag}(w^2 (\delta_{kl} D_k - D_k D_l / e))
\tilde X` (``K q``-square; one pass of ``n (K q)^2``), and recovers the
samples' part in ``O(n K q)``. The diagonal blocks are formed with
``D_k (e - D_k) / e``, where ``e - D_k`` is summed without the cancellation
of a dominant ``D_k``.

The loss depends only on differences between the classes' columns: a
coefficient that no penalty touches (an intercept, or every weight without a
penalty) can be shifted by the same amount in every class. Its equality in
the last class follows from the others and the simplex rows, so it is left
out (that class's coefficient is fixed at 0, which loses nothing), and the
fitted unpenalised coefficients are centred over the classes at the end.

References
----------
.. [1] K. Crammer and Y. Singer, "On the algorithmic implementation of
   multiclass kernel-based vector machines", JMLR 2, 265-292 (2001).
.. [2] S. Mehrotra, SIAM J. Optimization 2(4), 575-601 (1992).
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg.lapack import dpotrs

from ._base import SolverResult
from ._exact import (
    _Certificate,
    _combined_curve,
    _OutputFit,
    _rows_float64,
    _ScaledDesign,
    _ScaledPenalty,
    _solve_positive,
    returned_verdict,
)
from ._ipm import BoxQP, ConstraintOperator, _factorise, interior_point

# Rows of the n x (K q) scaled products formed at once for the Schur
# complement: about 16 MB, so that large n does not need a full copy.
_BLOCK_ENTRIES = 2**21
# Starting share of each sample's simplex on its own class (the rest spread
# over the others): at a small penalty most samples are beyond the margin,
# where alpha is the vertex of the own class.
_OWN_CLASS_START = 0.5
# Margins this close (relative) count as a tie in the vertex dual point: the
# sample keeps the iterate's weights over its classes.
_TIE = 1e-9


def fit_crammer_singer(objective, x0, form, *, tol, max_iter, verbose=0):
    """Minimise a Crammer-Singer hinge objective by the interior-point method.

    Parameters
    ----------
    objective : Objective
        A linear model with ``K = form.n_classes`` outputs.
    x0 : ndarray of shape (n_params,)
        Starting parameters ``[W.ravel(), b]``; they set the starting
        multipliers unless a ridge fit to the class indicators has a
        smaller objective.
    form : MaxOfClassMargins
        The loss, as the loss declares it.
    tol : float
        Relative duality gap to reach.
    max_iter : int
        Interior-point iteration limit.
    verbose : int, default=0
        Print the certified gap at each iteration when positive.

    Returns
    -------
    result : SolverResult
        ``gap`` is the certified relative duality gap.
    """
    model = objective.model
    weight = objective._normalised_weight
    keep = weight > 0
    X = _rows_float64(objective.X, keep)
    w = weight[keep].astype(float)
    labels = np.asarray(form.labels)[keep]
    # The last class is the reference whose unpenalised coefficients are fixed
    # at 0: the heaviest one, since a class of nearly no weight there leaves
    # the shift that only it sees nearly singular in the Newton systems.
    order = np.argsort(np.bincount(labels, weights=w, minlength=form.n_classes), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    problem = _CrammerSingerProblem(X, rank[labels], form.n_classes, float(form.margin), w,
                                    objective.penalty, fit_intercept=model.fit_intercept,
                                    verbose=verbose)
    W0, b0 = model.unpack(np.asarray(x0, dtype=float))
    start = np.hstack([W0, b0[:, None]]) if b0 is not None else W0
    fit = problem.solve(start[order], tol, max_iter)
    p = problem.design.n_features
    coefficients = fit.beta[rank]  # (K, q) in the user's units, the user's class order
    x = np.concatenate([coefficients[:, :p].ravel()]
                       + ([coefficients[:, p]] if model.fit_intercept else []))
    value = objective.value(x)
    gap, rounding = returned_verdict([fit], objective, value, x, tol)
    converged = fit.converged and rounding is None
    message = rounding or ("" if converged else (
        f"stopped after {fit.n_iter} interior-point iterations at a relative duality "
        f"gap of {gap:.2g} (tol={tol:g}); {fit.message}"))
    return SolverResult(x=x, n_iter=fit.n_iter, loss_curve=_combined_curve([fit.curve], value),
                        converged=converged, message=message, gap=gap)


class _CrammerSingerProblem(_ScaledPenalty):
    """The scaled dual QP of the Crammer-Singer hinge and its certificate.

    Scaled as the other exact programs: columns of ``X`` to unit weighted
    RMS, the margin to 1 (``unit`` is the margin), weights to mean one, so
    the scaled objective is ``n / margin`` times ``J``. Scaled coefficients
    ``b`` are class-major: ``b[k * q + j]`` for class ``k`` and column ``j``
    of ``[X, 1]``.
    """

    def __init__(self, X, labels, n_classes, margin, weight, penalty, *, fit_intercept,
                 verbose=0):
        self.verbose = verbose
        self.labels = labels
        self.K = n_classes
        self.n = weight.shape[0]
        self.unit = margin
        self.weight = weight * self.n
        self.design = _ScaledDesign(X, weight, fit_intercept=fit_intercept)
        q = self.q = self.design.n_columns
        self._set_penalty(penalty, self.design, q, copies=n_classes)
        # The last class's unpenalised coefficients are fixed at 0 (their
        # equalities follow from the others'); rows are the kept ones.
        self.dropped = self.free_index[self.free_index >= (n_classes - 1) * q]
        self.rows = np.setdiff1d(np.arange(n_classes * q), self.dropped)
        self.indicator = np.zeros((self.n, n_classes))
        self.indicator[np.arange(self.n), labels] = 1.0
        self.operator = _ClassConstraints(self.design, self.weight, n_classes, self.rows,
                                          np.searchsorted(self.rows, self.l1_index),
                                          np.searchsorted(self.rows, self.l2_index))

    # -- the QP --------------------------------------------------------------

    def box_qp(self):
        n, K = self.n, self.K
        l1 = self.l1[self.l1_index]
        rhs = np.concatenate([
            -self.operator.class_images(self.weight[:, None] * self.indicator)[self.rows],
            np.ones(n),
        ])
        return BoxQP(
            cost=np.concatenate([(self.weight[:, None] * self.indicator).ravel(),
                                 np.zeros_like(l1)]),
            lower=np.concatenate([np.zeros(n * K), -l1]),
            upper=np.concatenate([np.ones(n * K), l1]),
            curvature=1.0 / self.l2[self.l2_index],
            rhs=rhs,
            operator=self.operator,
        )

    def box_start(self, problem):
        """Each sample's simplex with ``_OWN_CLASS_START`` on its class, the rest shared."""
        start = 0.5 * (problem.lower + problem.upper)
        other = (1.0 - _OWN_CLASS_START) / (self.K - 1)
        alpha = np.where(self.indicator > 0, _OWN_CLASS_START, other)
        start[: self.n * self.K] = alpha.ravel()
        return start

    def start_multipliers(self, b):
        """Multipliers ``y`` of scaled coefficients ``b``: ``-b`` on the kept rows, and
        per sample the smallest reduced cost of its classes (dual feasible, tight)."""
        scores = self.raw(b) - self.indicator  # z_ik - m [k = y_i], m = 1
        return np.concatenate([-b[self.rows], -self.weight * scores.max(axis=1)])

    def raw(self, b):
        """Scaled raw predictions ``z`` (n, K) of scaled coefficients ``b``."""
        return self.design.dot_columns(b.reshape(self.K, self.q).T)

    def to_scaled(self, coefficients):
        """Coefficients ``(K, q)`` in the user's units -> scaled ``b`` with the
        last class's unpenalised coefficients at 0 (a shift the loss ignores)."""
        scaled = np.asarray(coefficients, dtype=float).copy()
        scaled[:, : self.design.n_features] *= self.design.column_scale
        scaled /= self.unit
        return self._reference_at_zero(scaled.ravel())

    def _reference_at_zero(self, b):
        """``b`` shifted, per unpenalised column, so that the last class's entry is 0.

        The loss sees only differences between classes and no penalty
        touches these columns, so the objective does not change.
        """
        columns = self.dropped - (self.K - 1) * self.q
        b[columns[None, :] + self.q * np.arange(self.K)[:, None]] -= b[self.dropped]
        return b

    def from_scaled(self, b):
        """Scaled ``b`` -> coefficients ``(K, q)`` in the user's units, the
        unpenalised ones centred over the classes."""
        coefficients = b.reshape(self.K, self.q) * self.unit
        coefficients[:, : self.design.n_features] *= self.design.inv_scale
        free = np.unique(self.free_index % self.q)
        coefficients[:, free] -= coefficients[:, free].mean(axis=0)
        return coefficients

    # -- primal and dual values ----------------------------------------------

    def primal_value(self, b):
        """Scaled objective at scaled coefficients ``b``."""
        z = self.raw(b)
        rows = np.arange(self.n)
        own = z[rows, self.labels]
        # max_k (1 [k != y] + z_k) - z_y, the own class's piece being z_y.
        z += 1.0
        z[rows, self.labels] -= 1.0
        return float(self.weight @ (z.max(axis=1) - own)) + self._penalty_value(b)

    def dual_value(self, iterate, b):
        """Dual objective of a feasible dual point made from ``iterate``: the better of two.

        From the iterate's ``alpha``, and from the vertex of ``b`` (each
        sample's ``alpha`` on its largest margin's class, the iterate's where
        two classes tie), which certifies a near-optimal ``b`` while the
        iterate is still centred. Each is put in its box and on its simplex,
        moved onto the unpenalised coefficients' equalities by the
        least-change step in the metric of the last Newton system, put back
        on its simplex, and drawn towards the vertex of the own class (which
        keeps the simplex) until the L1 constraints hold. What is left of the
        equalities counts as in the other exact programs
        (``_ScaledPenalty._feasibility_correction``): a point too far off
        them gives no bound.
        """
        alpha = self.operator.alpha(iterate.x_box)
        value = self._feasible_dual_value(alpha, iterate, b)
        if iterate.normal is not None:
            scores = self.raw(b) + 1.0 - self.indicator
            top = scores.max(axis=1)
            near_top = top - _TIE * np.maximum(np.abs(top), 1.0)
            tied = np.sum(scores >= near_top[:, None], axis=1) > 1
            vertex = (scores == top[:, None]).astype(float)
            vertex /= vertex.sum(axis=1, keepdims=True)
            vertex[tied] = alpha[tied]
            value = max(value, self._feasible_dual_value(vertex, iterate, b))
        return value

    def _feasible_dual_value(self, alpha, iterate, b):
        """The dual value of ``alpha`` (rows in their simplex) made feasible, a lower bound."""
        op = self.operator
        alpha = _onto_simplex(alpha)
        free = np.searchsorted(self.rows, np.setdiff1d(self.free_index, self.dropped))
        if free.size and iterate.normal is not None:
            residual = op.class_images(self.weight[:, None] * (alpha - self.indicator))[self.rows]
            block = iterate.normal[np.ix_(free, free)]
            lam = _solve_positive(block, residual[free])
            if lam is None:
                lam = np.linalg.lstsq(block, residual[free], rcond=None)[0]
            step = np.zeros(self.rows.size)
            step[free] = lam
            alpha = _onto_simplex(alpha + op.least_change(iterate.d_box, step))
        G = op.class_images(self.weight[:, None] * (alpha - self.indicator))
        excess = self._l1_excess(G)
        if excess > 1:
            # Towards the own class's vertex, which keeps every simplex.
            alpha = self.indicator + (alpha - self.indicator) / excess
            G = G / excess
        own = alpha[np.arange(self.n), self.labels]
        value = float(self.weight @ (1.0 - own)) - self._l2_conjugate(G)
        free = self.free_index
        correction = self._feasibility_correction(b[free], G[free], value)
        return -np.inf if correction is None else value - correction

    def sparse_candidate(self, iterate, b):
        """``b`` with the coefficients that the optimum has at zero set to zero.

        As for one output: their dual ``v_1`` sits strictly inside its box.
        """
        if not self.l1_index.size:
            return None
        return self._zero_where_inside(iterate.x_box[self.n * self.K:], b)

    def least_squares_guess(self):
        """A ridge fit of the centred class indicators ``[k = y] - 1 / K`` (scaled).

        One Gram matrix and ``K`` right-hand sides, less than one
        interior-point iteration. None when the system cannot be solved.
        """
        design = self.design
        gram = design.gram(self.weight)
        diagonal = np.einsum("ii->i", gram)  # a writable view
        diagonal += self.l2[: self.q] + 1e-10 * max(float(diagonal.max(initial=0.0)), 1e-300)
        targets = self.indicator - 1.0 / self.K
        rhs = design.tdot_columns(self.weight[:, None] * targets)
        solution = _solve_positive(gram, rhs)
        if solution is None:
            return None
        return self._reference_at_zero(solution.T.ravel())

    # -- the solve -----------------------------------------------------------

    def solve(self, coefficients, tol, max_iter):
        """Run the interior-point method from ``coefficients`` (K, q) to gap ``tol``."""
        tol = max(float(tol), 4 * np.finfo(float).eps)
        record = _ClassCertificate(self, self.to_scaled(coefficients), tol, self.verbose)
        record.offer_primal(self.least_squares_guess())
        problem = self.box_qp()
        last, _ = interior_point(problem, self.start_multipliers(record.best_beta),
                                 max_iter=max_iter, monitor=record,
                                 x_box0=self.box_start(problem))
        record.prefer_sparse(self.sparse_candidate(last, record.best_beta))
        return _OutputFit.from_record(record, self.from_scaled(record.best_beta),
                                      self.unit / self.n, tol, max_iter)


class _ClassCertificate(_Certificate):
    """The certificate of :mod:`sklosses.solvers._exact` on the classes' coefficients.

    The multipliers hold the kept coefficient rows (negated) and then one
    per sample; the coefficients are the former, with the last class's
    unpenalised ones at 0.
    """

    def coefficients(self, iterate):
        problem = self.problem
        b = np.zeros(problem.K * problem.q)
        b[problem.rows] = -iterate.y[: problem.rows.size]
        return b


def _onto_simplex(alpha):
    """``alpha`` clipped to ``[0, 1]`` and each row scaled to sum to 1.

    Interior-point iterates are strictly inside their boxes and nearly on
    the simplex, so a row's sum is near 1 and never 0.
    """
    alpha = np.clip(alpha, 0.0, 1.0)
    total = alpha.sum(axis=1, keepdims=True)
    # A row clipped to all zeros (only after a large projection step) takes
    # the uniform point.
    empty = total[:, 0] <= 0
    if np.any(empty):
        alpha[empty] = 1.0 / alpha.shape[1]
        total[empty] = 1.0
    return alpha / total


class _ClassConstraints(ConstraintOperator):
    """The dual constraints of the Crammer-Singer program as an operator.

    Box variables: the ``n x K`` simplex weights ``alpha`` (row-major), then
    ``v_1`` (one per L1-penalised coefficient); free variables: ``v_2``
    (one per L2-penalised coefficient). Rows: the kept coefficients
    ``-G_r(alpha) + v_{1,r} + v_{2,r} = -G_r(0)`` (class-major), then one
    simplex row ``sum_k alpha_ik = 1`` per sample.
    """

    def __init__(self, design, weight, n_classes, rows, l1_rows, l2_rows):
        self.design = design
        self.weight = weight
        self.weight_squared = weight * weight
        self.K = n_classes
        self.q = design.n_columns
        self.n = weight.shape[0]
        self.n_alpha = self.n * n_classes
        self.rows = rows
        self.n_rows = rows.size
        self.l1_rows, self.l2_rows = l1_rows, l2_rows
        self.ones = np.ones(n_classes)

    def alpha(self, x_box):
        """The ``n x K`` block of simplex weights (a view)."""
        return x_box[: self.n_alpha].reshape(self.n, self.K)

    def class_images(self, U):
        """``S^-1 [X, 1]^T U`` of an ``(n, K)`` matrix, class-major: ``(K q,)``."""
        return self.design.tdot_columns(U).T.ravel()

    def rows_times(self, y_rows):
        """``[X, 1] S^-1 Y`` (n, K) of the kept rows' values ``y_rows`` (others 0)."""
        full = np.zeros(self.K * self.q)
        full[self.rows] = y_rows
        return self.design.dot_columns(full.reshape(self.K, self.q).T)

    def least_change(self, d_box, y_rows):
        """``D B^T [y_rows, y_samples]`` on ``alpha`` with the samples' part that keeps
        every simplex sum: the least-change step for a step ``y_rows`` of the rows."""
        D = self.alpha(d_box)
        step = -self.weight[:, None] * self.rows_times(y_rows) * D
        return step - D * (step.sum(axis=1) / D.sum(axis=1))[:, None]

    def apply(self, x_box, x_free):
        alpha = self.alpha(x_box)
        out = -self.class_images(self.weight[:, None] * alpha)[self.rows]
        if self.l1_rows.size:
            out[self.l1_rows] += x_box[self.n_alpha:]
        if self.l2_rows.size:
            out[self.l2_rows] += x_free
        return np.concatenate([out, alpha @ self.ones])

    def apply_transpose(self, y):
        y_rows, y_samples = y[: self.n_rows], y[self.n_rows:]
        box = (-self.weight[:, None] * self.rows_times(y_rows) + y_samples[:, None]).ravel()
        if self.l1_rows.size:
            box = np.concatenate([box, y_rows[self.l1_rows]])
        return box, y_rows[self.l2_rows]

    def normal_system(self, d_box, d_free):
        D = self.alpha(d_box)
        e = D @ self.ones
        # The penalties' free and box variables add to the diagonal only.
        penalty = np.zeros(self.n_rows)
        penalty[self.l1_rows] += d_box[self.n_alpha:]
        penalty[self.l2_rows] += d_free
        schur = self._schur(D, e)
        np.einsum("ii->i", schur)[:] += penalty
        factor = _factorise(schur)
        if factor is None:
            return None
        return _EliminatedSystem(self, schur, factor, D, e, penalty)

    def _schur(self, D, e):
        """The Schur complement on the kept coefficient rows (no penalty terms)."""
        K, q, n = self.K, self.q, self.n
        design = self.design
        full = np.empty((K * q, K * q))
        # Off-diagonal blocks: -sum_i w_i^2 D_ik D_il / e_i x_i x_i^T, one
        # product of the n x (K q) matrix of rows scaled by w D_k / sqrt(e)
        # (its diagonal blocks are then replaced).
        scale = (self.weight / np.sqrt(e))[:, None] * D
        full[:] = 0.0
        # By blocks of rows, dense also for sparse X: the product is dense
        # anyway, and a sparse one of K stacked copies cost more.
        step = max(1, _BLOCK_ENTRIES // (K * q))
        for start in range(0, n, step):
            block = slice(start, start + step)
            rows = self._scaled_rows(block)
            V = (rows[:, None, :] * scale[block, :, None]).reshape(-1, K * q)
            full -= V.T @ V
        # Diagonal blocks: sum_i w_i^2 D_ik (e_i - D_ik) / e_i x_i x_i^T, with
        # e - D_k summed from the other classes where D_k dominates.
        others = e[:, None] - D
        top = D.argmax(axis=1)
        rest = D.copy()
        rest[np.arange(n), top] = 0.0
        others[np.arange(n), top] = rest @ self.ones
        for k in range(K):
            block = slice(k * q, (k + 1) * q)
            full[block, block] = design.gram(self.weight_squared * D[:, k] * others[:, k] / e)
        return full[np.ix_(self.rows, self.rows)]

    def _scaled_rows(self, block):
        """Rows ``block`` of ``[X, 1] S^-1`` as a dense array."""
        design = self.design
        rows = design.X[block]
        rows = (rows.toarray() if sp.issparse(rows) else rows) * design.inv_scale
        if design.fit_intercept:
            rows = np.hstack([rows, np.ones((rows.shape[0], 1))])
        return rows


class _EliminatedSystem:
    """The normal system with the simplex rows eliminated (see the module's notes).

    ``matrix`` is the Schur complement on the kept coefficient rows (with
    the penalties' terms); ``solve`` and ``times`` act on the whole system.
    """

    def __init__(self, op, matrix, factor, D, e, penalty):
        self.op = op
        self.matrix = matrix
        self.factor = factor
        self.D = D
        self.e = e
        self.penalty = penalty  # the penalties' part of the diagonal

    def _cross(self, u):
        """``C u``: the coefficient rows of the samples' columns, ``-G(w D u)``."""
        op = self.op
        return -op.class_images((op.weight * u)[:, None] * self.D)[op.rows]

    def _cross_transpose(self, v):
        """``C^T v``: per sample, ``-w_i sum_k D_ik z_ik(v)``."""
        op = self.op
        return -op.weight * ((op.rows_times(v) * self.D) @ op.ones)

    def solve(self, rhs):
        """``N^-1 rhs`` by block elimination of the simplex rows."""
        n_rows = self.op.n_rows
        top, bottom = rhs[:n_rows], rhs[n_rows:]
        dy_rows = dpotrs(self.factor, top - self._cross(bottom / self.e), lower=0)[0]
        dy_samples = (bottom - self._cross_transpose(dy_rows)) / self.e
        return np.concatenate([dy_rows, dy_samples])

    def times(self, v):
        """``N v``, from the blocks, in one pass of each direction over the data."""
        op = self.op
        v_rows, v_samples = v[: op.n_rows], v[op.n_rows:]
        z = op.rows_times(v_rows)
        wz = op.weight[:, None] * z
        top = op.class_images(op.weight[:, None] * self.D * (wz - v_samples[:, None]))[op.rows]
        top += self.penalty * v_rows
        bottom = -((self.D * wz) @ op.ones) + self.e * v_samples
        return np.concatenate([top, bottom])

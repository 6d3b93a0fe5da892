"""Exact joint fit of several quantile levels that share one slope (location shift).

The non-crossing linear model of ``K`` quantile levels predicts
``x^T w + b_k`` for level ``k`` (:class:`~sklosses.models.LocationShiftModel`),
and its objective

.. math::
    \\min_{w, b}\\; \\sum_k \\sum_i \\omega_i \\rho_{q_k}(y_i - x_i^\\top w - b_k)
    + \\lambda_1 \\|w\\|_1 + \\tfrac{\\lambda_2}{2} \\|w\\|^2,
    \\qquad b_1 \\le \\dots \\le b_K,

is one linear (or convex quadratic) program. The ordering constraints need
no treatment: for a fixed ``w`` the best ``b_k`` is a weighted
``q_k``-quantile of the residuals ``y - X w``, and the lower weighted
quantiles are non-decreasing in ``q_k``. So the program is solved without
them and the offsets are then set to those quantiles, which keeps the
objective optimal and makes ties explicit (equal offsets, never crossed
ones). Without an intercept the lowest offset is 0 and the others are
bounded below by it, ``b_k >= 0``, which is one inequality per level.

Dual (as in :mod:`sklosses.solvers._exact`, with
:math:`\\theta_{ik} = q_k - 1 + z_{ik}`, :math:`z_{ik} \\in [0, 1]`)

.. math::
    \\max_\\theta \\sum_{ik} \\omega_i \\theta_{ik} y_i
    - h^*\\Big(\\sum_k X^\\top (\\omega \\circ \\theta_k)\\Big)
    \\quad\\text{s.t.}\\quad \\sum_i \\omega_i \\theta_{ik} = 0
    \\;(\\le 0 \\text{ for } k \\ge 2 \\text{ without intercept}).

Its equality constraints are one per coefficient of ``w`` and one per
offset, so an interior-point Newton step needs the normal matrix

.. math::
    \\begin{pmatrix} X^\\top \\operatorname{diag}(\\omega^2 \\sum_k D_k) X
    & X^\\top (\\omega^2 D) \\\\ \\cdot & \\operatorname{diag}(1^\\top \\omega^2 D)
    \\end{pmatrix} :

one weighted Gram matrix (``n p^2``, the cost of one level) plus ``n p K``
for the cross terms. A joint fit of ``K`` levels thus costs about one
single-level fit, where ``K`` separate fits cost ``K``. Its ``n K`` box
variables still make each iteration's elementwise work ``K`` times one
level's; on large dense data the program is therefore solved through
reduced programs of the (row, level) pairs near each level's line
(:mod:`sklosses.solvers._joint_globbing`), certified on this one.
"""

import numpy as np

from ..models._monotone import LocationShiftModel
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
from ._ipm import BoxQP, ConstraintOperator, interior_point


def is_location_shift(model):
    """Whether ``model`` is the shared-slope model this module fits jointly."""
    return isinstance(model, LocationShiftModel)


def fit_location_shift(objective, x0, *, tol, max_iter, verbose=0):
    """Minimise a location-shift quantile objective by the interior-point method.

    Parameters
    ----------
    objective : Objective
        Its model is a :class:`LocationShiftModel` and its loss declares
        ``piecewise_linear_levels(y)`` (one pinball form per level).
    x0 : ndarray of shape (n_params,)
        Starting parameters of the model; they set the starting multipliers
        unless a ridge fit with its best offsets has a smaller objective.
    tol : float
        Relative duality gap to reach (of the whole objective).
    max_iter : int
        Interior-point iteration limit.
    verbose : int, default=0
        Print the certified gap at each iteration when positive.

    Returns
    -------
    result : SolverResult
        ``x`` in the model's parameters; ``gap`` the certified relative
        duality gap.
    """
    from . import _joint_globbing  # noqa: PLC0415 (it builds on this module)

    model = objective.model
    forms = objective.loss.piecewise_linear_levels(objective.y)
    levels = np.array([form.slopes[1] for form in forms], dtype=float)
    weight = objective._normalised_weight
    keep = weight > 0
    X = _rows_float64(objective.X, keep)
    y = np.asarray(forms[0].offset, dtype=float).reshape(-1)[keep]
    w = weight[keep].astype(float)
    problem = _JointProblem(X, y, w, levels, objective.penalty,
                            fit_intercept=model.fit_intercept, verbose=verbose)
    x0 = np.asarray(x0, dtype=float)
    p = model.n_features
    slope0, offsets0 = x0[:p], model.offsets(x0)
    fit = globbed = None
    if _joint_globbing.applies(X, model.fit_intercept):
        # Large dense data: reduced programs of the pairs near each level's
        # line, certified on the full program (or the full program after all).
        globbed = _joint_globbing.JointGlobbedFit(
            X, y, w, levels, objective.penalty, fit_intercept=model.fit_intercept,
            verbose=verbose)
        fit = globbed.solve(problem, slope0, offsets0, tol, max_iter)
    if fit is None:
        fit = problem.solve(slope0, offsets0, tol, max_iter)
        if globbed is not None:
            fit.n_iter += globbed.n_iter
    x = model.params_for(fit.beta[:p], fit.beta[p:])
    value = objective.value(x)
    gap, rounding = returned_verdict([fit], objective, value, x, tol)
    converged = fit.converged and rounding is None
    message = rounding or ("" if converged else (
        f"stopped after {fit.n_iter} interior-point iterations at a relative duality "
        f"gap of {gap:.2g} (tol={tol:g}); {fit.message}"))
    return SolverResult(x=x, n_iter=fit.n_iter, loss_curve=_combined_curve([fit.curve], value),
                        converged=converged, message=message, gap=gap)


def ordered_offsets(residual, weight, levels, *, fit_intercept):
    """Offsets that minimise each level's weighted pinball loss, non-decreasing.

    The weighted lower ``q``-quantile of ``residual`` (the smallest value
    whose cumulative weight reaches ``q`` times the total) minimises
    ``sum_i weight_i rho_q(residual_i - b)``, and it is non-decreasing in
    ``q``, also in floating point (the thresholds ``q * total`` are). Without
    an intercept the lowest offset is 0 and the others are at least 0: a
    level whose quantile is negative takes 0, the constrained minimiser.

    Parameters
    ----------
    residual : ndarray of shape (n_samples,)
    weight : ndarray of shape (n_samples,)
        Positive weights.
    levels : ndarray of shape (K,)
        Increasing levels in (0, 1).
    fit_intercept : bool

    Returns
    -------
    offsets : ndarray of shape (K,)
    """
    order = np.argsort(residual, kind="stable")
    cumulative = np.cumsum(weight[order])
    index = np.searchsorted(cumulative, levels * cumulative[-1], side="left")
    offsets = residual[order[np.minimum(index, residual.shape[0] - 1)]]
    if not fit_intercept:
        offsets = np.maximum(offsets, 0.0)
        offsets[0] = 0.0
    return offsets


class _JointProblem(_ScaledPenalty):
    """The scaled dual QP of the location-shift levels and its certificate.

    Scaled as the single-level problem: columns of ``X`` to unit weighted
    RMS, ``y`` by its weighted mean size, weights (``1 / K`` each level's
    share of the mean over levels) to mean ``1 / K``. Scaled coefficients
    ``b = [w, offsets]``; without intercept ``offsets`` holds levels 2..K
    (level 1's offset is 0).

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Float64 rows of positive weight.
    y : ndarray of shape (n_samples,)
    weight : ndarray of shape (n_samples,)
        Positive weights summing to one.
    levels : ndarray of shape (K,)
    penalty : ElasticNet
        ``l1_strength`` and ``l2_strength`` on ``w``.
    fit_intercept : bool
    """

    def __init__(self, X, y, weight, levels, penalty, *, fit_intercept, verbose=0):
        self.levels = levels
        self.fit_intercept = fit_intercept
        self.verbose = verbose
        self.user_X, self.user_y, self.user_weight = X, y, weight
        n, K = weight.shape[0], levels.shape[0]
        self.n, self.K = n, K
        self.design = _ScaledDesign(X, weight, fit_intercept=False)
        p = self.design.n_features
        self.p = p
        size = float(weight @ np.abs(y)) / max(weight.sum(), 1e-300)
        self.unit = size if size > 0 and np.isfinite(size) else 1.0
        self.g = y / self.unit
        # The mean over levels weighs each level by 1 / K; the scaled
        # objective is n / unit times J.
        self.weight = weight * (n / K)
        # Levels with an offset row: all, or 2..K (level 1's offset is 0).
        self.offset_levels = np.arange(K) if fit_intercept else np.arange(1, K)
        self.n_columns = p + self.offset_levels.size
        # Rows whose dual constraint is an equality are the unpenalised
        # coefficients' (the offsets' is <= 0 without an intercept).
        self._set_penalty(penalty, self.design, self.n_columns)
        self.operator = _JointConstraints(self.design, self.weight, K, self.offset_levels,
                                          self.l1_index, self.l2_index)
        # The box [q_k - 1, q_k] of each entry's theta (broadcast over the rows).
        self.theta_low, self.theta_high = levels - 1.0, levels

    # -- the QP --------------------------------------------------------------

    def box_qp(self):
        n, K = self.n, self.K
        total = float(self.weight.sum())
        cost_z = np.repeat(-self.weight * self.g, K)
        l1 = self.l1[self.l1_index]
        n_slack = 0 if self.fit_intercept else K - 1
        # The slack of "sum_i w_i theta_ik <= 0" is at most (1 - q_k) * total;
        # a looser finite bound keeps the method's boxes finite and inactive.
        rhs = np.empty(self.n_columns)
        rhs[: self.p] = (K - self.levels.sum()) * self.design.tdot(self.weight)
        rhs[self.p:] = (1.0 - self.levels[self.offset_levels]) * total
        return BoxQP(
            cost=np.concatenate([cost_z, np.zeros(l1.size + n_slack)]),
            lower=np.concatenate([np.zeros(n * K), -l1, np.zeros(n_slack)]),
            upper=np.concatenate([np.ones(n * K), l1, np.full(n_slack, 2.0 * total)]),
            curvature=1.0 / self.l2[self.l2_index],
            rhs=rhs,
            operator=self.operator,
        )

    def all_offsets(self, b):
        """The ``K`` scaled offsets of scaled coefficients ``b``."""
        if self.fit_intercept:
            return b[self.p:]
        return np.concatenate([[0.0], b[self.p:]])

    def feasible(self, b):
        """``b`` with its offsets clipped to the lower bound 0 without intercept."""
        if b is None or self.fit_intercept:
            return b
        out = b.copy()
        np.maximum(out[self.p:], 0.0, out=out[self.p:])
        return out

    def with_ordered_offsets(self, b):
        """``b`` with its offsets replaced by the best ones for its slope."""
        if b is None:
            return None
        offsets = ordered_offsets(self.g - self.design.dot(b[: self.p]), self.weight,
                                  self.levels, fit_intercept=self.fit_intercept)
        out = b.copy()
        out[self.p:] = offsets[self.offset_levels]
        return out

    # -- primal and dual values ----------------------------------------------

    def residuals(self, b):
        """Each entry's scaled residual ``g_i - x_i^T w - b_k`` at scaled coefficients ``b``."""
        return self.operator.spread(self.g - self.design.dot(b[: self.p]), -self.all_offsets(b))

    def primal_value(self, b):
        """Scaled objective at scaled coefficients ``b`` (offsets as given)."""
        t = self.residuals(b)
        # rho_q(t) = q t - min(t, 0), per element (no cancellation across samples).
        pinball = t * self.theta_high
        pinball -= np.minimum(t, 0.0, out=t)
        value = self.operator.entry_sum(self.weight, pinball)
        return value + self._penalty_value(b)

    def dual_value(self, iterate, b):
        """``(D, theta)``: a feasible dual point made from ``iterate``, the better of two.

        As the single-level problem's, from the iterate's ``theta``; and from
        the signs of the residuals at ``b`` (``theta_ik = q_k`` above the
        level, ``q_k - 1`` below, the iterate's where they are 0), the dual
        point of an exact vertex, which certifies a near-optimal ``b`` while
        the iterate's ``theta`` is still centred. Each is put in its box,
        moved onto the equality constraints (and the offsets' inequalities,
        with their slacks) by the least-change step in the metric of the
        last Newton system, put back in its box, shrunk towards 0 until the
        L1 constraints hold; what is left of the equalities is subtracted
        as ``|b_j| |v_j|``, or the point gives no bound when that is not
        negligible (``_ScaledPenalty._feasibility_correction``).
        """
        op = self.operator
        low, high = self.theta_low, self.theta_high
        theta = np.clip(low + op.z_block(iterate.x_box), low, high)
        slack = np.clip(op.slack(iterate.x_box), 0.0, None)
        best = self._feasible_dual_value(theta, slack, iterate, b)
        if iterate.normal is not None:
            residual = self.residuals(b)
            signs = np.where(residual > 0, high, np.where(residual < 0, low, theta))
            other = self._feasible_dual_value(signs, slack, iterate, b)
            if other[0] > best[0]:
                best = other
        return best

    def _feasible_dual_value(self, theta, slack, iterate, b):
        """``(D, theta')``: ``theta`` (in its box) made feasible and its dual value."""
        op = self.operator
        low, high = self.theta_low, self.theta_high
        v, m = op.images(theta)
        free = self.free_index
        if free.size and iterate.normal is not None:
            residual = np.concatenate([v, m[self.offset_levels]])
            if not self.fit_intercept:
                residual[self.p:] += slack
            block = iterate.normal[np.ix_(free, free)]
            lam = _solve_positive(block, -residual[free])
            if lam is None:
                lam = np.linalg.lstsq(block, -residual[free], rcond=None)[0]
            full = np.zeros(self.n_columns)
            full[free] = lam
            theta = np.clip(theta + op.z_block(iterate.d_box) * op.rows_times(full), low, high)
            v, m = op.images(theta)
        return self.dual_value_of(theta, b, (v, m))

    def dual_value_of(self, theta, b, images=None):
        """``(D, theta')``: the dual value of ``theta`` (in its box), a lower bound.

        ``theta'`` is ``theta`` shrunk towards 0 until the L1 constraints
        hold; what is left of the equalities of the unpenalised coefficients
        (and of the offsets' inequalities without intercept) is subtracted
        as ``|b_j| |v_j|``, or the point gives no bound (``-inf``) when that
        is not negligible. ``images`` are ``operator.images(theta)`` when
        already known.
        """
        v, m = self.operator.images(theta) if images is None else images
        free = self.free_index
        excess = self._l1_excess(v)
        if excess > 1:
            theta, v, m = theta / excess, v / excess, m / excess
        value = self.operator.entry_sum(self.weight * self.g, theta)
        value -= self._l2_conjugate(v)
        free_w = free[free < self.p]
        m_rows = m[self.offset_levels]
        if not self.fit_intercept:
            m_rows = np.maximum(m_rows, 0.0)
        correction = self._feasibility_correction(
            np.concatenate([b[free_w], b[self.p:]]), np.concatenate([v[free_w], m_rows]), value)
        return (-np.inf if correction is None else value - correction), theta

    def sparse_candidate(self, iterate, b):
        """``b`` with the L1-penalised weights the optimum has at zero set to zero.

        As for one level: their dual ``v_1`` sits strictly inside its box.
        The offsets are then the best ones for the new slope.
        """
        if not self.l1_index.size:
            return None
        candidate = self._zero_where_inside(self.operator.l1_part(iterate.x_box), b)
        return self.with_ordered_offsets(candidate)

    def least_squares_guess(self):
        """A ridge fit of ``y`` on ``X`` (with its best offsets): a warm start.

        One Gram matrix and one small solve, less than one interior-point
        iteration. None when the system cannot be solved.
        """
        p, design, omega = self.p, self.design, self.weight
        size = p + int(self.fit_intercept)
        gram = np.empty((size, size))
        gram[:p, :p] = design.gram(omega)
        rhs = np.empty(size)
        rhs[:p] = design.tdot(omega * self.g)
        if self.fit_intercept:
            gram[:p, p] = gram[p, :p] = design.tdot(omega)
            gram[p, p] = omega.sum()
            rhs[p] = omega @ self.g
        diagonal = np.einsum("ii->i", gram)  # a writable view
        diagonal[:p] += self.l2[:p]
        diagonal += 1e-10 * max(float(diagonal.max(initial=0.0)), 1e-300)
        solution = _solve_positive(gram, rhs)
        if solution is None:
            return None
        b = np.zeros(self.n_columns)
        b[:p] = solution[:p]
        return self.with_ordered_offsets(b)

    # -- the solve -----------------------------------------------------------

    def to_scaled(self, slope, offsets):
        """Coefficients in the user's units -> the scaled problem's ``b``."""
        b = np.empty(self.n_columns)
        b[: self.p] = slope * self.design.column_scale / self.unit
        b[self.p:] = offsets[self.offset_levels] / self.unit
        return b

    def solve(self, slope, offsets, tol, max_iter):
        """Run the interior-point method from ``slope``, ``offsets`` to gap ``tol``."""
        tol = max(float(tol), 4 * np.finfo(float).eps)
        record = _JointCertificate(self, self.to_scaled(slope, offsets), tol, self.verbose)
        record.offer_primal(self.least_squares_guess())
        last, _ = interior_point(self.box_qp(), -record.best_beta, max_iter=max_iter,
                                 monitor=record)
        record.prefer_sparse(self.sparse_candidate(last, record.best_beta))
        slope = record.best_beta[: self.p] * self.unit * self.design.inv_scale
        # The offsets in the user's units, best for the user's slope (the
        # scaled ones, rescaled, agree with them to rounding).
        residual = self.user_y - np.asarray(self.user_X @ slope).ravel()
        offsets = ordered_offsets(residual, self.user_weight, self.levels,
                                  fit_intercept=self.fit_intercept)
        return _OutputFit.from_record(record, np.concatenate([slope, offsets]),
                                      self.unit / self.n, tol, max_iter)


class _JointCertificate(_Certificate):
    """The single level's certificate, on primal points made feasible.

    The interior-point multipliers' offsets need not be ordered: the program
    without the ordering has the same optimum (see the module's notes), so
    their objective bounds the optimum from above all the same, and the
    final offsets are the ordered best ones for the final slope, which are
    no worse. Without an intercept the offsets must be at least 0 (they
    are clipped there): an offset below 0 could undercut the optimum.
    """

    def offer_primal(self, b):
        return super().offer_primal(self.problem.feasible(b))


class _JointConstraints(ConstraintOperator):
    """The dual constraints of the joint problem as an operator.

    Box variables: the ``n x K`` fractions ``z`` (row-major), then ``v_1``
    (one per L1-penalised weight), then, without intercept, one slack per
    offset row; free variables: ``v_2`` (one per L2-penalised weight). Rows:
    the ``p`` weights, then the offsets (levels ``offset_levels``).
    """

    def __init__(self, design, weight, n_levels, offset_levels, l1_index, l2_index):
        self.design = design
        self.weight = weight
        self.weight_squared = weight * weight
        self.n_samples = weight.shape[0]
        self.K = n_levels
        self.offset_levels = offset_levels
        self.all_levels = offset_levels.size == n_levels
        self.p = design.n_features
        self.n_z = self.n_samples * n_levels
        self.l1_index, self.l2_index = l1_index, l2_index
        self.n_l1 = l1_index.size
        self.has_slack = not self.all_levels
        self.ones = np.ones(n_levels)
        self.ones_samples = np.ones(self.n_samples)

    # -- views of the box variables --------------------------------------------

    def z_block(self, x_box):
        """The ``n x K`` block of ``z`` (a view)."""
        return x_box[: self.n_z].reshape(self.n_samples, self.K)

    def l1_part(self, x_box):
        return x_box[self.n_z:self.n_z + self.n_l1]

    def slack(self, x_box):
        return x_box[self.n_z + self.n_l1:]

    # -- products ----------------------------------------------------------------

    def images(self, theta):
        """``(sum_k X^T (w theta_k), w^T theta)``: the weights' and offsets' rows."""
        # Matrix-vector products: NumPy's sum along a short axis is slower.
        return (self.design.tdot(self.weight * (theta @ self.ones)),
                self.weight @ theta)

    def spread(self, rows, per_level):
        """The ``n x K`` entries ``rows_i + per_level_k``."""
        return np.add.outer(rows, per_level)

    def entry_sum(self, row_weight, entries):
        """``sum_ik row_weight_i entries_ik``."""
        return float(row_weight @ (entries @ self.ones))

    def rows_times(self, y):
        """``w_i (x_i^T y_w + y_{b_k})``, the ``n x K`` block of ``B^T y``."""
        offsets = np.zeros(self.K)
        offsets[self.offset_levels] = y[self.p:]
        out = np.add.outer(self.design.dot(y[: self.p]), offsets)
        out *= self.weight[:, None]
        return out

    def apply(self, x_box, x_free):
        z = self.z_block(x_box)
        v, m = self.images(z)
        out = np.concatenate([v, m[self.offset_levels]])
        if self.n_l1:
            out[self.l1_index] -= self.l1_part(x_box)
        if self.l2_index.size:
            out[self.l2_index] -= x_free
        if self.has_slack:
            out[self.p:] += self.slack(x_box)
        return out

    def apply_transpose(self, y):
        parts = [self.rows_times(y).ravel()]
        if self.n_l1:
            parts.append(-y[self.l1_index])
        if self.has_slack:
            parts.append(y[self.p:])
        return np.concatenate(parts), -y[self.l2_index]

    def normal_matrix(self, d_box, d_free):
        q = self.weight_squared[:, None] * self.z_block(d_box)
        p = self.p
        size = p + self.offset_levels.size
        out = np.empty((size, size))
        # One weighted Gram matrix for the shared slope, whatever K.
        out[:p, :p] = self.design.gram(q @ self.ones)
        q_rows = q if self.all_levels else q[:, self.offset_levels]
        cross = np.asarray(self.design.X.T @ q_rows) * self.design.inv_scale[:, None]
        out[:p, p:] = cross
        out[p:, :p] = cross.T
        out[p:, p:] = np.diag(self.ones_samples @ q_rows)
        return self._with_penalty_and_slack(out, d_box, d_free)

    def _with_penalty_and_slack(self, out, d_box, d_free):
        """``out`` (the data part of the normal matrix) plus its diagonal terms.

        The L1 part's and the free L2 coefficients' curvature on the slope's
        diagonal, and the offsets' slack (no intercept) on theirs; shared by
        the pair layout of :mod:`sklosses.solvers._joint_globbing`.
        """
        diagonal = np.einsum("ii->i", out)  # a writable view
        if self.n_l1:
            diagonal[self.l1_index] += self.l1_part(d_box)
        if self.l2_index.size:
            diagonal[self.l2_index] += d_free
        if self.has_slack:
            diagonal[self.p:] += self.slack(d_box)
        return out

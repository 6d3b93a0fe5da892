"""Portnoy-Koenker preprocessing of the joint location-shift quantile program.

The joint program of ``K`` levels sharing one slope
(:mod:`sklosses.solvers._joint_quantile`) has ``n K`` (row, level) pairs.
At its optimum most pairs lie clearly above or below their level's line
``x^T w + b_k``, and only their side matters (the pinball loss is linear on
each side). As for one level (:mod:`sklosses.solvers._globbing`), a pilot
fit predicts the sides: for each level, the pairs whose residual to the
pilot's level-``k`` line is in a band around it are kept, and the others are
merged into two globs per level (below, above), each the weighted mean row
of its members with their total weight and a target far beyond their side.
The reduced program is the same joint program (one slope, one offset per
level) on a list of pairs instead of the full ``n x K`` grid.

The pilot is one loose single-level fit at the middle level
(:meth:`GlobbedFit.rough_fit`): the slope is shared, so its residuals with
each level's weighted ``q_k``-quantile as offset place every level's band.

The reduced dual point gives every globbed member its glob's ``theta``;
the members' images in the dual constraints sum to the glob's, so this is a
feasible dual point of the *full* joint program, and the full objective at
the returned coefficients against its dual value is a certified duality
gap of the full program. When it is above ``tol``, some members were on the
wrong side: a few are put back among the kept pairs, many widen the band.
When the loop does not certify the fit, the caller solves the full program.

References
----------
.. [1] S. Portnoy and R. Koenker, "The Gaussian hare and the Laplacian
   tortoise: computability of squared-error versus absolute-error
   estimators", Statistical Science 12(4), 279-300 (1997).
"""

import numpy as np
import scipy.sparse as sp

from ..losses._piecewise import PiecewiseLinear
from ._exact import _ZERO_OBJECTIVE, _OutputFit, _OutputProblem, _ScaledDesign
from ._globbing import GlobbedFit
from ._ipm import BoxQP, interior_point
from ._joint_quantile import (
    _JointCertificate,
    _JointConstraints,
    _JointProblem,
    ordered_offsets,
)

# Each level's band starts with a share BAND_FACTOR * sqrt(n_columns / n)
# of the rows around its pilot line (the pilot's error moves the residuals
# by about sqrt(n_columns / n) of their spread), and doubles when many
# members were globbed on the wrong side, up to _MAX_BAND_SHARE.
BAND_FACTOR = 1.25
_MAX_BAND_SHARE = 0.25
# Measured (benchmarks/README.md, bench_multi_quantile.py section, 9
# levels): the reduced path is faster from 2000 rows on, when the first band
# holds at most _MAX_FIRST_BAND of the rows (0.13: about half the full
# program's time; 0.16: even; 0.2: 1.7 times it); otherwise the full joint
# program is solved directly.
MIN_ROWS = 2_000
_MAX_FIRST_BAND = 0.15
# The pilot's relative duality gap (of its reduced program), at most
# _PILOT_TOL and PILOT_FACTOR * n_columns / n: a gap g leaves the pilot's
# predictions about sqrt(2 g) of the residuals' spread off the optimum,
# which is then no more than the statistical difference between one level's
# slope and the joint one (about sqrt(n_columns / n)), the band's scale.
_PILOT_TOL = 1e-3
PILOT_FACTOR = 0.5
# The pilot's band factor (GlobbedFit.BAND_FACTOR for its reduced program).
_PILOT_BAND = 2.0
# Wrongly globbed members beyond this share of the kept pairs: widen the
# band instead of putting them back.
_MAX_WRONG_SHARE = 0.1
# A certified gap this share of tol needs no more reduced solves for the
# last wrongly globbed members (at the default tol 1e-4: 5e-6, about what
# the polished full program reaches).
_CLOSE = 5e-2
# Reduced solves in all.
_MAX_SOLVES = 5
# A glob's target lies this many mean absolute residuals beyond its members'
# mean target (on their side of the line).
_GLOB_SHIFT = 2.0


def applies(X, fit_intercept):
    """Whether the joint preprocessing is tried: dense ``X``, enough rows, a narrow band."""
    if sp.issparse(X) or X.shape[0] < MIN_ROWS:
        return False
    n_columns = X.shape[1] + int(fit_intercept)
    return BAND_FACTOR * np.sqrt(n_columns / X.shape[0]) <= _MAX_FIRST_BAND


class JointGlobbedFit:
    """Solve the joint location-shift program through reduced pair programs.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense, float64, rows of positive weight.
    y : ndarray of shape (n_samples,)
    weight : ndarray of shape (n_samples,)
        Positive weights summing to one.
    levels : ndarray of shape (K,)
        Increasing levels in (0, 1).
    penalty : ElasticNet
    fit_intercept : bool
    verbose : int, default=0
    band_share : float, default=None
        Each level's first band, as a share of the rows; None for
        ``BAND_FACTOR * sqrt(n_columns / n_samples)``.
    pilot_tol : float, default=None
        Relative gap of the pilot's reduced program; None for
        ``min(_PILOT_TOL, PILOT_FACTOR * n_columns / n_samples)``.
    pilot_band : float, default=None
        The band factor of the pilot's reduced program; None for
        ``_PILOT_BAND``.
    """

    def __init__(
        self,
        X,
        y,
        weight,
        levels,
        penalty,
        *,
        fit_intercept,
        verbose=0,
        band_share=None,
        pilot_tol=None,
        pilot_band=None,
    ):
        self.X, self.y, self.weight = X, y, weight
        self.levels = levels
        self.penalty = penalty
        self.fit_intercept = fit_intercept
        self.verbose = verbose
        n_columns = X.shape[1] + int(fit_intercept)
        if band_share is None:
            band_share = BAND_FACTOR * np.sqrt(n_columns / X.shape[0])
        if pilot_tol is None:
            pilot_tol = min(_PILOT_TOL, PILOT_FACTOR * n_columns / X.shape[0])
        self.band_share = band_share
        self.pilot_tol = pilot_tol
        self.pilot_band = _PILOT_BAND if pilot_band is None else pilot_band
        self.n_iter = 0
        # What the last solve did, for tests and benchmarks.
        self.history = []

    # -- the pilot -------------------------------------------------------------

    def pilot(self, slope0, offsets0, max_iter):
        """The slope of a loose single-level fit at the middle level.

        Always with an intercept: without one the joint program fixes only
        the lowest level's offset (at 0), and the middle level's offset is
        free, so a single level forced through 0 would tilt its slope to
        make up for an offset the joint fit does not lack.
        """
        K = self.levels.size
        middle = K // 2
        q = float(self.levels[middle])
        form = PiecewiseLinear(
            knots=(0.0,), slopes=(q - 1.0, q), offset=self.y, scale=-np.ones_like(self.y)
        )
        penalty, verbose = self.penalty, self.verbose

        def make_problem(X, part_form, part_weight):
            design = _ScaledDesign(X, part_weight, fit_intercept=True)
            return _OutputProblem(design, part_form, part_weight, penalty, verbose=verbose)

        single = GlobbedFit(
            self.X, form, self.weight, fit_intercept=True, make_problem=make_problem
        )
        beta0 = np.concatenate([slope0, offsets0[middle : middle + 1]])
        full = make_problem(self.X, form, self.weight)
        fit = single.rough_fit(beta0, self.pilot_tol, max_iter, full, band_factor=self.pilot_band)
        self.n_iter += fit.n_iter
        return fit.beta[: self.X.shape[1]]

    # -- the loop ----------------------------------------------------------------

    def solve(self, full, slope0, offsets0, tol, max_iter):
        """The certified fit (an ``_OutputFit``), or None when the caller should solve in full.

        ``full`` is the full program (a ``_JointProblem``): it gives the
        full objective and dual value at the reduced programs' solutions.
        """
        n, K = self.X.shape[0], self.levels.size
        slope = self.pilot(slope0, offsets0, max_iter)
        residual = self.y - self.X @ slope
        offsets = ordered_offsets(
            residual, self.weight, self.levels, fit_intercept=self.fit_intercept
        )
        share = self.band_share
        if share > _MAX_BAND_SHARE:
            return None
        below, above = self._classify(residual, offsets, share)
        # Globs this far beyond their members stay on their side near the optimum.
        spread = float(self.weight @ np.abs(residual - offsets[K // 2]))
        shift = _GLOB_SHIFT * max(spread, np.finfo(float).tiny)
        size = full.primal_value(full.to_scaled(slope, offsets)) * full.unit / full.n
        curve = [size]  # the full objective: at the pilot, then at each reduced solution
        # The best full objective so far and its residuals: a reduced program
        # whose bands were wrong can end far from the optimum (its globs only
        # bound the objective from below away from their sides), so wider
        # bands are placed around the best point, not the last one.
        best = (size, residual, offsets)
        for attempt in range(_MAX_SOLVES):
            fit = self._solve_reduced(
                below, above, shift, slope, offsets, tol, max_iter, abs(size)
            )
            if fit.dual_point is None:
                return None
            p = self.X.shape[1]
            slope, reduced_offsets = fit.beta[:p], fit.beta[p:]
            residual = self.y - self.X @ slope
            offsets = ordered_offsets(
                residual, self.weight, self.levels, fit_intercept=self.fit_intercept
            )
            result = self._full_certificate(full, fit.dual_point, below, above, slope, offsets)
            gap = result.primal - result.dual
            gap = max(gap, 0.0) / max(abs(result.primal), result.floor)
            curve.append(result.primal)
            if result.primal < best[0]:
                best = (result.primal, residual, offsets)
            entry = residual[:, None] - reduced_offsets
            wrong = (below & (entry > 0)) | (above & (entry < 0))
            n_wrong = int(wrong.sum())
            n_kept = n * K - int(below.sum()) - int(above.sum())
            self.history.append(
                {
                    "band_share": share,
                    "kept": n_kept,
                    "wrong": n_wrong,
                    "gap": gap,
                    "n_iter": fit.n_iter,
                }
            )
            # Certified. With every member on its side the reduced solution is
            # the full program's; with a few on the wrong side, one more
            # reduced solve unless the gap is already far below tol.
            if gap <= tol and (n_wrong == 0 or gap <= _CLOSE * tol or attempt == _MAX_SOLVES - 1):
                result.n_iter = self.n_iter
                result.curve = curve
                return result
            if n_wrong == 0:
                return None  # the reduced solve itself stopped short
            if n_wrong > _MAX_WRONG_SHARE * n_kept:
                share *= 2
                if share > _MAX_BAND_SHARE:
                    return None
                size, residual, offsets = best
                below, above = self._classify(residual, offsets, share)
            else:
                below &= ~wrong
                above &= ~wrong
        return None

    # -- steps -------------------------------------------------------------------

    def _classify(self, residual, offsets, share):
        """``(below, above)``: ``n x K`` masks of the pairs clearly off their level's line.

        For level ``k`` the band keeps ``share`` of the rows, half on each
        side of its line (by count: with weights the line's rank is not
        ``q_k n``), and always the line itself.
        """
        n, K = residual.shape[0], self.levels.size
        below = np.empty((n, K), dtype=bool)
        above = np.empty((n, K), dtype=bool)
        half = int(np.ceil(0.5 * share * n))
        for k in range(K):
            t = residual - offsets[k]
            n_below = int(np.count_nonzero(t < 0))
            low_rank = max(n_below - half, 0)
            high_rank = min(n_below + half, n - 1)
            ordered = np.partition(t, (low_rank, high_rank))
            low = min(float(ordered[low_rank]), 0.0)
            high = max(float(ordered[high_rank]), 0.0)
            np.less(t, low, out=below[:, k])
            np.greater(t, high, out=above[:, k])
        return below, above

    def _solve_reduced(self, below, above, shift, slope, offsets, tol, max_iter, objective_size):
        """Fit on the kept pairs and two globs per level, ``shift`` beyond their members.

        A glob's loss is linear near the optimum, so its target's shift only
        adds a constant to the objective, about ``shift`` times its weight
        times its side's slope: the reduced tolerance is tightened by the
        constant's share of the objective (``objective_size`` estimates the
        full one), for its gap to stay within ``tol`` of the full objective.
        """
        X, y, weight, K = self.X, self.y, self.weight, self.levels.size
        # The globs' sums, one pass over X for all 2 K of them.
        members = np.concatenate([below, above], axis=1) * weight[:, None]
        totals = members.sum(axis=0)
        sums_X = X.T @ members
        sums_y = y @ members
        kept = ~(below | above)
        # Pairs: the kept rows level by level, then the non-empty globs.
        kept_rows = [np.flatnonzero(kept[:, k]) for k in range(K)]
        counts = np.array([rows.size for rows in kept_rows])
        globs = np.flatnonzero(totals > 0)  # j < K: below level j, else above level j - K
        glob_level = globs % K
        glob_side = np.where(globs < K, -1.0, 1.0)
        glob_total = totals[globs]
        rows = np.concatenate(kept_rows)
        n_rows = rows.size
        pair_X = np.empty((n_rows + globs.size, X.shape[1]))
        np.take(X, rows, axis=0, out=pair_X[:n_rows])
        pair_X[n_rows:] = (sums_X[:, globs] / glob_total).T
        targets = np.concatenate([y[rows], sums_y[globs] / glob_total + glob_side * shift])
        weights = np.concatenate([weight[rows], glob_total]) / K
        level_of = np.concatenate([np.repeat(np.arange(K), counts), glob_level])
        slope_size = np.where(
            glob_side < 0, 1.0 - self.levels[glob_level], self.levels[glob_level]
        )
        constant = float(glob_total / K @ slope_size) * shift
        problem = _PairProblem(
            pair_X,
            targets,
            weights,
            level_of,
            self.levels,
            self.penalty,
            fit_intercept=self.fit_intercept,
            verbose=self.verbose,
        )
        tol = tol * objective_size / (objective_size + constant)
        fit = problem.solve(slope, offsets, tol, max_iter)
        self.n_iter += fit.n_iter
        if fit.dual_point is not None:
            theta = fit.dual_point
            glob_theta = np.full(2 * K, np.nan)
            glob_theta[globs] = theta[n_rows:]
            fit.dual_point = (
                np.split(theta[:n_rows], np.cumsum(counts)[:-1]),
                glob_theta.reshape(2, K).T,
            )
        return fit

    def _full_certificate(self, full, reduced, below, above, slope, offsets):
        """The full program's fit at ``slope, offsets``, certified by the reduced dual point.

        ``reduced`` holds, per level, the kept pairs' ``theta`` and the two
        globs' (below, above; NaN where a glob is empty): every member takes
        its glob's, a feasible dual point of the full program.
        """
        n, K = self.X.shape[0], self.levels.size
        kept_theta, glob_theta = reduced
        theta = np.empty((n, K))
        kept = ~(below | above)
        for k in range(K):
            column = theta[:, k]
            column[kept[:, k]] = kept_theta[k]
            column[below[:, k]] = glob_theta[k, 0]
            column[above[:, k]] = glob_theta[k, 1]
        b = full.to_scaled(slope, offsets)
        units = full.unit / full.n
        primal = full.primal_value(b) * units
        dual = full.dual_value_of(theta, b)[0] * units
        zero = full.primal_value(np.zeros_like(b)) * units
        floor = max(max(abs(primal), abs(zero)) * _ZERO_OBJECTIVE, np.finfo(float).tiny)
        return _OutputFit(
            beta=np.concatenate([slope, offsets]),
            primal=primal,
            dual=dual,
            n_iter=self.n_iter,
            curve=[],
            converged=True,
            message="",
            floor=floor,
        )


class _PairProblem(_JointProblem):
    """The joint program on a list of (row, level) pairs: the reduced program.

    Pair ``j`` has a row ``x_j``, a target ``y_j``, a weight ``u_j`` and a
    level ``k_j``; the objective is
    ``sum_j u_j rho_{q_{k_j}}(y_j - x_j^T w - b_{k_j})`` plus the penalty on
    ``w``, with one shared slope and one offset per level, as the full
    program (whose pairs are all of the ``n x K`` grid, with weight
    ``omega_i / K``). Scaled as it is, with weights of mean one.

    Parameters
    ----------
    X : ndarray of shape (n_pairs, n_features)
    y : ndarray of shape (n_pairs,)
    weight : ndarray of shape (n_pairs,)
        Positive weights ``u_j`` (the objective's units).
    level_of : ndarray of shape (n_pairs,)
        Each pair's level index; every level has at least one pair.
    levels : ndarray of shape (K,)
    penalty : ElasticNet
    fit_intercept : bool
    """

    def __init__(self, X, y, weight, level_of, levels, penalty, *, fit_intercept, verbose=0):
        self.levels = levels
        self.fit_intercept = fit_intercept
        self.verbose = verbose
        n, K = weight.shape[0], levels.shape[0]
        self.n, self.K = n, K
        self.level_of = level_of
        self.design = _ScaledDesign(X, weight, fit_intercept=False)
        self.p = p = self.design.n_features
        size = float(weight @ np.abs(y)) / max(weight.sum(), 1e-300)
        self.unit = size if size > 0 and np.isfinite(size) else 1.0
        self.g = y / self.unit
        self.weight = weight * n
        self.offset_levels = np.arange(K) if fit_intercept else np.arange(1, K)
        self.n_columns = p + self.offset_levels.size
        self._set_penalty(penalty, self.design, self.n_columns)
        self.operator = _PairConstraints(
            self.design, self.weight, level_of, K, self.offset_levels, self.l1_index, self.l2_index
        )
        self.theta_low, self.theta_high = levels[level_of] - 1.0, levels[level_of]
        # Pairs by level, for the best offsets of a slope.
        self._level_rows = [np.flatnonzero(level_of == k) for k in range(K)]

    def box_qp(self):
        op = self.operator
        l1 = self.l1[self.l1_index]
        n_slack = 0 if self.fit_intercept else self.K - 1
        totals = op.level_sums(self.weight)
        # theta = q - 1 + z: the equalities on z have the right-hand side
        # B (1 - q) of the box's lower end.
        rhs = np.empty(self.n_columns)
        rhs[: self.p] = self.design.tdot(self.weight * (1.0 - self.theta_high))
        rhs[self.p :] = ((1.0 - self.levels) * totals)[self.offset_levels]
        return BoxQP(
            cost=np.concatenate([-self.weight * self.g, np.zeros(l1.size + n_slack)]),
            lower=np.concatenate([np.zeros(self.n), -l1, np.zeros(n_slack)]),
            upper=np.concatenate(
                [np.ones(self.n), l1, np.full(n_slack, 2.0 * float(totals.max()))]
            ),
            curvature=1.0 / self.l2[self.l2_index],
            rhs=rhs,
            operator=op,
        )

    def with_ordered_offsets(self, b):
        """``b`` with each level's offset the best one for its slope (its own pairs')."""
        if b is None:
            return None
        residual = self.g - self.design.dot(b[: self.p])
        offsets = np.empty(self.K)
        for k, rows in enumerate(self._level_rows):
            offsets[k] = ordered_offsets(
                residual[rows], self.weight[rows], self.levels[k : k + 1], fit_intercept=True
            )[0]
        if not self.fit_intercept:
            offsets = np.maximum(offsets, 0.0)
            offsets[0] = 0.0
        out = b.copy()
        out[self.p :] = offsets[self.offset_levels]
        return out

    def solve(self, slope, offsets, tol, max_iter):
        """Interior point from ``slope, offsets`` (user units) to gap ``tol``.

        Returns an ``_OutputFit`` whose ``beta`` is ``[slope, K offsets]``
        in the user's units (the reduced program's own offsets) and whose
        ``dual_point`` is the pairs' ``theta`` of the best dual bound.
        """
        tol = max(float(tol), 4 * np.finfo(float).eps)
        record = _JointCertificate(self, self.to_scaled(slope, offsets), tol, self.verbose)
        last, _ = interior_point(
            self.box_qp(), -record.best_beta, max_iter=max_iter, monitor=record
        )
        record.prefer_sparse(self.sparse_candidate(last, record.best_beta))
        b = record.best_beta
        beta = np.concatenate(
            [b[: self.p] * self.unit * self.design.inv_scale, self.all_offsets(b) * self.unit]
        )
        return _OutputFit.from_record(record, beta, self.unit / self.n, tol, max_iter)


class _PairConstraints(_JointConstraints):
    """The joint dual constraints on a list of pairs (box variables: one ``z`` per pair)."""

    def __init__(self, design, weight, level_of, n_levels, offset_levels, l1_index, l2_index):
        super().__init__(design, weight, n_levels, offset_levels, l1_index, l2_index)
        self.level_of = level_of
        self.n_z = self.n_samples
        # Pairs come level by level (then the globs): per level, the pairs
        # of each offset row, as a sparse indicator for the cross terms.
        self.indicator = sp.csr_matrix(
            (np.ones(level_of.size), (np.arange(level_of.size), level_of)),
            shape=(level_of.size, n_levels),
        )[:, offset_levels].tocsc()

    def z_block(self, x_box):
        return x_box[: self.n_z]

    def level_sums(self, u):
        """``sum_{j: k_j = k} u_j`` per level."""
        return np.bincount(self.level_of, weights=u, minlength=self.K)

    def spread(self, rows, per_level):
        return rows + per_level[self.level_of]

    def entry_sum(self, row_weight, entries):
        return float(row_weight @ entries)

    def images(self, theta):
        wt = self.weight * theta
        return self.design.tdot(wt), self.level_sums(wt)

    def rows_times(self, y):
        offsets = np.zeros(self.K)
        offsets[self.offset_levels] = y[self.p :]
        out = self.design.dot(y[: self.p]) + offsets[self.level_of]
        out *= self.weight
        return out

    def normal_matrix(self, d_box, d_free):
        q = self.weight_squared * d_box[: self.n_z]
        p = self.p
        size = p + self.offset_levels.size
        out = np.empty((size, size))
        out[:p, :p] = self.design.gram(q)
        q_rows = self.indicator.multiply(q[:, None]).tocsc()
        cross = np.asarray((q_rows.T @ self.design.X).T) * self.design.inv_scale[:, None]
        out[:p, p:] = cross
        out[p:, :p] = cross.T
        out[p:, p:] = np.diag(self.level_sums(q)[self.offset_levels])
        return self._with_penalty_and_slack(out, d_box, d_free)

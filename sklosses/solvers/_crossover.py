"""Crossover from an interior-point iterate to the exact optimum of a box QP.

An interior point only approaches the optimum: after the polish the
certified gap is about 1e-10 relative, and where the objective is flat (a
margin loss with a small ridge, most samples beyond the margin) that still
leaves coefficients some 1e-4 from the optimum, so that two fits of the same
problem written differently (weighted rows against repeated rows) disagree
in their predictions at 1e-4. The optimum itself is the solution of a linear
system once it is known which box variables sit at which bound (the samples
beyond or inside the margin, the L1 coefficients that are not zero) and which
are strictly inside (the samples on a kink, the coefficients at zero):

.. math::
    B_F^\\top y = c_F, \\qquad
    B_F x_F + B_f H^{-1} B_f^\\top y = d - B_L l_L - B_U u_U,

in the notation of :mod:`sklosses.solvers._ipm` (the free variables are
``x_f = H^{-1} B_f^T y``). The interior point's last iterate tells the three
sets apart; the system's solution is accepted only where it checks: the
inside variables within their bounds, the bound ones' reduced costs of the
right sign. This is what simplex-based codes call a crossover (HiGHS runs
one after its interior point); here the system has ``|F| + m`` unknowns,
with ``m`` the number of coefficients, and is solved densely.

References
----------
.. [1] S. J. Wright, "Primal-Dual Interior-Point Methods", SIAM (1997),
   chapter 7 (finite termination, identification of the optimal partition).
"""

import numpy as np

# A box variable whose distance to a bound is below this share of its box
# width sits at that bound. After the polish (mu about 1e-12 of the
# objective) the variables at a bound are within ~1e-10 of it, those strictly
# inside at ~1e-3 or more.
_AT_BOUND = 1e-6
# The crossover factorises a dense system of N = |F| + m unknowns (N^3
# flops): it is tried where that costs at most about two interior-point
# iterations (n_box m^2 flops each for the normal matrix), or N is small.
_SMALL_SYSTEM = 300
_ITERATIONS_OF_WORK = 2
# Singular values below this share of the largest count as zero: the
# system's rank, and whether the multipliers are unique.
_RANK_TOLERANCE = 1e-12
# Corrections of the partition read off the iterate before giving up.
_ROUNDS = 3
# Slack allowed in the checks, relative to the scale of each quantity: the
# solution must be a solution up to rounding, not an approximate one.
_CHECK = 1e-9


def crossover_point(problem, x_box):
    """The exact optimum ``(y, x_box)`` that the box variables ``x_box`` point to, or None.

    ``x_box`` is near the optimum: an interior point's last iterate, or the
    dual point a first-order fit of a smoothed loss gives
    (:mod:`sklosses.solvers._exact_finish`). The partition read off it can
    be off by a few variables (one that approaches its bound slowly, one
    that leaves it late): those the solution puts out of their box are
    moved to the bound they cross, those at a bound with a reduced cost of
    the wrong sign inside, and the system
    is solved again, up to ``_ROUNDS`` times.

    Parameters
    ----------
    problem : BoxQP
        Its operator must give :meth:`ConstraintOperator.columns`.
    x_box : ndarray of shape (n_box,)
        Box variables near the optimum: each within ``_AT_BOUND`` of its box
        width from a bound sits at that bound, the others inside.

    Returns
    -------
    point : tuple or None
        ``y`` of shape (n_constraints,), the multipliers, and ``x_box`` of
        shape (n_box,), the box variables (the dual point of the original
        problem); None when the operator gives no columns, the system is too
        large, or no solution passed the checks (then the iterate is kept).
    """
    lower, upper = problem.lower, problem.upper
    width = upper - lower
    x = x_box
    at_lower = (x - lower) < _AT_BOUND * width
    at_upper = ~at_lower & ((upper - x) < _AT_BOUND * width)
    for _ in range(_ROUNDS):
        partition = _Partition(problem, at_lower, at_upper)
        if not (partition.solve() and partition.consistent()):
            # No solution to correct: a flat optimum (the median of an even
            # number of samples, say), or a partition too far off.
            return None
        if partition.optimal():
            return partition.y, partition.box_solution()
        corrected = partition.corrected()
        moved = np.count_nonzero(corrected[0] != at_lower) + np.count_nonzero(
            corrected[1] != at_upper)
        if moved > problem.rhs.shape[0]:
            return None  # not a few stragglers: the iterate is not near a vertex
        at_lower, at_upper = corrected
    return None


class _Partition:
    """The linear system of one guess of the optimal partition, and its checks."""

    def __init__(self, problem, at_lower, at_upper):
        self.problem = problem
        self.at_lower, self.at_upper = at_lower, at_upper
        self.inside = np.flatnonzero(~(at_lower | at_upper))
        self.y = None

    def solve(self):
        """Solve the system; False when it cannot be formed or is too large."""
        problem, inside = self.problem, self.inside
        op = problem.operator
        m = problem.rhs.shape[0]
        size = inside.size + m
        if size > _SMALL_SYSTEM and size**3 > _ITERATIONS_OF_WORK * problem.cost.size * m**2:
            return False
        matrices = op.columns(inside)
        if matrices is None:
            return False
        self.columns, free_columns = matrices
        # What the variables at their bounds contribute, and the free
        # variables' block B_f H^-1 B_f^T.
        x_bounds = np.where(self.at_upper, problem.upper, problem.lower)
        x_bounds[inside] = 0.0
        self.rhs = problem.rhs - op.apply(x_bounds, np.zeros_like(problem.curvature))
        self.free_block = (free_columns / problem.curvature) @ free_columns.T
        k = inside.size
        system = np.zeros((k + m, k + m))
        system[:k, k:] = self.columns.T
        system[k:, :k] = self.columns
        system[k:, k:] = self.free_block
        if not np.all(np.isfinite(system)):
            return False
        u, singular, vt = np.linalg.svd(system)
        rank = int(np.sum(singular > _RANK_TOLERANCE * singular[0])) if size else 0
        if np.linalg.norm(vt[rank:, k:]) > np.sqrt(_RANK_TOLERANCE):
            # The multipliers (the coefficients) are not unique on this
            # partition: a flat optimum, with no vertex to cross over to. (A
            # null space in the box variables alone is harmless: repeated
            # rows on the kink share their weight.)
            return False
        rhs = np.concatenate([problem.cost[inside], self.rhs])
        solution = vt[:rank].T @ ((u[:, :rank].T @ rhs) / singular[:rank])
        self.x_inside, self.y = solution[:k], solution[k:]
        self.reduced = problem.cost - op.apply_transpose(self.y)[0]
        self.tolerance = _CHECK * max(float(np.max(np.abs(problem.cost), initial=0.0)),
                                      1e-300)
        return True

    def consistent(self):
        """Whether the system has a solution (else the pseudo-inverse gave a least-squares one)."""
        residual = self.columns @ self.x_inside + self.free_block @ self.y - self.rhs
        if np.max(np.abs(residual), initial=0.0) > _CHECK * max(
                np.max(np.abs(self.rhs), initial=0.0), 1.0):
            return False
        return np.max(np.abs(self.reduced[self.inside]), initial=0.0) <= self.tolerance

    def optimal(self):
        """Whether the solution is the optimum: in its box and dual feasible."""
        problem, inside = self.problem, self.inside
        slack = _CHECK * (problem.upper - problem.lower)[inside]
        if np.any(self.x_inside < problem.lower[inside] - slack) or np.any(
                self.x_inside > problem.upper[inside] + slack):
            return False
        # At a lower bound the cost may only grow inward, at an upper one
        # only fall: otherwise moving the variable off its bound lowers it.
        return bool(np.all(self.reduced[self.at_lower] >= -self.tolerance) and np.all(
            self.reduced[self.at_upper] <= self.tolerance))

    def box_solution(self):
        """All box variables: the inside ones solved for, the others at their bound."""
        problem = self.problem
        x_box = np.where(self.at_upper, problem.upper, problem.lower)
        x_box[self.inside] = np.clip(self.x_inside, problem.lower[self.inside],
                                     problem.upper[self.inside])
        return x_box

    def corrected(self):
        """The next guess: violators of their box to its bound, wrong-signed bound ones inside."""
        problem, inside = self.problem, self.inside
        at_lower, at_upper = self.at_lower.copy(), self.at_upper.copy()
        at_lower[inside[self.x_inside < problem.lower[inside]]] = True
        at_upper[inside[self.x_inside > problem.upper[inside]]] = True
        at_lower[at_lower & (self.reduced < -self.tolerance)] = False
        at_upper[at_upper & (self.reduced > self.tolerance)] = False
        return at_lower, at_upper

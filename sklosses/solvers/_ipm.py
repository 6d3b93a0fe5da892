"""Mehrotra's primal-dual interior-point method for box-constrained convex QPs.

The problem, in the form the exact solver of piecewise-linear losses builds
(its variables are the dual variables of the loss, see ``_exact.py``):

.. math::
    \\min_{x_b, x_f}\\; c^\\top x_b + \\tfrac12 \\sum_j h_j x_{f,j}^2
    \\quad\\text{s.t.}\\quad B_b x_b + B_f x_f = d, \\quad l \\le x_b \\le u,

with many box-constrained variables :math:`x_b` (finite bounds), a few free
variables :math:`x_f` with positive curvature :math:`h`, and a few equality
constraints (one per model coefficient). Each Newton step then needs one
factorisation of the small matrix :math:`B D B^\\top` (:math:`D` diagonal),
which the constraint operator forms with its own structure (for the exact
solver, one pass ``X^T diag(q) X`` over the data).

The multiplier :math:`y` of the equality constraints is the quantity of
interest (the model coefficients, up to sign and scale).

References
----------
.. [1] S. Mehrotra, "On the implementation of a primal-dual interior point
   method", SIAM J. Optimization 2(4), 575-601 (1992).
.. [2] J. Nocedal and S. J. Wright, "Numerical Optimization", 2nd ed.,
   Springer (2006), chapters 14 and 16.
"""

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass

import numpy as np
from scipy.linalg.lapack import dpotrf, dpotrs

# Fraction of the step to the boundary that an iterate takes, so it stays
# strictly interior (the usual choice in Mehrotra-type codes).
_STEP_FRACTION = 0.9995
# Iterations between full recomputations of B x and B^T y.
_REFRESH = 8


class ConstraintOperator(metaclass=ABCMeta):
    """The equality-constraint matrix ``B = [B_b, B_f]`` as an operator.

    The interior-point method only multiplies by ``B`` and its transpose and
    solves with ``B diag(D) B^T`` (:meth:`normal_system`); it never needs
    ``B`` as a matrix.
    """

    @abstractmethod
    def apply(self, x_box, x_free):
        """``B_b x_b + B_f x_f``, an ndarray of shape (n_constraints,)."""

    @abstractmethod
    def apply_transpose(self, y):
        """``(B_b^T y, B_f^T y)``."""

    def normal_matrix(self, d_box, d_free):
        """``B_b diag(d_box) B_b^T + B_f diag(d_free) B_f^T``, dense and square.

        Operators that override :meth:`normal_system` need not define it.
        """
        raise NotImplementedError

    def normal_system(self, d_box, d_free):
        """``B diag(D) B^T``, factorised: a :class:`CholeskySystem`, or None if singular.

        The default forms :meth:`normal_matrix` and factorises it. An operator
        with many constraints of a special structure overrides this with its
        own elimination (an object with the same ``solve``, ``times`` and
        ``matrix``).
        """
        return CholeskySystem.of(self.normal_matrix(d_box, d_free))

    def columns(self, box_index):
        """``(B_b[:, box_index], B_f)`` as dense arrays, or None where not given.

        Used by the crossover (:mod:`sklosses.solvers._crossover`) on a few
        columns; an operator that does not give them gets no crossover.
        """
        return None


class CholeskySystem:
    """A normal matrix and its Cholesky factor.

    Attributes
    ----------
    matrix : ndarray of shape (n_constraints, n_constraints)
        ``B D B^T``; monitors use it to project a dual point onto the
        constraints. A system that eliminates part of the constraints holds
        the Schur complement on the others here.
    """

    def __init__(self, matrix, factor):
        self.matrix = matrix
        self.factor = factor

    @classmethod
    def of(cls, matrix):
        """The system of ``matrix``; None when it cannot be factorised."""
        factor = _factorise(matrix)
        return None if factor is None else cls(matrix, factor)

    def solve(self, rhs):
        """``(B D B^T)^-1 rhs``."""
        return dpotrs(self.factor, rhs, lower=0)[0]

    def times(self, v):
        """``(B D B^T) v``."""
        return self.matrix @ v


@dataclass
class BoxQP:
    """Data of the box-constrained QP solved by :func:`interior_point`.

    Attributes
    ----------
    cost : ndarray of shape (n_box,)
        Linear cost ``c`` of the box variables.
    lower, upper : ndarray of shape (n_box,)
        Finite bounds, ``lower < upper``.
    curvature : ndarray of shape (n_free,)
        Positive curvature ``h`` of the free variables.
    rhs : ndarray of shape (n_constraints,)
        Right-hand side ``d``.
    operator : ConstraintOperator
        The constraint matrix.
    """

    cost: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    curvature: np.ndarray
    rhs: np.ndarray
    operator: ConstraintOperator


@dataclass
class Iterate:
    """An interior-point iterate, as passed to the monitor.

    ``d_box`` and ``normal`` are the scaling and the normal matrix (see
    :attr:`CholeskySystem.matrix`) of the step that produced it (None before
    the first step), which a monitor may reuse to project a dual point onto
    the constraints.
    """

    x_box: np.ndarray
    x_free: np.ndarray
    y: np.ndarray
    n_iter: int
    mu: float
    n_box: int = 0
    d_box: np.ndarray = None
    normal: np.ndarray = None


def interior_point(problem, y0, *, max_iter, monitor, x_box0=None):
    """Minimise a :class:`BoxQP` by Mehrotra's predictor-corrector method.

    Order of work per iteration: residuals; ``monitor(iterate)`` (which
    returns True to stop, typically on a certified duality gap); the scaling
    ``D`` and one Cholesky factorisation of ``B D B^T``; the affine
    (predictor) direction; the centring parameter
    ``sigma = (mu_aff / mu)**3``; the corrected direction with the same
    factorisation; steps of 0.9995 of the distance to the boundary (one
    common step when free quadratic variables couple primal and dual).

    Parameters
    ----------
    problem : BoxQP
    y0 : ndarray of shape (n_constraints,)
        Starting multiplier (a warm start for the coefficients).
    x_box0 : ndarray of shape (n_box,) or None
        Starting box variables, strictly inside their bounds; None for the
        middle of each box.
    max_iter : int
        Iteration limit.
    monitor : callable
        ``monitor(iterate) -> bool``, called before each step and after the
        last one.

    Returns
    -------
    iterate : Iterate
        The last iterate.
    stopped : bool
        Whether ``monitor`` asked to stop (False: iteration limit, or no
        progress possible in floating point).
    """
    c, lower, upper, h = problem.cost, problem.lower, problem.upper, problem.curvature
    op, d = problem.operator, problem.rhs
    n_box = c.shape[0]
    x_box = 0.5 * (lower + upper) if x_box0 is None else np.array(x_box0, dtype=float)
    y = np.array(y0, dtype=float)
    t_box, t_free = op.apply_transpose(y)
    d_free = 1.0 / h
    x_free = t_free * d_free
    # The complementarity pairs are stacked, lower bounds then upper bounds:
    # gaps [x - l, u - x] and their slacks [s, t]. On small problems each
    # NumPy call's overhead, not its arithmetic, is much of the cost of an
    # iteration, and one call on the stacked pairs does the work of two. The
    # gaps follow the steps (as x does) instead of being recomputed from x:
    # they are what must stay positive, and near a bound their update is the
    # more accurate.
    # Dual slacks: split the reduced cost into its two signs, shifted inside
    # so that every complementarity product starts comparable.
    reduced = c - t_box
    shift = max(float(np.mean(np.abs(reduced))), float(np.mean(np.abs(c))), 1e-12)
    slack = np.concatenate([np.maximum(reduced, 0.0), np.maximum(-reduced, 0.0)]) + shift
    gaps = np.concatenate([x_box - lower, upper - x_box])
    n_pairs = 2 * n_box
    coupled = h.shape[0] > 0
    iterate = Iterate(x_box, x_free, y, 0, np.inf, n_box=n_box)
    b_x = op.apply(x_box, x_free)
    for n_iter in range(max_iter + 1):
        mu = (gaps @ slack) / n_pairs
        iterate.mu = mu
        stop = bool(monitor(iterate))
        if stop or n_iter == max_iter or not np.isfinite(mu):
            return iterate, stop
        if gaps.min() <= 0:
            # Rounding put a variable on its bound: no interior step is left.
            return iterate, False
        if n_iter and n_iter % _REFRESH == 0:
            # B x and B^T y are updated along the steps; recomputing them now
            # and then keeps rounding from accumulating in the residuals (at
            # the start they are fresh).
            t_box, t_free = op.apply_transpose(y)
            b_x = op.apply(x_box, x_free)
        inv_gaps, inv_slack = 1.0 / gaps, 1.0 / slack
        ratios = slack * inv_gaps  # [s / (x - l), t / (u - x)]
        d_box = 1.0 / (ratios[:n_box] + ratios[n_box:])
        system = op.normal_system(d_box, d_free)
        if system is None:
            return iterate, False
        newton = _NewtonSystem(
            op=op, system=system, ratios=ratios, d_box=d_box,
            d_free=d_free, r_primal=d - b_x,
            rho_box=t_box - c + slack[:n_box] - slack[n_box:],
            rho_free=t_free - h * x_free,
        )
        # Affine direction: complementarity targets -gap * slack.
        affine = newton.direction(-slack, full=False)
        step_p = _max_step(affine.d_gaps, inv_gaps)
        step_d = _max_step(affine.d_slack, inv_slack)
        if coupled:
            step_p = step_d = min(step_p, step_d)
        mu_aff = ((gaps + step_p * affine.d_gaps) @ (slack + step_d * affine.d_slack)
                  / n_pairs)
        sigma = min((mu_aff / mu) ** 3, 1.0) if mu > 0 else 0.0
        # Corrected direction: targets sigma mu - dgap_aff * dslack_aff.
        step = newton.direction(
            (sigma * mu - affine.d_gaps * affine.d_slack) * inv_gaps - slack)
        step_p = _STEP_FRACTION * _max_step(step.d_gaps, inv_gaps)
        step_d = _STEP_FRACTION * _max_step(step.d_slack, inv_slack)
        if coupled:
            step_p = step_d = min(step_p, step_d)
        x_box = x_box + step_p * step.dx_box
        x_free = x_free + step_p * step.dx_free
        gaps = gaps + step_p * step.d_gaps
        y = y + step_d * step.dy
        t_box = t_box + step_d * step.t_box
        t_free = t_free + step_d * step.t_free
        b_x = b_x + step_p * step.b_dx
        slack = slack + step_d * step.d_slack
        iterate = Iterate(x_box, x_free, y, n_iter + 1, mu, n_box=n_box, d_box=d_box,
                          normal=system.matrix)
    return iterate, False


@dataclass
class _Direction:
    """A Newton direction, with the images the caller updates ``B^T y`` and ``B x`` by."""

    dx_box: np.ndarray
    dx_free: np.ndarray
    dy: np.ndarray
    d_gaps: np.ndarray  # [dx_box, -dx_box]: the change of the gaps [x - l, u - x]
    d_slack: np.ndarray  # [ds, dt]
    t_box: np.ndarray  # B_b^T dy
    t_free: np.ndarray  # B_f^T dy
    b_dx: np.ndarray  # B dx


@dataclass
class _NewtonSystem:
    """The linearised KKT system at an iterate, factorised once, solved twice.

    Eliminating ``ds``, ``dt`` and then ``dx`` leaves
    ``(B D B^T) dy = r_p - B D rho`` with
    ``D = 1 / (h + s / (x - l) + t / (u - x))`` and
    ``rho = -r_dual + r_s / (x - l) - r_t / (u - x)`` for the
    complementarity targets ``r_s``, ``r_t``.
    """

    op: ConstraintOperator
    system: CholeskySystem
    ratios: np.ndarray  # [s / (x - l), t / (u - x)]
    d_box: np.ndarray
    d_free: np.ndarray
    r_primal: np.ndarray
    rho_box: np.ndarray  # minus the dual residual of the box variables
    rho_free: np.ndarray  # minus the dual residual of the free variables

    def __post_init__(self):
        # The free variables' part of dx does not depend on the targets.
        self.d_rho_free = self.d_free * self.rho_free
        self.n_box = self.d_box.shape[0]

    def direction(self, targets, *, full=True):
        """Newton direction for the stacked complementarity targets ``[r_s, r_t]``.

        They are passed divided by the gaps, ``p = [r_s / (x - l), r_t / (u - x)]``,
        which is what the elimination needs: then
        ``[ds, dt] = p - [s / (x - l), t / (u - x)] [dx, -dx]``.
        Also returns ``(B_b^T dy, B_f^T dy, B dx)``, so the caller updates
        ``B^T y`` and ``B x`` without another pass over the data
        (``B dx = B D rho + (B D B^T) dy``). ``full=False`` (the affine
        direction, which only sets the centring) leaves ``dx_free`` and
        ``B dx`` out (None).
        """
        n = self.n_box
        rho_box = self.rho_box + targets[:n] - targets[n:]
        b_d_rho = self.op.apply(self.d_box * rho_box, self.d_rho_free)
        dy = self.system.solve(self.r_primal - b_d_rho)
        tb, tf = self.op.apply_transpose(dy)
        dx_box = self.d_box * (rho_box + tb)
        d_gaps = np.concatenate([dx_box, -dx_box])
        return _Direction(
            dx_box=dx_box, dx_free=self.d_rho_free + self.d_free * tf if full else None,
            dy=dy, d_gaps=d_gaps, d_slack=targets - self.ratios * d_gaps, t_box=tb,
            t_free=tf, b_dx=b_d_rho + self.system.times(dy) if full else None,
        )


def _max_step(change, inverse_value):
    """Largest step in [0, 1] keeping ``value + step * change >= 0`` (``value > 0``).

    The most negative ``change / value`` is minus the inverse of the
    blocking step (no masks needed).
    """
    worst = -float((change * inverse_value).min(initial=0.0))
    return 1.0 if worst <= 1.0 else 1.0 / worst


def _factorise(matrix):
    """Cholesky factor of ``matrix``, regularised just enough when singular.

    A rank-deficient design (duplicated or constant features without a
    penalty) leaves the normal matrix singular; a ridge of 1e-13 of its
    largest diagonal entry, grown by 100 until the factorisation succeeds,
    changes the Newton step by a relative amount of that order.
    """
    # LAPACK directly: scipy's wrappers cost more than a 30 x 30 factorisation.
    factor, info = dpotrf(matrix, lower=0, clean=0)
    if info == 0:
        return factor
    ridge = 1e-13 * (float(np.max(np.abs(np.diag(matrix)))) if matrix.size else 1.0)
    for _ in range(7):
        factor, info = dpotrf(matrix + ridge * np.eye(matrix.shape[0]), lower=0, clean=0)
        if info == 0:
            return factor
        ridge *= 100
    return None

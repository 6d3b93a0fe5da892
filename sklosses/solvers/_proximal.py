"""Full-batch accelerated proximal gradient (FISTA) with backtracking and restart.

Order of calls per iteration, all on the :class:`~sklosses._objective.Objective`:

1. at the extrapolated point ``y`` (known from the previous iteration):
   ``f(y), grad f(y) = smooth_value_gradient(y)``;
2. a trial ``z = prox(y - grad f(y) / L, 1 / L)`` and ``f(z)`` from
   ``smooth_value_gradient(z)`` (value only is used, the gradient is dropped);
   ``L`` doubles until the quadratic upper bound holds at ``z`` (a
   non-finite ``f(z)`` counts as a failure: the step backs off);
3. ``J(z) = f(z) + nonsmooth_value(z)`` goes into the loss curve; the momentum
   restarts when it would point uphill (O'Donoghue & Candes, 2015), and a
   trial that raises ``J`` is rejected (monotone variant, Beck & Teboulle);
4. the next ``y`` extrapolates from ``z`` along ``z - x``.
"""

import math
import time

import numpy as np

from .._preconditioning import ScaledProblem
from ._base import BaseSolver, SolverResult
from ._lbfgs import nonfinite_start_error
from ._stopping import ITERATION_LIMIT, LINE_SEARCH_FAILED, STALLED, stopping_verdict

# Backtracking multiplies L by this factor on failure.
_GROW = 2.0
# After this many failed trials in a row (L grew by 2**100) the objective is
# numerically stuck or keeps being non-finite: the solver stops.
_MAX_BACKTRACKS = 100


class ProximalGradient(BaseSolver):
    r"""Accelerated proximal gradient (FISTA) on ``smooth + nonsmooth``.

    Minimises :math:`J = f + g` where :math:`f` is the loss term plus the
    smooth (L2) part of the penalty and :math:`g` is the L1 part, handled by
    its proximal operator (soft-thresholding on the weights only).

    Step size: backtracking on the Lipschitz estimate ``L`` of
    :math:`\nabla f`. ``L`` doubles until
    :math:`f(z) \le f(y) + \langle \nabla f(y), z - y\rangle + \frac{L}{2}\|z - y\|^2`
    holds; a non-finite ``f(z)`` counts as a failed trial, so a diverging
    step backs off instead of being accepted. After each accepted step the
    next trial starts from ``max(L / 2, L_local)``, where ``L_local`` is the
    curvature actually seen along the step, so the step can grow again where
    the objective is flatter without wasting a trial per iteration.

    Momentum: Nesterov's sequence ``t`` with adaptive restart (O'Donoghue and
    Candes): the momentum is reset when the gradient-mapping direction and
    the momentum direction disagree, ``<y - z, z - x> > 0``. A trial that
    would increase ``J`` is rejected and the momentum restarts from the
    current point (monotone FISTA), so the loss curve never increases.

    Units: as :class:`LBFGS`, FISTA runs on
    :math:`J(\theta(z)) / F` over unit-free variables ``z``
    (standardised columns, outputs in their raw scale: an exact change of
    variables for a linear model, under which the L1 part becomes a weighted
    L1 norm with a per-coordinate soft-threshold), so its tests do not depend
    on the units of ``X`` or ``y``.

    Stopping: the gradient mapping :math:`G = L (y - z)` (the gradient for a
    smooth problem) in those variables has largest absolute entry at most
    ``tol``, as L-BFGS's gradient test. When the relative decrease of ``J``
    falls to the level of rounding errors first, the fit counts as converged
    only if that entry is at most ``sqrt(tol)``; a stall far from a
    stationary point, a backtracking that never finds a decreasing step and
    ``max_iter`` are reported as not converged, with a ``message``.

    Parameters
    ----------
    max_iter : int, default=500
        Maximum number of iterations (accepted steps).
    tol : float, default=1e-4
        Relative tolerance on the largest absolute entry of the scaled
        gradient mapping; independent of the units of ``X`` and ``y``.
    verbose : int, default=0
        Print one line per iteration when positive.

    References
    ----------
    .. [1] A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding
       algorithm for linear inverse problems", SIAM J. Imaging Sciences 2(1),
       183-202 (2009).
    .. [2] A. Beck and M. Teboulle, "Fast gradient-based algorithms for
       constrained total variation image denoising and deblurring problems",
       IEEE Trans. Image Processing 18(11), 2419-2434 (2009) (monotone FISTA).
    .. [3] B. O'Donoghue and E. Candes, "Adaptive restart for accelerated
       gradient schemes", Foundations of Computational Mathematics 15,
       715-732 (2015).

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses._objective import Objective
    >>> from sklosses.losses import SquaredError
    >>> from sklosses.models import LinearModel
    >>> from sklosses.penalties import L1
    >>> from sklosses.solvers import ProximalGradient
    >>> X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> y = np.array([1.0, 0.0, 1.0])
    >>> obj = Objective(SquaredError(), LinearModel(2, 1, fit_intercept=False),
    ...                 L1(0.1), X, y)
    >>> res = ProximalGradient(tol=1e-10).solve(obj, np.zeros(2))
    >>> np.round(res.x, 4)
    array([0.925, 0.   ])
    """

    name = "proximal"
    handles_nonsmooth_penalty = True

    def solve(self, objective, x0, *, state=None, monitor=None):
        """Minimise ``objective`` from ``x0``.

        Parameters
        ----------
        objective : Objective
            Provides ``smooth_value_gradient``, ``nonsmooth_value`` and
            ``prox``.
        x0 : ndarray of shape (n_params,)
            Starting point.

        Returns
        -------
        result : SolverResult
        """
        # Trial steps may overflow; backtracking rejects them, so NumPy's
        # warnings about them would only alarm the user.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._run(objective, np.asarray(x0, dtype=np.float64))

    def _run(self, objective, x0):
        scaled = ScaledProblem(objective, x0)
        state = _FistaState(scaled, scaled.to_variables(x0))
        start = time.perf_counter()
        loss_curve = []
        mapping, reason = np.inf, ITERATION_LIMIT
        for _ in range(self.max_iter):
            step = state.step()
            if step is None:  # L exploded: no step decreases the objective
                reason = LINE_SEARCH_FAILED
                break
            mapping = step
            loss_curve.append(scaled.unscale(state.J_x, state.x))
            if self.verbose:
                print(
                    f"Iteration {len(loss_curve)}, objective = {loss_curve[-1]:.8g}, "
                    f"gradient mapping = {step:.3g}, L = {state.L:.3g}, "
                    f"time = {time.perf_counter() - start:.2f}s"
                )
            if step <= self.tol:
                reason = None
                break
            if state.stalled:
                reason = STALLED
                break
        if not loss_curve:
            loss_curve.append(scaled.unscale(state.J_x, state.x))
        converged, message = stopping_verdict(
            gradient=mapping, tol=self.tol, reason=reason,
            improved=state.J_x < state.J_start, max_iter=self.max_iter,
        )
        return SolverResult(
            x=scaled.to_params(state.x), n_iter=max(len(loss_curve), 1),
            loss_curve=loss_curve, converged=converged, message=message,
        )


class _FistaState:
    """Iterates of FISTA: current point ``x``, extrapolated point ``y``, ``t``, ``L``.

    A plain object rather than a closure, so that each piece of the iteration
    is a small method.
    """

    def __init__(self, objective, x0):
        self.objective = objective
        self.x = x0
        value, grad = objective.smooth_value_gradient(x0)
        # Rounding level of the objective's own arithmetic (float32 or float64).
        self.eps = float(np.finfo(np.result_type(objective.dtype, np.float32)).eps)
        self.f_x, grad = float(value), np.asarray(grad, dtype=np.float64)
        if not (np.isfinite(self.f_x) and np.all(np.isfinite(grad))):
            raise nonfinite_start_error(objective, "proximal")
        self.J_x = self.f_x + objective.nonsmooth_value(x0)
        self.J_start = self.J_x
        self.y, self.f_y, self.g_y = x0, self.f_x, grad
        self.t = 1.0
        self.L = _initial_lipschitz(objective, x0, grad)
        self.stalled = False

    def _smooth(self, params):
        value, grad = self.objective.smooth_value_gradient(params)
        return float(value), np.asarray(grad, dtype=np.float64)

    def _smooth_value(self, params):
        objective = self.objective
        return float(objective.value(params) - objective.nonsmooth_value(params))

    def step(self):
        """One iteration; returns the size of the gradient mapping, or None.

        None means that no step size decreased the objective (the objective
        stays non-finite or rounding errors dominate): the solver stops.
        """
        trial = self._backtrack()
        if trial is None:
            return None
        z, f_z, g_z, restart = trial
        mapping = self.L * float(np.max(np.abs(self.y - z), initial=0.0))
        J_z = f_z + self.objective.nonsmooth_value(z)
        if J_z > self.J_x:
            # Monotone FISTA: keep x and retry from it without momentum. From
            # x itself the step cannot increase J except by rounding errors.
            self.stalled = self.y is self.x
            self._restart_at_x()
            return mapping
        scale = max(abs(J_z), abs(self.J_x), np.finfo(float).tiny)
        self.stalled = self.J_x - J_z <= self.eps * scale
        self._advance(z, f_z, g_z, J_z, restart)
        return mapping

    def _backtrack(self):
        """Trial point whose quadratic model at ``y`` bounds ``f``: ``(z, f, g, restart)``.

        The gradient at the trial is computed only when the next ``y`` will be
        the trial itself (no momentum), otherwise its value is enough.
        """
        for _ in range(_MAX_BACKTRACKS):
            z = self.objective.prox(self.y - self.g_y / self.L, 1.0 / self.L)
            diff = z - self.y
            dist2 = float(diff @ diff)
            restart = self.t == 1.0 or float(diff @ (self.x - z)) > 0.0
            if dist2 == 0.0:
                self._local_L = self.L
                return z, self.f_y, self.g_y, restart
            if restart:
                f_z, g_z = self._smooth(z)
            else:
                f_z, g_z = self._smooth_value(z), None
            excess = f_z - self.f_y - float(self.g_y @ diff)
            # The slack absorbs rounding errors of f near the optimum.
            slack = 16 * self.eps * max(abs(f_z), abs(self.f_y))
            if np.isfinite(f_z) and excess <= 0.5 * self.L * dist2 + slack:
                self._local_L = max(2.0 * excess / dist2, 0.0)
                return z, f_z, g_z, restart
            self.L *= _GROW
        return None

    def _advance(self, z, f_z, g_z, J_z, restart):
        """Accept ``z`` and extrapolate the next ``y``.

        Momentum restarts (O'Donoghue & Candes' gradient scheme) when the
        step ``z - y`` and the momentum ``z - x`` point in opposite ways.
        """
        if restart:
            self.t = 1.0
        t_next = 0.5 * (1.0 + math.sqrt(1.0 + 4.0 * self.t * self.t))
        beta = 0.0 if restart else (self.t - 1.0) / t_next
        self.t = t_next
        x_old = self.x
        self.x, self.f_x, self.J_x = z, f_z, J_z
        if beta == 0.0:
            self.y, self.f_y, self.g_y = z, f_z, g_z
        else:
            self.y = z + beta * (z - x_old)
            self.f_y, self.g_y = self._smooth(self.y)
            if not np.isfinite(self.f_y):
                self._restart_at_x()
        # Let the step grow again where the curvature seen was smaller.
        self.L = max(0.5 * self.L, self._local_L)

    def _restart_at_x(self):
        self.t = 1.0
        if self.y is not self.x:
            self.f_y, self.g_y = self._smooth(self.x)
            self.y = self.x


def _initial_lipschitz(objective, x0, grad):
    """Curvature estimate of the smooth part along a small gradient step."""
    norm = float(np.linalg.norm(grad))
    if norm == 0.0 or not np.isfinite(norm):
        return 1.0
    h = 1e-4 * max(1.0, float(np.linalg.norm(x0))) / norm
    _, grad_h = objective.smooth_value_gradient(x0 - h * grad)
    change = float(np.linalg.norm(np.asarray(grad_h, dtype=np.float64) - grad))
    estimate = change / (h * norm)
    return estimate if np.isfinite(estimate) and estimate > 0 else 1.0

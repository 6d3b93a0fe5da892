"""Continuation on Nesterov smoothing for non-smooth losses.

A non-smooth loss (absolute, quantile, epsilon-insensitive, hinge) gives a
smooth surrogate ``loss.smoothed(mu)`` within ``mu`` of it at every point.
Minimising the surrogate for a decreasing sequence of ``mu``, each stage
warm-started from the last, reaches the non-smooth optimum to within the final
``mu`` (Nesterov, 2005) while the early stages, well conditioned, do the bulk
of the work cheaply.

References
----------
Y. Nesterov, "Smooth minimization of non-smooth functions",
Mathematical Programming 103, 127-152 (2005).
"""

import copy

import numpy as np

from ._base import BaseSolver, SolverResult
from ._exact_finish import exact_finish


class SmoothingContinuation(BaseSolver):
    r"""Run a smooth solver on smoothed losses with decreasing ``mu``.

    Each stage minimises the objective with the loss replaced by its
    smoothed surrogate :math:`\ell_\mu` (``loss.smoothed(mu)``), which
    lies on one side of it within :math:`\mu` (below for absolute, quantile,
    epsilon-insensitive and binary hinge, above for Crammer-Singer), so the
    objectives, whose loss term is a weighted *mean*, satisfy
    :math:`0 \le J - J_\mu \le \mu` (or :math:`0 \le J_\mu - J \le \mu`)
    everywhere. For the minimiser :math:`\theta_\mu` of :math:`J_\mu` this
    gives (Nesterov, 2005)

    .. math::
        J(\theta_\mu) - \min J \le \mu

    (:math:`2\mu` for a surrogate within :math:`\mu` on both sides). In
    practice the gap is much smaller, about ``mu * n_params / n_samples``
    (measured on diabetes and on the quantile benchmark), because only
    residuals inside the smoothed band around a kink feel the smoothing,
    and at the optimum of a piecewise-linear loss about ``n_params`` of them
    sit on a kink.

    Schedule:

    - ``mu_0 = 0.1 * J(x0)``: the surrogate is a tenth of the loss scale,
      well conditioned, so the first stage does most of the work cheaply;
    - ``mu`` shrinks by ``decrease`` per stage, each stage warm-started from
      the last;
    - the last stage has ``mu = rel_accuracy * J(x)`` (``J`` at the current
      point, floored at ``1e-3 * J(x0)`` so that an optimum at ``J = 0``
      does not ask for endless stages), which bounds the relative objective
      error by ``rel_accuracy`` plus the final stage's own optimisation error;
    - inner tolerances are looser early: stage ``k`` stops at
      ``tol * min(sqrt(mu_k / mu_final), 100)``, since an early stage only
      needs a good warm start for the next, and the final stage runs to ``tol``.

    The total iteration budget ``max_iter`` is shared by all stages. Every
    level and tolerance above is relative (to ``J``, and the inner solvers
    work in unit-free variables), so the schedule does not depend on the
    units of ``X`` or ``y``. The fit is converged when the final stage is;
    running out of ``max_iter`` before it is reported in ``message``.
    ``loss_curve`` holds the inner solver's curve on each stage, that is the
    smoothed objective :math:`J_\mu \in [J - \mu, J]`, followed by the true
    objective :math:`J` at the solution.

    A linear model of a piecewise-linear loss then ends on the optimum
    itself where it can be certified (:mod:`sklosses.solvers._exact_finish`):
    the last stage's dual point gives the partition whose linear system is
    the optimum, small programs are finished by the interior point, and the
    result is kept when its duality gap is within ``tol``; the fit is then
    converged, even if the stages ran out of ``max_iter``.

    Parameters
    ----------
    inner : BaseSolver
        The smooth solver of each stage: :class:`LBFGS` (also with an L1
        penalty, by variable splitting) or :class:`ProximalGradient`. Its
        ``max_iter``, ``tol`` and ``verbose`` are those of the continuation.
    decrease : float, default=10.0
        Factor by which ``mu`` shrinks between stages, > 1.
    rel_accuracy : float, default=None
        Relative accuracy guaranteed by the final smoothing level. None
        uses the inner solver's ``tol``, so that ``tol`` is both the
        gradient tolerance and the relative accuracy of the objective.

    References
    ----------
    .. [1] Y. Nesterov, "Smooth minimization of non-smooth functions",
       Mathematical Programming 103, 127-152 (2005).
    .. [2] S. Becker, J. Bobin and E. Candes, "NESTA: a fast and accurate
       first-order method for sparse recovery", SIAM J. Imaging Sciences
       4(1), 1-39 (2011) (continuation on the smoothing parameter).
    """

    handles_nonsmooth_loss = True

    def __init__(self, inner, *, decrease=10.0, rel_accuracy=None):
        super().__init__(max_iter=inner.max_iter, tol=inner.tol, verbose=inner.verbose)
        if not decrease > 1:
            raise ValueError(f"decrease must be > 1, got {decrease!r}.")
        self.inner = inner
        self.decrease = decrease
        self.rel_accuracy = rel_accuracy
        self.name = inner.name
        self.handles_nonsmooth_penalty = inner.handles_nonsmooth_penalty

    def solve(self, objective, x0, *, state=None, monitor=None):
        """Minimise ``objective`` from ``x0``.

        Parameters
        ----------
        objective : Objective
            Its loss provides ``smoothed(mu)`` when it is not smooth.
        x0 : ndarray of shape (n_params,)
            Starting point.

        Returns
        -------
        result : SolverResult
        """
        loss = objective.loss
        if loss.is_smooth:
            return self.inner.solve(objective, x0)
        x = np.asarray(x0, dtype=np.float64)
        accuracy = self.tol if self.rel_accuracy is None else self.rel_accuracy
        accuracy = max(accuracy, np.finfo(float).eps)
        start = _scale(objective, x)
        mu = 0.1 * start
        loss_curve, n_iter = [], 0
        while True:
            mu_final = accuracy * max(_scale(objective, x), 1e-3 * start)
            # mu_final follows J, which falls a little from stage to stage: a
            # level within 1 % of it is the last stage, not one more.
            last = mu <= mu_final * 1.01
            if last:
                mu = mu_final
            stage_solver = self._stage_solver(mu, mu_final, self.max_iter - n_iter)
            if self.verbose:
                print(f"Smoothing stage: mu = {mu:.3g}, tol = {stage_solver.tol:.3g}")
            stage = stage_solver.solve(objective.with_loss(loss.smoothed(mu)), x)
            x = stage.x
            n_iter += stage.n_iter
            loss_curve.extend(stage.loss_curve)
            if last or n_iter >= self.max_iter:
                break
            mu = max(mu / self.decrease, mu_final)
        value = objective.value(x)
        converged = last and stage.converged
        # A piecewise-linear loss: the optimum the point points to, exactly.
        finish = exact_finish(objective, x, value, loss.smoothed(mu), self.tol)
        if finish is not None:
            x, value, gap = finish
            loss_curve.append(value)
            return SolverResult(x=x, n_iter=max(n_iter, 1), loss_curve=loss_curve,
                                converged=True, message="", gap=gap)
        loss_curve.append(value)
        if not last:
            message = (f"it reached max_iter={self.max_iter} iterations at smoothing "
                       f"level mu={mu:.3g}, before the final level {mu_final:.3g}")
        elif not stage.converged and n_iter >= self.max_iter:
            # The stage's own message would name the stage's remaining budget.
            message = (f"it reached max_iter={self.max_iter} iterations (all smoothing "
                       f"stages together) in the final stage, mu={mu:.3g}")
        else:
            message = stage.message
        # J - J* <= mu (the surrogate's distance) + the last stage's own gap.
        gap = None
        if last and stage.gap is not None and np.isfinite(value) and value > 0:
            gap = mu / value + stage.gap
        return SolverResult(x=x, n_iter=max(n_iter, 1), loss_curve=loss_curve,
                            converged=converged, message=message, gap=gap)

    def _stage_solver(self, mu, mu_final, budget):
        """A copy of the inner solver with the stage's tolerance and budget."""
        solver = copy.copy(self.inner)
        solver.tol = self.tol * min(np.sqrt(mu / mu_final), 100.0)
        solver.max_iter = max(budget, 1)
        return solver


def _scale(objective, x):
    """Size of the objective, for relative smoothing levels (never zero)."""
    value = objective.value(x)
    if not np.isfinite(value) or value <= 0:
        return 1.0
    return float(value)

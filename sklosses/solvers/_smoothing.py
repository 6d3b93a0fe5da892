"""Continuation on Nesterov smoothing for non-smooth losses.

A non-smooth loss (absolute, quantile, epsilon-insensitive, hinge) gives a
smooth surrogate ``loss.smoothed(mu)`` within ``mu`` of it at every point.
Minimising the surrogate for a decreasing sequence of ``mu``, each stage
warm-started from the last, reaches the non-smooth optimum to within the final
``mu`` (Nesterov, 2005) while every stage stays well conditioned enough for a
smooth solver.

References
----------
Y. Nesterov, "Smooth minimization of non-smooth functions",
Mathematical Programming 103, 127-152 (2005).
"""

import numpy as np

from ._base import BaseSolver, SolverResult


class SmoothingContinuation(BaseSolver):
    """Run a smooth solver on smoothed losses with decreasing ``mu``.

    Parameters
    ----------
    inner : BaseSolver
        The smooth solver of each stage (L-BFGS or proximal gradient).
    decrease : float, default=10.0
        Factor by which ``mu`` shrinks between stages.
    rel_accuracy : float, default=1e-6
        The last stage has ``mu <= rel_accuracy * loss``, so the objective is
        within that relative accuracy of the non-smooth optimum.
    """

    handles_nonsmooth_loss = True

    def __init__(self, inner, *, decrease=10.0, rel_accuracy=1e-6):
        super().__init__(max_iter=inner.max_iter, tol=inner.tol, verbose=inner.verbose)
        self.inner = inner
        self.decrease = decrease
        self.rel_accuracy = rel_accuracy
        self.name = inner.name
        self.handles_nonsmooth_penalty = inner.handles_nonsmooth_penalty

    def solve(self, objective, x0):
        loss = objective.loss
        if loss.is_smooth:
            return self.inner.solve(objective, x0)
        x = np.asarray(x0, dtype=np.float64)
        scale = objective.data_loss(x)
        mu = 0.1 * scale if scale > 0 else 1.0
        loss_curve, n_iter, converged = [], 0, True
        while True:
            stage = self.inner.solve(objective.with_loss(loss.smoothed(mu)), x)
            x = stage.x
            n_iter += stage.n_iter
            loss_curve.extend(stage.loss_curve)
            converged = stage.converged
            data_loss = objective.data_loss(x)
            target = self.rel_accuracy * max(data_loss, 1e-12 * scale)
            # A zero loss (a perfect fit) is optimal whatever mu: stop there.
            if mu <= target or data_loss == 0 or n_iter >= self.max_iter:
                break
            mu = max(mu / self.decrease, target)
        return SolverResult(x=x, n_iter=n_iter, loss_curve=loss_curve,
                            converged=converged and n_iter < self.max_iter)

"""Full-batch L-BFGS through ``scipy.optimize.minimize``."""

import time

import numpy as np
from scipy.optimize import minimize

from ._base import BaseSolver, SolverResult


class LBFGS(BaseSolver):
    """Limited-memory BFGS on the smooth objective (scipy's L-BFGS-B).

    The objective hands value and gradient together (``jac=True``), so each
    iteration costs one forward and one backward pass per line-search trial.
    A non-finite objective value is turned into ``+inf`` so that the line
    search backs off its step instead of accepting it.

    Parameters
    ----------
    max_iter : int, default=500
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-4
        Stop when the largest absolute gradient entry falls below ``tol``
        (scipy's ``gtol``) or the relative decrease of J stalls.
    verbose : int, default=0
        Print one line per iteration when positive.
    """

    name = "lbfgs"

    def solve(self, objective, x0):
        loss_curve = []
        start = time.perf_counter()

        def fun(x):
            value, grad = objective.smooth_value_gradient(x)
            if not np.isfinite(value) or not np.all(np.isfinite(grad)):
                return np.inf, np.zeros_like(x)
            return value, grad.astype(np.float64, copy=False)

        def record(intermediate_result):
            loss_curve.append(float(intermediate_result.fun))
            if self.verbose:
                print(
                    f"Iteration {len(loss_curve)}, objective = {loss_curve[-1]:.8g}, "
                    f"time = {time.perf_counter() - start:.2f}s"
                )

        result = minimize(
            fun,
            np.asarray(x0, dtype=np.float64),
            jac=True,
            method="L-BFGS-B",
            callback=record,
            options={
                "maxiter": self.max_iter,
                "maxls": 50,
                "gtol": self.tol,
                "ftol": 64 * np.finfo(float).eps,
            },
        )
        n_iter = max(int(result.nit), 1)
        if not loss_curve:
            loss_curve.append(float(result.fun))
        converged = bool(result.success) or n_iter < self.max_iter
        return SolverResult(
            x=result.x, n_iter=n_iter, loss_curve=loss_curve, converged=converged
        )

"""Full-batch L-BFGS through ``scipy.optimize.minimize`` (L-BFGS-B).

An L1 part of the penalty is handled by variable splitting: each weight is
written ``w = u - v`` with ``u, v >= 0``, so that ``||w||_1 = sum(u + v)`` at
the optimum, a smooth function under bound constraints that L-BFGS-B handles
natively. Intercepts and biases are never split and stay unbounded.
"""

import time

import numpy as np
from scipy.optimize import Bounds, minimize

from ._base import BaseSolver, SolverResult


class LBFGS(BaseSolver):
    r"""Limited-memory BFGS on the objective (scipy's L-BFGS-B).

    The objective hands value and gradient together (``jac=True``), so each
    iteration costs one forward and one backward pass per line-search trial.
    A non-finite objective value is replaced by a finite value far above the
    best one seen, so that the line search backs off its step instead of
    accepting it (scipy's line search stalls on ``inf``).

    With an L1 part :math:`\lambda \|W\|_1` in the penalty, the weights are
    split into positive and negative parts, :math:`W = U - V` with
    :math:`U, V \ge 0`, and L-BFGS-B minimises

    .. math::
        f(U - V, b) + \lambda \textstyle\sum (U + V)

    over ``2 * n_weights + n_intercepts`` variables under the bounds. At the
    optimum no weight has both parts positive (lowering both would lower the
    objective), so :math:`\sum(U + V) = \|W\|_1` and the split problem has the
    same minimum as the original. Weights at zero sit exactly on their bounds,
    so the solution is exactly sparse, as with proximal gradient.

    Parameters
    ----------
    max_iter : int, default=500
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-4
        Stop when the largest absolute entry of the (projected) gradient
        falls below ``tol`` (scipy's ``gtol``) or the relative decrease of J
        stalls.
    verbose : int, default=0
        Print one line per iteration when positive.

    References
    ----------
    .. [1] R. H. Byrd, P. Lu, J. Nocedal and C. Zhu, "A limited memory
       algorithm for bound constrained optimization", SIAM J. Scientific
       Computing 16(5), 1190-1208 (1995).
    .. [2] M. Schmidt, G. Fung and R. Rosales, "Fast optimization methods for
       L1 regularization: a comparative study and two new approaches",
       ECML 2007 (the splitting ``w = u - v`` with bound constraints).
    """

    name = "lbfgs"
    handles_nonsmooth_penalty = True

    def solve(self, objective, x0, *, state=None, monitor=None):
        """Minimise ``objective`` from ``x0``.

        Parameters
        ----------
        objective : Objective
            Provides ``smooth_value_gradient``; its penalty's
            ``l1_strength`` (0 for a smooth penalty) selects the split.
        x0 : ndarray of shape (n_params,)
            Starting point.

        Returns
        -------
        result : SolverResult
        """
        x0 = np.asarray(x0, dtype=np.float64)
        l1 = _l1_strength(objective.penalty)
        problem = _SplitProblem(objective, l1) if l1 > 0 else _PlainProblem(objective)
        loss_curve = []
        start = time.perf_counter()

        def record(intermediate_result):
            loss_curve.append(float(intermediate_result.fun))
            if self.verbose:
                print(
                    f"Iteration {len(loss_curve)}, objective = {loss_curve[-1]:.8g}, "
                    f"time = {time.perf_counter() - start:.2f}s"
                )

        # Trial steps may overflow; the guard rejects them, so NumPy's warnings
        # about them would only alarm the user.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            result = self._minimize(problem, x0, record)
        n_iter = max(int(result.nit), 1)
        if not loss_curve:
            loss_curve.append(float(result.fun))
        converged = bool(result.success) or n_iter < self.max_iter
        return SolverResult(
            x=problem.to_params(result.x), n_iter=n_iter, loss_curve=loss_curve,
            converged=converged,
        )

    def _minimize(self, problem, x0, record):
        return minimize(
            problem.fun,
            problem.to_variables(x0),
            jac=True,
            method="L-BFGS-B",
            bounds=problem.bounds(x0.size),
            callback=record,
            options={
                "maxiter": self.max_iter,
                "maxls": 50,
                "gtol": self.tol,
                "ftol": 64 * np.finfo(float).eps,
            },
        )


def _l1_strength(penalty):
    """Coefficient of ``||W||_1`` in the penalty (0 for a smooth penalty)."""
    if penalty.is_smooth:
        return 0.0
    strength = getattr(penalty, "l1_strength", None)
    if strength is None:
        raise ValueError(
            f"solver='lbfgs' handles a non-smooth penalty only of the form "
            f"lambda * ||W||_1 (an 'l1_strength' attribute); {penalty!r} has none. "
            "Use solver='proximal', which needs only the penalty's prox."
        )
    return float(strength)


class _FiniteGuard:
    """Replace a non-finite objective by a finite value well above the best seen.

    scipy's line search cannot interpolate through ``inf`` (it then stops
    with a zero step and reports convergence); a finite value far above every
    value seen makes it shrink the step instead, which is the back-off wanted
    when a trial step overflows.
    """

    def __init__(self, objective):
        self.objective = objective
        self.best = None

    def __call__(self, value, grad):
        value = float(value)
        if np.isfinite(value) and np.all(np.isfinite(grad)):
            if self.best is None or value < self.best:
                self.best = value
            return value, grad.astype(np.float64, copy=False)
        if self.best is None:  # scipy evaluates the starting point first
            raise nonfinite_start_error(self.objective, "lbfgs")
        return self.best + 1e3 * (abs(self.best) + 1.0), np.zeros(grad.shape)


def nonfinite_start_error(objective, solver):
    """The error for an objective that is already non-finite at the start."""
    return FloatingPointError(
        f"The objective is not finite at the starting point (loss "
        f"{objective.loss!r}, solver {solver!r}): the initial parameters already "
        "overflow. Scale the features (e.g. StandardScaler), check the targets, or "
        "start from other parameters."
    )


class _PlainProblem:
    """The smooth objective as it is: variables are the parameters."""

    def __init__(self, objective):
        self.objective = objective
        self.guard = _FiniteGuard(objective)

    def fun(self, x):
        return self.guard(*self.objective.smooth_value_gradient(x))

    def to_variables(self, params):
        return params

    def to_params(self, variables):
        return variables

    def bounds(self, n_params):
        return None


class _SplitProblem:
    """The objective with an L1 part over ``[U, V, b]`` with ``U, V >= 0``.

    The weights are the first ``n_weights`` parameters (the model layout), so
    the variables are ``[U (n_weights), V (n_weights), rest]``.
    """

    def __init__(self, objective, l1):
        self.objective = objective
        self.l1 = l1
        self.n_weights = objective.weights_slice.stop
        self.guard = _FiniteGuard(objective)

    def to_variables(self, params):
        w = params[: self.n_weights]
        return np.concatenate([np.maximum(w, 0.0), np.maximum(-w, 0.0), params[self.n_weights :]])

    def to_params(self, variables):
        k = self.n_weights
        return np.concatenate([variables[:k] - variables[k : 2 * k], variables[2 * k :]])

    def bounds(self, n_params):
        k = self.n_weights
        lower = np.full(n_params + k, -np.inf)
        lower[: 2 * k] = 0.0
        return Bounds(lower, np.full(n_params + k, np.inf))

    def fun(self, variables):
        k = self.n_weights
        value, grad = self.objective.smooth_value_gradient(self.to_params(variables))
        value = value + self.l1 * float(variables[: 2 * k].sum())
        g_w = grad[:k]
        out = np.empty(variables.shape)
        out[:k] = g_w + self.l1
        out[k : 2 * k] = self.l1 - g_w
        out[2 * k :] = grad[k:]
        return self.guard(value, out)

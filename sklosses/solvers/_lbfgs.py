"""Full-batch L-BFGS through ``scipy.optimize.minimize`` (L-BFGS-B).

An L1 part of the penalty is handled by variable splitting: each weight is
written ``w = u - v`` with ``u, v >= 0``, so that ``||w||_1 = sum(u + v)`` at
the optimum, a smooth function under bound constraints that L-BFGS-B handles
natively. Intercepts and biases are never split and stay unbounded.
"""

import time

import numpy as np
from scipy.optimize import Bounds, minimize

from .._preconditioning import ScaledProblem
from ._base import BaseSolver, SolverResult
from ._stopping import ITERATION_LIMIT, LINE_SEARCH_FAILED, STALLED, stopping_verdict


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

    Units: L-BFGS minimises :math:`J(\theta(z)) / F` over variables
    ``z`` in which every column of ``X`` is standardised and every output is
    measured in its raw scale (an exact affine change of variables for a
    linear model, :class:`~sklosses._preconditioning.ScaledProblem`; an MLP
    keeps its hidden layers and has its output layer rescaled; :math:`F` is
    the loss of the best constant prediction). The optimum does
    not move; multiplying ``y`` or a feature by a constant changes the
    coefficients accordingly and nothing else.

    Parameters
    ----------
    max_iter : int, default=500
        Maximum number of L-BFGS iterations.
    tol : float, default=1e-4
        Relative tolerance, independent of the units of ``X`` and ``y``. The
        solver works in unit-free variables (see below) and stops when the
        largest entry of the projected gradient there is at most ``tol``
        (scipy's ``gtol``), which puts J well within ``tol`` of its optimum
        (relative). A stop for another reason (the relative decrease of J at
        rounding level, a failed line search) counts as converged only if that
        gradient is at most ``sqrt(tol)``; otherwise, or at ``max_iter``, the
        result is not converged and ``message`` says why.
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
            Provides ``smooth_value_gradient`` and ``value``; its penalty's
            ``l1_strength`` (0 for a smooth penalty) selects the split.
        x0 : ndarray of shape (n_params,)
            Starting point.

        Returns
        -------
        result : SolverResult
            ``loss_curve`` is ``J`` after each iteration; ``message`` says why
            the fit did not converge; ``gap`` is the estimate
            :math:`\\frac12 g^T H^{-1} g / \\tilde J` from L-BFGS's own
            inverse-Hessian approximation.
        """
        x0 = np.asarray(x0, dtype=np.float64)
        _check_l1_form(objective.penalty)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            scaled = ScaledProblem(objective, x0)
        return self.solve_scaled(scaled, scaled.to_variables(x0))

    def solve_scaled(self, scaled, z0, *, first_value=None):
        """Minimise a :class:`~sklosses._preconditioning.ScaledProblem` from ``z0``.

        The entry point of a solver that hands over a fit in its own scaled
        variables (Newton's fallback), so that both share one change of
        variables and one stopping test.

        Parameters
        ----------
        scaled : ScaledProblem
        z0 : ndarray of shape (n_params,)
            Starting variables.
        first_value : float, default=None
            The scaled objective the fit must improve on to count as having
            moved (the handing solver's start); None for the value at ``z0``.

        Returns
        -------
        result : SolverResult
            As :meth:`solve`; ``x`` in the objective's parameters.
        """
        # Trial steps may overflow; the guard rejects them, so NumPy's warnings
        # about them would only alarm the user.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            split = bool(np.any(scaled.l1_weights > 0))
            problem = _SplitProblem(scaled) if split else _PlainProblem(scaled)
            loss_curve = []
            start = time.perf_counter()

            def record(intermediate_result):
                loss_curve.append(scaled.unscale(
                    intermediate_result.fun, problem.to_params(intermediate_result.x)))
                if self.verbose:
                    print(
                        f"Iteration {len(loss_curve)}, objective = {loss_curve[-1]:.8g}, "
                        f"time = {time.perf_counter() - start:.2f}s"
                    )

            variables0 = problem.to_variables(np.asarray(z0, dtype=np.float64))
            result = self._minimize(problem, variables0, record)
        n_iter = max(int(result.nit), 1)
        if not loss_curve:
            loss_curve.append(scaled.unscale(result.fun, problem.to_params(result.x)))
        gradient = _projected_gradient(problem, result.x, result.jac)
        largest = float(np.max(np.abs(gradient), initial=0.0))
        converged, message = stopping_verdict(
            gradient=largest, tol=self.tol, reason=_stop_reason(result),
            improved=bool(result.fun < (problem.guard.first if first_value is None
                                         else first_value)),
            max_iter=self.max_iter,
        )
        return SolverResult(
            x=scaled.to_params(problem.to_params(result.x)), n_iter=n_iter,
            loss_curve=loss_curve, converged=converged, message=message,
            gap=_gap_estimate(result, gradient),
        )

    def _minimize(self, problem, x0, record):
        return minimize(
            problem.fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=problem.bounds(x0.size),
            callback=record,
            options={
                "maxiter": self.max_iter,
                # Enough evaluations for max_iter iterations with some
                # line-search trials each (scipy's default cap is 15000).
                "maxfun": max(15000, 20 * self.max_iter),
                "maxls": 50,
                # The problem is scaled (J starts at 1, unit-free variables),
                # so this absolute test on its gradient is a relative one.
                "gtol": self.tol,
                # scipy divides the decrease by max(|f|, 1), that is by 1 here
                # (J / F <= 1 from the best constant on): an absolute test, kept
                # at float64 rounding so that it never stops a fit whose J fell
                # far below F.
                # A float32 objective stalls by failing its line search.
                "ftol": 64 * np.finfo(float).eps,
            },
        )


def _stop_reason(result):
    """Why scipy's L-BFGS-B stopped, in the terms of :func:`stopping_verdict`."""
    if result.status == 1:  # iteration or evaluation limit
        return ITERATION_LIMIT
    if result.status == 0:
        # "CONVERGENCE: REL_REDUCTION_OF_F..." is a stall at rounding level;
        # the projected-gradient test is checked again by the verdict anyway.
        return STALLED
    return LINE_SEARCH_FAILED  # "ABNORMAL" and other failures


def _projected_gradient(problem, variables, grad):
    """The gradient with components pushing into an active bound removed."""
    grad = np.asarray(grad, dtype=np.float64)
    lower = problem.lower_bounds(variables.size)
    if lower is None:
        return grad
    return np.maximum(variables - grad, lower) - variables


def _gap_estimate(result, gradient):
    """``g^T H^{-1} g / 2`` relative to the scaled objective, when scipy gives ``H^{-1}``."""
    hess_inv = getattr(result, "hess_inv", None)
    if hess_inv is None or not np.isfinite(result.fun):
        return None
    decrement = 0.5 * float(gradient @ (hess_inv @ gradient))
    if not np.isfinite(decrement):
        return None
    return max(decrement, 0.0) / max(abs(float(result.fun)), np.finfo(float).tiny)


def _check_l1_form(penalty):
    """Refuse a non-smooth penalty that is not ``lambda * ||W||_1``."""
    if not penalty.is_smooth and getattr(penalty, "l1_strength", None) is None:
        raise ValueError(
            f"solver='lbfgs' handles a non-smooth penalty only of the form "
            f"lambda * ||W||_1 (an 'l1_strength' attribute); {penalty!r} has none. "
            "Use solver='proximal', which needs only the penalty's prox."
        )


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
        self.first = None  # the value at the start, which scipy evaluates first

    def __call__(self, value, grad):
        value = float(value)
        if np.isfinite(value) and np.all(np.isfinite(grad)):
            if self.first is None:
                self.first = value
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
    """The smooth scaled objective as it is: variables are its variables."""

    def __init__(self, scaled):
        self.guard = _FiniteGuard(scaled)
        self.scaled = scaled

    def fun(self, z):
        return self.guard(*self.scaled.smooth_value_gradient(z))

    def to_variables(self, z):
        return z

    def to_params(self, variables):
        return variables

    def bounds(self, n_variables):
        return None

    def lower_bounds(self, n_variables):
        return None


class _SplitProblem:
    """The scaled objective with a weighted L1 part over ``[U, V, b]``, ``U, V >= 0``.

    The weights are the first ``n_weights`` variables (the model layout), so
    the split variables are ``[U (n_weights), V (n_weights), rest]``; the L1
    part is ``sum(lambda * (U + V))`` with one ``lambda`` per weight (the
    scaled problem's ``l1_weights``).
    """

    def __init__(self, scaled):
        self.scaled = scaled
        self.n_weights = scaled.weights_slice.stop
        self.l1 = scaled.l1_weights[: self.n_weights]
        self.guard = _FiniteGuard(scaled)

    def to_variables(self, z):
        w = z[: self.n_weights]
        return np.concatenate([np.maximum(w, 0.0), np.maximum(-w, 0.0), z[self.n_weights :]])

    def to_params(self, variables):
        k = self.n_weights
        return np.concatenate([variables[:k] - variables[k : 2 * k], variables[2 * k :]])

    def lower_bounds(self, n_variables):
        lower = np.full(n_variables, -np.inf)
        lower[: 2 * self.n_weights] = 0.0
        return lower

    def bounds(self, n_variables):
        return Bounds(self.lower_bounds(n_variables), np.full(n_variables, np.inf))

    def fun(self, variables):
        k = self.n_weights
        value, grad = self.scaled.smooth_value_gradient(self.to_params(variables))
        value = value + float(self.l1 @ (variables[:k] + variables[k : 2 * k]))
        g_w = grad[:k]
        out = np.empty(variables.shape)
        out[:k] = g_w + self.l1
        out[k : 2 * k] = self.l1 - g_w
        out[2 * k :] = grad[k:]
        return self.guard(value, out)

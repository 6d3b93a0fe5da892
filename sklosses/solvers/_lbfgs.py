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
from .._threads import one_blas_thread
from ._base import BaseSolver, SolverResult
from ._decrement_check import hessian_is_cheap, relative_decrement
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
        (relative) on a well-conditioned problem. A stall (the relative
        decrease of J at rounding level) above that test restarts L-BFGS-B
        with an empty memory while restarts make progress. On a linear model
        whose loss has second derivatives the end point must also have half
        its Newton decrement at most ``tol`` times ``|J|`` (ill-conditioned
        raw columns defeat the gradient test): with few parameters L-BFGS
        goes on under a tighter gradient test until it has; on more, the
        decrement from conjugate gradients is only checked. A stop for
        another reason (a stall or failed line search) counts as converged
        only if that gradient is at most ``sqrt(tol)``; otherwise, or at
        ``max_iter``, or with the decrement above ``tol``, the result is not
        converged and ``message`` says why.
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
        return self.solve_scaled(scaled, scaled.to_variables(x0), check_decrement=True)

    def solve_scaled(self, scaled, z0, *, first_value=None, check_decrement=False):
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
        check_decrement : bool, default=False
            Also require the Newton decrement within ``tol`` where the Hessian
            is cheap (:meth:`_tighten_by_decrement`); :meth:`solve` asks for
            it, a handing solver that tests its own decrement (Newton) not.

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
            result, n_iter = self._minimize_restarting(problem, variables0, record,
                                                       self.tol, self.max_iter)
            decrement = None
            if check_decrement:
                result, n_iter, decrement = self._tighten_by_decrement(
                    problem, result, n_iter, record)
        n_iter = max(n_iter, 1)
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
        if converged and decrement is not None and decrement > _decrement_tol(self.tol):
            converged, message = False, _decrement_message(decrement, self.tol)
        return SolverResult(
            x=scaled.to_params(problem.to_params(result.x)), n_iter=n_iter,
            loss_curve=loss_curve, converged=converged, message=message,
            gap=decrement if decrement is not None else _gap_estimate(result, gradient),
        )

    def _tighten_by_decrement(self, problem, result, n_iter, record):
        """Go on below the gradient test until the Newton decrement is within ``tol``.

        The gradient test puts the objective within ``tol`` of its optimum
        only on a well-conditioned scaled problem. Where the Hessian is cheap
        (:func:`~sklosses.solvers._decrement_check.relative_decrement`), the
        end point is checked with it, and while the decrement promises more
        than ``tol`` (relative) L-BFGS goes on from there with a gradient
        test tightened by the square root of the excess (the decrement is
        quadratic in the gradient), a few times at most. On larger problems
        (the decrement from conjugate gradients) the check only measures, and
        a decrement above ``tol`` makes the fit not converged.

        Returns
        -------
        result : scipy.optimize.OptimizeResult
        n_iter : int
        decrement : float or None
            The relative decrement at the returned point; None when it was not
            measured (no cheap Hessian, or the gradient test not met).
        """
        largest = _largest_projected_gradient(problem, result)
        if largest > self.tol and _stop_reason(result) != STALLED:
            return result, n_iter, None  # not converged anyway: the verdict says why
        decrement = None
        # Going on costs L-BFGS iterations and a decrement each time: worth it
        # where the Hessian is formed (few parameters); beyond, the check
        # only reports, so that a large fit is not made many times slower.
        cheap = hessian_is_cheap(problem.scaled)
        for _ in range(_MAX_TIGHTENINGS + 1):
            largest = _largest_projected_gradient(problem, result)
            decrement = relative_decrement(problem.scaled, problem.to_params(result.x),
                                           result.fun, problem.guard.first,
                                           enough=_decrement_tol(self.tol))
            if (decrement is None or decrement <= _decrement_tol(self.tol)
                    or n_iter >= self.max_iter or not cheap):
                break
            gtol = largest * min(0.1, max(1e-3, np.sqrt(self.tol / decrement)))
            again, more = self._minimize_restarting(problem, result.x, record, gtol,
                                                    self.max_iter - n_iter)
            n_iter += max(more, 1)
            if not again.fun < result.fun:
                break  # no progress left at this precision
            result = again
        return result, n_iter, decrement

    def _minimize_restarting(self, problem, x0, record, gtol, budget):
        """L-BFGS-B from ``x0``, restarted where it stalls above the gradient test.

        L-BFGS-B stops when an iteration lowers the objective by a relative
        amount at rounding level. On ill-conditioned problems, most often
        under the bounds of the L1 split, that happens far from a stationary
        point: its curvature pairs no longer describe the objective and its
        steps shrink to nothing (raw features of ``copper``, ``cpunish`` or
        ``star98`` stopped 1e-4 to 1e-2 above the optimum, with a scaled
        gradient between ``tol`` and ``sqrt(tol)``). A fresh start from that
        point, with an empty memory, resumes the descent. Restarts go on while
        the last one lowered the objective by more than ``tol`` (relative)
        and iterations remain, so that a stall at rounding level costs one
        short restart; the iterations of every run count against ``budget``.

        Returns
        -------
        result : scipy.optimize.OptimizeResult
            The last run (the best point: each restart starts from the last).
        n_iter : int
            Iterations of all runs.
        """
        result = self._minimize(problem, x0, record, budget, gtol)
        n_iter = int(result.nit)
        while (_stop_reason(result) == STALLED and n_iter < budget
               and _largest_projected_gradient(problem, result) > gtol):
            again = self._minimize(problem, result.x, record, budget - n_iter, gtol)
            n_iter += max(int(again.nit), 1)
            decrease = result.fun - again.fun
            if again.fun < result.fun:
                result = again
            if not decrease > self.tol * abs(result.fun):
                break  # a stall at rounding level indeed
        return result, n_iter

    def _minimize(self, problem, x0, record, max_iter, gtol):
        # The evaluations of a blocked objective use no BLAS threads (compiled
        # loops, or products on 1 MB blocks that two threads did not speed
        # up), so L-BFGS-B's own small BLAS calls need none either.
        objective = getattr(problem.scaled, "objective", None)
        blocked = getattr(objective, "_block_rows", None) is not None
        with one_blas_thread(blocked):
            return self._scipy_minimize(problem, x0, record, max_iter, gtol)

    def _scipy_minimize(self, problem, x0, record, max_iter, gtol):
        return minimize(
            problem.fun,
            x0,
            jac=True,
            method="L-BFGS-B",
            bounds=problem.bounds(x0.size),
            callback=record,
            options={
                "maxiter": max_iter,
                # Enough evaluations for max_iter iterations with some
                # line-search trials each (scipy's default cap is 15000).
                "maxfun": max(15000, 20 * max_iter),
                "maxls": 50,
                # The problem is scaled (J starts at 1, unit-free variables),
                # so this absolute test on its gradient is a relative one.
                "gtol": gtol,
                # scipy divides the decrease by max(|f|, 1), that is by 1 here
                # (J / F <= 1 from the best constant on): an absolute test, kept
                # at float64 rounding so that it never stops a fit whose J fell
                # far below F.
                # A float32 objective stalls by failing its line search.
                "ftol": 64 * np.finfo(float).eps,
            },
        )


#: How many times the gradient test is tightened for the decrement check.
_MAX_TIGHTENINGS = 4


def _decrement_tol(tol):
    """``tol`` for the decrement, no tighter than float64 can resolve J."""
    return max(tol, _DECREMENT_ROUNDING)


#: A relative decrement at this level is rounding noise in J (1e4 machine epsilons).
_DECREMENT_ROUNDING = 1e4 * np.finfo(np.float64).eps


def _decrement_message(decrement, tol):
    """The warning for an end point whose Newton decrement stays above ``tol``."""
    return (f"the gradient test is met, but the Newton decrement puts the objective "
            f"{decrement:.3g} (relative) above its optimum, above tol={tol:g}: the "
            "problem is ill-conditioned in its scaled variables (collinear or "
            "uncentred columns). Fit an intercept or standardise the features, or "
            "choose solver='newton'")


def _stop_reason(result):
    """Why scipy's L-BFGS-B stopped, in the terms of :func:`stopping_verdict`."""
    if result.status == 1:  # iteration or evaluation limit
        return ITERATION_LIMIT
    if result.status == 0:
        # "CONVERGENCE: REL_REDUCTION_OF_F..." is a stall at rounding level;
        # the projected-gradient test is checked again by the verdict anyway.
        return STALLED
    return LINE_SEARCH_FAILED  # "ABNORMAL" and other failures


def _largest_projected_gradient(problem, result):
    """Largest entry of the projected gradient at a scipy result."""
    gradient = _projected_gradient(problem, result.x, result.jac)
    return float(np.max(np.abs(gradient), initial=0.0))


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

r"""Second-order solver: damped Newton with a line search.

Order of calls in one iteration (the objective does all the arithmetic on the
data; this module only combines numbers and small matrices):

1. ``objective.gradient_hessian(x)`` (few parameters: the Hessian as a
   matrix, solved by Cholesky) or ``objective.gradient_hessp(x)`` (many
   parameters: Hessian-vector products, solved by preconditioned conjugate
   gradients);
2. the Newton step :math:`\Delta = -H^{-1} g` and the Newton decrement
   :math:`\lambda^2 = -g^\top \Delta = g^\top H^{-1} g`;
3. stop when :math:`\lambda^2 / 2 \le \mathrm{tol} \cdot \max(|J|, \epsilon |J_0|)`;
4. otherwise a backtracking (Armijo) line search on
   ``objective.smooth_value_gradient`` along :math:`\Delta`.

:math:`\lambda^2 / 2` estimates :math:`J - J^*` for a self-concordant or
nearly quadratic objective and is invariant under affine changes of the
parameters, so the rule does not depend on the units of ``X``; dividing by
:math:`|J|` removes the units of ``y``. After a full step, the decrement at
the new point is first estimated with the previous Hessian's factorisation
(exact for a quadratic objective, such as squared error with L2, which then
stops after one step, as Ridge's Cholesky solver), so that the last Hessian
is never formed for nothing.
"""

import numpy as np

from ._base import BaseSolver, SolverResult
from ._cd import proximal_newton_direction
from ._factor import Factor, singular_threshold
from ._lbfgs import nonfinite_start_error

# Armijo's sufficient decrease constant and the most backtracking steps.
_ARMIJO = 1e-4
_MAX_BACKTRACK = 60
_EPS = np.finfo(np.float64).eps
# A line search step below this means the Newton model is far off: fall back.
_FALLBACK_STEP = 0.05
# Below this relative gap the final step of _polish is not worth its pass.
_POLISH_BELOW = 1e-12


class Newton(BaseSolver):
    r"""Newton's method for smooth objectives of linear models.

    With at most ``max_cholesky_params`` parameters, Newton-Cholesky: the
    Hessian :math:`X^\top D X + \alpha I` is formed (one pass of
    :math:`n p^2` operations, a symmetric rank-k update) and factorised.
    With more, Hessian-free Newton-CG: the step solves :math:`H \Delta = -g`
    by conjugate gradients preconditioned by the Hessian's diagonal, each
    product costing one forward and one backward pass, to a relative
    residual that tightens as the fit converges (Eisenstat-Walker).

    With an L1 part (lasso, elastic net), proximal Newton: each step
    minimises the quadratic model of the smooth part plus the L1 norm by
    coordinate descent on a working set
    (:func:`~sklosses.solvers._cd.proximal_newton_direction`), and the fit
    stops when that model promises a decrease of at most ``tol * |J|``.

    Both search along the step with Armijo backtracking (quadratic
    interpolation, safeguarded), which globalises the method; when the
    search has to shrink the step below 1/20 (or finds no decrease), the
    quadratic model is far off and the fit goes on with L-BFGS from there,
    as scikit-learn's Newton solvers do. An indefinite
    or singular Hessian (focal loss, Tweedie with power < 1, Huber with every
    residual in its linear zone) is damped until its factorisation succeeds,
    and Newton-CG stops its inner iteration at directions of non-positive
    curvature. Generalised Hessians of losses with kinks in their second
    derivative (Huber, squared hinge, modified Huber) make this a
    semismooth Newton method.

    Parameters
    ----------
    max_iter : int, default=100
        Maximum number of Newton iterations.
    tol : float, default=1e-4
        Stop when half the Newton decrement is at most ``tol`` times the
        objective: the objective is then within about ``tol`` (relative) of
        its optimum.
    verbose : int, default=0
        Print one line per iteration when positive.
    max_cholesky_params : int, default=200
        Largest number of parameters solved by Cholesky; more take
        Newton-CG. A Hessian of ``P`` parameters costs ``n P^2 / 2``
        multiply-adds and a Hessian-vector product ``2 n P``. Measured on
        binary log loss, n=20 000 (one thread, loaded machine): P=101,
        Cholesky 0.10 s against Newton-CG 0.15 s; P=401, 0.59 s against
        0.40 s; the ratio grows linearly in P, crossing 1 between 150 and 270.
        A loss with a constant Hessian (squared error) takes Cholesky up to
        1000 parameters: it forms the Hessian once. The L1 path always forms
        the Hessian.

    Attributes
    ----------
    name : str
        ``"newton"``.

    References
    ----------
    .. [1] J. Nocedal and S. J. Wright, "Numerical Optimization", 2nd ed.,
       Springer 2006: chapters 3 (line search), 6 (Newton-CG) and 7.
    .. [2] S. Boyd and L. Vandenberghe, "Convex Optimization", Cambridge
       University Press 2004, section 9.5.1 (the Newton decrement).
    .. [3] S. C. Eisenstat and H. F. Walker, "Choosing the forcing terms in an
       inexact Newton method", SIAM J. Sci. Comput. 17(1), 16-32 (1996).

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses import LossRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 3))
    >>> y = X @ [1.0, -2.0, 0.5] + 0.1 * rng.normal(size=100)
    >>> est = LossRegressor(solver="newton", alpha=1e-3).fit(X, y)
    >>> est.n_iter_  # squared error with L2: one exact step
    1
    """

    name = "newton"
    linear_only = True
    accepts_smoothing = False
    handles_nonsmooth_penalty = True
    required_loss_methods = ("gradient_hessian",)

    def __init__(self, *, max_iter=100, tol=1e-4, verbose=0, max_cholesky_params=200):
        super().__init__(max_iter=max_iter, tol=tol, verbose=verbose)
        self.max_cholesky_params = max_cholesky_params

    def solve(self, objective, x0, *, state=None, monitor=None):
        """Minimise ``objective`` from ``x0``.

        Parameters
        ----------
        objective : Objective
            Provides ``gradient_hessian`` or ``gradient_hessp`` and
            ``smooth_value_gradient``; its penalty must be smooth (the
            estimators check this before calling).
        x0 : ndarray of shape (n_params,)
            Starting point.
        state, monitor : None
            Unused (full-batch solver).

        Returns
        -------
        result : SolverResult
            ``gap`` is half the last Newton decrement over ``|J|``.
        """
        x = np.array(x0, dtype=np.float64)
        if not objective.penalty.is_smooth:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return self._iterate_proximal(objective, x)
        # A constant Hessian is formed once for the whole fit (one exact
        # step), which pays off far beyond the usual limit.
        constant = getattr(objective.loss, "has_constant_hessian", False)
        limit = max(self.max_cholesky_params, 1000) if constant else self.max_cholesky_params
        if x.size <= limit:
            step_rule = _CholeskyStep(objective)
        else:
            step_rule = _ConjugateGradientStep(objective)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return self._iterate(objective, x, step_rule)

    def _iterate(self, objective, x, step_rule):
        value, grad = step_rule.evaluate(x)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            raise nonfinite_start_error(objective, self.name)
        # |J| is the scale; eps |J_0| stands in for it when J* = 0 (a perfect fit).
        floor = max(_EPS * abs(value), np.finfo(float).tiny)
        loss_curve, message, converged = [], "", False
        n_iter, step = 0, None
        while True:
            step, decrement = step_rule.direction(grad)
            gap = 0.5 * decrement / max(abs(value), floor)
            if gap <= self.tol:
                converged = True
                break
            if n_iter == self.max_iter:
                message = (f"the iteration limit max_iter={self.max_iter} was reached "
                           f"(relative Newton decrement {gap:.3g} > tol={self.tol:g})")
                break
            n_iter += 1
            accepted = _line_search(objective, x, value, grad, step, decrement)
            if accepted is None and gap <= 1e3 * _EPS:
                # No decrease possible: the decrement is at the rounding level of J.
                converged, step = True, None
                break
            if accepted is None or accepted[3] < _FALLBACK_STEP:
                # The quadratic model is far off (a nearly linear region, such
                # as a log-link deviance far from its optimum): L-BFGS, which
                # learns the curvature it meets, goes on from here.
                start = x if accepted is None else accepted[0]
                return self._fall_back(objective, start, n_iter, loss_curve)
            x, value, grad, t = accepted
            loss_curve.append(value)
            if self.verbose:
                print(f"Iteration {n_iter}, objective = {value:.8g}, step = {t:.3g}, "
                      f"decrement = {gap:.3g}")
            if t == 1.0:
                # Full steps: the fit is in Newton's quadratic phase, where the
                # last Hessian measures the decrement here too, for free.
                estimate = step_rule.decrement_with_previous(grad)
                if estimate is not None and 0.5 * estimate <= self.tol * max(abs(value), floor):
                    step, gap, converged = step_rule.direction(grad)[0], 0.5 * estimate / max(
                        abs(value), floor), True
                    break
            value, grad = step_rule.evaluate(x)
        if converged and step is not None:
            # One more step from the Hessian at hand costs one evaluation and,
            # Newton's convergence being quadratic, leaves J within about
            # gap**2 of its optimum instead of gap.
            x, value, gap = _polish(objective, step_rule, x, value, grad, step, gap, floor)
            if loss_curve:
                loss_curve[-1] = value
        if not loss_curve:
            loss_curve.append(value)
        return SolverResult(x=x, n_iter=max(n_iter, 1), loss_curve=loss_curve,
                            converged=converged, message=message, gap=gap)

    def _iterate_proximal(self, objective, x):
        """Proximal Newton for an L1 part: coordinate descent steps, Armijo search.

        Stops when the model decrease ``-m(d)`` (see
        :func:`~sklosses.solvers._cd.proximal_newton_direction`) is at most
        ``tol * |J|``, then takes that last step when it lowers J.
        """
        l1 = float(objective.penalty.l1_strength)
        penalised = np.zeros(x.size, dtype=bool)
        penalised[objective.weights_slice] = True

        def total(params):
            value, grad = objective.smooth_value_gradient(params)
            return float(value) + objective.nonsmooth_value(params), grad

        value, grad, hessian = objective.gradient_hessian(x)
        value = float(value) + objective.nonsmooth_value(x)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            raise nonfinite_start_error(objective, self.name)
        floor = max(_EPS * abs(value), np.finfo(float).tiny)
        loss_curve, n_iter, converged, message = [], 0, False, ""
        while True:
            d, model, directional = proximal_newton_direction(
                grad.astype(np.float64), hessian, x, l1, penalised)
            gap = -model / max(abs(value), floor)
            if gap <= self.tol or n_iter == self.max_iter:
                converged = gap <= self.tol
                if converged:  # the last step, when it lowers J (cf. _polish)
                    new_value, _ = total(x + d)
                    if np.isfinite(new_value) and new_value <= value:
                        x, value = x + d, new_value
                else:
                    message = (f"the iteration limit max_iter={self.max_iter} was "
                               f"reached (relative model decrease {gap:.3g} > "
                               f"tol={self.tol:g})")
                break
            n_iter += 1
            t, accepted = 1.0, None
            for _ in range(_MAX_BACKTRACK):
                new_value, new_grad = total(x + t * d)
                if np.isfinite(new_value) and new_value <= value + _ARMIJO * t * directional:
                    accepted = x + t * d
                    break
                t *= 0.5
            if accepted is None or t < _FALLBACK_STEP:
                if accepted is None and gap <= 1e3 * _EPS:
                    converged = True
                    break
                return self._fall_back(objective, x if accepted is None else accepted,
                                       n_iter, loss_curve)
            x, value = accepted, new_value
            loss_curve.append(value)
            if self.verbose:
                print(f"Iteration {n_iter}, objective = {value:.8g}, step = {t:.3g}, "
                      f"model decrease = {gap:.3g}")
            value_smooth, grad, hessian = objective.gradient_hessian(x)
            value = float(value_smooth) + objective.nonsmooth_value(x)
        if not loss_curve:
            loss_curve.append(value)
        elif converged:
            loss_curve[-1] = value
        return SolverResult(x=x, n_iter=max(n_iter, 1), loss_curve=loss_curve,
                            converged=converged, message=message, gap=gap)

    def _fall_back(self, objective, x, n_iter, loss_curve):
        """Finish with L-BFGS from ``x`` within the remaining iterations."""
        from ._lbfgs import LBFGS  # noqa: PLC0415 - the module imports this one

        remaining = max(self.max_iter - n_iter, 1)
        if self.verbose:
            print(f"Newton steps stalled after {n_iter} iterations; going on with L-BFGS")
        rest = LBFGS(max_iter=remaining, tol=self.tol, verbose=self.verbose).solve(
            objective, x)
        message = rest.message
        if not rest.converged and not message:
            message = (f"neither Newton ({n_iter} iterations, stalled line search) nor "
                       f"L-BFGS after it ({rest.n_iter} iterations) met tol={self.tol:g}")
        return SolverResult(x=rest.x, n_iter=n_iter + rest.n_iter,
                            loss_curve=list(loss_curve) + list(rest.loss_curve),
                            converged=rest.converged, message=message, gap=rest.gap)


def _polish(objective, step_rule, x, value, grad, step, gap, floor):
    """The full step if it lowers J: ``(x, value, gap)`` after it, or unchanged.

    Skipped when the gap is already below what the step could improve (an
    exact quadratic, such as squared error with L2, after its one step).
    """
    if gap <= _POLISH_BELOW:
        return x, value, gap
    trial = x + step
    new_value, new_grad = objective.smooth_value_gradient(trial)
    if not (np.isfinite(new_value) and new_value <= value):
        return x, value, gap
    estimate = step_rule.decrement_with_previous(new_grad.astype(np.float64))
    if estimate is not None:
        gap = 0.5 * max(estimate, 0.0) / max(abs(new_value), floor)
    return trial, float(new_value), gap


def _line_search(objective, x, value, grad, step, decrement):
    """Armijo backtracking along ``step``: ``(x, value, grad, t)`` or None.

    ``decrement = -grad @ step > 0``. Trial steps shrink by quadratic
    interpolation of the objective along the step, kept within
    ``[0.1 t, 0.5 t]``.
    """
    slope = -decrement
    t = 1.0
    for _ in range(_MAX_BACKTRACK):
        trial = x + t * step
        new_value, new_grad = objective.smooth_value_gradient(trial)
        if np.isfinite(new_value) and new_value <= value + _ARMIJO * t * slope \
                and np.all(np.isfinite(new_grad)):
            return trial, float(new_value), new_grad.astype(np.float64), t
        if np.isfinite(new_value):
            curvature = new_value - value - slope * t
            shrink = -slope * t / (2 * curvature) if curvature > 0 else 0.1
            t *= min(max(shrink, 0.1), 0.5)
        else:
            t *= 0.1
    return None


class _CholeskyStep:
    """Newton steps from the factorised Hessian matrix (see ``_factor.Factor``).

    Directions without curvature found at one iterate (a symmetry of the
    objective, such as the softmax's common shift of the intercepts) are
    kept for the next ones, so that their factorisation stays a Cholesky.
    """

    def __init__(self, objective):
        self.objective = objective
        self.factor = None
        self.hessian = None
        self.null = None

    def evaluate(self, x):
        value, grad, hessian = self.objective.gradient_hessian(x)
        self.hessian = hessian
        self.factor = None
        return value, grad.astype(np.float64)

    def direction(self, grad):
        if self.factor is None:
            self.factor = Factor(self.hessian, self.null,
                                 singular=singular_threshold(self.objective.model.dtype))
            self.null = self.factor.null
        step = -self.factor.solve(grad)
        return step, float(-grad @ step)

    def decrement_with_previous(self, grad):
        if self.factor is None:
            return None
        return float(grad @ self.factor.solve(grad))


class _ConjugateGradientStep:
    """Inexact Newton steps by preconditioned conjugate gradients."""

    def __init__(self, objective):
        self.objective = objective
        self.product = None
        self.first_grad_norm = None

    def evaluate(self, x):
        value, grad, self.product = self.objective.gradient_hessp(x)
        return value, grad.astype(np.float64)

    def direction(self, grad):
        norm = float(np.linalg.norm(grad))
        if self.first_grad_norm is None:
            self.first_grad_norm = norm
        forcing = min(0.5, np.sqrt(norm / max(self.first_grad_norm, np.finfo(float).tiny)))
        diag = self.product.diagonal()
        step = _preconditioned_cg(self.product, grad, 1.0 / np.where(diag > 0, diag, 1.0),
                                  forcing, max_iter=max(20, 2 * int(np.sqrt(grad.size))))
        return step, float(-grad @ step)

    def decrement_with_previous(self, grad):
        return None  # no factorisation to reuse: the next iteration measures it


def _preconditioned_cg(hessp, grad, inverse_diag, forcing, max_iter):
    """Approximate ``-H^{-1} grad`` by conjugate gradients.

    Stops when the preconditioned residual is below ``forcing`` times its
    start, or at the first direction of non-positive curvature (then the
    iterate so far, or the preconditioned steepest descent step at once).
    """
    x = np.zeros_like(grad)
    r = -grad
    z = inverse_diag * r
    d = z.copy()
    rz = float(r @ z)
    target = forcing * forcing * rz
    for _ in range(max_iter):
        Hd = hessp(d)
        curvature = float(d @ Hd)
        if curvature <= 0 or not np.isfinite(curvature):
            return x if np.any(x) else z
        step = rz / curvature
        x += step * d
        r -= step * Hd
        z = inverse_diag * r
        rz_new = float(r @ z)
        if rz_new <= target:
            break
        d *= rz_new / rz
        d += z
        rz = rz_new
    return x


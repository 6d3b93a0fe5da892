r"""Second-order solver: damped Newton with a line search, in unit-free variables.

Newton runs on :class:`~sklosses._preconditioning.ScaledProblem`, as L-BFGS
and proximal gradient do: the objective divided by the loss :math:`F` of the
best constant prediction, in variables ``z`` where every column of ``X`` is
standardised and every output measured in its raw scale (an exact affine map
:math:`\theta = \theta_{\mathrm{ref}} + M z`, whose Hessian is
:math:`M^\top H M / F`). Order of calls in one iteration (the objective does
all the arithmetic on the data; this module only combines numbers and small
matrices):

1. ``problem.gradient_hessian(z)`` (few parameters: the Hessian as a
   matrix, solved by Cholesky), ``problem.gradient_hessian_blocks(z)``
   (outputs that are independent problems: one matrix and one Cholesky per
   output, :mod:`~sklosses.solvers._block_step`) or ``problem.gradient_hessp(z)`` (many
   parameters: Hessian-vector products, solved by preconditioned conjugate
   gradients);
2. the Newton step :math:`\Delta = -H^{-1} g` and the Newton decrement
   :math:`\lambda^2 = -g^\top \Delta = g^\top H^{-1} g`;
3. stop when the largest entry of the scaled gradient is at most ``tol``
   (the test of L-BFGS, :func:`~sklosses.solvers._stopping.stopping_verdict`)
   and half the decrement is at most ``tol`` times :math:`|\tilde J|`
   (:math:`\lambda^2 / 2` estimates :math:`\tilde J - \tilde J^*` and does not
   depend on the variables, so an ill-conditioned problem, whose gradient can
   be small far from the optimum, is not stopped early), provided the full
   step :math:`\Delta` lowers :math:`\tilde J` by its predicted
   :math:`\lambda^2 / 2` to within half of it (one evaluation, which is also
   the final step): the decrement is the gap of the quadratic model, and
   the step checks that model where it is used (:func:`_polish`);
4. otherwise a backtracking (Armijo) line search on
   ``problem.smooth_value_gradient`` along :math:`\Delta` (from that
   evaluation, when the check failed).

After a full step, both tests are first made with the gradient the line
search returned and the previous Hessian's factorisation (exact for a
quadratic objective, such as squared error with L2, which then stops after
one step, as Ridge's Cholesky solver), so that the last Hessian is never
formed for nothing; when only the gradient test is left then, up to three
more steps with that factorisation (one evaluation each) usually meet it.
Why a fit did not converge, and its remedy, come from ``stopping_verdict``,
the same sentences as L-BFGS's.
"""

import numpy as np

from .._lagged_hessian import LaggedFeatureHessian
from .._preconditioning import ScaledProblem
from ._base import BaseSolver, SolverResult
from ._block_step import OutputBlocksStep, output_blocks
from ._cd import proximal_newton_direction
from ._factor import Factor, null_space_step, objective_rounding, singular_threshold
from ._lbfgs import nonfinite_start_error
from ._stopping import (
    ITERATION_LIMIT,
    LINE_SEARCH_FAILED,
    STALLED,
    model_predicts,
    stopping_verdict,
)
from ._working_set import violations, working_set_proximal_newton

# Armijo's sufficient decrease constant and the most backtracking steps.
_ARMIJO = 1e-4
_MAX_BACKTRACK = 60
_EPS = np.finfo(np.float64).eps
# A line search step below this means the Newton model is far off: fall back.
_FALLBACK_STEP = 0.05
# At most this many steps with the previous factor once only the gradient
# test is left, each to cut the largest gradient entry by this factor.
_CHORD_STEPS = 3
_CHORD_CONTRACTION = 0.25
# Below this relative gap the final step of _polish is not worth its pass.
_POLISH_BELOW = 1e-12
# A polish whose step shrinks the model gap less than this (relative) is
# not in Newton's quadratic phase (see _polish).
_POLISH_CONTRACTION = 0.25


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
    minimises the quadratic model of the smooth part plus the L1 norm, and
    the fit stops when that model promises a decrease of at most
    ``tol * |J|`` and the minimum-norm subgradient is at most ``tol`` (in
    the scaled variables, where the L1 part is a weighted L1 norm). On a
    linear model the Hessian is formed on a working set of features only
    (the non-zero weights and the worst violators, grown until the full
    problem's test passes) and kept from one iteration to the next while
    the steps contract (:mod:`~sklosses.solvers._working_set`); elsewhere
    the model is minimised by coordinate descent on the full Hessian
    (:func:`~sklosses.solvers._cd.proximal_newton_direction`). Measured on
    cold fits of L1 logistic (n=5000, p=200, one thread), the working set
    took 1.5-4x L-BFGS's time, so ``solver="auto"`` keeps L-BFGS there;
    its gain is on regularisation paths (:mod:`sklosses._path`).

    Both search along the step with Armijo backtracking (quadratic
    interpolation, safeguarded), which globalises the method; when the
    search has to shrink the step below 1/20 (or finds no decrease), the
    quadratic model is far off and the fit goes on with L-BFGS from there,
    as scikit-learn's Newton solvers do, on the same scaled problem; once
    L-BFGS has converged, Newton takes over again for its decrement test.
    So does a zero Newton step while the gradient is above ``tol`` (no
    curvature along it). An indefinite
    or singular Hessian (focal loss, Tweedie with power < 1, Huber with every
    residual in its linear zone) is damped until its factorisation succeeds,
    and Newton-CG stops its inner iteration at directions of non-positive
    curvature. Generalised Hessians of losses with kinks in their second
    derivative (Huber, squared hinge, modified Huber) make this a
    semismooth Newton method.

    A stall on the rounding of J (float32 above all: on raw columns its last
    steps' decreases drown in it short of the optimum) with the decrement
    still above ``tol`` is reported as not converged, with the remedy.

    Parameters
    ----------
    max_iter : int, default=100
        Maximum number of Newton iterations.
    tol : float, default=1e-4
        Relative tolerance, independent of the units of ``X`` and ``y`` and
        the same as L-BFGS's: in the unit-free variables of
        :class:`~sklosses._preconditioning.ScaledProblem`, stop when the
        largest entry of the gradient (with an L1 part: of its minimum-norm
        subgradient) is at most ``tol`` and half the Newton decrement (the
        model decrease) is at most ``tol`` times the objective, which then is
        within about ``tol`` (relative) of its optimum; for a smooth penalty,
        where the full Newton step achieves that decrease to within half of
        it (else the model, hence its decrement, is off there).
    verbose : int, default=0
        Print one line per iteration when positive.
    max_cholesky_params : int, default=200
        Largest number of parameters solved by Cholesky; more take
        Newton-CG. A problem that splits into one per output (a loss with
        ``outputs_independent``, such as one-vs-rest squared hinge, and a
        linear model) factorises one block per output, and the limit
        applies to a block's ``n_features + 1`` parameters. A Hessian of
        ``P`` parameters costs ``n P^2 / 2``
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
        x0 = np.array(x0, dtype=np.float64)
        # One factor F for all outputs: the Hessian is then the objective's.
        # Its first call is gradient_hessian: no value at x0 from the column pass.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            problem = ScaledProblem(objective, x0, balance_outputs=False,
                                    first_evaluation=False)
        return self.solve_scaled(problem, x0)

    def solve_scaled(self, problem, x0, *, lagged_hessian=None):
        """Minimise a :class:`~sklosses._preconditioning.ScaledProblem` from ``x0``.

        What :meth:`solve` does once it has built the scaled problem; a
        caller that keeps one (a regularisation path, which reuses its
        column moments from one alpha to the next through ``like=``) calls
        this directly. It must have been built with ``balance_outputs=False``.

        Parameters
        ----------
        problem : ScaledProblem
        x0 : ndarray of shape (n_params,)
            Starting parameters.
        lagged_hessian : LaggedFeatureHessian, optional
            With an L1 part on a linear model: the working set's Hessian
            blocks kept from an earlier fit on the same data
            (:mod:`sklosses._lagged_hessian`), used until a step asks for a
            fresh one.

        Returns
        -------
        result : SolverResult
        """
        objective = problem.objective
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            z = problem.to_variables(np.asarray(x0, dtype=np.float64))
            if not objective.penalty.is_smooth:
                return self._iterate_proximal(problem, z, lagged_hessian)
            # A constant Hessian is formed once for the whole fit (one exact
            # step), which pays off far beyond the usual limit.
            constant = getattr(objective.loss, "has_constant_hessian", False)
            limit = (max(self.max_cholesky_params, 1000) if constant
                     else self.max_cholesky_params)
            blocks = output_blocks(objective)
            if blocks is not None and blocks.shape[1] <= limit:
                # K independent problems: one Cholesky per output's block.
                step_rule = OutputBlocksStep(problem, blocks)
            elif z.size <= limit:
                step_rule = _CholeskyStep(problem)
            else:
                step_rule = _ConjugateGradientStep(problem)
            return self._iterate(problem, z, step_rule)

    def _converged(self, largest, gap):
        """The stopping test: scaled gradient and relative decrement within tol."""
        return largest <= self.tol and gap <= self.tol

    def _verdict(self, largest, gap, reason, improved, dtype=np.float64):
        """``(converged, message)`` of a fit that did not stop on its own tests.

        :func:`~sklosses.solvers._stopping.stopping_verdict`, L-BFGS's, looks
        at the gradient alone; at the iteration limit Newton's stop needs its
        decrement (and the model's check of it) too, so a gradient within
        ``tol`` there is not convergence; nor is a stall on rounding (or a
        failed line search) with the decrement above ``tol``, whose remedy
        depends on the objective's ``dtype``.
        """
        if reason == ITERATION_LIMIT and largest <= self.tol:
            where = (f"it reached max_iter={self.max_iter} iterations; the largest entry "
                     f"of the scaled gradient is within tol={self.tol:g}")
            if gap > self.tol:
                why = (f"but half the Newton decrement is {gap:.3g} of the objective, "
                       "above tol")
            else:
                why = (f"and half the Newton decrement ({gap:.3g} of the objective) too, "
                       "but the full Newton step does not lower the objective as the "
                       "quadratic model predicts, so the decrement does not bound the "
                       "distance to the optimum there")
            return False, f"{where}, {why}. Increase max_iter or loosen tol"
        converged, message = stopping_verdict(gradient=largest, tol=self.tol, reason=reason,
                                              improved=improved, max_iter=self.max_iter)
        if converged and reason in (STALLED, LINE_SEARCH_FAILED) \
                and gap > max(self.tol, 1e3 * _EPS):  # beyond the decrement's rounding
            # The descent ended on rounding with the quadratic model still
            # promising more than tol: the gradient test alone was met short
            # of the optimum (float32 raw wine, one-vs-rest squared hinge at
            # alpha=1e-6: gradient 1.5e-6, decrement 3.6e-2, 2.3e-2 above J*).
            where = (f"the objective stopped decreasing at rounding level with half the "
                     f"Newton decrement {gap:.3g} of the objective, above tol={self.tol:g}")
            if np.dtype(dtype) != np.float64:
                return False, (f"{where}: {np.dtype(dtype).name} arithmetic cannot resolve "
                               "the remaining decrease. Fit in float64 (pass "
                               "X.astype(np.float64)) or standardise the features")
            return False, f"{where}. Standardise the features, or loosen tol"
        return converged, message

    def _iterate(self, problem, z, step_rule, *, budget=None, first=None,
                 may_fall_back=True):
        """Newton iterations from ``z``, at most ``budget`` (default ``max_iter``).

        ``first`` is the scaled objective at the fit's start (default: at
        ``z``); ``may_fall_back=False`` marks the phase after L-BFGS, which
        stops where it would hand over again.
        """
        budget = self.max_iter if budget is None else budget
        value, grad = step_rule.evaluate(z)
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            raise nonfinite_start_error(problem, self.name)
        first = value if first is None else first
        # |J| is the scale; eps |J_0| stands in for it when J* = 0 (a perfect fit).
        floor = max(_EPS * abs(value), np.finfo(float).tiny)
        loss_curve, reason, converged = [], None, False
        n_iter, step, known = 0, None, None
        while True:
            step, decrement = step_rule.direction(grad)
            gap = 0.5 * decrement / max(abs(value), floor)
            largest = float(np.max(np.abs(grad), initial=0.0))
            if self._converged(largest, gap):
                # Both tests hold if the quadratic model does: its full step
                # checks it (one evaluation, the polish when it holds).
                polished, known = _polish(problem, step_rule, z, value, step, gap, floor,
                                          grad)
                if polished is not None:
                    z, value, gap = polished
                    converged = True
                    break
            if n_iter == budget:
                reason = ITERATION_LIMIT
                break
            if gap <= 1e3 * _EPS and largest > self.tol:
                # The Hessian sees no decrease where the gradient asks for
                # more (no curvature along it: Huber with every residual in
                # its linear zone and no penalty, a log-link deviance whose
                # curvature underflows, or rounding): L-BFGS, from here, in
                # the same variables and with the same verdict.
                if not may_fall_back:
                    reason = STALLED
                    break
                return self._fall_back(problem, z, n_iter, loss_curve, first, step_rule)
            n_iter += 1
            accepted = None
            if isinstance(step_rule, OutputBlocksStep):
                # K decoupled problems: each output's step length its own, so
                # that one output far from its quadratic phase does not damp
                # the others' full steps (one-vs-rest modified Huber on raw
                # digits ended 1.9e-4 above its optimum, the steps of all ten
                # outputs cut to 0.1 for fifty iterations).
                accepted = _blockwise_line_search(problem, step_rule.indices, z, value,
                                                  grad, step)
            if accepted is None:
                accepted = _line_search(problem, z, value, grad, step, decrement, known)
            known = None
            if gap <= 1e3 * _EPS and (accepted is None or accepted[3] < _FALLBACK_STEP):
                # No decrease possible: the decrement is at the rounding level
                # of J; the verdict accepts it if the gradient is small enough.
                if accepted is not None:
                    z, value, grad = accepted[:3]
                    largest = float(np.max(np.abs(grad), initial=0.0))
                reason = STALLED
                break
            short = accepted is None or accepted[3] < _FALLBACK_STEP
            if short and accepted is not None and not may_fall_back \
                    and value - accepted[1] <= objective_rounding(problem.dtype, value):
                # After L-BFGS, a short step that lowers J by rounding only:
                # nothing is left to gain at this precision (float32
                # one-vs-rest modified Huber on raw wine reached J* in 25
                # iterations, then spun to max_iter with the model's full
                # step raising J by 3e-3); the verdict judges the gradient.
                z, value, grad = accepted[:3]
                largest = float(np.max(np.abs(grad), initial=0.0))
                reason = STALLED
                break
            if accepted is None and not may_fall_back:
                reason = LINE_SEARCH_FAILED
                break
            # After L-BFGS a short step still lowers J: the fit goes on with
            # it (stopping there, on the gradient alone, left J up to 1e-3
            # above its optimum with the decrement test unmet: one-vs-rest
            # squared hinge on raw digits).
            if short and may_fall_back:
                # The quadratic model is far off (a nearly linear region, such
                # as a log-link deviance far from its optimum): L-BFGS, which
                # learns the curvature it meets, goes on from here, in the
                # same variables.
                start = z if accepted is None else accepted[0]
                return self._fall_back(problem, start, n_iter, loss_curve, first, step_rule)
            z, value, grad, t = accepted
            loss_curve.append(problem.unscale(value, z))
            if self.verbose:
                print(f"Iteration {n_iter}, objective = {loss_curve[-1]:.8g}, "
                      f"step = {t:.3g}, decrement = {gap:.3g}")
            if t == 1.0:
                # Full steps: the fit is in Newton's quadratic phase, where the
                # last Hessian measures the decrement here too, for free.
                estimate = step_rule.decrement_with_previous(grad)
                if estimate is not None:
                    estimate_gap = 0.5 * estimate / max(abs(value), floor)
                    largest = float(np.max(np.abs(grad), initial=0.0))
                    moved = None
                    for _ in range(_CHORD_STEPS):
                        if not estimate_gap <= self.tol < largest:
                            break
                        # Only the gradient test is left: steps with the
                        # previous factor (one evaluation each, against a
                        # Hessian's n p^2 / 2) usually meet it so close to
                        # the optimum, while each cuts the gradient well.
                        predicted, before_value = 0.5 * estimate, value
                        moved = _previous_factor_step(problem, step_rule, z, value, grad)
                        if moved is None:
                            break
                        confirmed = model_predicts(before_value, moved[1], predicted,
                                                   problem.dtype)
                        if confirmed and isinstance(step_rule, OutputBlocksStep):
                            confirmed = _each_output_predicts(
                                problem, step_rule.indices, z, moved[0], grad, moved[0] - z)
                        z, value, grad = moved
                        loss_curve[-1] = problem.unscale(value, z)
                        estimate = max(step_rule.decrement_with_previous(grad), 0.0)
                        estimate_gap = 0.5 * estimate / max(abs(value), floor)
                        before, largest = largest, float(np.max(np.abs(grad), initial=0.0))
                        if largest > _CHORD_CONTRACTION * before:
                            break  # too slow: a new Hessian pays
                    if self._converged(largest, estimate_gap):
                        if moved is not None:
                            if confirmed:
                                # That step was the polish already, and
                                # lowered J as the model said it would.
                                gap, converged = estimate_gap, True
                                break
                        else:
                            polished, _ = _polish(problem, step_rule, z, value,
                                                  step_rule.direction(grad)[0],
                                                  estimate_gap, floor, grad)
                            if polished is not None:
                                z, value, gap = polished
                                loss_curve[-1] = problem.unscale(value, z)
                                converged = True
                                break
                        # Else the previous Hessian's model is off here: a
                        # new one, whose model the next iteration checks.
            # The line search (or the last step) left value and gradient at z:
            # only the curvature is new.
            value, grad = step_rule.refresh(z, value, grad)
        if converged and loss_curve:
            loss_curve[-1] = problem.unscale(value, z)
        message = ""
        if not converged:
            converged, message = self._verdict(largest, gap, reason, bool(value < first),
                                               problem.dtype)
        if not loss_curve:
            loss_curve.append(problem.unscale(value, z))
        return SolverResult(x=problem.to_params(z), n_iter=max(n_iter, 1),
                            loss_curve=loss_curve, converged=converged, message=message,
                            gap=gap)

    def _iterate_proximal(self, problem, z, lagged_hessian=None):
        """Proximal Newton for an L1 part: coordinate descent steps, Armijo search.

        In the scaled variables the L1 part is a weighted L1 norm (one weight
        per coordinate, ``problem.l1_weights``). Stops when the model decrease
        ``-m(d)`` (see
        :func:`~sklosses.solvers._cd.proximal_newton_direction`) is at most
        ``tol * |J|`` and the minimum-norm subgradient at most ``tol``, then
        takes that last step when it lowers J.
        """
        if getattr(problem.penalty, "l1_strength", None) is None:
            raise ValueError(
                f"solver='newton' handles a non-smooth penalty only of the form "
                f"lambda * ||W||_1 (an 'l1_strength' attribute); {problem.penalty!r} "
                "has none. Use solver='proximal', which needs only the penalty's prox.")
        if problem.has_feature_hessian:
            return self._iterate_working_set(problem, z, lagged_hessian)
        l1 = problem.l1_weights  # lambda times each weight's scale, over F
        penalised = l1 > 0

        def total(variables):
            value, grad = problem.smooth_value_gradient(variables)
            return float(value) + float(l1 @ np.abs(variables)), grad

        value, grad, hessian = problem.gradient_hessian(z)
        value = float(value) + float(l1 @ np.abs(z))
        if not (np.isfinite(value) and np.all(np.isfinite(grad))):
            raise nonfinite_start_error(problem, self.name)
        first = value
        floor = max(_EPS * abs(value), np.finfo(float).tiny)
        loss_curve, n_iter, converged, reason = [], 0, False, None
        while True:
            d, model, directional = proximal_newton_direction(
                grad.astype(np.float64), hessian, z, l1, penalised)
            gap = -model / max(abs(value), floor)
            largest = _largest_subgradient(grad, z, l1)
            if self._converged(largest, gap) or n_iter == self.max_iter:
                converged = self._converged(largest, gap)
                if converged:  # the last step, when it lowers J (cf. _polish)
                    new_value, _ = total(z + d)
                    if np.isfinite(new_value) and new_value <= value:
                        z, value = z + d, new_value
                else:
                    reason = ITERATION_LIMIT
                break
            if gap <= 1e3 * _EPS and largest > self.tol:
                # No curvature along the subgradient (see _iterate): L-BFGS.
                return self._fall_back(problem, z, n_iter, loss_curve, first, None)
            n_iter += 1
            t, accepted = 1.0, None
            for _ in range(_MAX_BACKTRACK):
                new_value, new_grad = total(z + t * d)
                if np.isfinite(new_value) and new_value <= value + _ARMIJO * t * directional:
                    accepted = z + t * d
                    break
                t *= 0.5
            if accepted is None or t < _FALLBACK_STEP:
                if gap <= 1e3 * _EPS:  # the model decrease is at rounding level
                    if accepted is not None:
                        z, value = accepted, new_value
                        largest = _largest_subgradient(new_grad, z, l1)
                    reason = STALLED
                    break
                return self._fall_back(problem, z if accepted is None else accepted,
                                       n_iter, loss_curve, first, None)
            z, value = accepted, new_value
            loss_curve.append(problem.unscale(value, z))
            if self.verbose:
                print(f"Iteration {n_iter}, objective = {loss_curve[-1]:.8g}, "
                      f"step = {t:.3g}, model decrease = {gap:.3g}")
            value_smooth, grad, hessian = problem.gradient_hessian(z)
            value = float(value_smooth) + float(l1 @ np.abs(z))
        message = ""
        if not converged:
            converged, message = self._verdict(largest, gap, reason, bool(value < first),
                                               problem.dtype)
        if not loss_curve:
            loss_curve.append(problem.unscale(value, z))
        elif converged:
            loss_curve[-1] = problem.unscale(value, z)
        return SolverResult(x=problem.to_params(z), n_iter=max(n_iter, 1),
                            loss_curve=loss_curve, converged=converged, message=message,
                            gap=gap)

    def _iterate_working_set(self, problem, z, lagged=None):
        """Proximal Newton on a working set of features (a linear model).

        The Hessian is formed on the active features and the worst
        violators only, and the tests are made on the full problem
        (:func:`~sklosses.solvers._working_set.working_set_proximal_newton`).
        A single-output model on dense data keeps its blocks from one
        iteration to the next while the steps contract
        (:class:`~sklosses._lagged_hessian.LaggedFeatureHessian`).
        """
        if lagged is None and LaggedFeatureHessian.applies(problem.objective):
            lagged = LaggedFeatureHessian(problem.objective)
        out = working_set_proximal_newton(problem, z, tol=self.tol, max_iter=self.max_iter,
                                          verbose=self.verbose, lagged=lagged)
        if out.n_iter == 0 and not np.isfinite(out.value):
            raise nonfinite_start_error(problem, self.name)
        if out.fall_back:
            return self._fall_back(problem, out.z, out.n_iter, out.loss_curve, out.first,
                                   None)
        converged, message = out.converged, ""
        if not converged:
            converged, message = stopping_verdict(
                gradient=out.largest, tol=self.tol, reason=out.reason,
                improved=bool(out.value < out.first), max_iter=self.max_iter)
        loss_curve = out.loss_curve or [problem.unscale(out.value, out.z)]
        return SolverResult(x=problem.to_params(out.z), n_iter=max(out.n_iter, 1),
                            loss_curve=loss_curve, converged=converged, message=message,
                            gap=out.gap)

    def _fall_back(self, problem, z, n_iter, loss_curve, first, step_rule):
        """Go on with L-BFGS from ``z`` within the remaining iterations.

        L-BFGS gets the same scaled problem (variables, factor F and stopping
        test), so that its verdict is the one Newton would give; ``first``,
        the scaled objective at Newton's start, is what it must improve on.
        Where L-BFGS converged, Newton (``step_rule``; None for proximal
        Newton) takes over again: L-BFGS's test is the gradient alone, and
        once out of the region where the quadratic model failed, Newton's
        steps meet its decrement test too, in a few iterations.
        """
        from ._lbfgs import LBFGS  # noqa: PLC0415 - the module imports this one

        remaining = max(self.max_iter - n_iter, 1)
        if self.verbose:
            print(f"Newton steps stalled after {n_iter} iterations; going on with L-BFGS")
        rest = LBFGS(max_iter=remaining, tol=self.tol, verbose=self.verbose).solve_scaled(
            problem, z, first_value=first)
        left = remaining - rest.n_iter
        if step_rule is None and rest.converged and left > 0:
            confirmed = self._confirm_by_working_set(problem, rest, left, first)
            return SolverResult(
                x=confirmed.x, n_iter=n_iter + rest.n_iter + confirmed.n_iter,
                loss_curve=list(loss_curve) + list(rest.loss_curve)
                + list(confirmed.loss_curve),
                converged=confirmed.converged, message=confirmed.message,
                gap=confirmed.gap)
        if step_rule is not None and rest.converged and left > 0:
            step_rule.forget()  # directions without curvature there may have some here
            final = self._iterate(problem, problem.to_variables(rest.x), step_rule,
                                  budget=left, first=first, may_fall_back=False)
            return SolverResult(
                x=final.x, n_iter=n_iter + rest.n_iter + final.n_iter,
                loss_curve=list(loss_curve) + list(rest.loss_curve) + list(final.loss_curve),
                converged=final.converged, message=final.message, gap=final.gap)
        return SolverResult(x=rest.x, n_iter=n_iter + rest.n_iter,
                            loss_curve=list(loss_curve) + list(rest.loss_curve),
                            converged=rest.converged, message=rest.message, gap=rest.gap)


    def _confirm_by_working_set(self, problem, rest, budget, first):
        """The working set's verdict on the point where L-BFGS converged, going on from it.

        L-BFGS's test is the gradient alone, which ill-conditioned problems meet
        far from the optimum: after a hand-over, binary raw digits (2 against the
        rest, l1_ratio=0.5) ended 1.7e-2 above J* with no warning. So the working
        set takes over again and its two tests decide; where it cannot lower J
        below L-BFGS's value beyond rounding (its model fails there too), the
        L-BFGS verdict stands. Returns a SolverResult of the iterations it ran.
        """
        z = problem.to_variables(rest.x)
        smooth, _ = problem.smooth_value_gradient(z)
        rest_value = float(smooth) + float(problem.l1_weights @ np.abs(z))
        lagged = (LaggedFeatureHessian(problem.objective)
                  if LaggedFeatureHessian.applies(problem.objective) else None)
        out = working_set_proximal_newton(problem, z, tol=self.tol, max_iter=budget,
                                          verbose=self.verbose, first=first, lagged=lagged)
        loss_curve = out.loss_curve or [problem.unscale(out.value, out.z)]
        rounding = 1e3 * _EPS * abs(rest_value)
        if not out.converged and out.fall_back and not out.value < rest_value - rounding:
            return SolverResult(x=rest.x, n_iter=out.n_iter, loss_curve=[], converged=True,
                                gap=rest.gap)
        converged, message = out.converged, ""
        if not converged:
            if out.fall_back:
                converged, message = False, (
                    "L-BFGS met its gradient test, but the working-set Newton model, which "
                    "lowered the objective further from there, then failed; increase max_iter "
                    "or try solver='proximal'")
            else:
                converged, message = stopping_verdict(
                    gradient=out.largest, tol=self.tol, reason=out.reason,
                    improved=bool(out.value < out.first), max_iter=self.max_iter)
        return SolverResult(x=problem.to_params(out.z), n_iter=out.n_iter, loss_curve=loss_curve,
                            converged=converged, message=message, gap=out.gap)


def _largest_subgradient(grad, z, l1):
    """Largest entry of the minimum-norm subgradient of ``g + l1 |z|`` (elementwise)."""
    return float(np.max(violations(grad, z, l1), initial=0.0))


def _previous_factor_step(problem, step_rule, z, value, grad):
    """``(z, value, grad)`` after the step of the previous factor, if it lowers J."""
    trial = z + step_rule.direction(grad)[0]
    new_value, new_grad = problem.smooth_value_gradient(trial)
    if np.isfinite(new_value) and new_value <= value and np.all(np.isfinite(new_grad)):
        return trial, float(new_value), np.asarray(new_grad, dtype=np.float64)
    return None


def _polish(problem, step_rule, x, value, step, gap, floor, grad=None):
    r"""Check the quadratic model where both stopping tests hold, by its full step.

    Returns ``(polished, known)``. When the full step lowers J by the
    decrease the model predicts, ``gap * |J|``, to within
    :data:`~sklosses.solvers._stopping.MODEL_AGREEMENT` of it (and the
    rounding of J), ``polished`` is
    ``(x, value, gap)`` after that step (unchanged if it does not lower J):
    Newton's convergence being quadratic, J is then within about ``gap**2``
    of its optimum instead of ``gap``. Else ``polished`` is None and
    ``known`` is ``(value, gradient)`` at the full step, the line search's
    first trial. Skipped when the gap is already below what the step could
    improve (an exact quadratic, such as squared error with L2, after its
    one step).

    Why: half the decrement is the gap of the quadratic model, and
    estimates the gap of J only where that model is right. On a piecewise
    quadratic (squared hinge, modified Huber) the generalised Hessian is
    that of the current piece; when many samples cross a kink before the
    optimum, the decrement can be far below the gap while the gradient is
    small too. The full step measures the curvature along it (that of the
    quadratic through J, its slope and J after the step): with ratio
    :math:`\rho` of actual to predicted decrease, the curvature met is
    :math:`2 - \rho` times the model's, and the gap along the step
    :math:`1 / (2 - \rho)` times the prediction. One-vs-rest squared hinge
    on raw digits: decrement 9.9e-5 of J, gap 1.3e-4, and the full step
    raised J by 1.3e-3 (:math:`\rho = -13`); raw digits' class 2 against the
    rest: decrement 1.0e-6 of J from the previous Hessian,
    :math:`\rho = 1.99` (curvature 1/86 of the model's), gap 1.7e-4.

    A problem that splits by output checks each output's model on its own
    share of J (given ``grad`` at ``x``): summed, one output's model off by
    a factor of two hides among ten right ones (one-vs-rest squared hinge on
    standardised digits stopped 1.3e-4 above its optimum).
    """
    if gap <= _POLISH_BELOW:
        return (x, value, gap), None
    trial = x + step
    new_value, new_grad = problem.smooth_value_gradient(trial)
    if not (np.isfinite(new_value) and np.all(np.isfinite(new_grad)) and model_predicts(
            value, new_value, gap * max(abs(value), floor), problem.dtype)):
        return None, (new_value, new_grad)
    if grad is not None and isinstance(step_rule, OutputBlocksStep) \
            and not _each_output_predicts(problem, step_rule.indices, x, trial, grad, step):
        return None, (new_value, new_grad)
    if new_value > value:  # within rounding: the model holds, the step is not worth it
        return (x, value, gap), None
    estimate = step_rule.decrement_with_previous(np.asarray(new_grad, dtype=np.float64))
    if estimate is not None:
        new_gap = 0.5 * max(estimate, 0.0) / max(abs(new_value), floor)
        if new_gap > _POLISH_CONTRACTION * gap and new_gap > _POLISH_BELOW:
            # In Newton's quadratic phase the step squares the gap; one that
            # barely shrinks it crossed into another piece of a piecewise
            # quadratic, where the old Hessian (this estimate's) is not the
            # curvature: standardised digits' class 6 against the rest, 2e-6
            # to 1.8e-6 by the old Hessian, 9.3e-5 by the new one. A fresh
            # Hessian there decides.
            return None, (new_value, new_grad)
        gap = new_gap
    return (trial, float(new_value), gap), None


def _line_search(objective, x, value, grad, step, decrement, known=None):
    """Armijo backtracking along ``step``: ``(x, value, grad, t)`` or None.

    ``decrement = -grad @ step > 0``. Trial steps shrink by quadratic
    interpolation of the objective along the step, kept within
    ``[0.1 t, 0.5 t]``. ``known`` is ``(value, gradient)`` at the full step
    when it was evaluated already.
    """
    slope = -decrement
    t = 1.0
    for _ in range(_MAX_BACKTRACK):
        trial = x + t * step
        if known is not None:
            (new_value, new_grad), known = known, None
        else:
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


def _each_output_predicts(problem, indices, x, trial, grad, step):
    """Whether every output's share of J falls by its model's decrease along its step.

    True when the shares are not available (the joint check stands alone).
    """
    before = problem.smooth_values_by_output(x)
    if before is None:
        return True
    after = problem.smooth_values_by_output(trial)
    for k, index in enumerate(indices):
        predicted = -0.5 * float(grad[index] @ step[index])
        if predicted > 0 and not model_predicts(before[k], after[k], predicted,
                                                problem.dtype):
            return False
    return True


def _blockwise_line_search(problem, indices, x, value, grad, step):
    """Armijo backtracking output by output: ``(x, value, grad, t)`` or None.

    For a problem that splits by output (``indices``: each output's flat
    parameter indices), J is the sum of the outputs' shares
    (``problem.smooth_values_by_output``) and each output's share depends on
    its own parameters only, so each takes the longest step that satisfies
    its own Armijo test; one evaluation of the shares judges every pending
    output's trial at once. ``t`` is the outputs' steps weighted by their
    share of the slope (1 when every output takes its full step). None when
    the shares are not available or no output's step lowers its share (the
    joint search decides then).
    """
    before = problem.smooth_values_by_output(x)
    if before is None:
        return None
    slopes = np.array([float(grad[index] @ step[index]) for index in indices])
    # An output whose first-order decrease is within its share's rounding
    # cannot show a decrease at this precision: it stays.
    moving = slopes < -objective_rounding(problem.dtype, 1.0) * np.maximum(np.abs(before), 1e-300)
    if not np.any(moving):
        return None
    t = np.where(moving, 1.0, 0.0)
    pending = moving.copy()
    for _ in range(_MAX_BACKTRACK):
        trial = x.copy()
        for k in np.flatnonzero(t > 0):
            trial[indices[k]] += t[k] * step[indices[k]]
        after = problem.smooth_values_by_output(trial)
        finite = np.isfinite(after)
        met = finite & (after <= before + _ARMIJO * t * slopes)
        pending &= ~met
        if not np.any(pending):
            break
        # Each rejected output shrinks its step as _line_search does.
        with np.errstate(divide="ignore", invalid="ignore"):
            curvature = after - before - slopes * t
            shrink = np.where(finite & (curvature > 0), -slopes * t / (2 * curvature), 0.1)
        t = np.where(pending, t * np.clip(shrink, 0.1, 0.5), t)
    t = np.where(pending, 0.0, t)  # no decrease found: that output stays
    taken = t > 0
    if not np.any(taken):
        return None
    trial = x.copy()
    for k in np.flatnonzero(taken):
        trial[indices[k]] += t[k] * step[indices[k]]
    new_value, new_grad = problem.smooth_value_gradient(trial)
    if not (np.isfinite(new_value) and new_value <= value and np.all(np.isfinite(new_grad))):
        return None
    # The step length reported is the share of the predicted first-order
    # decrease taken: short only when the outputs that carry the decrease
    # are cut short (then the model is off where it matters).
    share = 1.0 if np.all(t[moving] == 1.0) else float(
        t[moving] @ slopes[moving] / slopes[moving].sum())
    return trial, float(new_value), new_grad.astype(np.float64), share


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
        self.value = 1.0

    def evaluate(self, x):
        value, grad, hessian = self.objective.gradient_hessian(x)
        self.hessian = hessian
        self.factor = None
        self.value = float(value)
        return value, grad.astype(np.float64)

    def refresh(self, x, value, grad):
        """The Hessian at ``x``, whose ``value`` and ``grad`` are known: returns them."""
        if self.objective.dtype != np.float64:
            # A float32 objective's rounding (1e-7 of J) is the size of the
            # last decrements, and the final steps' acceptance hangs on it:
            # its fits keep the full evaluation they were validated with.
            return self.evaluate(x)
        self.hessian = self.objective.hessian(x)
        self.factor = None
        self.value = float(value)
        return value, grad

    def _solve(self, grad):
        """``H^+ grad``, plus the step along null directions that are not (see
        :func:`~sklosses.solvers._factor.null_space_step`)."""
        out = self.factor.solve(grad)
        extra = null_space_step(self.factor.null, self.hessian, grad,
                                objective_rounding(self.objective.dtype, self.value),
                                self.objective.dtype)
        return out if extra is None else extra

    def direction(self, grad):
        if self.factor is None:
            self.factor = Factor(self.hessian, self.null,
                                 singular=singular_threshold(self.objective.dtype))
            self.null = self.factor.null
        step = -self._solve(grad)
        return step, float(-grad @ step)

    def decrement_with_previous(self, grad):
        if self.factor is None:
            return None
        return float(grad @ self._solve(grad))

    def forget(self):
        """Drop the null space found so far (a new region of the objective)."""
        self.null = None


class _ConjugateGradientStep:
    """Inexact Newton steps by preconditioned conjugate gradients."""

    def __init__(self, objective):
        self.objective = objective
        self.product = None
        self.first_grad_norm = None

    def evaluate(self, x):
        value, grad, self.product = self.objective.gradient_hessp(x)
        return value, grad.astype(np.float64)

    def refresh(self, x, value, grad):
        """The Hessian products at ``x`` (they come with value and gradient)."""
        return self.evaluate(x)

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

    def forget(self):
        """Restart the forcing sequence (a new region of the objective)."""
        self.first_grad_norm = None


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


r"""Proximal Newton on a working set of features, for L1 / elastic-net linear fits.

The fit works on a :class:`~sklosses._preconditioning.ScaledProblem`, where
the L1 part is a weighted L1 norm ``l1 @ |z|``, in two nested loops.

Outer loop, on the full problem: the gradient ``g`` of the smooth part (one
pass over ``X``) gives every coordinate's violation of the optimality
conditions, its minimum-norm subgradient (``|g_j + l1_j sign z_j|`` on a
non-zero weight, ``max(|g_j| - l1_j, 0)`` on a zero one, ``|g_j|`` on an
intercept). The fit stops when the largest is at most ``tol`` (the test of
:func:`~sklosses.solvers._stopping.stopping_verdict`) and the last model
decrease on the working set is at most ``tol * |J|`` (the decrement test of
:class:`~sklosses.solvers._newton.Newton`; the coordinates outside it are
zero and satisfy their condition, so the full model's decrease there is of
second order). Otherwise the working set is every feature with a non-zero
weight plus the worst violators among the others, as many again and at
least ``_MIN_NEW``; a small one (at most ``_RESTRICT_SHARE`` of the
features) is solved on a copy of its columns
(:meth:`~sklosses._preconditioning.ScaledProblem.restricted`), a larger one
on the full problem.

Inner loop, proximal Newton on that problem: the Hessian on its own working
set (:meth:`~sklosses._preconditioning.ScaledProblem.hessian_features`,
``n |W|^2`` work instead of ``n p^2``, or served lagged, below), the exact
minimiser of the proximal Newton model by feature-sign search
(:func:`model_step`), and an Armijo search on the objective; it ends when
that problem's own tests pass, then takes the last step when it lowers J
(unless the model promises less than a hundredth of ``tol``).

A :class:`~sklosses._lagged_hessian.LaggedFeatureHessian` keeps the
curvature weights of its last refresh and serves every later block from
them (a chord method): it is refreshed only when a step has to be
shortened, finds no decrease, or contracts the largest violation too slowly
for the cost of a new block (:func:`_refresh_pays`). A regularisation path
holds one from one alpha to the next: started from the neighbouring
solution, a point then usually costs one or two steps, each one evaluation,
and no Hessian at all.

This is the working-set strategy of glmnet and skglm's ``ProxNewton``
(Bertrand et al., 2022), on the project's scaled problem and stopping test.

References
----------
.. [1] J. Friedman, T. Hastie and R. Tibshirani, "Regularization paths for
   generalized linear models via coordinate descent", J. Statistical
   Software 33(1), 2010.
.. [2] Q. Bertrand, Q. Klopfenstein, P.-A. Bannier, G. Gidel and
   M. Massias, "Beyond L1: faster and better sparse models with skglm",
   NeurIPS 2022.
"""

import numpy as np

from ._cd import proximal_newton_direction
from ._quadratic_path import _feature_sign_search
from ._stopping import ITERATION_LIMIT, STALLED, model_predicts

# Violators added to the working set beyond the active features: as many as
# there are active ones, and at least this many.
_MIN_NEW = 10
_ARMIJO = 1e-4
_MAX_BACKTRACK = 60
_EPS = np.finfo(np.float64).eps
# A line search step below this means the Newton model is far off.
_FALLBACK_STEP = 0.05
# A working set of at most this share of the features is solved on a copy
# of its columns: the copy costs about a pass over X (measured at n=4e4,
# p=500, 229 columns: 6 evaluations' time on a loaded machine), and each
# of the few evaluations on it saves a share 1 - |W| / p of one.
_RESTRICT_SHARE = 0.2
_TINY = np.finfo(float).tiny
# Once the model decrease is below this share of tol, the converged fit
# skips its last (polishing) step, an evaluation for a gain far below tol.
_POLISH_SHARE = 1e-2
# Ridge added to the working-set model, relative to its largest curvature.
_JITTER = 1e-10
# The cost of a fresh Hessian block in evaluations (see _refresh_pays): BLAS-3
# against memory-bound passes, and at least this many evaluations.
_BLAS3_SPEEDUP = 4.0
_MIN_REFRESH_COST = 2.0


def violations(grad, z, l1):
    """Each coordinate's minimum-norm subgradient of ``g + l1 |z|``, in absolute value."""
    at_zero = z == 0
    return np.abs(np.where(at_zero, np.sign(grad) * np.maximum(np.abs(grad) - l1, 0.0),
                           grad + l1 * np.sign(z)))


def working_features(z, violation, shape):
    """Sorted feature columns of the working set (see the module docstring).

    ``shape`` is the weights' ``(n_outputs, n_features)``; a feature counts
    as active when any of its outputs' weights is non-zero, and violates by
    its largest output's violation.
    """
    n_weights = shape[0] * shape[1]
    weights = z[:n_weights].reshape(shape)
    active = np.any(weights != 0, axis=0)
    score = violation[:n_weights].reshape(shape).max(axis=0)
    candidates = np.flatnonzero(~active & (score > 0))
    room = max(_MIN_NEW, int(active.sum()))
    if candidates.size > room:
        # The worst violators first, as a steepest-descent step would pick.
        candidates = candidates[np.argpartition(-score[candidates], room - 1)[:room]]
    chosen = active.copy()
    chosen[candidates] = True
    return np.flatnonzero(chosen)


def model_step(grad, hessian, x, l1, penalised):
    r"""The minimiser of the proximal Newton model on the working set, as ``d``.

    The model :math:`g^\top d + \frac12 d^\top H d + \lambda (\|x + d\|_1 -
    \|x\|_1)` is, in :math:`u = x + d`, the lasso quadratic
    :math:`\frac12 u^\top H u + (g - H x)^\top u + \lambda \|u\|_1`, which
    feature-sign search solves exactly from the signs of ``x`` (one
    Cholesky solve of the active block per change of signs, usually one or
    two from a neighbouring solution), on ``H`` plus a ridge ``1e-10`` times
    its largest diagonal entry, so that a singular block (collinear
    columns) still factorises. Where it still fails (no decrease at rounding
    level), coordinate descent. The model decrease returned is that of the
    step on the model of ``H`` itself. Returns what
    :func:`~sklosses.solvers._cd.proximal_newton_direction` returns.
    """
    lam = np.where(penalised, l1, 0.0)
    # A Hessian block assembled from its parts is symmetric only to rounding;
    # the Cholesky solve reads one triangle and the optimality test the
    # other rows, so an intercept whose gradient is zero by centring (its
    # tolerance far below that rounding) never passed it: on raw longley
    # the search failed at the optimum, and the coordinate descent fallback
    # stopped short of it on each step, 1.9e-4 above J* with every test met.
    hessian = 0.5 * (hessian + hessian.T)
    # Exactly collinear columns (a redundant feature) make the active block
    # singular; a jitter this far below the curvature keeps its Cholesky
    # factorisation and changes the model's minimum by that share only.
    jitter = np.full(x.size, _JITTER * max(float(np.max(np.diag(hessian), initial=0.0)),
                                           np.finfo(float).tiny))
    u, _ = _feature_sign_search(hessian, jitter, grad - hessian @ x, lam, x,
                                enter=x.size)
    if u is None:
        return proximal_newton_direction(grad, hessian, x, l1, penalised)
    d = u - x
    l1_change = float(lam @ (np.abs(u) - np.abs(x)))
    slope = float(grad @ d)
    model = slope + 0.5 * float(d @ (hessian @ d)) + l1_change
    return d, min(model, 0.0), slope + l1_change


class WorkingSetOutcome:
    """Where :func:`working_set_proximal_newton` stopped.

    Attributes
    ----------
    z : ndarray
        The final variables.
    value : float
        The scaled objective there.
    n_iter : int
    loss_curve : list of float
        The objective in its own units after each iteration.
    converged : bool
        Whether both tests passed.
    reason : str or None
        ``"iteration limit"`` or ``"stalled"`` when not converged by the tests.
    largest : float
        The largest violation at ``z`` (before the final polish step).
    gap : float
        The model decrease over ``|J|`` at the last iteration.
    fall_back : bool
        True when the Newton model is far off (a short or failed line
        search, or no curvature where the subgradient is large): the caller
        goes on with a first-order method from ``z``.
    max_working : int
        The largest working set, in features.
    first : float
        The scaled objective the fit had to improve on.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)


def working_set_proximal_newton(problem, z, *, tol, max_iter, verbose=0, first=None,
                                lagged=None):
    """Minimise the scaled L1 / elastic-net problem from ``z`` (module docstring).

    Parameters
    ----------
    problem : ScaledProblem
        With ``has_feature_hessian`` and an L1 part (``problem.l1_weights``).
    z : ndarray of shape (n_params,)
        Starting variables.
    tol : float
        The tolerance of both tests.
    max_iter : int
        Most Newton iterations (steps), over all working sets.
    verbose : int, default=0
        Print one line per iteration when positive.
    first : float, optional
        The scaled objective the fit must improve on (default: at ``z``).
    lagged : LaggedFeatureHessian, optional
        Serves the working set's Hessian at the point of its last refresh
        (:mod:`sklosses._lagged_hessian`); refreshed when a step is not a
        full one, when the steps with it contract too slowly for their cost
        (:func:`_refresh_pays`), when the lagged model finds no decrease, and
        at the start when it holds no point yet. Held by a path from one alpha
        to the next. Without it, every iteration forms a fresh block.

    Returns
    -------
    outcome : WorkingSetOutcome
        A non-finite start gives a non-finite ``value`` and ``n_iter=0``,
        for the caller to raise its error.
    """
    l1 = problem.l1_weights
    model = problem.objective.model
    shape = (model.n_outputs, model.n_features)
    z = np.array(z, dtype=np.float64)
    value, grad = _total(problem, z)
    if not (np.isfinite(value) and np.all(np.isfinite(grad))):
        return WorkingSetOutcome(z=z, value=value, n_iter=0, loss_curve=[], converged=False,
                                 reason=None, largest=np.inf, gap=np.inf, fall_back=False,
                                 max_working=0, first=value)
    first = value if first is None else first
    n_iter, loss_curve, gap, max_working = 0, [], np.inf, 0
    converged, reason, fall_back = False, None, False
    while True:
        largest = float(np.max(violations(grad, z, l1), initial=0.0))
        if largest <= tol and gap <= tol:
            converged = True
            break
        if n_iter >= max_iter:
            reason = ITERATION_LIMIT
            break
        features = working_features(z, violations(grad, z, l1), shape)
        max_working = max(max_working, features.size)
        if lagged is not None:
            problem.prioritise(lagged, _closeness(grad, l1, shape))
        whole = features.size > _RESTRICT_SHARE * model.n_features
        inner_problem = problem if whole else problem.restricted(features)
        index = None if whole else problem.feature_indices(features)
        inner = _proximal_newton(
            inner_problem, z if whole else z[index], value,
            grad if whole else grad[index], tol=tol, budget=max_iter - n_iter,
            verbose=verbose, lagged=lagged, floor=max(_EPS * abs(first), _TINY))
        n_iter += inner.n_iter
        loss_curve.extend(inner.loss_curve)
        moved = inner.n_iter > 0 or inner.polished
        if whole:
            z, value, grad = inner.z, inner.value, inner.grad
        else:
            z = np.zeros_like(z)
            z[index] = inner.z
            value, grad = _total(problem, z)
        gap = inner.gap
        if inner.fall_back or inner.reason is not None:
            fall_back, reason = inner.fall_back, inner.reason
            largest = float(np.max(violations(grad, z, l1), initial=0.0))
            break
        if not moved and not whole:
            # The working set was optimal as it stood and the full problem
            # is not: every violator was in it, so this is rounding.
            largest = float(np.max(violations(grad, z, l1), initial=0.0))
            converged = largest <= tol and gap <= tol
            reason = None if converged else STALLED
            break
    if converged and loss_curve:
        loss_curve[-1] = problem.unscale(value, z)
    return WorkingSetOutcome(z=z, value=value, n_iter=n_iter, loss_curve=loss_curve,
                             converged=converged, reason=reason, largest=largest, gap=gap,
                             fall_back=fall_back, max_working=max_working, first=first)


def _closeness(grad, l1, shape):
    """Per feature, ``max_k |g_kj| / l1_kj``: above 1 it violates at zero weights."""
    n_weights = shape[0] * shape[1]
    ratio = np.abs(grad[:n_weights]) / np.maximum(l1[:n_weights], _TINY)
    return ratio.reshape(shape).max(axis=0)


def _total(problem, z):
    """The scaled objective (smooth part plus weighted L1 norm) and the smooth gradient."""
    value, grad = problem.smooth_value_gradient(z)
    return (float(value) + float(problem.l1_weights @ np.abs(z)),
            np.asarray(grad, dtype=np.float64))


def _refresh_pays(step, before, after, tol, n_working, n_features):
    """Whether a fresh Hessian is worth its cost after a step with a lagged one.

    Steps with the lagged Hessian (a chord method) cut the largest violation
    by ``after / before`` each, at one evaluation (``2 n p``) per step; a
    fresh block costs ``n |W|^2`` in BLAS-3, which runs several times faster
    per operation than the memory-bound passes of an evaluation: about
    ``|W|^2 / (_BLAS3_SPEEDUP * 2 p)`` evaluations. Refresh when a step had
    to be shortened, or when the chord steps still needed would cost more.
    """
    if step < 1.0:
        return True
    if after <= tol:
        return False
    rate = after / before if before > 0 else 1.0
    if rate >= 1.0:
        return True
    steps_left = np.log(after / tol) / -np.log(rate)
    refresh_cost = max(_MIN_REFRESH_COST,
                       n_working**2 / (_BLAS3_SPEEDUP * 2.0 * max(n_features, 1)))
    return steps_left > refresh_cost


class _Inner:
    """What :func:`_proximal_newton` returns (see :class:`WorkingSetOutcome`)."""

    def __init__(self, **fields):
        self.__dict__.update(fields)


def _proximal_newton(problem, z, value, grad, *, tol, budget, verbose, lagged, floor):
    """Proximal Newton iterations on ``problem`` (the full one or a restricted one).

    Each iteration takes its own working set within ``problem``
    (:func:`working_features`), its Hessian there (lagged or fresh), the
    model's step (:func:`model_step`) and an Armijo search on ``problem``'s
    objective. Stops when ``problem``'s largest violation and model decrease
    are within ``tol`` (then takes that last step when it lowers J), at
    ``budget`` steps, or where the Newton model is far off (``fall_back``).
    """
    l1 = problem.l1_weights
    penalised = l1 > 0
    model = problem.objective.model
    shape = (model.n_outputs, model.n_features)
    loss_curve, n_iter, reason, fall_back, polished = [], 0, None, False, False
    refresh = lagged is not None and not lagged.has_point
    gap = np.inf
    while True:
        violation = violations(grad, z, l1)
        largest = float(np.max(violation, initial=0.0))
        features = working_features(z, violation, shape)
        index = problem.feature_indices(features)
        if lagged is not None and refresh:
            problem.refresh_lagged(lagged, z, features)
        hessian = problem.hessian_features(z, features, lagged)
        d_w, decrease, directional = model_step(
            grad[index], hessian, z[index], l1[index], penalised[index])
        gap = -decrease / max(abs(value), floor)
        lagging = lagged is not None and not lagged.is_fresh
        if largest <= tol and gap <= tol:
            if gap <= _POLISH_SHARE * tol:
                break  # what the step could still gain is far below tol
            # The last step, when it lowers J (Newton's polish): J then ends
            # about gap**2 rather than gap above its optimum.
            trial = z.copy()
            trial[index] += d_w
            new_value, new_grad = _total(problem, trial)
            finite = np.isfinite(new_value) and np.all(np.isfinite(new_grad))
            # The model decrease bounds the distance to the optimum only where
            # the full step lowers J as the model predicts (as Newton's
            # polish checks): on raw digits a step that fell twice as far
            # (flat curvature, or a lagged Hessian) stopped 8.9e-4 above J*.
            if finite and model_predicts(value, new_value, -decrease, np.float64):
                if new_value <= value:
                    z, value, grad, polished = trial, new_value, new_grad, True
                break
            if lagging:  # a fresh Hessian may model the step
                refresh = True
                continue
            # A fresh model that is off: go on stepping, within the budget.
        if n_iter >= budget:
            reason = ITERATION_LIMIT
            break
        if gap <= 1e3 * _EPS and largest > tol:
            if lagging:  # the lagged model may be what sees no decrease
                refresh = True
                continue
            fall_back = True  # no curvature along the subgradient
            break
        n_iter += 1
        d = np.zeros_like(z)
        d[index] = d_w
        t, accepted = 1.0, None
        for _ in range(_MAX_BACKTRACK):
            new_value, new_grad = _total(problem, z + t * d)
            if (np.isfinite(new_value) and new_value <= value + _ARMIJO * t * directional
                    and np.all(np.isfinite(new_grad))):
                accepted = z + t * d
                break
            t *= 0.5
        if accepted is None or t < _FALLBACK_STEP:
            if accepted is not None:
                z, value, grad = accepted, new_value, new_grad
                loss_curve.append(problem.unscale(value, z))
            if lagging:  # a fresh Hessian first
                refresh = True
                continue
            if gap <= 1e3 * _EPS:  # the model decrease is at rounding level
                reason = STALLED
            else:
                fall_back = True
            break
        z, value, grad = accepted, new_value, new_grad
        loss_curve.append(problem.unscale(value, z))
        if lagged is not None:
            lagged.is_fresh = False
            refresh = _refresh_pays(t, largest, float(np.max(violations(grad, z, l1),
                                                             initial=0.0)),
                                    tol, features.size, model.n_features)
        if verbose:
            print(f"Iteration {n_iter}, objective = {loss_curve[-1]:.8g}, step = {t:.3g}, "
                  f"model decrease = {gap:.3g}, working set = {features.size} features"
                  + (" (lagged Hessian)" if lagging else ""))
    return _Inner(z=z, value=value, grad=grad, gap=gap, n_iter=n_iter, loss_curve=loss_curve,
                  reason=reason, fall_back=fall_back, polished=polished)

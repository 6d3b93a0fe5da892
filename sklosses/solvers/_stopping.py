"""One stopping verdict for the full-batch solvers, in unit-free terms.

The solvers run on :class:`~sklosses._preconditioning.ScaledProblem`, whose
objective starts at 1 and whose variables are of order 1, so a gradient
entry there is a relative change of the objective per relative change of a
coefficient. :func:`stopping_verdict` turns what a solver saw when it stopped
into ``(converged, message)``:

- the largest entry of the scaled (projected) gradient, or of the gradient
  mapping, at most ``tol``: converged. Near the optimum
  :math:`\\tilde J - \\tilde J^* \\approx \\frac12 g^T H^{-1} g` with a scaled
  Hessian of order 1, so the objective is then well within ``tol`` of its
  optimum (relative);
- the solver could not decrease the objective any more (its relative decrease
  fell to rounding level, or the line search failed) while that gradient is at
  most ``sqrt(tol)``: converged too, since the objective is within about
  ``tol`` of the optimum and rounding errors forbid more;
- anything else (iteration limit, failed line search or stalled descent far
  from a stationary point, no step that improved on the start): not
  converged, with a message saying why.
"""

import math

import numpy as np

# Why a solver stopped, other than its gradient test.
ITERATION_LIMIT = "iteration limit"
STALLED = "stalled"
LINE_SEARCH_FAILED = "line search failed"


def stopping_verdict(*, gradient, tol, reason, improved, max_iter):
    """Whether a full-batch solver converged, and if not, why.

    Parameters
    ----------
    gradient : float
        Largest absolute entry of the scaled projected gradient (L-BFGS) or
        gradient mapping (proximal gradient) at the final point.
    tol : float
        The solver's tolerance.
    reason : {None, "iteration limit", "stalled", "line search failed"}
        Why the solver stopped when it was not its gradient test (None).
    improved : bool
        Whether the final objective is below the starting one.
    max_iter : int
        The iteration budget, for the message.

    Returns
    -------
    converged : bool
    message : str
        Empty when converged; else a sentence for the ``ConvergenceWarning``.

    Examples
    --------
    >>> stopping_verdict(gradient=1e-9, tol=1e-4, reason=None, improved=True,
    ...                  max_iter=100)
    (True, '')
    >>> stopping_verdict(gradient=0.5, tol=1e-4, reason="line search failed",
    ...                  improved=True, max_iter=100)[0]
    False
    """
    if gradient <= tol:
        return True, ""
    where = (f"the largest entry of the scaled gradient is {gradient:.3g}, above "
             f"tol={tol:g}")
    if reason == ITERATION_LIMIT:
        return False, (f"it reached max_iter={max_iter} iterations; {where}. Increase "
                       "max_iter or loosen tol")
    if reason in (STALLED, LINE_SEARCH_FAILED) and gradient <= math.sqrt(tol) and improved:
        return True, ""
    if not improved:
        return False, (
            f"no step improved on the starting point ({reason or 'stopped'}); {where}: "
            "the fitted model is the starting point. Scale the features and targets, "
            "or choose another solver"
        )
    if reason == LINE_SEARCH_FAILED:
        return False, (f"the line search failed to decrease the objective; {where}. "
                       "Loosen tol, or choose another solver (solver='newton' for a "
                       "smooth loss, 'exact' for a piecewise-linear one)")
    return False, (f"the objective stopped decreasing at rounding level; {where}. "
                   "Loosen tol, pass float64 data if it is float32, or choose another "
                   "solver (solver='proximal' with an L1 part)")


# The Newton decrement counts as the gap where the full step's decrease is
# its prediction to within this share of it: the curvature met along the
# step is then within [1/2, 3/2] of the model's. And the rounding of J allowed
# for, in units of the objective's machine epsilon times |J| (in float32 it
# exceeds the decrease at tol=1e-4, so the check passes as before there).
MODEL_AGREEMENT = 0.5
_ROUNDING = 1e3


def model_predicts(value, new_value, predicted, dtype):
    """Whether J fell from ``value`` to ``new_value`` by ``predicted``, to within half of it.

    A second-order solver's model decrease bounds the distance to the
    optimum only where its full step confirms the model (Newton's polish,
    the working set's last step). Up to the rounding of J in ``dtype``.

    Parameters
    ----------
    value, new_value : float
        The objective before and after the full step.
    predicted : float
        The decrease the quadratic model predicts for that step (>= 0).
    dtype : numpy dtype
        The objective's precision.

    Returns
    -------
    bool
    """
    rounding = _ROUNDING * np.finfo(dtype).eps * abs(value)
    return abs(value - new_value - predicted) <= MODEL_AGREEMENT * predicted + rounding

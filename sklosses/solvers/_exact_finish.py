"""The exact optimum near a first-order fit of a piecewise-linear loss.

A first-order fit of a non-smooth loss (:class:`SmoothingContinuation`
around L-BFGS or proximal gradient) minimises smoothed surrogates and ends
within its tolerance of the optimum, not on it. Where the objective is flat
in some directions (more features than samples with an L1 penalty, a tube
that holds every target) two fits of the same problem written differently
(weighted rows against repeated rows) then end at points 1e-2 apart. But a
piecewise-linear loss under an L1, L2 or elastic-net penalty has its
optimum at the solution of one linear system, once it is known which
samples sit on a kink of the loss and which L1 coefficients are zero; this
is what the exact solver's crossover solves (:mod:`._crossover`).

The smoothed surrogate tells those sets apart: its derivative with respect
to the loss's argument is the dual point of the smoothed problem (Nesterov,
2005): at a bound of the loss's slopes for a sample beyond the smoothing
band, strictly between two slopes for one on a kink. The crossover starts
from that dual point, corrects the partition for a few rounds, and its
solution is kept only when the duality gap it certifies (a feasible dual
point of the original problem, made by :class:`._exact._OutputProblem`) is
within ``tol`` and its objective no larger than the first-order point's.
Otherwise the first-order point stays as it was.

References
----------
.. [1] Y. Nesterov, "Smooth minimization of non-smooth functions",
   Mathematical Programming 103, 127-152 (2005).
.. [2] S. J. Wright, "Primal-Dual Interior-Point Methods", SIAM (1997),
   chapter 7 (identification of the optimal partition).
"""

import numpy as np
import scipy.sparse as sp

from ..losses._piecewise import MaxOfClassMargins
from ..models._linear import LinearModel
from ..penalties import ElasticNet
from ._crossover import _AT_BOUND
from ._exact import (
    _Certificate,
    _level_forms,
    _OutputFit,
    _OutputProblem,
    output_programs,
    parameters_of,
    relative_gap,
)

# The crossover's optimum may exceed the first-order point's objective by
# rounding alone where that point is already optimal; by this share of it
# at most.
_ROUNDING = 1e-12
# Where the crossover finds no vertex (the first-order point far from one:
# more features than samples, a flat L1 optimum), a program whose interior-
# point iteration costs at most this many flops (n_samples x n_columns^2,
# about a millisecond) is solved by the interior point from the first-order
# coefficients: its 15-40 iterations cost less than the first-order fit did.
_SMALL_PROGRAM = 2e6
# Its iteration budget: the fit's max_iter counts first-order iterations.
_FINISH_ITERATIONS = 100


def exact_finish(objective, x, value, surrogate, tol):
    """The exact optimum the first-order point ``x`` points to, or None.

    Parameters
    ----------
    objective : Objective
        The original (non-smooth) objective.
    x : ndarray of shape (n_params,)
        The first-order fit's parameters.
    value : float
        ``objective.value(x)``: the optimum found must be no larger.
    surrogate : BaseLoss
        The smoothed loss of the last stage (``loss.smoothed(mu)``).
    tol : float
        The relative duality gap the optimum must certify.

    Returns
    -------
    finish : tuple or None
        ``(x, value, gap)``: the optimum's parameters, objective and
        certified relative duality gap; None where the objective is not a
        linear model of a piecewise-linear loss with decoupled outputs, or
        where no partition read off ``x`` certifies.
    """
    loss = objective.loss
    if not (isinstance(objective.model, LinearModel) and hasattr(loss, "piecewise_linear")
            and isinstance(objective.penalty, ElasticNet)):
        return None  # no program of the exact solver's kind (a custom penalty, an MLP)
    if _copies_X(objective) and not _is_small(objective.X.shape[0], objective.model):
        # The programs need X in float64 without its zero-weight rows; on
        # large data the crossover's chance does not pay for that copy.
        return None
    levels = _level_forms(loss, objective.y)
    form = levels[0] if levels is not None else loss.piecewise_linear(objective.y)
    if isinstance(form, MaxOfClassMargins):
        return None  # the classes' programs are coupled (fit_crammer_singer)
    x = np.asarray(x, dtype=np.float64)
    design, outputs = output_programs(objective, form, levels, x)
    slopes_of_raw = _surrogate_derivative(objective, x, surrogate)
    # A mean over outputs (as output_programs weighs them) scales each
    # output's derivative by 1 / n_outputs.
    share = 1.0 / objective.model.n_outputs if form.combine == "mean" else 1.0
    fits = []
    for k, (output_form, weight, start) in enumerate(outputs):
        problem = _OutputProblem(design, output_form, weight, objective.penalty)
        # d l_mu / d raw = phi_mu'(argument) * scale: theta is phi_mu'.
        theta = slopes_of_raw[:, k] / (output_form.scale * share)
        fit = _cross_over(problem, start, theta, tol)
        if fit is None and _is_small(design.X.shape[0], objective.model):
            fit = problem.solve(start, tol, _FINISH_ITERATIONS)
        if fit is None or not fit.converged:
            return None
        fits.append(fit)
    x_new = parameters_of(objective.model, [fit.beta for fit in fits])
    first_order, value = value, objective.value(x_new)
    if not value <= first_order + _ROUNDING * abs(first_order):
        return None
    exact_value = value if objective.model.dtype == np.float64 else None
    gap = relative_gap(fits, exact_value)
    if not gap <= tol:
        return None
    return x_new, value, gap


def _is_small(n_samples, model):
    """Whether an interior-point iteration of one output's program is cheap."""
    n_columns = model.n_features + int(model.fit_intercept)
    return n_samples * n_columns**2 <= _SMALL_PROGRAM


def _copies_X(objective):
    """Whether the programs' design is a copy of ``X`` (another dtype or format, rows dropped)."""
    X = objective.X
    if sp.issparse(X):
        return not (X.format == "csr" and X.dtype == np.float64)
    return X.dtype != np.float64 or bool(np.any(objective._normalised_weight <= 0))


def _surrogate_derivative(objective, x, surrogate):
    """``d l_mu / d raw`` per kept row and output, unweighted, as ``(n, n_outputs)``."""
    keep = objective._normalised_weight > 0
    raw = objective.raw(x)
    _, gradient = surrogate.loss_gradient(objective.y, raw)
    return np.asarray(gradient, dtype=np.float64).reshape(raw.shape[0], -1)[keep]


def _cross_over(problem, beta, theta, tol):
    """One output's exact optimum from its first-order coefficients and dual point.

    Two guesses of the samples on a kink are tried: where the smoothed dual
    point ``theta`` is strictly between two slopes, and, when that one does
    not lead to a vertex (a first-order point short of the smoothed
    optimum puts the kink's samples just outside the smoothing band), the
    samples nearest a knot, as many as there are nonzero coefficients (the
    count at a vertex of an unpenalised or L1 program).
    """
    slopes = np.asarray(problem.form.slopes)
    theta = np.clip(theta, slopes[0], slopes[-1])
    b = problem.to_scaled(beta)
    # The certificate starts at b: the optimum must do no worse, to rounding.
    record = _Certificate(problem, b, tol=tol, verbose=0)
    qp = problem.box_qp()
    multipliers = _l1_multipliers(problem, theta, b)
    for fractions in (_fractions_of(problem, theta), _fractions_nearest_knots(problem, b)):
        # Samples in general position: at most one on a kink per column at
        # the optimum. A guess with more is no vertex (the smoothing band
        # still holds them), and its system would cost up to a cubic solve.
        on_kink = np.count_nonzero(np.any((fractions > _AT_BOUND) & (fractions < 1 - _AT_BOUND),
                                          axis=1))
        if (on_kink <= problem.design.n_columns and record.offer_crossover(
                problem, qp, np.concatenate([fractions.ravel(), multipliers]))
                and record.gap <= tol):
            # Units: the scaled objective is n / unit times this output's J.
            return _OutputFit.from_record(record, problem.from_scaled(record.best_beta),
                                          problem.unit / problem.n, tol, 0)
    return None


def _fractions_of(problem, theta):
    """Piece fractions ``z`` (n x pieces) of ``theta``, the pieces filled in order."""
    slopes = np.asarray(problem.form.slopes)
    return np.clip((theta[:, None] - slopes[None, :-1]) / problem.deltas[None, :], 0.0, 1.0)


def _fractions_nearest_knots(problem, b):
    """Piece fractions with the samples nearest a knot on it, the others on their piece."""
    knots = np.asarray(problem.form.knots)
    argument = problem.form.argument(problem.design.dot(b))
    fractions = (argument[:, None] > knots[None, :]).astype(float)
    distance = np.abs(argument[:, None] - knots[None, :])
    nearest = np.argmin(distance, axis=1)
    on_kink = min(int(np.count_nonzero(b)), argument.size)
    rows = np.argsort(distance[np.arange(argument.size), nearest])[:on_kink]
    fractions[rows, nearest[rows]] = 0.5
    return fractions


def _l1_multipliers(problem, theta, b):
    """The L1 boxes' variables: at the bound ``theta`` gives where ``b`` is off zero, else 0."""
    if not problem.l1_index.size:
        return np.zeros(0)
    v = problem.operator.at(theta)[problem.l1_index]
    bound = problem.l1[problem.l1_index]
    return np.where(b[problem.l1_index] != 0, np.sign(v) * bound, 0.0)

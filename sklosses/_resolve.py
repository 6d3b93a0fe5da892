"""Strings and "auto" -> component instances: the one place that maps names."""

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np
from sklearn.base import clone

from . import losses as _losses
from .losses import BaseLoss
from .models import LinearModel
from .penalties import make_penalty
from .solvers import (
    LBFGS,
    MinibatchSolver,
    Newton,
    NewtonOrLBFGS,
    ProximalGradient,
    SmoothingContinuation,
    make_minibatch_solver,
)
from .solvers._choice import GramOrFallback
from .solvers._concomitant import ConcomitantScale
from .solvers._exact import ExactSolver
from .solvers._reopen_gaps import ReopenCollapsedGaps

ALIASES = {
    "mse": "squared_error",
    "mae": "absolute_error",
    "msle": "squared_log_error",
    "pinball": "quantile",
    "cross_entropy": "log_loss",
    "binary_crossentropy": "log_loss",
}


def loss_registry():
    """Mapping of every loss name to its class."""
    registry = {}
    registry.update(getattr(_losses._regression, "REGRESSION_LOSSES", {}))
    registry.update(getattr(_losses._classification, "CLASSIFICATION_LOSSES", {}))
    registry.update(getattr(_losses._expectile, "EXPECTILE_LOSSES", {}))
    return registry


def loss_names(task=None):
    """Sorted loss names (and aliases) for ``task`` or for every task."""
    registry = loss_registry()
    names = [n for n, cls in registry.items() if task is None or cls.task == task]
    aliases = [a for a, n in ALIASES.items() if n in names]
    return sorted(names) + sorted(aliases)


def resolve_loss(loss, task=None):
    """A fresh loss instance from a name, an alias or a loss object.

    Parameters
    ----------
    loss : str or BaseLoss
        The loss as the user gave it.
    task : {"regression", "classification"} or None
        Refuse a loss meant for the other task.
    """
    if isinstance(loss, str):
        registry = loss_registry()
        name = ALIASES.get(loss, loss)
        if name not in registry:
            raise ValueError(
                f"Unknown loss {loss!r}. Valid loss names"
                f"{' for ' + task if task else ''}: {', '.join(loss_names(task))}; "
                "or pass a loss object from sklosses.losses or sklosses.make_loss."
            )
        instance = registry[name]()
    elif isinstance(loss, BaseLoss):
        instance = clone(loss)
    else:
        raise ValueError(
            f"loss must be a loss name or a sklosses loss object, got {loss!r} "
            f"of type {type(loss).__name__}. Valid names: {', '.join(loss_names(task))}."
        )
    if task is not None and instance.task != task:
        estimator = "LossRegressor" if instance.task == "regression" else "LossClassifier"
        raise ValueError(
            f"Loss {loss!r} is a {instance.task} loss; use it with {estimator}, or "
            f"choose a {task} loss: {', '.join(loss_names(task))}."
        )
    return instance


def resolve_model(hidden_layer_sizes, activation, n_features, n_outputs,
                  fit_intercept, dtype, output_order=None):
    """The model component: linear for ``()``, else an MLP.

    ``output_order="non-decreasing"`` (declared by a loss with a list of
    levels, ``loss.output_order``) asks for a model whose outputs are ordered
    for every input: see :func:`sklosses.models._monotone.make_monotone_model`.
    """
    if output_order == "non-decreasing" and n_outputs > 1:
        from .models._monotone import make_monotone_model  # noqa: PLC0415

        return make_monotone_model(tuple(hidden_layer_sizes), activation, n_features,
                                   n_outputs, fit_intercept, dtype)
    if len(hidden_layer_sizes) == 0:
        return LinearModel(n_features, n_outputs, fit_intercept=fit_intercept,
                           dtype=dtype)
    from .models import MLP  # noqa: PLC0415 - only when asked for

    return MLP(n_features, n_outputs, hidden_layer_sizes=hidden_layer_sizes,
               activation=activation, fit_intercept=fit_intercept, dtype=dtype)


def resolve_penalty(alpha, l1_ratio):
    """The penalty component for ``alpha`` and ``l1_ratio``."""
    return make_penalty(alpha, l1_ratio)


# ---------------------------------------------------------------------------
# Solvers: a table of what each one is, what it needs and when "auto" takes it
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FitProblem:
    """What the choice of a solver depends on.

    Attributes
    ----------
    loss : BaseLoss
        The resolved loss.
    penalty : BasePenalty
        The resolved penalty.
    model_is_linear : bool, default=True
        Whether the model is linear (``hidden_layer_sizes=()``).
    n_samples, n_features : int or None, default=None
        Shape of the training data; None counts as tall data.
    early_stopping : bool, default=False
        Whether the fit monitors a held-out loss after every epoch.
    n_outputs : int or None, default=None
        Raw outputs of the model (classes of a multiclass loss); None when
        not known.
    """

    loss: BaseLoss
    penalty: object
    model_is_linear: bool = True
    n_samples: int | None = None
    n_features: int | None = None
    early_stopping: bool = False
    n_outputs: int | None = None

    @property
    def wide(self):
        """More features than samples (False when the shape is unknown)."""
        known = self.n_samples is not None and self.n_features is not None
        return known and self.n_features > self.n_samples

    @property
    def few_samples(self):
        """Fewer samples than :data:`_ADAM_MIN_SAMPLES` (False when unknown)."""
        return self.n_samples is not None and self.n_samples < _ADAM_MIN_SAMPLES


@dataclass(frozen=True)
class SolverOptions:
    """The estimator's solver settings, handed to a solver's ``build``."""

    max_iter: int
    tol: float
    verbose: int = 0
    learning_rate: float = 1e-3
    batch_size: object = "auto"
    n_iter_no_change: int = 10
    random_state: object = None


def _always(problem):
    """The default ``auto_when``: every problem."""
    return True


@dataclass(frozen=True)
class SolverSpec:
    """One row of the solver table.

    Attributes
    ----------
    name : str
        The ``solver=`` string.
    solver_class : type
        The :class:`~sklosses.solvers.BaseSolver` subclass; its class
        attributes (``handles_nonsmooth_loss``, ``handles_nonsmooth_penalty``,
        ``is_minibatch``, ``linear_only``, ``required_loss_methods``) are the
        contract :func:`solver_incompatibility` checks.
    build : callable
        ``build(options) -> BaseSolver`` for a :class:`SolverOptions`.
    auto_rank : int or None, default=None
        Position in the preference order of ``solver="auto"`` (lowest
        first); None means ``"auto"`` never picks it.
    auto_when : callable, default=always
        ``auto_when(problem) -> bool``: whether ``"auto"`` prefers this
        solver for the :class:`FitProblem` (when it is also compatible).
    public : bool, default=True
        Whether users may name it in ``solver=``; False for rows only
        ``"auto"`` uses (a solver that chooses between others at solve time).
    """

    name: str
    solver_class: type
    build: Callable
    auto_rank: float | None = None
    auto_when: Callable = _always
    public: bool = True


# Below this many samples L-BFGS trains an MLP better than Adam in the same
# number of iterations (see resolve_solver).
_ADAM_MIN_SAMPLES = 10_000


def _build_lbfgs(options):
    return LBFGS(max_iter=options.max_iter, tol=options.tol, verbose=options.verbose)


def _build_proximal(options):
    return ProximalGradient(max_iter=options.max_iter, tol=options.tol,
                            verbose=options.verbose)


def _build_minibatch(rule, options):
    return make_minibatch_solver(
        rule, batch_size=options.batch_size, learning_rate=options.learning_rate,
        max_iter=options.max_iter, tol=options.tol,
        n_iter_no_change=options.n_iter_no_change, random_state=options.random_state,
        verbose=options.verbose,
    )


def _proximal_preferred(problem):
    # FISTA beat L-BFGS on the split variables only on wide L1 problems.
    return (problem.model_is_linear and problem.loss.is_smooth
            and not problem.penalty.is_smooth and problem.wide)


def _lbfgs_preferred(problem):
    # For MLPs L-BFGS wins on small data, Adam on large (see resolve_solver).
    return problem.model_is_linear or problem.few_samples


def _may_collapse_gaps(name, solver, loss, hidden_layer_sizes):
    """Whether a gradient solver fits the softplus gaps of a location-shift model.

    Ordered levels on a linear model build
    :class:`~sklosses.models.LocationShiftModel`, whose gaps a full-batch
    solver can collapse onto a flat softplus
    (:class:`~sklosses.solvers._reopen_gaps.ReopenCollapsedGaps`); the exact
    solver fits the gaps as bounded variables.
    """
    return (getattr(loss, "output_order", None) == "non-decreasing"
            and len(hidden_layer_sizes) == 0 and name != "exact"
            and not solver.is_minibatch)


# -- solver="exact": interior point for piecewise-linear losses -------------
# Up to this many features the interior-point method (one pass X^T D X and a
# p x p Cholesky factorisation per iteration, 15-50 iterations) was faster
# than smoothing continuation at the default tol (benchmarks/README.md):
# quantile + L2, n=5000, 1 thread: p=300 1.7 s vs 3.7 s, p=1000 10.9 s vs
# 12.3 s (and 2e-4 closer to the optimum); beyond, its p^2 work per sample
# loses to first-order passes.
_EXACT_MAX_FEATURES = 1000
_EXACT_WIDE_MAX_FEATURES = 200
# Crammer-Singer: from this many samples the smoothing path converged and was
# faster (see _crammer_singer_exact).
_CRAMMER_SINGER_MAX_SAMPLES = 5000


def _build_exact(options):
    return ExactSolver(max_iter=options.max_iter, tol=options.tol, verbose=options.verbose)


def _exact_preferred(problem):
    """The "auto" rule for the exact solver (linear models only; see above).

    Crammer-Singer hinge couples the raw columns of a sample: its program's
    normal matrix has ``K (p + 1)`` rows, formed in ``n (K (p + 1))^2`` per
    iteration (see :func:`_crammer_singer_exact`). With more features than
    samples the p x p normal matrix outweighs the data passes, unless p is
    small enough for its factorisation to cost well under a millisecond.
    """
    if not problem.model_is_linear:
        return False
    if getattr(problem.loss, "multiclass", "ovr") == "crammer_singer":
        return _crammer_singer_exact(problem)
    # Free levels (noncrossing="sort") are K separate programs, K times one
    # level's time, where the smoothing path shares its passes over X between
    # the levels (9 levels, n=5e4, p=50, one thread: 2.8 s against 0.8 s).
    # They are still fitted exactly: on small data the programs are faster
    # (2 levels of engel or diabetes: 16-23 ms against 65-120 ms, and 3.9 s
    # for diabetes at alpha=0), and they are certified: the smoothing path of
    # a list of levels ended 6.5e-4 above the optimum on engel (alpha=1e-4)
    # without a warning before its stopping test measured each level in the
    # target's spread (bench_level_list_smoothing.py); it is tighter now, not
    # certified. Shared-slope levels are one program (bench_multi_quantile.py).
    p = problem.n_features
    small = p is not None and p <= _EXACT_WIDE_MAX_FEATURES
    return (small or not problem.wide) and (p is None or p <= _EXACT_MAX_FEATURES)


def _crammer_singer_exact(problem):
    """The "auto" rule for the Crammer-Singer hinge: exact on fewer than 5000 samples.

    Measured at the default tol (one thread, ``alpha = 1 / n``,
    bench_crammer_singer.py and make_classification): the interior point took
    5-7 ms on iris and wine and 0.6 s on digits, certified, where the
    smoothing path ended 2.8e-4 / 5.4e-2 above the optimum with a
    ConvergenceWarning on standardised wine / digits (6.9e-3 and 2.5 raw); on
    2000 and 5000 samples with ``K (p + 1) = 105`` it was faster (0.08 against
    0.13 s, 0.15 against 0.21 s). From 5000 samples with more coefficients
    and from 10 000 samples the smoothing path converged and was 2-3.5x
    faster (5000 x 64, K=10: 0.19 against 0.62 s; 1e4 x 20, K=5: 0.15
    against 0.30 s; 1e5 x 20, K=3: 0.9 against 3.2 s). Each iteration costs
    ``n (K (p + 1))^2``, so at most ``_EXACT_MAX_FEATURES`` coefficients.
    """
    n, p, K = problem.n_samples, problem.n_features, problem.n_outputs
    if n is None or n >= _CRAMMER_SINGER_MAX_SAMPLES:
        return False
    return p is None or (K or 1) * (p + 1) <= _EXACT_MAX_FEATURES


def _build_newton(options):
    return Newton(max_iter=options.max_iter, tol=options.tol, verbose=options.verbose)


def _build_newton_or_lbfgs(options):
    return NewtonOrLBFGS(max_iter=options.max_iter, tol=options.tol,
                         verbose=options.verbose)


def _newton_preferred(problem):
    # Smooth linear fits: Newton on few parameters, else L-BFGS, decided at
    # solve time once the outputs are known (NewtonOrLBFGS, measured in
    # benchmarks/bench_newton.py). With an L1 part too: there L-BFGS on the
    # split variables ended silently above tol on raw real data where
    # proximal Newton converged or warned (NewtonOrLBFGS's docstring); on
    # large problems, beyond Newton's work limit, L-BFGS still beat it (L1
    # logistic, n=5e4, p=200: 0.48 s against 2.4 s).
    return problem.model_is_linear


def _build_gram_or_fallback(options):
    return GramOrFallback(max_iter=options.max_iter, tol=options.tol, verbose=options.verbose)


def _gram_preferred(problem):
    # A quadratic data term (squared error) with an L1 part on a linear
    # model: exact on the Gram matrix where it is small, else the first-order
    # fit auto chose before (GramOrFallback decides at solve time).
    return (problem.model_is_linear and not problem.penalty.is_smooth
            and getattr(problem.loss, "has_constant_hessian", False))


#: Every solver, in the order of ``solver=``'s documented values. Registering
#: a solver is one row here; ``auto_rank`` and ``auto_when`` place it in the
#: ``"auto"`` rule.
SOLVER_TABLE = (
    SolverSpec("lbfgs", LBFGS, _build_lbfgs, auto_rank=1, auto_when=_lbfgs_preferred),
    SolverSpec("proximal", ProximalGradient, _build_proximal, auto_rank=0,
               auto_when=_proximal_preferred),
    SolverSpec("sgd", MinibatchSolver, partial(_build_minibatch, "sgd")),
    SolverSpec("adam", MinibatchSolver, partial(_build_minibatch, "adam"), auto_rank=2),
    SolverSpec("exact", ExactSolver, _build_exact, auto_rank=-1, auto_when=_exact_preferred),
    SolverSpec("newton", Newton, _build_newton),
    # Rank 0.5: between proximal (wide L1 problems) and lbfgs. Newton runs on
    # the same ScaledProblem and stopping verdict as lbfgs and proximal, so
    # its tol and its warnings mean the same as theirs.
    SolverSpec("newton-or-lbfgs", NewtonOrLBFGS, _build_newton_or_lbfgs, auto_rank=0.5,
               auto_when=_newton_preferred, public=False),
    # Rank -0.5: before proximal and lbfgs, which it falls back to.
    SolverSpec("gram-or-first-order", GramOrFallback, _build_gram_or_fallback,
               auto_rank=-0.5, auto_when=_gram_preferred, public=False),
)
SOLVER_SPECS = {spec.name: spec for spec in SOLVER_TABLE}
SOLVERS = ("auto", *(name for name, spec in SOLVER_SPECS.items() if spec.public))


def _needs_smoothing(solver_class, loss):
    """Whether ``loss`` goes to ``solver_class`` through SmoothingContinuation."""
    return not loss.is_smooth and not solver_class.handles_nonsmooth_loss


def solver_incompatibility(name, problem):
    """Why solver ``name`` cannot fit ``problem``, or None when it can.

    The solver's class attributes are its contract: a non-smooth loss needs
    ``handles_nonsmooth_loss`` or, for a full-batch solver, a loss with
    ``has_smoothed_surrogate`` (then the fit runs a smoothing continuation);
    an L1 part needs ``handles_nonsmooth_penalty``; an MLP needs
    ``linear_only`` False; early stopping needs ``is_minibatch``; and the loss
    (or its surrogate) must define every method in ``required_loss_methods``,
    as skglm's ``_datafit_required_attr``.

    Parameters
    ----------
    name : str
        A name in :data:`SOLVER_SPECS`.
    problem : FitProblem
        The loss, penalty, model and data shape.

    Returns
    -------
    reason : tuple of (str, str) or None
        What is missing and how to fix it, phrased to follow
        ``"solver=... cannot fit loss ...: "`` and ``"or "``.
    """
    cls = SOLVER_SPECS[name].solver_class
    loss = problem.loss
    if problem.early_stopping and not cls.is_minibatch:
        return ("early stopping monitors a held-out validation loss after every epoch "
                "of a minibatch solver", "set early_stopping=False")
    if _needs_smoothing(cls, loss) and not cls.accepts_smoothing:
        return ("the loss is not smooth and this solver needs second derivatives; "
                "it does not fit smoothed surrogates",
                "use a smooth loss")
    if _needs_smoothing(cls, loss) and (cls.is_minibatch or not loss.has_smoothed_surrogate):
        return ("the loss is not smooth and declares no smoothed surrogate "
                "(has_smoothed_surrogate is False), and this solver needs one",
                "give the loss a smoothed(mu) method and has_smoothed_surrogate = True")
    if not problem.penalty.is_smooth and not cls.handles_nonsmooth_penalty:
        return ("the penalty has an L1 part and this solver handles smooth penalties "
                "only", "set l1_ratio=0")
    if cls.linear_only and not problem.model_is_linear:
        return ("this solver fits linear models only", "set hidden_layer_sizes=()")
    if not cls.required_loss_methods:
        return None
    # Under a smoothing continuation the solver calls the surrogate's methods.
    called = loss.smoothed(1.0) if _needs_smoothing(cls, loss) else loss
    missing = [m for m in cls.required_loss_methods if not callable(getattr(called, m, None))]
    if missing:
        methods = ", ".join(f"{m}()" for m in missing)
        return (f"the loss does not define {methods}, which this solver calls",
                f"define {methods} on the loss")
    return None


def compatible_solvers(problem):
    """Names of every registered solver that can fit ``problem``, in table order."""
    return [name for name, spec in SOLVER_SPECS.items()
            if spec.public and solver_incompatibility(name, problem) is None]


def check_solver_compatible(name, problem):
    """Raise an actionable ``ValueError`` unless solver ``name`` can fit ``problem``.

    The message names the solver, the loss, what is missing, the solvers
    that would work and the fix for this one. The early-stopping case keeps
    its documented wording.

    Parameters
    ----------
    name : str
        A name in :data:`SOLVER_SPECS`.
    problem : FitProblem
        The loss, penalty, model and data shape.
    """
    reason = solver_incompatibility(name, problem)
    if reason is None:
        return
    what, fix = reason
    others = compatible_solvers(problem)
    if problem.early_stopping and not SOLVER_SPECS[name].solver_class.is_minibatch:
        minibatch = " or ".join(repr(n) for n in SOLVER_SPECS
                                if SOLVER_SPECS[n].solver_class.is_minibatch)
        raise ValueError(
            f"early_stopping=True needs solver={minibatch} (or 'auto', which then "
            f"uses {auto_solver_name(problem)}), got solver={name!r}: {what}."
        )
    if others:
        use = (f"Use solver={' or '.join(map(repr, others))} ('auto' chooses among "
               f"them), or {fix}.")
    else:
        use = f"No registered solver can; {fix}."
    raise ValueError(f"solver={name!r} cannot fit loss {problem.loss}: {what}. {use}")


def auto_solver_name(problem):
    """The ``solver="auto"`` rule of :func:`resolve_solver` for ``problem``.

    The first solver by ``auto_rank`` that is compatible with the problem
    and whose ``auto_when`` holds.
    """
    ranked = sorted((spec for spec in SOLVER_TABLE if spec.auto_rank is not None),
                    key=lambda spec: spec.auto_rank)
    for spec in ranked:
        if spec.auto_when(problem) and solver_incompatibility(spec.name, problem) is None:
            return spec.name
    reasons = "; ".join(
        f"{name!r}: {solver_incompatibility(name, problem)[0]}" for name in SOLVER_SPECS
    )
    raise ValueError(f"No solver can fit loss {problem.loss} with this penalty and "
                     f"model ({reasons}).")


def resolve_solver(solver, loss, penalty, *, max_iter, tol, verbose, early_stopping=False,
                   learning_rate=1e-3, batch_size="auto", n_iter_no_change=10,
                   random_state=None, hidden_layer_sizes=(), n_samples=None,
                   n_features=None, n_outputs=None):
    """The solver component for ``solver`` (``"auto"`` applies the rule).

    Every solver is a row of :data:`SOLVER_TABLE`. An explicit choice is
    checked against the solver's contract before any work is done (see
    :func:`solver_incompatibility`); a bad one gets a ``ValueError`` naming
    what is missing and the solvers that would work. ``"auto"`` takes, by
    ``auto_rank``, the first compatible solver whose ``auto_when`` holds,
    which gives this rule (measured in ``benchmarks/``; see its README):

    - a linear model with a piecewise-linear loss (absolute, quantile,
      epsilon-insensitive, hinge one-vs-rest) and at most 1000 features (at
      most 200 when there are more features than samples), or the
      Crammer-Singer hinge on fewer than 5000 samples with at most 1000
      coefficients -> ``"exact"``,
      the interior-point solver, certified by a duality gap; it was faster
      than the smoothing path there (quantile + L2, n=5000: p=300 1.7 s
      versus 3.7 s, p=1000 10.9 s versus 12.3 s); a list of quantile levels
      too: one joint program for ``noncrossing="monotone"``, one program per
      level for ``"sort"`` (slower than the smoothing path on large data, but
      certified, and faster on small data);
    - ``early_stopping=True`` -> ``"adam"`` (early stopping monitors a
      held-out loss after each epoch of a minibatch solver; the full-batch
      solvers are not compatible);
    - an MLP (``hidden_layer_sizes`` non-empty) on at least 10 000 samples
      -> ``"adam"``; on fewer, ``"lbfgs"``, which reached a better fit in the
      same number of epochs there (Friedman #1, 5 000 samples: test R2 0.988
      versus 0.953 after 200 iterations / epochs; at 50 000 samples Adam led,
      0.995 versus 0.984), as scikit-learn's ``MLPRegressor`` advises;
    - a linear model with a loss of constant Hessian (squared error) and an
      L1 part in the penalty -> solved exactly on the Gram matrix where it is
      small, else as the next two rules say
      (``GramOrFallback`` in ``sklosses.solvers._choice``);
    - a linear model with a smooth loss and an L1 part in the penalty and
      more features than samples -> ``"proximal"``: there FISTA needed 2-3x
      less time than L-BFGS on the ``2 * n_features`` split variables;
    - a linear model with a loss that has second derivatives
      (``gradient_hessian``) -> Newton where its Hessian is cheap (at most
      200 parameters, or up to 1000 for a loss with a constant Hessian such
      as squared error, solved in one exact step; with an L1 part, proximal
      Newton), else L-BFGS; :class:`~sklosses.solvers.NewtonOrLBFGS` makes
      the choice once the number of outputs is known and documents the
      measurements;
    - every other linear model -> ``"lbfgs"``: with L2 or no penalty, and
      also with an L1 part (split ``w = u - v``, ``u, v >= 0``, under
      L-BFGS-B bounds), where it was 2-4x faster than FISTA on tall data
      (L1 logistic, 50 000 x 500) and on every smoothed non-smooth loss;
    - a non-smooth loss without a smoothed surrogate, which no full-batch
      solver can fit -> ``"adam"``.

    A non-smooth loss (absolute, quantile, epsilon-insensitive, hinge) under
    a full-batch solver is wrapped in :class:`~sklosses.solvers.SmoothingContinuation`,
    which reaches the non-smooth optimum with relative accuracy ``tol``; the
    loss declares that it can be smoothed (``has_smoothed_surrogate``). The
    minibatch solvers use subgradients and need no wrapper. Ordered levels on
    a linear model (``noncrossing="monotone"``) under a full-batch solver
    other than ``"exact"`` are wrapped in
    :class:`~sklosses.solvers._reopen_gaps.ReopenCollapsedGaps`, which reopens
    a gap between levels that the solver collapsed onto the flat softplus.

    Parameters
    ----------
    solver : str
        The estimator's ``solver``: ``"auto"`` or a name in :data:`SOLVERS`.
    loss : BaseLoss
        The resolved loss.
    penalty : BasePenalty
        The resolved penalty; ``penalty.is_smooth`` enters the rule.
    max_iter, tol, verbose : int, float, int
        Passed to the solver.
    early_stopping, learning_rate, batch_size, n_iter_no_change, random_state
        Options of the minibatch solvers.
    hidden_layer_sizes : tuple of int, default=()
        ``()`` for a linear model, else an MLP.
    n_samples, n_features : int, default=None
        Shape of the training data; None counts as tall data.
    n_outputs : int, default=None
        Raw outputs of the model (the classes of a Crammer-Singer hinge).

    Returns
    -------
    solver : BaseSolver
    """
    problem = FitProblem(loss, penalty, model_is_linear=len(hidden_layer_sizes) == 0,
                         n_samples=n_samples, n_features=n_features,
                         early_stopping=early_stopping, n_outputs=n_outputs)
    if solver == "auto":
        name = auto_solver_name(problem)
    elif isinstance(solver, str) and solver in SOLVERS:
        name = solver
        check_solver_compatible(name, problem)
    else:
        raise ValueError(
            f"solver must be one of {', '.join(map(repr, SOLVERS))}, got {solver!r}."
        )
    spec = SOLVER_SPECS[name]
    options = SolverOptions(max_iter=max_iter, tol=tol, verbose=verbose,
                            learning_rate=learning_rate, batch_size=batch_size,
                            n_iter_no_change=n_iter_no_change, random_state=random_state)
    built = spec.build(options)
    if _needs_smoothing(spec.solver_class, loss):
        built = SmoothingContinuation(built)
    if _may_collapse_gaps(name, built, loss, hidden_layer_sizes):
        built = ReopenCollapsedGaps(built)
    if getattr(loss, "has_joint_scale", False):
        # Huber(scale="joint") needs no other solver, only ConcomitantScale
        # around the one chosen, which sets the loss's fitted ``scale_``.
        built = ConcomitantScale(built)
    return built


def check_number(name, value, *, low=None, high=None, low_open=False,
                 high_open=False, integer=False, hint=""):
    """Raise a clear ValueError unless ``value`` is a number in the range."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or np.isnan(value):
        what = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {what}, got {value!r}. {hint}".strip())
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise ValueError(
            f"{name} must be in {left}{lo}, {hi}{right}, got {value!r}. {hint}".strip()
        )

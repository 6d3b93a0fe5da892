"""The Solver contract and its result."""

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, field

import numpy as np


@dataclass
class SolverResult:
    """What a solver returns.

    Attributes
    ----------
    x : ndarray
        The parameters found.
    n_iter : int
        Iterations (full-batch solvers) or epochs (minibatch solvers) run.
    loss_curve : list of float
        Objective value after each iteration or epoch.
    converged : bool
        Whether the stopping criterion was met before ``max_iter``.
    state : object, default=None
        Solver state to resume from (minibatch solvers, ``partial_fit``).
    message : str, default=""
        Why the solver stopped when ``converged`` is False (iteration limit,
        failed line search, no progress from the start, ...), phrased so the
        estimator can put it in its ``ConvergenceWarning`` after the loss
        and solver names.
    gap : float or None, default=None
        The solver's estimate of ``(J - J*) / max(|J|, tiny)`` at ``x``
        (a duality gap, a Newton decrement, ...) when it has one.
    """

    x: np.ndarray
    n_iter: int
    loss_curve: list = field(default_factory=list)
    converged: bool = True
    state: object = None
    message: str = ""
    gap: float | None = None


class BaseSolver(metaclass=ABCMeta):
    """Minimise an :class:`~sklosses._objective.Objective`.

    Class attributes declare what the solver needs, so that a bad combination
    is refused with an actionable message before any work is done.

    Attributes
    ----------
    name : str
        The ``solver=`` string.
    handles_nonsmooth_loss : bool
        Whether the solver reaches the optimum of a non-smooth loss.
    handles_nonsmooth_penalty : bool
        Whether the solver handles an L1 part.
    is_minibatch : bool
        Whether the solver works on minibatches (``partial_fit``, early
        stopping) rather than on the whole objective.
    linear_only : bool
        Whether the solver needs a linear model (exact and second-order
        solvers that form ``X^T D X``).
    accepts_smoothing : bool
        Whether a non-smooth loss may reach the solver through a smoothing
        continuation (its smoothed surrogates); second-order solvers, whose
        Hessians blow up as the smoothing shrinks, say False.
    required_loss_methods : tuple of str
        Loss methods the solver calls beyond ``loss_gradient`` (for example
        ``("gradient_hessian",)``); checked before any work, as skglm's
        ``_datafit_required_attr``.

    Notes
    -----
    Every solver has the one door ``solve(objective, x0, *, state=None,
    monitor=None)``: full-batch solvers ignore ``state`` and may report
    each iteration to ``monitor``; minibatch solvers resume from ``state``.
    """

    name = None
    handles_nonsmooth_loss = False
    handles_nonsmooth_penalty = False
    is_minibatch = False
    linear_only = False
    accepts_smoothing = True
    required_loss_methods = ()

    def __init__(self, *, max_iter=500, tol=1e-4, verbose=0):
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose

    @abstractmethod
    def solve(self, objective, x0, *, state=None, monitor=None):
        """Minimise ``objective`` from ``x0`` and return a :class:`SolverResult`."""


class WrappingSolver(BaseSolver):
    """A solver that runs another one, ``inner``, with a step of its own around it.

    It declares the inner solver's name and capabilities as its own, so the
    checks of the solver contract and the estimator's messages see the solver
    the user chose.

    Parameters
    ----------
    inner : BaseSolver
        The solver that does the minimisation; its ``max_iter``, ``tol`` and
        ``verbose`` are the wrapper's.
    """

    _CAPABILITIES = ("name", "handles_nonsmooth_loss", "handles_nonsmooth_penalty",
                     "is_minibatch", "linear_only", "required_loss_methods")

    def __init__(self, inner):
        super().__init__(max_iter=inner.max_iter, tol=inner.tol, verbose=inner.verbose)
        self.inner = inner
        for capability in self._CAPABILITIES:
            setattr(self, capability, getattr(inner, capability))

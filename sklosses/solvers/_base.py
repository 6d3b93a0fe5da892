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
    """

    x: np.ndarray
    n_iter: int
    loss_curve: list = field(default_factory=list)
    converged: bool = True
    state: object = None


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
    """

    name = None
    handles_nonsmooth_loss = False
    handles_nonsmooth_penalty = False

    def __init__(self, *, max_iter=500, tol=1e-4, verbose=0):
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose

    @abstractmethod
    def solve(self, objective, x0):
        """Minimise ``objective`` from ``x0`` and return a :class:`SolverResult`."""

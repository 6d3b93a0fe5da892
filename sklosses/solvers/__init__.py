"""Solvers: minimise an Objective from a starting point."""

from ._base import BaseSolver, SolverResult
from ._concomitant import ConcomitantScale
from ._lbfgs import LBFGS
from ._proximal import ProximalGradient
from ._smoothing import SmoothingContinuation
from ._stochastic import EpochMonitor, MinibatchSolver, MinibatchState, make_minibatch_solver
from ._update_rules import SGD, Adam, UpdateRule

__all__ = [
    "BaseSolver", "SolverResult", "ConcomitantScale",
    "LBFGS", "ProximalGradient", "SmoothingContinuation",
    "Adam", "EpochMonitor", "MinibatchSolver", "MinibatchState", "SGD", "UpdateRule",
    "make_minibatch_solver",
]

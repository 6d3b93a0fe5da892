"""Solvers: minimise an Objective from a starting point."""

from ._base import BaseSolver, SolverResult
from ._choice import NewtonOrLBFGS
from ._concomitant import ConcomitantScale
from ._exact import ExactSolver
from ._lbfgs import LBFGS
from ._newton import Newton
from ._proximal import ProximalGradient
from ._smoothing import SmoothingContinuation
from ._stochastic import EpochMonitor, MinibatchSolver, MinibatchState, make_minibatch_solver
from ._update_rules import SGD, Adam, UpdateRule

__all__ = [
    "BaseSolver", "SolverResult", "ConcomitantScale", "ExactSolver", "LBFGS", "Newton",
    "NewtonOrLBFGS", "ProximalGradient", "SmoothingContinuation",
    "Adam", "EpochMonitor", "MinibatchSolver", "MinibatchState", "SGD", "UpdateRule",
    "make_minibatch_solver",
]

"""Solvers: minimise an Objective from a starting point."""

from ._base import BaseSolver, SolverResult
from ._lbfgs import LBFGS
from ._smoothing import SmoothingContinuation

__all__ = ["BaseSolver", "SolverResult", "LBFGS", "SmoothingContinuation"]

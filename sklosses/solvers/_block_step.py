"""Newton steps output by output, for problems that split into one per output.

A linear model under a loss whose outputs are independent
(``loss.outputs_independent``: one-vs-rest squared hinge, modified Huber,
exponential) with a diagonal penalty Hessian (L2) is ``K`` separate
problems: its Hessian is block diagonal, one ``(p + 1)``-square block per
output (its weights and its intercept). Each block is formed
(:meth:`~sklosses.models.LinearModel.gauss_newton_blocks`, ``n (p + 1)^2 / 2``
multiply-adds) and factorised on its own, so a Newton iteration costs
``K`` times less than with the whole ``K (p + 1)``-square matrix, and the
Cholesky limit applies to one block, not to all parameters.
"""

import numpy as np

from ..models import LinearModel
from ._factor import Factor, null_space_step, objective_rounding, singular_threshold


def output_blocks(objective):
    """Each output's flat parameter indices, shape (K, q), or None if the problem does not split.

    It splits for a linear model with several outputs, a loss declaring
    ``outputs_independent`` and a penalty whose smooth part has a diagonal
    Hessian (all of this package's penalties).
    """
    model = getattr(objective, "model", None)
    if not isinstance(model, LinearModel) or model.n_outputs < 2:
        return None
    if not getattr(objective.loss, "outputs_independent", False):
        return None
    return model.output_block_indices()


class OutputBlocksStep:
    """Newton steps from one factorised Hessian block per output.

    The interface of ``_newton._CholeskyStep``: the step of block ``k`` is
    :math:`-H_k^{-1} g_k` and the decrement the sum of the blocks'. Each
    block keeps its own null space (an output without curvature in some
    direction) from one iterate to the next.

    Parameters
    ----------
    problem : ScaledProblem
        Provides ``gradient_hessian_blocks`` and ``hessian_blocks``.
    indices : ndarray of shape (K, q)
        Flat indices of each output's parameters (:func:`output_blocks`).
    """

    def __init__(self, problem, indices):
        self.objective = problem
        self.indices = indices
        self.blocks = None
        self.factors = None
        self.null = [None] * indices.shape[0]
        self.value = 1.0

    def evaluate(self, x):
        value, grad, self.blocks = self.objective.gradient_hessian_blocks(x)
        self.factors = None
        self.value = float(value)
        return value, grad.astype(np.float64)

    def refresh(self, x, value, grad):
        """The blocks at ``x``, whose ``value`` and ``grad`` are known: returns them."""
        if self.objective.dtype != np.float64:
            # As _CholeskyStep: float32 fits keep the full evaluation.
            return self.evaluate(x)
        self.blocks = self.objective.hessian_blocks(x)
        self.factors = None
        self.value = float(value)
        return value, grad

    def _solve(self, grad):
        out = np.empty_like(grad)
        dtype = self.objective.dtype
        # As _newton._CholeskyStep: null directions the gradient points along.
        significant = objective_rounding(dtype, self.value)
        for factor, block, index in zip(self.factors, self.blocks, self.indices):
            out[index] = factor.solve(grad[index])
            extra = null_space_step(factor.null, block, grad[index], significant, dtype)
            if extra is not None:
                out[index] = extra
        return out

    def direction(self, grad):
        if self.factors is None:
            singular = singular_threshold(self.objective.dtype)
            self.factors = [Factor(block, null, singular=singular)
                            for block, null in zip(self.blocks, self.null)]
            self.null = [factor.null for factor in self.factors]
        step = -self._solve(grad)
        return step, float(-grad @ step)

    def decrement_with_previous(self, grad):
        if self.factors is None:
            return None
        return float(grad @ self._solve(grad))

    def forget(self):
        """Drop the null spaces found so far (a new region of the objective)."""
        self.null = [None] * self.indices.shape[0]

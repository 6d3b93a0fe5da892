"""Record the fitted residual scale of a loss that estimates one with the model.

A loss with a joint (concomitant) scale, ``Huber(scale="joint")``, profiles
the scale out in every evaluation (see :mod:`sklosses.losses._scale`), so
any solver minimises the joint objective unchanged. What is left is to keep
the scale at the solution: this wrapper runs the solver, then asks the loss
for the optimal scale at the parameters found (``loss.fit_scale``).
"""

from ._base import WrappingSolver


class ConcomitantScale(WrappingSolver):
    """Run ``inner`` and set the loss's ``scale_`` at the solution.

    Every capability (``name``, ``is_minibatch``, the declared needs) is the
    inner solver's, so the estimator treats the pair as the inner solver.

    Parameters
    ----------
    inner : BaseSolver
        The solver that minimises the objective.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses._objective import Objective
    >>> from sklosses.losses import Huber
    >>> from sklosses.models import LinearModel
    >>> from sklosses.penalties import L2
    >>> from sklosses.solvers import LBFGS, ConcomitantScale
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> y = np.array([0.1, 0.9, 2.2, 2.8])
    >>> loss = Huber(delta=1.35, scale="joint")
    >>> obj = Objective(loss, LinearModel(1, 1), L2(1e-3), X, y)
    >>> result = ConcomitantScale(LBFGS(tol=1e-10)).solve(obj, np.zeros(2))
    >>> bool(0 < loss.scale_ < 0.5)
    True
    """

    def solve(self, objective, x0, *, state=None, monitor=None):
        """Minimise ``objective`` from ``x0`` with the inner solver, then fit the scale.

        Parameters
        ----------
        objective : Objective
            Its loss provides ``fit_scale(y, raw, sample_weight)``.
        x0 : ndarray of shape (n_params,)
            Starting point.
        state, monitor : object, default=None
            Passed to the inner solver.

        Returns
        -------
        result : SolverResult
            The inner solver's.
        """
        result = self.inner.solve(objective, x0, state=state, monitor=monitor)
        objective.loss.fit_scale(objective.y, objective.raw(result.x), objective.sample_weight)
        return result

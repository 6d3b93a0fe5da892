r"""Coordinate descent on the proximal Newton model of an L1-penalised objective.

The proximal Newton step from ``x`` minimises over ``d``

.. math::
    m(d) = g^\top d + \tfrac12 d^\top H d
           + \lambda \left(\|x_W + d_W\|_1 - \|x_W\|_1\right),

with ``g`` and ``H`` the gradient and Hessian of the smooth part and ``W``
the penalised coordinates (the weights; intercepts are free). Each
coordinate has a closed-form minimiser (a soft-threshold), and the model is
a quadratic held as the matrix ``H``, so a coordinate update costs one
column of ``H``: the idea of glmnet, skglm's ``ProxNewton`` and
scikit-learn's ``newton-cd-gram``. Coordinates sweep over a working set
(free coordinates, non-zero weights and weights whose gradient violates the
optimality condition ``|g_j| <= lambda``), which is where the solution lives.
"""

import numpy as np

# Inner sweeps stop when the largest coordinate change (in units of the
# coordinate's curvature) falls below this share of the largest of the step.
_INNER_TOL = 1e-4
_MAX_SWEEPS = 200


def proximal_newton_direction(grad, hessian, x, l1, penalised):
    """Approximate minimiser ``d`` of the proximal Newton model.

    Parameters
    ----------
    grad : ndarray of shape (n_params,)
        Gradient of the smooth part at ``x``.
    hessian : ndarray of shape (n_params, n_params)
        Its Hessian (positive semi-definite).
    x : ndarray of shape (n_params,)
        Current parameters.
    l1 : float or ndarray of shape (n_params,)
        Coefficient ``lambda`` of the L1 norm, or one per coordinate (a
        weighted L1 norm: the L1 part in scaled variables).
    penalised : ndarray of bool of shape (n_params,)
        Which coordinates carry the L1 norm.

    Returns
    -------
    d : ndarray of shape (n_params,)
    model_decrease : float
        ``m(d) <= 0``; ``-m(d)`` estimates how far the objective is above the
        optimum, as half the Newton decrement does without an L1 part.
    directional : float
        ``g^T d + lambda (||x_W + d_W||_1 - ||x_W||_1)``, the decrease the
        line search asks a share of (Tseng and Yun's Armijo rule).
    """
    n_params = x.size
    l1 = np.broadcast_to(np.asarray(l1, dtype=np.float64), (n_params,))
    curvature = np.diag(hessian).copy()
    working = (~penalised) | (x != 0) | (np.abs(grad) > l1)
    working &= curvature > 0
    order = np.flatnonzero(working)
    d = np.zeros(n_params)
    Hd = np.zeros(n_params)
    largest = 0.0
    for _ in range(_MAX_SWEEPS):
        biggest_change = 0.0
        for j in order:
            a = curvature[j]
            z = x[j] + d[j]
            target = z - (grad[j] + Hd[j]) / a
            if penalised[j]:
                shrink = l1[j] / a
                target = np.sign(target) * max(abs(target) - shrink, 0.0)
            delta = target - z
            if delta != 0.0:
                d[j] += delta
                Hd += delta * hessian[:, j]
                biggest_change = max(biggest_change, abs(delta) * np.sqrt(a))
        largest = max(largest, float(np.max(np.abs(d) * np.sqrt(np.maximum(curvature, 0)))))
        if biggest_change <= _INNER_TOL * max(largest, np.finfo(float).tiny):
            break
    l1_change = float(l1[penalised] @ (np.abs(x[penalised] + d[penalised])
                                       - np.abs(x[penalised])))
    model = float(grad @ d + 0.5 * d @ Hd) + l1_change
    return d, min(model, 0.0), float(grad @ d) + l1_change

r"""Warm-started proximal Newton for the points of a smooth regression path.

A point of a regularisation path starts next to the previous point's
solution, where Newton's method converges in a step or two. This solver
holds one training fold of a linear, single-output regression on dense data
with few features, in standardised columns formed once per fold, and fits
each alpha by proximal Newton from the previous solution:

1. at the current parameters, one pass over the data gives the objective,
   its gradient and its (generalised) Hessian, a ``(p + 2)``-square matrix;
2. the proximal Newton model (the quadratic plus the L1 part) is minimised
   exactly by feature-sign search
   (:func:`~sklosses.solvers._quadratic_path._feature_sign_search`), the
   L2 part entering as an exact ridge;
3. the fit stops when the model's decrease, which estimates how far the
   objective is above its optimum, is at most ``_STOP_SHARE * tol * |J|``;
   otherwise an Armijo search on the objective along the model's step
   (Tseng and Yun's rule for a non-smooth penalty) takes the step.

Two kinds of loss fit this frame. A loss with an elementwise
``gradient_hessian`` (Huber with a fixed ``delta``, log-cosh, ...) gives its
derivatives on the raw prediction directly. ``Huber(scale="joint")`` is
solved in the joint variables ``(w, b, sigma)`` rather than through its
profile over ``sigma``: per sample,
:math:`\ell = \sigma/2 + \sigma h_\delta(r/\sigma)` with :math:`r = f - y`
has, inside the quadratic zone :math:`|r| \le \delta\sigma`, the derivatives
:math:`\partial_f \ell = r/\sigma`,
:math:`\partial_\sigma \ell = \tfrac12 - r^2/(2\sigma^2)` and the rank-one
Hessian :math:`\sigma^{-1} v v^\top` with :math:`v = (1, -r/\sigma)`
(in :math:`(f, \sigma)`); outside it the loss is linear,
:math:`\partial_f \ell = \delta\,\mathrm{sign}(r)`,
:math:`\partial_\sigma \ell = (1 - \delta^2)/2` and no curvature. So the
exact Hessian of the joint problem is one product of an augmented design
``[X, 1, -r / sigma]`` with itself, and no evaluation needs the scale's root
finding. Once converged, the loss's ``fit_scale`` sets ``scale_`` at the
solution, as every other fit of that loss does.

When a point does not converge here (a singular model, too many steps), the
caller fits it its usual way.

References
----------
.. [1] P. Tseng and S. Yun, "A coordinate gradient descent method for
   nonsmooth separable minimization", Mathematical Programming 117, 387-423
   (2009).
.. [2] A. B. Owen, "A robust hybrid of lasso and ridge regression",
   Contemporary Mathematics 443, 59-72 (2007).
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg.lapack import dposv

from ._quadratic_path import _feature_sign_search

# A point is converged when the model promises at most this share of
# tol * |J|. Each point starts from the previous one, so a looser share lets
# the error drift along the path (1e-2: up to 8e-7 relative above the
# optimum after 8 points of joint Huber, 7e-4 of R^2 in the scores and
# another alpha than GridSearchCV's on bench_cv_path's `losses` data); at
# 1e-4 it stays below 2e-10 there, for about one more step on a few points
# (Newton's convergence near the optimum is quadratic).
_STOP_SHARE = 1e-4
_ARMIJO = 1e-4
_MAX_BACKTRACK = 40
# Ridge added to the model, relative to its largest curvature, so that a
# flat direction (a Huber zone with few samples) stays solvable.
_JITTER = 1e-10
# Newton steps per point before the caller's own fit takes over.
_MAX_STEPS = 50
# The quadratic zone's Gram matrix is updated by the rows that change zone
# while they are at most this share of the rows, and formed afresh after
# this many updates.
_UPDATE_SHARE = 0.1
_REFRESH_UPDATES = 50
# Relative slack of the optimality conditions in the model's one-solve check.
_KKT_SLACK = 1e-9


def applies(loss, model, X, n_max_features):
    """Whether a path of ``loss`` on ``model`` and ``X`` can be fitted here.

    A linear model of one output on dense data of at most
    ``n_max_features`` columns and more rows than columns (each step forms a
    ``(p + 2)``-square Hessian, ``n p^2`` work), and a convex loss with an
    elementwise Hessian on the raw prediction or ``Huber(scale="joint")``.
    """
    return not (
        sp.issparse(X)
        or model.n_outputs != 1
        or X.shape[1] > n_max_features
        or X.shape[0] <= X.shape[1]
        or not getattr(loss, "is_convex", False)
        or getattr(loss, "n_levels", 1) > 1
        or not hasattr(loss, "gradient_hessian")
    )


class SmoothPath:
    """One training fold's path points by warm-started proximal Newton.

    Parameters
    ----------
    loss : loss object
        The fitted estimator's loss (its ``gradient_hessian`` and
        ``loss_gradient``; for ``Huber(scale="joint")`` its ``delta`` and
        ``fit_scale``).
    X : ndarray of shape (n_samples, n_features)
        The fold's rows, as the estimator's ``fit`` sees them.
    y : ndarray of shape (n_samples,)
        The encoded target.
    sample_weight : ndarray of shape (n_samples,) or None
        The fit's weights (normalised here to sum one, as the objective does).
    fit_intercept : bool
    tol : float
        The estimator's ``tol``: the point's objective is within
        ``_STOP_SHARE * tol`` (relative) of its optimum by the model's estimate.
    """

    def __init__(self, loss, X, y, sample_weight, *, fit_intercept, tol):
        X = np.asarray(X, dtype=np.float64)
        n, p = X.shape
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
        self.omega = w / w.sum()
        self.loss = loss
        self.y = np.asarray(y, dtype=np.float64).ravel()
        self.sample_weight = sample_weight
        self.fit_intercept = fit_intercept
        self.tol = float(tol)
        self.joint = bool(getattr(loss, "has_joint_scale", False))
        self.delta = float(loss.delta) if self.joint else None
        # Standardised columns (weighted moments): the model's matrix is then
        # well conditioned whatever the units or offsets of the features.
        centre = self.omega @ X if fit_intercept else np.zeros(p)
        spread = np.sqrt(np.maximum(self.omega @ (X - centre) ** 2, 0.0))
        scale_floor = 1e-12 * max(
            float(np.max(np.abs(centre), initial=0.0)),
            float(np.max(spread, initial=0.0)),
            np.finfo(float).tiny,
        )
        self.kept = np.flatnonzero(spread > scale_floor)  # constant columns stay at zero
        self.centre, self.spread = centre[self.kept], spread[self.kept]
        self.Xs = (X[:, self.kept] - self.centre) / self.spread
        # The columns of the raw prediction's derivative: [Xs, 1].
        self.design = np.hstack([self.Xs, np.ones((n, 1))]) if fit_intercept else self.Xs
        self.n_features = p
        # The joint scale's Gram matrix of the quadratic zone (_inside_gram).
        self._inside, self._gram, self._updates = None, None, 0
        self.n_iter_ = 0
        self.scale_ = None

    # -- variables -----------------------------------------------------------

    def _to_scaled(self, params, sigma):
        w = params[: self.n_features][self.kept]
        beta = [w * self.spread]
        if self.fit_intercept:
            beta.append([params[self.n_features] + self.centre @ w])
        if self.joint:
            beta.append([sigma])
        return np.concatenate(beta)

    def _from_scaled(self, beta):
        params = np.zeros(self.n_features + int(self.fit_intercept))
        k = self.kept.size
        w = beta[:k] / self.spread
        params[self.kept] = w
        if self.fit_intercept:
            params[self.n_features] = beta[k] - self.centre @ w
        return params

    def _raw(self, beta):
        return self.design @ beta[: self.design.shape[1]]

    # -- objective -------------------------------------------------------------

    def _data_value(self, beta):
        """The data term at ``beta`` (inf outside the domain, sigma <= 0)."""
        raw = self._raw(beta)
        if self.joint:
            sigma = beta[-1]
            if not sigma > 0:
                return np.inf
            a = np.abs(raw - self.y)
            inside = a <= self.delta * sigma
            per = np.where(
                inside,
                0.5 * sigma + 0.5 * a * a / sigma,
                0.5 * sigma + self.delta * a - 0.5 * self.delta**2 * sigma,
            )
            return float(self.omega @ per)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, _ = self.loss.loss_gradient(self.y, raw, self.omega)
        return float(np.sum(loss))

    def _derivatives(self, beta):
        """Data term, its gradient and Hessian in the scaled variables."""
        raw = self._raw(beta)
        design = self.design
        if self.joint:
            sigma = beta[-1]
            r = raw - self.y
            a = np.abs(r)
            inside = a <= self.delta * sigma
            u = r / sigma
            per = np.where(
                inside,
                0.5 * sigma + 0.5 * r * u,
                0.5 * sigma + self.delta * a - 0.5 * self.delta**2 * sigma,
            )
            d_raw = np.where(inside, u, self.delta * np.sign(r))
            d_sigma = np.where(inside, 0.5 - 0.5 * u * u, 0.5 * (1 - self.delta**2))
            value = float(self.omega @ per)
            # The rows in the quadratic zone carry all the curvature, of the
            # augmented design [X, 1, -r / sigma] weighted by omega / sigma;
            # its block on [X, 1] is kept up to date by the rows that change
            # zone (few, from one step or one alpha to the next).
            inside_weight = np.where(inside, self.omega, 0.0)
            n_vars = design.shape[1] + 1
            hessian = np.empty((n_vars, n_vars))
            hessian[:-1, :-1] = self._inside_gram(inside) / sigma
            hessian[:-1, -1] = hessian[-1, :-1] = -(design.T @ (inside_weight * r)) / sigma**2
            hessian[-1, -1] = float(inside_weight @ (u * u)) / sigma
            grad = np.empty(n_vars)
            grad[:-1] = design.T @ (self.omega * d_raw)
            grad[-1] = self.omega @ d_sigma
            return value, grad, hessian
        with np.errstate(over="ignore", invalid="ignore"):
            loss, g = self.loss.loss_gradient(self.y, raw, self.omega)
            _, hessian = self.loss.gradient_hessian(self.y, raw, self.omega)
        value = float(np.sum(loss))
        grad = design.T @ np.asarray(g, dtype=np.float64).ravel()
        root = np.sqrt(np.maximum(np.asarray(hessian.diagonal, dtype=np.float64).ravel(), 0.0))
        scaled = design * root[:, None]
        return value, grad, scaled.T @ scaled

    def _inside_gram(self, inside):
        """``sum_i omega_i d_i d_i^T`` over the rows ``inside``, ``d_i`` the design's rows.

        Updated from the last mask by the rows that changed, and formed afresh
        when many did (or every ``_REFRESH_UPDATES`` updates, so that rounding
        does not accumulate).
        """
        design, omega = self.design, self.omega
        last = self._inside
        if last is not None:
            changed = np.flatnonzero(inside != last)
            if changed.size == 0:
                return self._gram
            if changed.size <= _UPDATE_SHARE * inside.size and self._updates < _REFRESH_UPDATES:
                rows = design[changed]
                signed = np.where(inside[changed], omega[changed], -omega[changed])
                self._gram = self._gram + (rows * signed[:, None]).T @ rows
                self._inside, self._updates = inside, self._updates + 1
                return self._gram
        rows = design[inside]
        self._gram = (rows * omega[inside][:, None]).T @ rows
        self._inside, self._updates = inside, 0
        return self._gram

    def _penalty(self, beta, lam, ridge):
        return float(lam @ np.abs(beta) + 0.5 * ridge @ (beta * beta))

    # -- the point -------------------------------------------------------------

    def solve(self, alpha, l1_ratio, params, sigma=None):
        """The optimum at ``alpha`` from the flat ``params`` (and scale), or None.

        Parameters
        ----------
        alpha, l1_ratio : float
            The point's penalty.
        params : ndarray of shape (n_features + fit_intercept,)
            The previous point's flat parameters, in the estimator's layout.
        sigma : float, default=None
            The previous point's scale (``Huber(scale="joint")`` only).

        Returns
        -------
        params : ndarray or None
            The point's flat parameters; None when it did not converge here.
        """
        k = self.kept.size
        n_vars = k + int(self.fit_intercept) + int(self.joint)
        lam = np.zeros(n_vars)
        ridge = np.zeros(n_vars)
        lam[:k] = alpha * l1_ratio / self.spread
        ridge[:k] = alpha * (1 - l1_ratio) / self.spread**2
        if self.joint and not (sigma is not None and np.isfinite(sigma) and sigma > 0):
            return None
        beta = self._to_scaled(np.asarray(params, dtype=np.float64), sigma)
        self.n_iter_ = 0
        value = None
        for _ in range(_MAX_STEPS):
            data, grad, hessian = self._derivatives(beta)
            if not (
                np.isfinite(data) and np.all(np.isfinite(grad)) and np.all(np.isfinite(hessian))
            ):
                return None
            value = data + self._penalty(beta, lam, ridge)
            jitter = _JITTER * max(float(np.max(np.diag(hessian), initial=0.0)), 1.0)
            target = _model_minimiser(hessian, ridge + jitter, grad - hessian @ beta, lam, beta)
            if target is None:
                return None
            step = target - beta
            new_penalty = self._penalty(target, lam, ridge)
            directional = float(grad @ step) + new_penalty - self._penalty(beta, lam, ridge)
            decrease = -(directional + 0.5 * float(step @ hessian @ step))
            self.n_iter_ += 1
            if decrease <= _STOP_SHARE * self.tol * abs(value):
                break
            t = 1.0
            if self.joint and target[-1] <= 0:  # stay inside sigma > 0
                t = 0.5 * beta[-1] / (beta[-1] - target[-1])
            for _ in range(_MAX_BACKTRACK):
                trial = beta + t * step
                trial_value = self._data_value(trial) + self._penalty(trial, lam, ridge)
                if trial_value <= value + _ARMIJO * t * directional:
                    break
                t *= 0.5
            else:
                return None
            beta = trial
        else:
            return None
        if self.joint:
            self.scale_ = float(beta[-1])
        return self._from_scaled(beta)


def _model_minimiser(H, ridge, g, lam, z0):
    """Minimiser of ``z'Hz/2 + ridge.z^2/2 + g'z + lam.|z|``, None if not found.

    Near the optimum of a path point the signs of the previous solution are
    usually the new one's: one solve on that sign pattern, checked against
    the optimality conditions (every sign kept, every zero coordinate's
    gradient within ``lam``), answers in a single factorisation. Otherwise
    feature-sign search from ``z0`` does.
    """
    free = lam == 0
    active = free | (z0 != 0)
    index = np.flatnonzero(active)
    sign = np.sign(z0[index])
    sign[free[index]] = 0.0
    system = H[np.ix_(index, index)]
    system.flat[:: index.size + 1] += ridge[index]
    _, solution, info = dposv(system, -(g[index] + lam[index] * sign))
    if info == 0 and np.all(np.isfinite(solution)):
        penalised = sign != 0
        if np.all(np.sign(solution[penalised]) == sign[penalised]):
            z = np.zeros_like(z0)
            z[index] = solution
            if active.all():
                return z
            grad = H[~active] @ z + g[~active]
            slack = _KKT_SLACK * np.maximum(np.abs(g[~active]), lam[~active])
            if np.all(np.abs(grad) <= lam[~active] + slack):
                return z
    return _feature_sign_search(H, ridge, g, lam, z0)[0]

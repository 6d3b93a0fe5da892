r"""Unit-free variables for the full-batch solvers: an exact change of variables.

A full-batch solver minimises the :class:`~sklosses._objective.Objective`
:math:`J(\theta)` through :class:`ScaledProblem`, which presents

.. math::
    \tilde J(z) = J(\theta_{\mathrm{ref}} + M z) / F

to it: :math:`F` is the objective of the best constant prediction (below), so
the scaled objective of the best constant is 1 whatever the units of ``y``; for a linear model,
:math:`M` standardises every column of ``X`` and measures every output in
units of its raw scale, so the variables are of order 1 whatever the units of
``X`` and ``y``. The map is affine and invertible, so the minimiser of
:math:`\tilde J` is exactly the minimiser of :math:`J` mapped to ``z``; only
the solver's path and its stopping tests see the new units.

For a linear model with weights :math:`W` (``n_outputs x n_features``) and
intercepts :math:`b`, column centres :math:`c_j`, column spreads :math:`s_j`,
output scales :math:`\sigma_k`, the weight :math:`\omega_k` of output
:math:`k` in the scaled objective (:math:`1/F`) and the ridge strength
:math:`\alpha_2`, the scale :math:`s_{kj}^2 = s_j^2 + \alpha_2 \omega_k
\sigma_k^2` keeps both the loss's and the penalty's curvature of order 1:

.. math::
    W_{kj} = \sigma_k z_{kj} / s_{kj}, \qquad
    b_k = b^{\mathrm{ref}}_k + \sigma_k z_{b,k} - \textstyle\sum_j W_{kj} c_j

so that :math:`X W^T + b = \tilde X (\sigma \odot z)^T + b^{\mathrm{ref}} +
\sigma \odot z_b` with :math:`\tilde X = (X - c) / s` never formed (sparse
``X`` stays sparse: the centring lives in the intercept). Without an
intercept nothing is centred and :math:`s_j` is the root mean square of the
column. The penalty follows the map: the L2 part becomes a diagonal
quadratic in ``z`` and the L1 part a weighted L1 norm whose proximal
operator is soft-thresholding with one threshold per coordinate.

The location-shift model of ordered levels (one slope, intercepts
:math:`b_1 \le \dots \le b_K` through softplus gaps) is mapped as a
one-output linear model plus one scale per gap (:class:`_LocationShiftMap`).
A list of levels compares one target column with every output, so every
output is measured in that target's scale (:func:`output_scales`).

An MLP (non-convex) keeps its hidden layers as they are, so that its path
barely changes; its output layer is measured in units of each output's raw
scale (:math:`W_L = \sigma \odot z_L`, :math:`b_L = \sigma \odot z_{b}`),
so that a change of units of ``y`` does not defeat the gradient test.

:math:`F` is the loss of the best constant prediction (``loss.init_raw``, the
linear model's start), the spread of the targets in the loss's own units;
:math:`|J(x_0)|` when that is 0, and 1 when both are.
"""

import numpy as np
import scipy.sparse as sp

from . import _row_products
from ._start_evaluation import StartEvaluation
from .models import MLP, LinearModel
from .models._monotone import LocationShiftModel
from .penalties._base import BasePenalty

# Relative spread below which a column counts as constant.
_CONSTANT_SPREAD = 1e-10


class ScaledProblem:
    """The objective in unit-free variables ``z`` (see the module docstring).

    Parameters
    ----------
    objective : Objective
        The objective to minimise.
    x0 : ndarray of shape (n_params,)
        Starting parameters; fix the reference intercepts (so that ``z = 0``
        is the best-constant start of a linear model).
    balance_outputs : bool, default=True
        Weight each output of a separable multi-output L1 problem by its own
        scale (:class:`_OutputBalance`). Newton asks for False: its Hessian
        is the objective's own, divided by the one factor :math:`F`.
    first_evaluation : bool, default=True
        Compute the smooth value and gradient at ``x0`` in the column pass
        when its weights are zero (:class:`~sklosses._start_evaluation.StartEvaluation`),
        for a solver whose first call is :meth:`smooth_value_gradient` there.
        Newton, which starts with :meth:`gradient_hessian`, asks for False.
    like : ScaledProblem, optional
        A scaled problem of the same data, loss and model (another penalty:
        the next point of a regularisation path): its factor :math:`F` and
        column moments are reused instead of another pass over ``X``, so
        the variables and the stopping test are those a fresh one would
        have. Only with ``balance_outputs=False``.

    Attributes
    ----------
    value_scale : float
        :math:`F`, the divisor of the objective: the loss of the best constant
        prediction (``|J(x0)|`` if that is 0, 1 if both are: a non-finite start
        is the solver's error to raise).
    l1_weights : ndarray of shape (n_params,)
        Coefficient of :math:`|z_i|` in the scaled non-smooth penalty (0 on
        intercepts and biases, and everywhere for a smooth penalty).
    weights_slice : slice
        The penalised variables, as in the objective.
    dtype : numpy dtype
        The dtype the objective computes in (its rounding level bounds the
        accuracy any stopping test can ask for); variables are float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses._objective import Objective
    >>> from sklosses._preconditioning import ScaledProblem
    >>> from sklosses.losses import SquaredError
    >>> from sklosses.models import LinearModel
    >>> from sklosses.penalties import L2
    >>> X = np.array([[1e18], [2e18], [3e18]])
    >>> y = np.array([1e-5, 2e-5, 3e-5])
    >>> objective = Objective(SquaredError(), LinearModel(1, 1), L2(1e-4), X, y)
    >>> x0 = np.array([0.0, 2e-5])
    >>> problem = ScaledProblem(objective, x0)
    >>> float(problem.value(problem.to_variables(x0)))
    1.0
    >>> z = np.array([1.0, 0.0])
    >>> theta = problem.to_params(z)
    >>> bool(np.allclose(problem.to_variables(theta), z))
    True
    """

    def __init__(self, objective, x0, *, balance_outputs=True, first_evaluation=True,
                 like=None):
        self.objective = objective
        x0 = np.asarray(x0, dtype=np.float64)
        self._balance = None
        model = getattr(objective, "model", None)
        if balance_outputs and isinstance(model, LinearModel) \
                and _l1_strength(objective.penalty) is not None:
            if like is not None:
                raise ValueError("ScaledProblem(like=...) needs balance_outputs=False")
            self._balance = _OutputBalance.if_separable(objective, x0)
        # The first evaluation, at a start without weights, shares the column pass.
        start = (StartEvaluation.if_applicable(objective, x0)
                 if first_evaluation and self._balance is None and like is None else None)
        self.value_scale = (like.value_scale if like is not None
                            else _value_scale(objective, x0, start))
        # The column moments (centres, spreads) of a linear map: another
        # penalty on the same data reuses them (``like``).
        self._columns = None if like is None else like._columns
        # Columns of the original problem, for one made by restricted().
        self._parent_columns = None
        self.weights_slice = objective.weights_slice
        self.dtype = np.dtype(model.dtype) if model is not None else np.dtype(np.float64)
        # Weight of each output's share of J in the scaled objective.
        n_outputs = model.n_outputs if model is not None else 1
        output_weights = (self._balance.weights if self._balance is not None
                          else np.full(n_outputs, 1.0 / self.value_scale))
        self._map = _affine_map(objective, x0, output_weights, start, self._columns)
        self._columns = getattr(self._map, "columns", None)
        self.l1_weights = self._scaled_l1_weights()
        self._start = None
        if start is not None and start.grad is not None:
            self._start = (self.to_variables(x0), float(start.value) / self.value_scale,
                           self._map.pull_back(start.grad) / self.value_scale)

    @property
    def penalty(self):
        """The objective's penalty (its ``is_smooth`` is unchanged by the map)."""
        return self.objective.penalty

    @property
    def loss(self):
        """The objective's loss, for error messages."""
        return self.objective.loss

    @property
    def offers_hessian(self):
        """Whether :meth:`gradient_hessian` can be called.

        It needs a linear model, a loss with second derivatives
        (``gradient_hessian``) and no per-output balance (whose weights the
        objective's Hessian lacks).
        """
        return (self._balance is None
                and isinstance(getattr(self.objective, "model", None), LinearModel)
                and callable(getattr(self.objective.loss, "gradient_hessian", None)))

    def to_params(self, z):
        """Parameters :math:`\\theta` of the variables ``z``."""
        return self._map.to_params(np.asarray(z, dtype=np.float64))

    def to_variables(self, params):
        """Variables ``z`` of the parameters :math:`\\theta` (the inverse map)."""
        return self._map.to_variables(np.asarray(params, dtype=np.float64))

    def smooth_value_gradient(self, z):
        """Scaled smooth part and its gradient with respect to ``z``."""
        if self._start is not None and np.array_equal(z, self._start[0]):
            return self._start[1], self._start[2].copy()
        params = self.to_params(z)
        if self._balance is not None:
            value, grad = self._balance.smooth_value_gradient(params)
            return value, self._map.pull_back(grad)
        value, grad = self.objective.smooth_value_gradient(params)
        grad = self._map.pull_back(np.asarray(grad, dtype=np.float64)) / self.value_scale
        value = float(value) / self.value_scale
        self._last = (params, value, grad.copy())
        return value, grad

    def smooth_values_by_output(self, z):
        """Each output's scaled share of :meth:`smooth_value_gradient`'s value, or None.

        See :meth:`Objective.smooth_values_by_output`; None as well for a
        balanced problem, whose outputs carry their own weights.
        """
        if self._balance is not None:
            return None
        values = self.objective.smooth_values_by_output(self.to_params(z))
        return None if values is None else values / self.value_scale

    def start_from(self, other, x0):
        """Take ``other``'s last evaluation as this problem's at ``x0``, if it was there.

        For the next point of an L1 path (``other`` an earlier problem of
        the same data, loss, model and variables, whose penalty has no L2
        part: the same smooth function in the same units): its last
        :meth:`smooth_value_gradient` call, at the parameters ``x0``, is
        this problem's first, without another pass over the data. The
        intercepts' reference (``x0``) does not enter the gradient in ``z``.
        Returns whether it was taken.
        """
        last = getattr(other, "_last", None)
        if last is None or not np.array_equal(last[0], np.asarray(x0, dtype=np.float64)):
            return False
        self._start = (self.to_variables(x0), last[1], last[2])
        return True

    def gradient_hessian(self, z):
        r"""Scaled smooth part, its gradient and its Hessian with respect to ``z``.

        The map is affine, :math:`\theta = \theta_{\mathrm{ref}} + M z`, so the
        Hessian in ``z`` is exactly :math:`M^\top H M / F` with ``H`` the
        objective's (:meth:`Objective.gradient_hessian`).
        """
        self._check_unbalanced()
        value, grad, hessian = self.objective.gradient_hessian(self.to_params(z))
        grad = self._map.pull_back(np.asarray(grad, dtype=np.float64))
        hessian = self._map.pull_back_hessian(np.asarray(hessian, dtype=np.float64))
        return float(value) / self.value_scale, grad / self.value_scale, \
            hessian / self.value_scale

    def hessian(self, z):
        """The Hessian of :meth:`gradient_hessian` alone (``M^T H M / F``)."""
        self._check_unbalanced()
        hessian = self.objective.hessian(self.to_params(z))
        return self._map.pull_back_hessian(np.asarray(hessian, dtype=np.float64)) \
            / self.value_scale

    @property
    def has_feature_hessian(self):
        """Whether :meth:`hessian_features` is available (a plain linear model's map)."""
        return (self._balance is None and isinstance(self._map, _LinearMap)
                and type(self.objective.model) is LinearModel)

    def feature_indices(self, features):
        """Indices in ``z`` of the weights of the columns ``features``, then the intercepts."""
        return self.objective.model.feature_indices(features)

    def hessian_features(self, z, features, lagged=None):
        r"""The Hessian of :meth:`hessian` on :meth:`feature_indices` alone.

        The map ties a weight only to itself and its output's intercept, so
        that block is :math:`M_S^\top H_S M_S / F` with :math:`H_S` the
        objective's block (:meth:`Objective.hessian_features`) and
        :math:`M_S` the map on those columns: ``n |features|^2`` work.
        With ``lagged`` (a
        :class:`~sklosses._lagged_hessian.LaggedFeatureHessian` on the data
        of the problem this one was :meth:`restricted` from, or of this
        one), the data term's block at its last refresh instead.
        """
        block = None
        if lagged is not None:
            block = lagged.block(self._in_parent(features))
        hessian = self.objective.hessian_features(self.to_params(z), features, block)
        return self._map.restricted(features).pull_back_hessian(
            np.asarray(hessian, dtype=np.float64)) / self.value_scale

    def refresh_lagged(self, lagged, z, features):
        """Refresh ``lagged`` at ``z`` (this problem's curvature weights) on ``features``."""
        lagged.refresh(self.objective.curvature_weights(self.to_params(z)),
                       self._in_parent(features))

    def prioritise(self, lagged, closeness):
        """Pass each feature's ``closeness`` to entering to ``lagged`` (in its columns)."""
        if self._parent_columns is None:
            lagged.priority = closeness
        elif lagged.priority is not None:
            lagged.priority[self._parent_columns] = closeness

    def _in_parent(self, features):
        return features if self._parent_columns is None else self._parent_columns[features]

    def restricted(self, features):
        """This problem on the columns ``features`` alone (other weights held at zero).

        The same factor :math:`F` and change of variables (the map on those
        columns), on a copy of those columns
        (:meth:`Objective.on_columns`): its variables are
        ``z[feature_indices(features)]``, and it equals this problem
        wherever the other weights are zero.
        """
        sub = object.__new__(ScaledProblem)
        sub.__dict__.update(self.__dict__)
        sub.objective = self.objective.on_columns(features)
        sub._map = self._map.restricted(features)
        sub.weights_slice = sub.objective.weights_slice
        sub.l1_weights = self.l1_weights[self.feature_indices(features)]
        sub._start = sub._last = None
        sub._columns = None  # its column moments are those of a subset
        sub._parent_columns = np.asarray(self._in_parent(features), dtype=np.intp)
        return sub

    def gradient_hessian_blocks(self, z):
        r"""Scaled smooth part, its gradient and its per-output Hessian blocks in ``z``.

        For a linear model whose outputs are independent
        (:meth:`Objective.gradient_hessian_blocks`): the map acts output by
        output, so block ``k`` in ``z`` is :math:`M_k^\top H_k M_k / F`.
        """
        self._check_unbalanced()
        value, grad, blocks = self.objective.gradient_hessian_blocks(self.to_params(z))
        grad = self._map.pull_back(np.asarray(grad, dtype=np.float64))
        return float(value) / self.value_scale, grad / self.value_scale, \
            self._map.pull_back_hessian_blocks(blocks) / self.value_scale

    def hessian_blocks(self, z):
        """The blocks of :meth:`gradient_hessian_blocks` alone."""
        self._check_unbalanced()
        blocks = self.objective.hessian_blocks(self.to_params(z))
        return self._map.pull_back_hessian_blocks(blocks) / self.value_scale

    def gradient_hessp(self, z):
        r"""Scaled smooth part, its gradient and Hessian-vector products in ``z``.

        Returns
        -------
        value : float
        gradient : ndarray of shape (n_params,)
        hessp : callable
            ``hessp(v)`` is :math:`M^\top H M v / F`; ``hessp.diagonal()`` the
            diagonal of that matrix (a preconditioner).
        """
        self._check_unbalanced()
        value, grad, product = self.objective.gradient_hessp(self.to_params(z))
        grad = self._map.pull_back(np.asarray(grad, dtype=np.float64))
        return float(value) / self.value_scale, grad / self.value_scale, \
            _ScaledHessianProduct(product, self._map, self.value_scale)

    def inverse_hessian_bound(self, hessp, gradient, free):
        r"""An upper bound on :math:`g_F^\top H_{FF}^{-1} g_F` without a pass over ``X``.

        For a one-output linear model whose loss has per-sample curvatures
        :math:`D_i \ge 0` and a penalty with a diagonal smooth Hessian: in
        ``z`` the Hessian is :math:`A + R`, :math:`A = J^\top D J / F \succeq 0`
        the data term's (rows :math:`J_i = ((x_i - c) \odot f, \sigma)`) and
        :math:`R` the penalty's, diagonal, :math:`R_j = f_j^2 r_j / F` on
        the weights and 0 on the intercept. Eliminating the intercept,

        .. math::
            g^\top H^{-1} g = g_b^2 / h_{bb} + u^\top S^{-1} u, \qquad
            u = g_W - h\, g_b / h_{bb}, \quad S \succeq R_{WW},

        (:math:`S`, the Schur complement, is that of :math:`A` plus
        :math:`R_{WW}`), with :math:`h_{bb} = \sigma^2 \sum_i D_i / F` and,
        by Cauchy-Schwarz, :math:`|h_j| \le \sqrt{h_{bb} A_{jj}}`,
        :math:`A_{jj} \le \sigma^2 \max_i (D_i / w_i) / F` (the column
        scales are at least the columns' weighted spreads). So

        .. math::
            g^\top H^{-1} g \le g_b^2 / h_{bb} + \textstyle\sum_j
            (|g_j| + \rho |g_b|)^2 / R_j, \qquad
            \rho = \sqrt{\max_i (D_i / w_i) / \textstyle\sum_i D_i},

        and without an intercept :math:`\sum_j g_j^2 / R_j`. The same holds
        on any set ``F`` of free variables that contains the intercept (a
        principal submatrix). It is loose by the ratio of the penalty's
        curvature to the data's, and serves to skip the products of
        :func:`~sklosses.solvers._decrement_check.relative_decrement` where
        even it is small (a gradient test far tighter than its ``tol``).

        Parameters
        ----------
        hessp : callable
            The Hessian products of :meth:`gradient_hessp` at the point.
        gradient : ndarray of shape (n_free,)
            The gradient in ``z`` on the free variables.
        free : ndarray of bool of shape (n_params,)

        Returns
        -------
        bound : float
            ``inf`` where the bound does not apply (other models, losses or
            penalties, negative or non-finite curvatures, sparse ``X`` with an
            intercept) or is infinite.
        """
        objective = self.objective
        model = objective.model
        product = getattr(hessp, "product", None)
        raw_hessian = getattr(product, "raw_hessian", None)
        weight = objective._normalised_weight
        if (type(model) is not LinearModel or model.n_outputs != 1
                or not isinstance(self._map, _LinearMap) or self._balance is not None
                or not getattr(raw_hessian, "is_diagonal", False) or weight is None
                or not _diagonal_smooth_hessian(objective.penalty)):
            return np.inf
        d = np.asarray(raw_hessian.diagonal, dtype=np.float64).ravel()
        weight = np.asarray(weight, dtype=np.float64)
        if d.shape != weight.shape:
            return np.inf
        with np.errstate(all="ignore"):
            # A finite sum has finite terms; D_i <= d_max w_i needs D_i = 0
            # where w_i = 0.
            total = float(d.sum())
            if not (np.isfinite(total) and d.min(initial=0.0) >= 0.0):
                return np.inf
            if weight.min(initial=1.0) > 0.0:
                d_max = float(np.max(d / weight, initial=0.0))
            else:
                positive = weight > 0
                if np.any(d[~positive]):
                    return np.inf
                d_max = float(np.max(d[positive] / weight[positive], initial=0.0))
            n_weights = model.n_weights
            W = np.asarray(product.params[:n_weights], dtype=np.float64)
            ridge = np.broadcast_to(np.asarray(objective.penalty.smooth_hessian_diagonal(W),
                                               dtype=np.float64), (n_weights,))
            ridge = ridge * self._map.factor.ravel() ** 2 / self.value_scale
            free_w = free[:n_weights]
            g = np.zeros(free.size)
            g[free] = gradient
            g_w = np.abs(g[:n_weights][free_w])
            if model.fit_intercept and sp.issparse(objective.X):
                # The coupling bound needs every column scale to be at least
                # its weighted spread; sparse X has only the one-pass spread,
                # which cancels on a large, nearly constant column.
                return np.inf
            if model.fit_intercept:
                g_b = abs(float(g[n_weights]))
                h_bb = self._map.sigma[0] ** 2 * total / self.value_scale
                if g_b == 0.0:
                    head = 0.0
                elif total > 0.0 and h_bb > 0.0:
                    head = g_b**2 / h_bb
                    g_w = g_w + g_b * np.sqrt(d_max / total)
                else:
                    return np.inf
            else:
                head = 0.0
            r = ridge[free_w]
            if np.any((r <= 0.0) & (g_w > 0.0)):
                return np.inf
            bound = head + float(np.sum(np.divide(g_w**2, r, out=np.zeros_like(g_w),
                                                  where=g_w > 0.0)))
        return bound if np.isfinite(bound) else np.inf

    def _check_unbalanced(self):
        if self._balance is not None:  # its outputs carry weights the Hessian lacks
            raise ValueError("second-order products need ScaledProblem(..., "
                             "balance_outputs=False)")

    def nonsmooth_value(self, z):
        """Scaled non-smooth part (the weighted L1 norm of ``z``)."""
        if self._map.is_identity:
            return self.objective.nonsmooth_value(self.to_params(z)) / self.value_scale
        return float(self.l1_weights @ np.abs(z))

    def value(self, z):
        """Scaled objective :math:`\\tilde J(z)`."""
        if self._balance is not None:
            return self.smooth_value_gradient(z)[0] + self.nonsmooth_value(z)
        return float(self.objective.value(self.to_params(z))) / self.value_scale

    def prox(self, z, step):
        """Proximal step of the scaled non-smooth part with step size ``step``."""
        if self._map.is_identity:
            # The parameters are the variables: the penalty's own prox, with
            # the step in units of J rather than of J / F.
            return self.objective.prox(z, step / self.value_scale)
        threshold = step * self.l1_weights
        return np.sign(z) * np.maximum(np.abs(z) - threshold, 0.0)

    def unscale(self, value, z):
        """The objective ``J`` (in its own units) at ``z``, whose scaled value is ``value``."""
        if self._balance is not None:  # outputs weighted apart: not one factor
            return float(self.objective.value(self.to_params(z)))
        return float(value) * self.value_scale

    def _scaled_l1_weights(self):
        weights = np.zeros(self._map.n_params)
        strength = _l1_strength(self.objective.penalty)
        if strength:
            per_weight = np.full(self._map.n_weights, 1.0 / self.value_scale)
            if self._balance is not None:
                per_weight = np.repeat(self._balance.weights, self._map.n_features)
            weights[self.weights_slice] = strength * self._map.weight_scales() * per_weight
        return weights


class _OutputBalance:
    r"""Each output of a separable multi-output problem weighted by its own scale.

    When the loss of a row is the mean of per-output losses (multi-output
    regression, API.md) and the model is linear, the problem splits into one
    independent problem per output: :math:`J = \sum_k C_k(W_k, b_k)` with
    :math:`C_k` the output's share of the loss plus the penalty of its row of
    weights. Then :math:`\sum_k \omega_k C_k` has the same minimiser for any
    :math:`\omega_k > 0`; with :math:`\omega_k = 1 / C_k(\text{best
    constant})` every output starts at 1, so an output on a scale 1e-12 of
    another's is fitted as accurately as that one, not drowned in its
    rounding errors.
    """

    def __init__(self, objective, weights):
        self.objective = objective
        self.weights = weights

    @classmethod
    def if_separable(cls, objective, x0):
        """The balance for ``objective``, or None when it does not split by output."""
        model, y = objective.model, np.asarray(objective.y)
        n_outputs = model.n_outputs
        if n_outputs < 2 or y.ndim != 2 or y.shape[1] != n_outputs \
                or not np.issubdtype(y.dtype, np.floating):
            return None
        try:
            with np.errstate(all="ignore"):
                raw0 = np.asarray(objective.loss.init_raw(y, objective.sample_weight),
                                  dtype=np.float64).reshape(-1)
                if raw0.size != n_outputs:
                    return None
                constant = np.broadcast_to(raw0, y.shape).astype(model.dtype)
                # Separable if the loss of the rows is the mean of the columns'
                # at a point where the columns differ (checked, not assumed).
                wiggle = constant + 0.1 * np.sin(np.arange(y.size)).reshape(y.shape)
                shares = cls._shares(objective, wiggle.astype(model.dtype))
                whole = float(np.sum(objective.loss.loss(
                    objective.y, wiggle.astype(model.dtype), objective._normalised_weight)))
                if not np.isclose(shares.sum(), whole, rtol=1e-9, atol=0.0):
                    return None
                null = cls._shares(objective, constant)
        except (ValueError, TypeError, IndexError, FloatingPointError):
            return None
        if not np.all(np.isfinite(null) & (null > 0)):
            return None
        return cls(objective, 1.0 / (n_outputs * null))

    @staticmethod
    def _shares(objective, raw):
        """Each output's share of the weighted mean loss at ``raw``."""
        loss, y, weight = objective.loss, objective.y, objective._normalised_weight
        n_outputs = raw.shape[1]
        return np.array([
            float(np.sum(loss.loss(y[:, [k]], raw[:, [k]], weight))) / n_outputs
            for k in range(n_outputs)
        ])

    def smooth_value_gradient(self, params):
        """:math:`\\sum_k \\omega_k C_k` (smooth part) and its gradient in theta."""
        objective = self.objective
        model = objective.model
        params = np.asarray(params, dtype=model.dtype)
        raw, cache = model.forward(params, objective.X)
        _, grad_raw = objective.loss.loss_gradient(objective.y, raw,
                                                   objective._normalised_weight)
        shares = self._shares(objective, raw)
        grad = model.backward(params, cache, grad_raw * self.weights.astype(grad_raw.dtype))
        grad = np.asarray(grad, dtype=np.float64)
        W = np.asarray(params[objective.weights_slice], dtype=np.float64).reshape(
            model.n_outputs, model.n_features)
        value = float(self.weights @ shares)
        grad_W = grad[objective.weights_slice].reshape(model.n_outputs, model.n_features)
        for k in range(model.n_outputs):
            pen_value, pen_grad = objective.penalty.smooth_value_gradient(W[k])
            value += self.weights[k] * pen_value
            grad_W[k] += self.weights[k] * pen_grad
        return value, grad


def _value_scale(objective, x0, start=None):
    """:math:`F`: the loss of the best constant prediction, else ``|J(x0)|``, else 1.

    The best constant (``loss.init_raw``, as the intercept starts) measures
    the spread of the targets in the loss's own units, whatever the model and
    its starting point: an MLP's random start can be far above or below it.
    A ``start`` evaluation (:class:`StartEvaluation`) at the best constant
    already holds that loss.
    """
    try:
        null = _best_constant_loss(objective, start)
    except (AttributeError, IndexError, ValueError, TypeError, FloatingPointError):
        null = np.nan  # a bare objective without loss or targets
    if np.isfinite(null) and null > 0:
        return float(null)
    start = abs(float(objective.value(x0)))
    return start if np.isfinite(start) and start > 0 else 1.0


def _best_constant_loss(objective, start=None):
    """Weighted mean loss of the best constant raw prediction."""
    loss, y, weight = objective.loss, objective.y, objective._normalised_weight
    with np.errstate(all="ignore"):
        raw0 = np.asarray(loss.init_raw(y, objective.sample_weight), dtype=np.float64)
        n_outputs = objective.model.n_outputs
        if start is not None:
            best = np.broadcast_to(raw0.reshape(-1)[:n_outputs], (n_outputs,))
            if np.array_equal(best.astype(objective.model.dtype), start.raw):
                return start.data_value  # the same predictions, the same loss
        raw = np.broadcast_to(raw0.reshape(-1)[:n_outputs], (y.shape[0], n_outputs))
        raw = raw.ravel() if objective._ravel_raw else raw
        per_sample = loss.loss(y, np.asarray(raw, dtype=objective.model.dtype), weight)
    return float(np.sum(per_sample))


def _diagonal_smooth_hessian(penalty):
    """Whether the smooth part of ``penalty`` has a diagonal Hessian
    (:meth:`smooth_hessian_diagonal`, not overridden by a full product)."""
    try:
        return (type(penalty).smooth_hessian_product is BasePenalty.smooth_hessian_product
                and type(penalty).smooth_hessian_diagonal
                is not BasePenalty.smooth_hessian_diagonal)
    except AttributeError:
        return False


def _l1_strength(penalty):
    """Coefficient of ``||W||_1`` (0 for a smooth penalty, None if not of that form)."""
    if penalty.is_smooth:
        return 0.0
    strength = getattr(penalty, "l1_strength", None)
    return None if strength is None else float(strength)


def _affine_map(objective, x0, output_weights, start=None, columns=None):
    """The change of variables for ``objective`` (identity unless linear,
    location-shift or MLP); ``columns``, the ``(centre, spread)`` of an
    earlier map on the same data, saves the column pass."""
    model = getattr(objective, "model", None)
    if model is None:  # a bare objective (tests, custom callers): scale J only
        return _IdentityMap(x0.size, objective.weights_slice.stop)
    # The column/output scaling is the change of variables of an affine
    # model raw = X W^T + b; a penalty must be smooth or a plain L1 part, whose
    # prox in the new variables is known (a weighted L1 norm).
    if _l1_strength(objective.penalty) is None:
        return _IdentityMap(model.n_params, model.n_weights)
    if isinstance(model, MLP):
        return _DiagonalMap(_output_layer_scales(model, output_scales(objective)),
                            model.n_weights)
    if not isinstance(model, (LinearModel, LocationShiftModel)):
        return _IdentityMap(model.n_params, model.n_weights)
    if columns is None:
        centre, scale, products = column_centres_and_scales(
            objective.X, objective._normalised_weight, centred=model.fit_intercept,
            extra=None if start is None else start.grad_raw,
        )
        if start is not None:
            start.finish(products)
    else:
        centre, scale = columns
    if isinstance(model, LinearModel) and model.fit_intercept:
        # The weighted means: kept for the diagnostics of the fit.
        objective._column_means = centre
    sigma = output_scales(objective)
    if isinstance(model, LocationShiftModel):
        return _LocationShiftMap(model, centre, scale, sigma, x0, objective.penalty,
                                 output_weights[0])
    # The ridge part alpha2 / 2 ||W||^2 has curvature alpha2 * omega_k
    # (sigma_k / s)^2 in the new variables, the loss about 1: a column whose
    # spread s is small next to sqrt(alpha2 omega_k) sigma_k is ruled by the
    # penalty, and is measured in the penalty's units instead, so that both
    # curvatures stay of order 1 (the optimum still does not move).
    ridge = getattr(objective.penalty, "l2_strength", 0.0)
    effective = np.sqrt(scale[None, :] ** 2 + ridge * (output_weights * sigma**2)[:, None])
    linear_map = _LinearMap(model, centre, effective, sigma, x0)
    linear_map.columns = (centre, scale)
    return linear_map


# Rows per block of the column moments: about 1 MB of float64 rows, so that
# a sparse X is never copied whole, and a dense block is read from memory
# once for all its sums (compiled loops over its rows,
# :mod:`sklosses._row_products`, which also read a float32 block without a
# converted copy). Measured single-threaded on an AMD EPYC, 1e5 x 100 with
# the start's gradient, within a binary log-loss fit: 16.9 ms by one BLAS
# gemv per product and NumPy's einsum for the squares, 6.2 ms so.
_MOMENT_BLOCK_BYTES = 2**20


def _weighted_column_moments(X, w, extra=None):
    """``(sum_i w_i x_ij, sum_i w_i x_ij^2, X^T extra)`` in float64, by blocks of rows.

    ``extra`` (n_samples, m), dense ``X`` only, is multiplied in the same
    pass (the third item is None without it).
    """
    n, p = X.shape
    rows_per_block = max(1, _MOMENT_BLOCK_BYTES // (8 * max(p, 1)))
    dense = not sp.issparse(X)
    if dense and n <= rows_per_block:
        # One block: the fewest calls (a small fit's fixed cost).
        X = np.asarray(X, dtype=np.float64)
        products = None if extra is None else np.asarray(extra.T @ X).T
        return w @ X, w @ (X * X), products
    mean, square = np.zeros(p), np.zeros(p)
    products = None if extra is None else np.zeros((p, extra.shape[1]))
    compiled = dense and X.nbytes >= _row_products.MIN_COMPILED_BYTES
    one_product = extra is not None and extra.shape[1] == 1
    if one_product:
        extra = np.ascontiguousarray(extra[:, 0], dtype=np.float64)
    for start in range(0, n, rows_per_block):
        rows = slice(start, start + rows_per_block)
        block, wb = X[rows], w[rows]
        if not dense:
            mean += np.asarray(block.T @ wb, dtype=np.float64).ravel()
            square += np.asarray(block.multiply(block).T @ wb, dtype=np.float64).ravel()
            continue
        block = np.ascontiguousarray(block)
        if one_product:
            _row_products.add_moments(block, wb, mean, square, extra[rows], products[:, 0],
                                      compiled=compiled)
            continue
        _row_products.add_moments(block, wb, mean, square, compiled=compiled)
        if extra is not None:  # several columns: one gemm while the block is cached
            products += (extra[rows].T @ block).T
    return mean, square, products


def column_centres_and_scales(X, weight, *, centred, extra=None):
    """Weighted centre and spread of every column of ``X``.

    Parameters
    ----------
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        The data.
    weight : ndarray of shape (n_samples,) or None
        Normalised sample weights (summing to 1); None for equal weights.
    centred : bool
        Centre on the weighted mean and use the weighted standard deviation
        (with an intercept, which absorbs the centre); else no centre and the
        weighted root mean square.

    Returns
    -------
    centre, scale : ndarray of shape (n_features,)
        ``scale`` is positive: a column without spread (relative to its root
        mean square, below 1e-10: rounding) falls back to its root mean
        square, a column of zeros to 1 (its coefficient is then decided by the
        penalty alone, in any units).
    products : ndarray of shape (n_features, m) or None
        ``X^T extra`` for an ``extra`` of shape (n_samples, m) (dense ``X``),
        computed in the same pass; None without it.
    """
    n = X.shape[0]
    w = np.full(n, 1.0 / n) if weight is None else np.asarray(weight, dtype=np.float64)
    if not sp.issparse(X):
        X = np.asarray(X)
    if extra is not None and sp.issparse(X):
        raise ValueError("extra products need a dense X")
    mean, square, products = _weighted_column_moments(X, w, extra)
    rms = np.sqrt(np.maximum(square, 0.0))
    spread = np.sqrt(np.maximum(square - mean**2, 0.0))
    if not sp.issparse(X):
        # E[x^2] - mean^2 cancels where a column sits far from zero: those
        # columns (nanosecond timestamps) get the exact second pass.
        # The one-pass spread^2 has an absolute error of about eps * square,
        # a relative one of eps * square / spread^2: at most 2 eps while the
        # mean holds at most half the square (ordinary columns keep one pass).
        far = mean**2 > 0.5 * square
        for j in np.flatnonzero(far):
            column = np.asarray(X[:, j], dtype=np.float64)
            spread[j] = np.sqrt(w @ (column - mean[j]) ** 2)
    rms = _positive(rms, np.ones_like(rms))
    if not centred:
        return np.zeros(X.shape[1]), rms, products
    # A spread this small next to the column's size is the rounding of a
    # constant column: its centred values are zero and any scale will do.
    spread = np.where(spread > _CONSTANT_SPREAD * rms, spread, 0.0)
    return mean, _positive(spread, rms), products


def _positive(values, fallback):
    """``values`` where positive and finite, else ``fallback``."""
    ok = np.isfinite(values) & (values > 0)
    return np.where(ok, values, fallback)


def output_scales(objective):
    """Raw scale of every output: the spread of the targets seen through the link.

    For real targets, the weighted standard deviation of ``link(y)`` over the
    samples where it is finite, per output (for the identity link the
    standard deviation of ``y``; for the log link that of ``log y``, which a
    change of units shifts but does not spread). A single target column
    against several outputs (a list of quantile or expectile levels, each
    output a level of the same target) gives every output that column's
    scale. Class labels, constant targets and links that do not map the
    targets to finite values give 1.

    Returns
    -------
    scales : ndarray of shape (n_outputs,)
    """
    n_outputs = objective.model.n_outputs
    y = np.asarray(objective.y)
    ones = np.ones(n_outputs)
    if not np.issubdtype(y.dtype, np.floating):
        return ones
    try:
        with np.errstate(all="ignore"):
            raw = np.asarray(objective.loss.link(y.astype(np.float64)), dtype=np.float64)
    except (ValueError, TypeError, FloatingPointError):
        return ones
    raw = raw.reshape(y.shape[0], -1)
    if raw.shape[1] == 1 and n_outputs > 1 and _broadcasts_target(objective.loss, n_outputs):
        # One target against K outputs (a list of levels): every output is
        # measured in the target's units, as a single level would be.
        raw = np.repeat(raw, n_outputs, axis=1)
    if raw.shape[1] != n_outputs:
        return ones
    weight = objective._normalised_weight
    w = np.full(y.shape[0], 1.0 / y.shape[0]) if weight is None else weight
    scales = np.empty(n_outputs)
    for k in range(n_outputs):
        finite = np.isfinite(raw[:, k]) & (w > 0)
        # Samples left out get weight 0 and value 0 (no copies of the kept ones).
        weight_k = np.where(finite, w, 0.0)
        total = weight_k.sum()
        if total <= 0:
            scales[k] = 1.0
            continue
        column = np.where(finite, raw[:, k], 0.0)
        mean = weight_k @ column / total
        spread = np.sqrt(weight_k @ (column - mean) ** 2 / total)
        # A spread this small next to the values is the rounding of a
        # constant target (log 1e-300 = -690.8 "spreads" by 5e-13), which
        # would freeze the intercept: a constant gets 1, as documented.
        size = np.sqrt(weight_k @ column**2 / total)
        scales[k] = spread if spread > _CONSTANT_SPREAD * size else 1.0
    return _positive(scales, ones)


def _broadcasts_target(loss, n_outputs):
    """Whether ``loss`` compares one target column with each of its ``n_outputs``."""
    return getattr(loss, "n_levels", 1) == n_outputs


class _IdentityMap:
    """Variables are the parameters (models other than linear)."""

    is_identity = True

    def __init__(self, n_params, n_weights):
        self.n_params = n_params
        self.n_weights = n_weights

    def to_params(self, z):
        return z

    def to_variables(self, params):
        return params

    def pull_back(self, grad):
        return grad

    def push_forward(self, v):
        return v

    def pull_back_hessian(self, hessian):
        return hessian

    def pull_back_diagonal(self, diagonal, column):
        return diagonal

    def weight_scales(self):
        return np.ones(self.n_weights)


def _output_layer_scales(model, sigma):
    """Per-parameter scale of an MLP: ``sigma_k`` on the output layer, else 1."""
    scales = np.ones(model.n_params)
    weights, biases = model.unpack(scales)  # views into ``scales``
    weights[-1][...] = sigma[None, :]
    if biases[-1] is not None:
        biases[-1][...] = sigma
    return scales


class _DiagonalMap:
    """``theta = d * z``: an MLP's output layer in units of each output's raw scale.

    The hidden layers keep their parameters (a non-convex model keeps its
    path); only the last layer, whose scale follows the targets', is
    rescaled, so that its gradient test does not depend on the units of y.
    """

    is_identity = False

    def __init__(self, scales, n_weights):
        self.scales = scales
        self.n_params, self.n_weights = scales.size, n_weights

    def to_params(self, z):
        return self.scales * z

    def to_variables(self, params):
        return params / self.scales

    def pull_back(self, grad):
        return self.scales * grad

    def push_forward(self, v):
        """``d theta`` of a change ``v`` of ``z`` (the map's linear part)."""
        return self.scales * v

    def pull_back_hessian(self, hessian):
        """``D H D`` for the diagonal ``D`` of the map."""
        return self.scales[:, None] * hessian * self.scales[None, :]

    def pull_back_diagonal(self, diagonal, column):
        """The diagonal of ``D H D`` from that of ``H``."""
        return self.scales**2 * diagonal

    def weight_scales(self):
        return self.scales[: self.n_weights]


class _LinearMap:
    """``W = sigma_k z_kj / s_kj`` and ``b = b_ref + sigma z_b - W c``.

    ``s`` is one scale per column, or per output and column (shape
    ``(n_outputs, n_features)``) when the ridge curvature enters it.
    """

    is_identity = False

    def __init__(self, model, centre, scale, sigma, x0):
        self.n_outputs, self.n_features = model.n_outputs, model.n_features
        self.n_weights, self.n_params = model.n_weights, model.n_params
        self.fit_intercept = model.fit_intercept
        self.centre, self.scale, self.sigma = centre, scale, sigma
        # W = factor * z_W elementwise, factor of shape (n_outputs, n_features).
        self.factor = sigma[:, None] / (scale if scale.ndim == 2 else scale[None, :])
        # The start's intercepts as reference, so z_b = 0 there up to W c.
        self.b_ref = (np.asarray(x0[self.n_weights :], dtype=np.float64).copy()
                      if self.fit_intercept else None)

    def _split(self, v):
        W = v[: self.n_weights].reshape(self.n_outputs, self.n_features)
        return W, (v[self.n_weights :] if self.fit_intercept else None)

    def to_params(self, z):
        z_W, z_b = self._split(z)
        params = np.empty(self.n_params)
        W = params[: self.n_weights].reshape(self.n_outputs, self.n_features)
        np.multiply(self.factor, z_W, out=W)
        if self.fit_intercept:
            params[self.n_weights :] = self.b_ref + self.sigma * z_b - W @ self.centre
        return params

    def to_variables(self, params):
        W, b = self._split(params)
        z = np.empty(self.n_params)
        z[: self.n_weights] = (W / self.factor).ravel()
        if self.fit_intercept:
            z[self.n_weights :] = (b - self.b_ref + W @ self.centre) / self.sigma
        return z

    def pull_back(self, grad):
        """Gradient with respect to ``z`` from the gradient with respect to theta."""
        g_W, g_b = self._split(grad)
        out = np.empty(self.n_params)
        out_W = out[: self.n_weights].reshape(self.n_outputs, self.n_features)
        if self.fit_intercept:
            np.multiply(self.factor, g_W - np.outer(g_b, self.centre), out=out_W)
            out[self.n_weights :] = self.sigma * g_b
        else:
            np.multiply(self.factor, g_W, out=out_W)
        return out

    def push_forward(self, v):
        """``M v``: the change of theta along a change ``v`` of ``z``."""
        v_W, v_b = self._split(v)
        out = np.empty(self.n_params)
        out_W = out[: self.n_weights].reshape(self.n_outputs, self.n_features)
        np.multiply(self.factor, v_W, out=out_W)
        if self.fit_intercept:
            out[self.n_weights :] = self.sigma * v_b - out_W @ self.centre
        return out

    def _pull_back_columns(self, matrix):
        """``M^T A`` for a matrix ``A`` of shape (n_params, m), column by column."""
        m = matrix.shape[1]
        g_W = matrix[: self.n_weights].reshape(self.n_outputs, self.n_features, m)
        out = np.empty_like(matrix)
        out_W = out[: self.n_weights].reshape(self.n_outputs, self.n_features, m)
        if self.fit_intercept:
            g_b = matrix[self.n_weights :]
            np.multiply(self.factor[:, :, None],
                        g_W - g_b[:, None, :] * self.centre[None, :, None], out=out_W)
            out[self.n_weights :] = self.sigma[:, None] * g_b
        else:
            np.multiply(self.factor[:, :, None], g_W, out=out_W)
        return out

    def pull_back_hessian(self, hessian):
        """``M^T H M`` for a symmetric ``H`` (``M^T (M^T H)^T``)."""
        if not self.fit_intercept:  # M is diagonal: one elementwise product
            f = self.factor.ravel()
            return f[:, None] * hessian * f[None, :]
        half = self._pull_back_columns(hessian)
        return self._pull_back_columns(np.ascontiguousarray(half.T))

    def restricted(self, features):
        """The map of the columns ``features`` alone (their weights and the intercepts)."""
        block = object.__new__(_LinearMap)
        block.__dict__.update(self.__dict__)
        block.n_features = len(features)
        block.n_weights = self.n_outputs * block.n_features
        block.n_params = block.n_weights + (self.n_outputs if self.fit_intercept else 0)
        block.centre = self.centre[features]
        block.factor = self.factor[:, features]
        return block

    def pull_back_hessian_blocks(self, blocks):
        """``M_k^T H_k M_k`` for each output's block ``[W_k, b_k]`` (intercept last).

        Within output ``k`` the map is ``W_kj = f_kj z_kj`` and
        ``b_k = b_ref + sigma_k z_b - sum_j f_kj c_j z_kj``: ``M_k`` is
        ``diag(f_k)`` bordered by the row ``(-f_k * c, sigma_k)``.
        """
        if not self.fit_intercept:  # M_k is diagonal
            return self.factor[:, :, None] * blocks * self.factor[:, None, :]
        p = self.n_features
        M = np.zeros_like(blocks)
        index = np.arange(p)
        M[:, index, index] = self.factor
        M[:, p, :p] = -self.factor * self.centre[None, :]
        M[:, p, p] = self.sigma
        return np.matmul(np.transpose(M, (0, 2, 1)), np.matmul(blocks, M))

    def pull_back_diagonal(self, diagonal, column):
        r"""The diagonal of ``M^T H M`` from that of ``H``.

        The centring couples each weight with its output's intercept:
        :math:`(M^\top H M)_{kj,kj} = f_{kj}^2 (H_{kj,kj} - 2 c_j H_{kj,b_k} +
        c_j^2 H_{b_k b_k})`, so ``column(v)`` (``H v``) gives the intercepts'
        columns of ``H``, one product per output.
        """
        d_W = diagonal[: self.n_weights].reshape(self.n_outputs, self.n_features)
        out = np.empty(self.n_params)
        out_W = out[: self.n_weights].reshape(self.n_outputs, self.n_features)
        if not self.fit_intercept:
            np.multiply(self.factor**2, d_W, out=out_W)
            return out
        d_b = diagonal[self.n_weights :]
        for k in range(self.n_outputs):
            unit = np.zeros(self.n_params)
            unit[self.n_weights + k] = 1.0
            cross = column(unit)[: self.n_weights].reshape(
                self.n_outputs, self.n_features)[k]
            out_W[k] = self.factor[k] ** 2 * (
                d_W[k] - 2.0 * self.centre * cross + self.centre**2 * d_b[k])
        out[self.n_weights :] = self.sigma**2 * d_b
        return np.maximum(out, 0.0)  # rounding of the cancellation, never negative

    def weight_scales(self):
        """``|dW / dz|`` per weight: the L1 norm of W is ``sum(factor * |z_W|)``."""
        return self.factor.ravel()


class _LocationShiftMap:
    r"""The location-shift model ``[w, b_1, c_2..c_K]`` in unit-free variables.

    The shared slope and the lowest intercept are those of a one-output
    linear model (:class:`_LinearMap`: standardised columns, the target's
    scale ``sigma``, the centring in ``b_1``). A gap argument ``c_k`` moves
    level ``k`` and those above by ``softplus'(c_k) = 1 - exp(-g_k)`` per
    unit, ``g_k = softplus(c_k)`` the gap at the start, so
    :math:`c_k = c^{\mathrm{ref}}_k + \sigma_k z_{c,k} / (1 - e^{-g_k})`
    moves it by about ``sigma_k`` per unit of ``z``, whether the gap sits on
    the linear (large) or the logarithmic (small) side of the softplus. A
    start gap below a thousandth of ``sigma_k`` (tied levels) counts as that
    thousandth, so that a collapsed gap does not blow its scale up.
    """

    is_identity = False

    def __init__(self, model, centre, scale, sigma, x0, penalty, output_weight):
        self.n_features, self.n_weights, self.n_params = \
            model.n_features, model.n_weights, model.n_params
        self.n_head = model.n_features + int(model.fit_intercept)
        head = _OneOutputLayout(model.n_features, model.fit_intercept)
        # As for a linear model, the ridge curvature enters the column scales.
        ridge = getattr(penalty, "l2_strength", 0.0)
        effective = np.sqrt(scale**2 + ridge * output_weight * sigma[0] ** 2)
        x0 = np.asarray(x0, dtype=np.float64)
        self.head = _LinearMap(head, centre, effective, sigma[:1], x0[: self.n_head])
        self.c_ref = x0[self.n_head :].copy()
        start_gaps = np.logaddexp(0.0, self.c_ref)
        floor = 1e-3 * sigma[1:]
        self.c_factor = sigma[1:] / -np.expm1(-np.maximum(start_gaps, floor))

    def to_params(self, z):
        return np.concatenate([self.head.to_params(z[: self.n_head]),
                               self.c_ref + self.c_factor * z[self.n_head :]])

    def to_variables(self, params):
        return np.concatenate([self.head.to_variables(params[: self.n_head]),
                               (params[self.n_head :] - self.c_ref) / self.c_factor])

    def pull_back(self, grad):
        return np.concatenate([self.head.pull_back(grad[: self.n_head]),
                               self.c_factor * grad[self.n_head :]])

    def push_forward(self, v):
        return np.concatenate([self.head.push_forward(v[: self.n_head]),
                               self.c_factor * v[self.n_head :]])

    def _pull_back_columns(self, matrix):
        return np.concatenate([self.head._pull_back_columns(matrix[: self.n_head]),
                               self.c_factor[:, None] * matrix[self.n_head :]])

    def pull_back_hessian(self, hessian):
        """``M^T H M`` for a symmetric ``H``."""
        half = self._pull_back_columns(hessian)
        return self._pull_back_columns(np.ascontiguousarray(half.T))

    def pull_back_diagonal(self, diagonal, column):
        """The diagonal of ``M^T H M`` from that of ``H`` (see :class:`_LinearMap`)."""
        n_params = self.n_params

        def head_column(unit):
            full = np.zeros(n_params)
            full[: self.n_head] = unit
            return column(full)[: self.n_head]

        return np.concatenate([
            self.head.pull_back_diagonal(diagonal[: self.n_head], head_column),
            self.c_factor**2 * diagonal[self.n_head :]])

    def weight_scales(self):
        return self.head.weight_scales()


class _OneOutputLayout:
    """The layout ``[w, b]`` of a one-output linear model, for :class:`_LinearMap`."""

    n_outputs = 1

    def __init__(self, n_features, fit_intercept):
        self.n_features = self.n_weights = n_features
        self.fit_intercept = fit_intercept
        self.n_params = n_features + int(fit_intercept)


class _ScaledHessianProduct:
    r"""Products with :math:`M^\top H M / F`, the Hessian in the variables ``z``."""

    def __init__(self, product, affine_map, value_scale):
        self.product = product
        self.map = affine_map
        self.value_scale = value_scale

    def __call__(self, vector):
        theta_direction = self.map.push_forward(np.asarray(vector, dtype=np.float64))
        product = np.asarray(self.product(theta_direction), dtype=np.float64)
        return self.map.pull_back(product) / self.value_scale

    def diagonal(self):
        """The diagonal of the scaled Hessian, an ndarray of shape (n_params,)."""
        diagonal = np.asarray(self.product.diagonal(), dtype=np.float64)
        return self.map.pull_back_diagonal(diagonal, self.product) / self.value_scale

"""The Objective: flat parameters -> (J, grad J).

.. math::
    J(\\theta) = \\frac{\\sum_i w_i \\ell(y_i, f(x_i; \\theta))}{\\sum_i w_i}
                 + \\Omega(W)

It is the one object every solver minimises: it knows the loss, the model,
the penalty and the data; solvers only see parameters and numbers.
"""

import numpy as np

from ._blocked import block_rows, blocked_hessian_product, blocked_loss_gradient
from .losses import ElementwiseHessian


class Objective:
    """Weighted mean loss of a model plus a penalty on its weights.

    Parameters
    ----------
    loss : BaseLoss
        The loss, acting on raw predictions.
    model : BaseModel
        Maps ``X`` and flat parameters to raw predictions.
    penalty : BasePenalty
        Penalty on ``params[:model.n_weights]``.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Training data.
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Targets as the loss expects them (encoded class indices for
        classification).
    sample_weight : ndarray of shape (n_samples,), default=None
        Weights ``w_i``; normalised by their sum so integer weights equal
        repeated rows and zero weights equal dropped rows.
    """

    def __init__(self, loss, model, penalty, X, y, sample_weight=None):
        self.loss = loss
        self.model = model
        self.penalty = penalty
        self.X = X
        # Real targets in the model's dtype once, not a cast per evaluation
        # (float32 X with float64 y would otherwise convert y at every step).
        if np.issubdtype(np.asarray(y).dtype, np.floating):
            y = np.asarray(y).astype(model.dtype, copy=False)
        self.y = y
        n_samples = X.shape[0]
        if sample_weight is None:
            sample_weight = np.ones(n_samples, dtype=model.dtype)
        self.sample_weight = np.asarray(sample_weight, dtype=model.dtype)
        total = self.sample_weight.sum()
        self._normalised_weight = self.sample_weight / total if total > 0 else None
        # A single target or binary problem has 1-D raw predictions.
        self._ravel_raw = model.n_outputs == 1 and np.ndim(y) == 1
        # Large dense data is evaluated by blocks of rows that stay in cache.
        self._block_rows = block_rows(self)
        # The last blocked evaluation (:class:`_LastEvaluation`): a solver
        # that ends where it last evaluated asks for second-order products
        # there, which then need no second pass over X.
        self._last = None
        # Weighted column means of X, once a change of variables has computed
        # them (sklosses._preconditioning), for the diagnostics after a fit.
        self._column_means = None
        self._weighted_kernel = _UNSET  # made at the first blocked evaluation

    @property
    def n_samples(self):
        return self.X.shape[0]

    @property
    def weights_slice(self):
        """Slice of the penalised parameters (weights, never intercepts)."""
        return slice(0, self.model.n_weights)

    def raw(self, params, rows=None):
        """Raw predictions (of ``X[rows]`` when given), 1-D for a single output."""
        X = self.X if rows is None else self.X[rows]
        raw = self.model.predict_raw(np.asarray(params, dtype=self.model.dtype), X)
        return raw.ravel() if self._ravel_raw else raw

    def data_loss_gradient(self, params):
        """Weighted mean loss and its gradient with respect to ``params``."""
        params = np.asarray(params, dtype=self.model.dtype)
        if self._block_rows is not None:
            return self._blocked_loss_gradient(params)
        raw, cache = self.model.forward(params, self.X)
        loss_raw = raw.ravel() if self._ravel_raw else raw
        loss, grad_raw = self.loss.loss_gradient(
            self.y, loss_raw, self._normalised_weight
        )
        grad_raw = grad_raw.reshape(raw.shape)
        return float(loss.sum()), self.model.backward(params, cache, grad_raw)

    def _blocked_loss_gradient(self, params):
        """:func:`blocked_loss_gradient`, its raw predictions kept as the last evaluation."""
        last, self._last = self._last, None  # its buffer is overwritten below
        shape = (self.n_samples,) if self._ravel_raw else (self.n_samples,
                                                           self.model.n_outputs)
        buffer = last.raw if last is not None and last.raw.shape == shape else None
        if buffer is None:
            buffer = np.empty(shape, dtype=self.model.dtype)
        value, grad = blocked_loss_gradient(self, params, self._block_rows, raw_out=buffer,
                                            kernel=self._kernel())
        self._last = _LastEvaluation(params.copy(), value, grad.copy(), buffer)
        return value, grad

    def _kernel(self):
        """The loss's weighted-sum kernel for the blocked evaluation, or None.

        Made once per objective (it holds the targets' own terms): for 1-D
        raw predictions in float64 and losses that offer one
        (:mod:`sklosses.losses._kernels`).
        """
        if self._weighted_kernel is _UNSET:
            kernel = None
            if self._ravel_raw and np.dtype(self.model.dtype) == np.float64:
                with np.errstate(all="ignore"):
                    kernel = self.loss._weighted_kernel(
                        self.y, np.asarray(self._normalised_weight, dtype=np.float64))
            self._weighted_kernel = kernel
        return self._weighted_kernel

    def _last_at(self, params):
        """The last evaluation if it was at ``params`` (in the model's dtype), else None."""
        last = self._last
        if last is not None and np.array_equal(last.params, params):
            return last
        return None

    def data_loss(self, params, *, block_rows=None):
        """Weighted mean loss at ``params``.

        ``block_rows`` evaluates it on blocks of that many rows, so that the
        forward pass holds one block's activations at a time: an MLP's hidden
        layers on every row can take several times the memory of ``X``
        itself. ``None`` evaluates all rows at once.
        """
        if block_rows is None or block_rows >= self.n_samples:
            loss = self.loss.loss(self.y, self.raw(params), self._normalised_weight)
            return float(loss.sum())
        weight = self._normalised_weight
        total = 0.0
        for start in range(0, self.n_samples, block_rows):
            rows = slice(start, start + block_rows)
            loss = self.loss.loss(self.y[rows], self.raw(params, rows),
                                  None if weight is None else weight[rows])
            total += float(loss.sum())
        return total

    def smooth_value_gradient(self, params):
        """Value and gradient of the loss term plus the penalty's smooth part."""
        value, grad = self.data_loss_gradient(params)
        w = self.weights_slice
        pen_value, pen_grad = self.penalty.smooth_value_gradient(
            np.asarray(params[w], dtype=grad.dtype)
        )
        grad[w] += pen_grad
        return value + pen_value, grad

    def smooth_values_by_output(self, params):
        """Each output's share of the smooth part of J, shape (K,), or None.

        For a linear model of several outputs under a loss that decouples
        them (``loss.outputs_independent`` and a ``loss_by_output`` method):
        output ``k``'s loss plus the smooth penalty of its row of weights,
        so that the shares sum to :meth:`smooth_value_gradient`'s value.
        """
        model = self.model
        by_output = getattr(self.loss, "loss_by_output", None)
        if by_output is None or not getattr(self.loss, "outputs_independent", False) \
                or getattr(model, "n_outputs", 1) < 2 or not hasattr(model, "n_features"):
            return None
        params = np.asarray(params, dtype=model.dtype)
        values = np.asarray(by_output(self.y, self.raw(params), self._normalised_weight),
                            dtype=np.float64)
        W = params[self.weights_slice].reshape(model.n_outputs, model.n_features)
        row = np.zeros_like(W)
        for k in range(model.n_outputs):
            # The penalties are sums over weights: output k's share is the
            # penalty of its row alone.
            row[k] = W[k]
            values[k] += float(self.penalty.smooth_value_gradient(row.ravel())[0])
            row[k] = 0
        return values

    def nonsmooth_value(self, params):
        """Value of the penalty's non-smooth part (the L1 term)."""
        return self.penalty.nonsmooth_value(params[self.weights_slice])

    def value(self, params, *, block_rows=None):
        """Full objective J at ``params`` (``block_rows`` as in :meth:`data_loss`)."""
        w = params[self.weights_slice]
        return self.data_loss(params, block_rows=block_rows) + self.penalty.value(w)

    def prox(self, params, step):
        """Proximal step of the non-smooth penalty part on the weights only.

        ``step`` is a float, or one step size per parameter for solvers that
        precondition per coordinate (Adam).
        """
        out = np.array(params, copy=True)
        w = self.weights_slice
        if np.ndim(step):
            step = step[w]
        out[w] = self.penalty.prox(out[w], step)
        return out

    def subset(self, rows):
        """The same objective on a subset of rows (minibatches, validation)."""
        return Objective(
            self.loss, self.model, self.penalty, _take_rows(self.X, rows),
            _take_rows(self.y, rows), _take_rows(self.sample_weight, rows),
        )

    def with_targets(self, y):
        """The same objective on other targets (rescaled ones, for diagnostics)."""
        return Objective(self.loss, self.model, self.penalty, self.X, y, self.sample_weight)

    def with_loss(self, loss):
        """The same objective with another loss (a smoothed surrogate)."""
        twin = object.__new__(Objective)
        twin.__dict__.update(self.__dict__)
        twin.loss = loss
        twin._block_rows = block_rows(twin)  # the new loss may tie its rows together
        twin._last = None  # evaluations of the other loss
        twin._weighted_kernel = _UNSET
        return twin


    # -- second order (Newton solvers). The loss gives its Hessian on raw
    # predictions, the model pulls it back to the parameters (Gauss-Newton,
    # exact for a linear model), the penalty adds its smooth part's Hessian.

    def _second_order_parts(self, params):
        params = np.asarray(params, dtype=self.model.dtype)
        weight = self._normalised_weight
        last = self._last_at(params)
        if last is not None:
            # Value and gradient from the last evaluation, the loss's
            # curvature from its raw predictions: no pass over X.
            cache, value, grad = self.X, last.value, last.grad.copy()
            hessian = self._raw_hessian_at_last(last)
        else:
            raw, cache = self.model.forward(params, self.X)
            loss_raw = raw.ravel() if self._ravel_raw else raw
            value = float(self.loss.loss(self.y, loss_raw, weight).sum())
            grad_raw, hessian = self.loss.gradient_hessian(self.y, loss_raw, weight)
            grad = self.model.backward(params, cache, grad_raw.reshape(raw.shape))
        w = self.weights_slice
        pen_value, pen_grad = self.penalty.smooth_value_gradient(
            np.asarray(params[w], dtype=grad.dtype)
        )
        grad[w] += pen_grad
        return params, cache, value + pen_value, grad, hessian

    def gradient_hessian(self, params):
        """Value, gradient and Hessian of the smooth part of J.

        Parameters
        ----------
        params : ndarray of shape (n_params,)

        Returns
        -------
        value : float
            Loss term plus the penalty's smooth part.
        gradient : ndarray of shape (n_params,)
        hessian : ndarray of shape (n_params, n_params), float64
            The model's Gauss-Newton matrix of the loss's raw Hessian (the
            exact Hessian for a linear model) plus the penalty's.
        """
        params, cache, value, grad, hessian = self._second_order_parts(params)
        return value, grad, self._matrix(params, cache, hessian)

    def hessian(self, params):
        """The Hessian of :meth:`gradient_hessian` alone, without the value.

        For a solver that already holds value and gradient at ``params``
        (from its line search): the loss's value and the backward pass are
        skipped.
        """
        return self._matrix(*self._raw_hessian(params))

    def hessian_features(self, params, features, block=None):
        """The Hessian of :meth:`hessian` on the parameters of some features only.

        For a linear model (``model.feature_indices``): the block on the
        weights of the columns ``features`` (every output) and the
        intercepts, in the order of ``model.feature_indices(features)``,
        formed from those columns alone (``n |features|^2`` work, not
        ``n p^2``). ``block``, the data term's block formed elsewhere (at a
        lagged point, :mod:`sklosses._lagged_hessian`), takes the place of
        the formed one; the penalty's part is added at ``params``.
        """
        if block is None:
            params, cache, raw_hessian = self._raw_hessian(params)
            block = self.model.gauss_newton_matrix(params, cache, raw_hessian,
                                                   features=features)
        params = np.asarray(params, dtype=self.model.dtype)
        w = self.weights_slice
        ridge = np.broadcast_to(self.penalty.smooth_hessian_diagonal(params[w]),
                                (self.model.n_weights,))
        weights = self.model.feature_indices(features)
        weights = weights[weights < w.stop]
        index = np.arange(weights.size)
        block[index, index] += ridge[weights]
        return block

    def curvature_weights(self, params):
        """The loss's second derivative per sample at ``params`` (a single output).

        Normalised sample weights included: the data term's Hessian of a
        linear model is ``X^T diag(d) X`` (bordered for the intercept).
        """
        _, _, raw_hessian = self._raw_hessian(params)
        return np.asarray(raw_hessian.entry(0, 0), dtype=np.float64)

    def on_columns(self, features):
        """The same objective for a linear model on the columns ``features`` of ``X``.

        A copy of those columns: a working-set solver evaluates it at
        ``n |features|`` cost per pass instead of ``n p``. The
        parameters are the weights of those columns and the intercepts.
        """
        model = self.model
        sub_model = type(model)(len(features), model.n_outputs,
                                fit_intercept=model.fit_intercept, dtype=model.dtype)
        if isinstance(self.X, np.ndarray):
            X = np.take(self.X, features, axis=1)  # a C-ordered copy
        else:
            X = self.X[:, features]
        return Objective(self.loss, sub_model, self.penalty, X, self.y, self.sample_weight)

    def _raw_hessian(self, params):
        """``(params, cache, raw Hessian)``: one forward pass, the loss's curvature."""
        params = np.asarray(params, dtype=self.model.dtype)
        last = self._last_at(params)
        if last is not None:  # the predictions of the last evaluation
            return params, self.X, self._raw_hessian_at_last(last)
        raw, cache = self.model.forward(params, self.X)
        loss_raw = raw.ravel() if self._ravel_raw else raw
        _, raw_hessian = self.loss.gradient_hessian(self.y, loss_raw, self._normalised_weight)
        return params, cache, raw_hessian

    def _raw_hessian_at_last(self, last):
        """The loss's raw Hessian at the last evaluation's predictions (no pass over X)."""
        kernel = self._kernel()
        if kernel is not None:  # the weighted second derivatives alone
            return ElementwiseHessian(kernel.hessian_diagonal(last.raw))
        return self.loss.gradient_hessian(self.y, last.raw, self._normalised_weight)[1]

    def _matrix(self, params, cache, raw_hessian):
        """The Gauss-Newton matrix of ``raw_hessian`` plus the penalty's Hessian."""
        matrix = self.model.gauss_newton_matrix(params, cache, raw_hessian)
        w = self.weights_slice
        index = np.arange(w.start, w.stop)
        matrix[index, index] += self.penalty.smooth_hessian_diagonal(params[w])
        return matrix

    def gradient_hessian_blocks(self, params):
        """Value, gradient and the Hessian's per-output blocks of the smooth part of J.

        For a loss whose outputs are independent (``loss.outputs_independent``)
        and a linear model, whose Hessian is block diagonal with one block
        per output (:meth:`LinearModel.gauss_newton_blocks`).

        Returns
        -------
        value : float
        gradient : ndarray of shape (n_params,)
        blocks : ndarray of shape (n_outputs, q, q), float64
            Block ``k`` is the Hessian on
            ``params[model.output_block_indices()[k]]``.
        """
        params, cache, value, grad, hessian = self._second_order_parts(params)
        return value, grad, self._blocks(params, cache, hessian)

    def hessian_blocks(self, params):
        """The blocks of :meth:`gradient_hessian_blocks` alone (see :meth:`hessian`)."""
        return self._blocks(*self._raw_hessian(params))

    def _blocks(self, params, cache, raw_hessian):
        model = self.model
        blocks = model.gauss_newton_blocks(params, cache, raw_hessian)
        w = self.weights_slice
        ridge = self.penalty.smooth_hessian_diagonal(params[w])
        ridge = np.broadcast_to(ridge, (model.n_weights,)).reshape(
            model.n_outputs, model.n_features)
        index = np.arange(model.n_features)
        blocks[:, index, index] += ridge
        return blocks

    def gradient_hessp(self, params):
        """Value, gradient and a Hessian-vector product of the smooth part of J.

        Returns
        -------
        value : float
        gradient : ndarray of shape (n_params,)
        hessp : HessianProduct
            ``hessp(v)`` is the Hessian at ``params`` times ``v``, each call
            one forward and one backward pass over ``X``; ``hessp.diagonal()``
            gives the Hessian's diagonal (a preconditioner).
        """
        params, cache, value, grad, hessian = self._second_order_parts(params)
        return value, grad, HessianProduct(self, params, cache, hessian)

    def hessp(self, params, vector):
        """Hessian of the smooth part of J at ``params`` times ``vector``.

        The signature of :func:`scipy.optimize.minimize`'s ``hessp``.
        """
        return self.gradient_hessp(params)[2](vector)


_UNSET = object()


class _LastEvaluation:
    """Parameters, data value, data gradient and raw predictions of one evaluation.

    ``raw`` is shaped as the loss sees it (1-D for a single output) and is
    the buffer the next blocked evaluation overwrites.
    """

    __slots__ = ("params", "value", "grad", "raw")

    def __init__(self, params, value, grad, raw):
        self.params, self.value, self.grad, self.raw = params, value, grad, raw


def _take_rows(a, rows):
    """``a[rows]``, the same rows as a new array.

    On a dense array and integer ``rows``, ``np.take`` gathers them about
    twice as fast as fancy indexing, which matters once per minibatch;
    sparse matrices, masks and slices go through indexing.
    """
    if isinstance(a, np.ndarray) and getattr(rows, "dtype", None) is not None \
            and rows.dtype.kind in "iu":
        return np.take(a, rows, axis=0)
    return a[rows]


class HessianProduct:
    """Products with the Hessian of an :class:`Objective` at fixed parameters.

    Built by :meth:`Objective.gradient_hessp`; it holds the loss's raw Hessian
    and the model's cache, so that each product is ``J^T (H (J v))`` plus the
    penalty's part, without forming any matrix.
    """

    def __init__(self, objective, params, cache, raw_hessian):
        self.objective = objective
        self.params = params
        self.cache = cache
        self.raw_hessian = raw_hessian

    def __call__(self, vector):
        objective = self.objective
        model = objective.model
        vector = np.asarray(vector, dtype=model.dtype)
        if objective._block_rows is not None:  # a linear model on large dense X
            out = blocked_hessian_product(objective, self.params, self.raw_hessian,
                                          vector, objective._block_rows)
        else:
            direction = model.jvp(self.params, self.cache, vector)
            shape = direction.shape
            if objective._ravel_raw:
                direction = direction.ravel()
            product = self.raw_hessian.matvec(direction).reshape(shape)
            out = model.backward(self.params, self.cache, product).astype(np.float64)
        w = objective.weights_slice
        out[w] += objective.penalty.smooth_hessian_product(self.params[w], vector[w])
        return out

    def diagonal(self):
        """The Hessian's diagonal, an ndarray of shape (n_params,)."""
        objective = self.objective
        out = objective.model.gauss_newton_diagonal(self.params, self.cache,
                                                    self.raw_hessian)
        w = objective.weights_slice
        out[w] += objective.penalty.smooth_hessian_diagonal(self.params[w])
        return out

"""The Model contract: parameters in one flat vector, forward and backward.

Layout of the flat parameter vector, shared by every model: all weight
matrices first, then all intercepts/biases. The penalty therefore acts on
``params[:n_weights]`` and never on intercepts or biases.
"""

from abc import ABCMeta, abstractmethod

import numpy as np


class BaseModel(metaclass=ABCMeta):
    """Map X to raw predictions with parameters held in a flat vector.

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_outputs : int
        Number of raw outputs (1 for a single target or a binary problem).
    fit_intercept : bool, default=True
        Whether the output layer has an intercept.
    dtype : numpy dtype, default=np.float64
        Dtype of the parameters and of the computations.

    Notes
    -----
    Order of calls in a solver step: ``raw, cache = forward(params, X)``, the
    loss gives ``d loss / d raw``, then ``backward(params, cache, grad_raw)``
    returns the gradient in the flat layout.
    """

    def __init__(self, n_features, n_outputs, *, fit_intercept=True, dtype=np.float64):
        self.n_features = int(n_features)
        self.n_outputs = int(n_outputs)
        self.fit_intercept = bool(fit_intercept)
        self.dtype = np.dtype(dtype)

    @property
    @abstractmethod
    def n_params(self):
        """Length of the flat parameter vector."""

    @property
    @abstractmethod
    def n_weights(self):
        """Number of penalised parameters, stored first in the flat vector."""

    @abstractmethod
    def init_params(self, random_state):
        """Initial flat parameter vector (weights random or zero, biases zero)."""

    @abstractmethod
    def forward(self, params, X):
        """Raw predictions of shape (n_samples, n_outputs) and a cache for backward."""

    @abstractmethod
    def backward(self, params, cache, grad_raw):
        """Gradient of ``sum(grad_raw * raw)`` with respect to the flat parameters."""

    @abstractmethod
    def set_output_intercept(self, params, raw0):
        """Set the output intercepts to ``raw0`` (best constant) in place."""

    @abstractmethod
    def to_attributes(self, params, *, single_output=False):
        """Fitted attributes (e.g. ``coef_``, ``intercept_``) from flat params.

        ``single_output`` asks for scikit-learn's 1-D shapes of a regressor
        fitted on a 1-D target. Returned arrays are copies.
        """

    @abstractmethod
    def from_attributes(self, estimator):
        """Flat parameter vector from a fitted estimator's attributes."""

    def predict_raw(self, params, X):
        """Raw predictions of shape (n_samples, n_outputs)."""
        return self.forward(params, X)[0]

    def predict_raw_many(self, params_list, X):
        """:meth:`predict_raw` for each parameter vector of ``params_list``."""
        return [self.predict_raw(params, X) for params in params_list]

    def zeros(self):
        """A zero flat parameter vector."""
        return np.zeros(self.n_params, dtype=self.dtype)

    # -- second order: models whose raw output is linear in the parameters
    # (a linear model) give the exact Gauss-Newton products; the rest refuse
    # here, which second-order solvers turn into an actionable error.

    def jvp(self, params, cache, vector):
        """Directional derivative of the raw predictions along ``vector``.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            Parameters where the derivative is taken.
        cache : object
            What :meth:`forward` returned beside the raw predictions.
        vector : ndarray of shape (n_params,)
            Direction in the flat layout.

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
        """
        raise NotImplementedError(
            f"{type(self).__name__} gives no Jacobian products; second-order "
            "solvers need a linear model (hidden_layer_sizes=())."
        )

    def gauss_newton_matrix(self, params, cache, hessian):
        """The matrix ``J^T H J`` of the raw Hessian pulled back to the parameters.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            Parameters where the Jacobian ``J = d raw / d params`` is taken.
        cache : object
            What :meth:`forward` returned beside the raw predictions.
        hessian : RawHessian
            Per-sample Hessians of the loss with respect to raw.

        Returns
        -------
        ndarray of shape (n_params, n_params), float64
        """
        raise NotImplementedError(
            f"{type(self).__name__} gives no Gauss-Newton matrix; second-order "
            "solvers need a linear model (hidden_layer_sizes=())."
        )

    def gauss_newton_diagonal(self, params, cache, hessian):
        """Diagonal of :meth:`gauss_newton_matrix` without forming the matrix.

        Returns
        -------
        ndarray of shape (n_params,), float64
        """
        raise NotImplementedError(
            f"{type(self).__name__} gives no Gauss-Newton diagonal; second-order "
            "solvers need a linear model (hidden_layer_sizes=())."
        )


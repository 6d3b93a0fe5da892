"""Multilayer perceptron: hidden layers with an activation, a linear output.

The output layer has no activation: the loss owns its link (identity, log,
logit, softmax), so any loss can sit on top of the same network.
"""

import numpy as np
from sklearn.utils import check_random_state

from ._activations import get_activation
from ._base import BaseModel


class MLP(BaseModel):
    r"""Fully connected network with a linear output layer.

    .. math::
        a_0 = X, \quad a_l = f(a_{l-1} W_l + b_l) \ (l < L), \quad
        \mathrm{raw} = a_{L-1} W_L + b_L

    Parameters
    ----------
    n_features : int
        Number of input features.
    n_outputs : int
        Number of raw outputs.
    hidden_layer_sizes : tuple of int, default=(100,)
        Units of each hidden layer; at least one layer.
    activation : {"relu", "tanh", "logistic", "identity"} or Activation, \
default="relu"
        Activation of the hidden layers.
    fit_intercept : bool, default=True
        Whether the **output** layer has a bias. Hidden layers always have
        biases: without them a ReLU network could only fit functions that are
        positively homogeneous in ``X``.
    dtype : numpy dtype, default=np.float64
        Dtype of the parameters and of the computations.

    Attributes
    ----------
    layer_units : list of int
        ``[n_features, *hidden_layer_sizes, n_outputs]``.
    n_layers : int
        Number of weight matrices, ``len(hidden_layer_sizes) + 1``.

    Notes
    -----
    The flat parameter vector holds every weight matrix first, layer by
    layer, each of shape ``(n_in, n_out)`` in row-major order (as
    ``MLPRegressor.coefs_``), then every bias. The penalty acts on
    ``params[:n_weights]``, so biases are never penalised.

    The forward cache holds one array per layer input (``X`` and each hidden
    activation, whose pre-activation is overwritten in place); derivatives of
    the activations are computed from their outputs.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.models import MLP
    >>> mlp = MLP(3, 2, hidden_layer_sizes=(4,))
    >>> mlp.n_weights, mlp.n_params
    (20, 26)
    >>> params = mlp.init_params(random_state=0)
    >>> raw, cache = mlp.forward(params, np.ones((5, 3)))
    >>> raw.shape
    (5, 2)
    >>> mlp.backward(params, cache, np.ones_like(raw)).shape
    (26,)
    """

    def __init__(self, n_features, n_outputs, *, hidden_layer_sizes=(100,),
                 activation="relu", fit_intercept=True, dtype=np.float64):
        super().__init__(n_features, n_outputs, fit_intercept=fit_intercept, dtype=dtype)
        self.hidden_layer_sizes = tuple(int(h) for h in hidden_layer_sizes)
        if not self.hidden_layer_sizes or min(self.hidden_layer_sizes) < 1:
            raise ValueError(
                "MLP needs at least one hidden layer of positive size, got "
                f"hidden_layer_sizes={hidden_layer_sizes!r}; use LinearModel for ()."
            )
        self.activation = get_activation(activation)
        self.layer_units = [self.n_features, *self.hidden_layer_sizes, self.n_outputs]
        self._weight_slices, self._bias_slices = self._layout()

    def _layout(self):
        """Slices of each weight matrix and each bias in the flat vector."""
        weight_slices, start = [], 0
        for n_in, n_out in zip(self.layer_units[:-1], self.layer_units[1:]):
            weight_slices.append(slice(start, start + n_in * n_out))
            start += n_in * n_out
        bias_slices = []
        for n_out in self.layer_units[1:-1]:
            bias_slices.append(slice(start, start + n_out))
            start += n_out
        # None marks the missing output bias, so layer i's bias is always [i].
        bias_slices.append(slice(start, start + self.n_outputs) if self.fit_intercept else None)
        return weight_slices, bias_slices

    @property
    def n_layers(self):
        """Number of weight matrices."""
        return len(self.layer_units) - 1

    @property
    def n_weights(self):
        return self._weight_slices[-1].stop

    @property
    def n_params(self):
        # Hidden layers always have biases, so the last present bias ends the vector.
        return (self._bias_slices[-1] or self._bias_slices[-2]).stop

    def unpack(self, params):
        """Views of the weight matrices and biases of ``params`` (no copy).

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            Contiguous flat parameter vector.

        Returns
        -------
        weights : list of ndarray
            ``weights[i]`` has shape ``(layer_units[i], layer_units[i + 1])``.
        biases : list of ndarray or None
            ``biases[i]`` has shape ``(layer_units[i + 1],)``; the last entry is
            None when ``fit_intercept=False``.
        """
        units = self.layer_units
        weights = [params[s].reshape(units[i], units[i + 1])
                   for i, s in enumerate(self._weight_slices)]
        biases = [None if s is None else params[s] for s in self._bias_slices]
        return weights, biases

    def init_params(self, random_state=None):
        """Glorot-uniform weights and zero biases.

        Weights of a layer are drawn uniformly in ``+-sqrt(g / (n_in + n_out))``
        with ``g = activation.glorot_factor`` (6, or 2 for the logistic
        activation as in scikit-learn's MLP), layer by layer, from
        ``check_random_state(random_state)``.

        Parameters
        ----------
        random_state : int, RandomState instance or None, default=None
            Seed; an int gives the same vector every time.

        Returns
        -------
        params : ndarray of shape (n_params,)
        """
        rng = check_random_state(random_state)
        params = self.zeros()
        for W in self.unpack(params)[0]:
            fan_in, fan_out = W.shape
            bound = np.sqrt(self.activation.glorot_factor / (fan_in + fan_out))
            W[...] = rng.uniform(-bound, bound, size=W.shape)
        return params

    def forward(self, params, X):
        """Raw predictions and the cache of layer inputs.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            Flat parameters; computations run in their dtype.
        X : {ndarray, sparse matrix} of shape (n_samples, n_features)
            Input; cast to the dtype of ``params`` if it differs.

        Returns
        -------
        raw : ndarray of shape (n_samples, n_outputs)
        cache : list of {ndarray, sparse matrix}
            The input of every layer: ``X`` and each hidden activation.
        """
        return self._propagate(params, X, keep=True)

    def predict_raw(self, params, X):
        # Without a backward pass to come, each activation is freed as soon as
        # the next layer has used it.
        return self._propagate(params, X, keep=False)[0]

    def _propagate(self, params, X, *, keep):
        if X.dtype != params.dtype:
            X = X.astype(params.dtype)
        weights, biases = self.unpack(params)
        cache = [X] if keep else None
        a, last = X, self.n_layers - 1
        for i, (W, b) in enumerate(zip(weights, biases)):
            z = np.asarray(a @ W)
            if b is not None:
                z += b
            if i < last:
                a = self.activation.apply(z)
                if keep:
                    cache.append(a)
        return z, cache

    def backward(self, params, cache, grad_raw):
        """Gradient of ``sum(grad_raw * raw)`` with respect to ``params``.

        Parameters
        ----------
        params : ndarray of shape (n_params,)
            The parameters of the forward pass.
        cache : list
            The cache returned by :meth:`forward`.
        grad_raw : ndarray of shape (n_samples, n_outputs)
            Derivative of the (weighted) loss with respect to ``raw``; not
            modified.

        Returns
        -------
        grad : ndarray of shape (n_params,)
            Same dtype as ``params``.
        """
        weights = self.unpack(params)[0]
        grad = np.empty(self.n_params, dtype=params.dtype)
        grad_weights, grad_biases = self.unpack(grad)
        delta = np.asarray(grad_raw, dtype=params.dtype).reshape(-1, self.n_outputs)
        # Column sums as a product with ones: BLAS does them several times
        # faster than a reduction over the rows of a C-ordered minibatch.
        ones = np.ones(delta.shape[0], dtype=params.dtype)
        for i in reversed(range(self.n_layers)):
            a = cache[i]
            # A plain product then a copy: matmul(a.T, delta, out=...) skips
            # BLAS's transposed path and is slower; sparse X.T @ delta works too.
            grad_weights[i][...] = a.T @ delta
            if grad_biases[i] is not None:
                np.dot(ones, delta, out=grad_biases[i])
            if i > 0:
                # A new array: delta of the layer below (grad_raw stays intact).
                delta = delta @ weights[i].T
                self.activation.backprop(delta, a)
        return grad

    def set_output_intercept(self, params, raw0):
        """Set the output bias to ``raw0`` in place (no-op without intercept).

        Parameters
        ----------
        params : ndarray of shape (n_params,)
        raw0 : float or ndarray of shape (n_outputs,)

        Returns
        -------
        params : ndarray of shape (n_params,)
            The same array.
        """
        if self.fit_intercept:
            params[self._bias_slices[-1]] = raw0
        return params

    def to_attributes(self, params, *, single_output=False):
        """``coefs_`` and ``intercepts_`` as in ``MLPRegressor`` (copies).

        ``single_output`` changes nothing: as in ``MLPRegressor``, the last
        matrix keeps shape ``(n_last, 1)``. The output bias is zeros when
        ``fit_intercept=False``.
        """
        weights, biases = self.unpack(params)
        coefs = [W.copy() for W in weights]
        intercepts = [b.copy() for b in biases[:-1]]
        out = biases[-1]
        intercepts.append(out.copy() if out is not None
                          else np.zeros(self.n_outputs, dtype=params.dtype))
        return {"coefs_": coefs, "intercepts_": intercepts}

    def from_attributes(self, estimator):
        """Flat vector from ``estimator.coefs_`` and ``estimator.intercepts_``."""
        params = self.zeros()
        weights, biases = self.unpack(params)
        pairs = [*zip(weights, estimator.coefs_), *zip(biases, estimator.intercepts_)]
        if len(estimator.coefs_) != self.n_layers or len(estimator.intercepts_) != self.n_layers:
            raise ValueError(
                f"Expected {self.n_layers} coefs_ and intercepts_ for layer units "
                f"{self.layer_units}, got {len(estimator.coefs_)} and "
                f"{len(estimator.intercepts_)}."
            )
        for target, value in pairs:
            if target is None:  # output bias of a model without intercept
                continue
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(
                    f"Expected an array of shape {target.shape} for layer units "
                    f"{self.layer_units}, got shape {value.shape}."
                )
            target[...] = value
        return params


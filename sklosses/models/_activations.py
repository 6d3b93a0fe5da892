"""Activations of the hidden layers of an MLP.

Each activation is a small stateless object with three methods:

- ``apply(z)`` overwrites the pre-activation ``z`` with ``a = f(z)``;
- ``derivative(a)`` returns ``f'(z)`` expressed through the output ``a``;
- ``backprop(delta, a)`` multiplies ``delta`` by ``f'(z)`` in place.

Expressing the derivative through ``a`` lets the MLP keep a single array per
hidden layer (the pre-activation is overwritten), which halves the memory of
the forward cache.
"""

from abc import ABCMeta, abstractmethod

import numpy as np
from scipy.special import expit


class Activation(metaclass=ABCMeta):
    """Element-wise activation ``a = f(z)`` of a hidden layer.

    Attributes
    ----------
    name : str
        The ``activation=`` string that selects it.
    glorot_factor : float
        Weights start uniform in ``+-sqrt(glorot_factor / (fan_in + fan_out))``
        (Glorot and Bengio, 2010).
    """

    name = None
    glorot_factor = 6.0

    @abstractmethod
    def apply(self, z):
        """Overwrite ``z`` with ``f(z)`` and return it.

        Parameters
        ----------
        z : ndarray
            Pre-activations, modified in place.

        Returns
        -------
        a : ndarray
            The same array, now holding ``f(z)``.
        """

    @abstractmethod
    def derivative(self, a):
        """``f'(z)`` as a new array, computed from ``a = f(z)``.

        Parameters
        ----------
        a : ndarray
            Activations.

        Returns
        -------
        d : ndarray
            The derivative at each entry, same shape and dtype as ``a``.
        """

    def backprop(self, delta, a):
        """Multiply ``delta`` by ``f'(z)`` in place and return it.

        Parameters
        ----------
        delta : ndarray
            Gradient with respect to ``a``; becomes the gradient with respect
            to ``z``.
        a : ndarray
            Activations ``f(z)``, same shape as ``delta``.

        Returns
        -------
        delta : ndarray
            The same array.
        """
        delta *= self.derivative(a)
        return delta

    def __repr__(self):
        return f"{type(self).__name__}()"

    def __eq__(self, other):
        return type(self) is type(other)

    def __hash__(self):
        return hash(type(self))


class Identity(Activation):
    """``f(z) = z``: the MLP stays linear (useful as a reference)."""

    name = "identity"

    def apply(self, z):
        return z

    def derivative(self, a):
        return np.ones_like(a)

    def backprop(self, delta, a):
        return delta


class ReLU(Activation):
    """``f(z) = max(z, 0)``; ``f'(z) = 1`` if ``z > 0`` else 0 (0 at the kink)."""

    name = "relu"

    def apply(self, z):
        return np.maximum(z, 0, out=z)

    def derivative(self, a):
        return (a > 0).astype(a.dtype)

    def backprop(self, delta, a):
        # a > 0 exactly where z > 0, so the mask comes from the kept output.
        # A 1-byte mask is the smallest temporary; viewed as uint8 it takes
        # numpy's fast cast path in the multiply (bool or a where= mask is
        # several times slower).
        mask = np.greater(a, 0).view(np.uint8)
        return np.multiply(delta, mask, out=delta)


class Tanh(Activation):
    """``f(z) = tanh(z)``; ``f'(z) = 1 - a**2``."""

    name = "tanh"

    def apply(self, z):
        return np.tanh(z, out=z)

    def derivative(self, a):
        d = np.square(a)
        np.subtract(1.0, d, out=d)
        return d


class Logistic(Activation):
    """``f(z) = 1 / (1 + exp(-z))``; ``f'(z) = a (1 - a)``."""

    name = "logistic"
    # Smaller initial weights keep the units off the flat tails of the
    # sigmoid; the factor is scikit-learn's MLP's, so starts are comparable.
    glorot_factor = 2.0

    def apply(self, z):
        return expit(z, out=z)

    def derivative(self, a):
        d = np.subtract(1.0, a)
        d *= a
        return d


ACTIVATIONS = {act.name: act for act in (ReLU(), Tanh(), Logistic(), Identity())}
"""Activation name -> activation object."""


def get_activation(activation):
    """The activation object for a name (or an :class:`Activation` itself).

    Parameters
    ----------
    activation : {"relu", "tanh", "logistic", "identity"} or Activation
        The activation of the hidden layers.

    Returns
    -------
    activation : Activation

    Raises
    ------
    ValueError
        If the name is unknown; the message lists the valid names.

    Examples
    --------
    >>> from sklosses.models._activations import get_activation
    >>> get_activation("tanh")
    Tanh()
    """
    if isinstance(activation, Activation):
        return activation
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(
        f"Unknown activation {activation!r}. Valid activations: "
        f"{', '.join(map(repr, ACTIVATIONS))}."
    )

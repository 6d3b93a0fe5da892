"""The Penalty contract: value, smooth part and proximal operator."""

from abc import ABCMeta, abstractmethod


class BasePenalty(metaclass=ABCMeta):
    """Penalty on the weights (never on intercepts or biases).

    A penalty splits into a smooth part, handled by the solver's gradient
    steps, and a non-smooth part, handled by its proximal operator:
    ``value(w) == smooth_value_gradient(w)[0] + nonsmooth_value(w)``.
    """

    @property
    @abstractmethod
    def is_smooth(self):
        """Whether the penalty has no non-smooth part."""

    @abstractmethod
    def smooth_value_gradient(self, w):
        """Value and gradient of the smooth part at ``w``."""

    @abstractmethod
    def nonsmooth_value(self, w):
        """Value of the non-smooth part at ``w``."""

    @abstractmethod
    def prox(self, w, step):
        """``argmin_z  nonsmooth(z) + ||z - w||^2 / (2 * step)``."""

    def value(self, w):
        """Full penalty value at ``w``."""
        return self.smooth_value_gradient(w)[0] + self.nonsmooth_value(w)

    def smooth_hessian_diagonal(self, w):
        """Diagonal of the smooth part's (generalised) Hessian at ``w``.

        Second-order solvers add it to the loss term's Hessian; a penalty
        whose smooth part has a non-diagonal Hessian overrides
        :meth:`smooth_hessian_product` as well.
        """
        raise NotImplementedError(
            f"{type(self).__name__} gives no Hessian of its smooth part; use a "
            "first-order solver such as solver='lbfgs' or 'proximal'."
        )

    def smooth_hessian_product(self, w, v):
        """Product of the smooth part's Hessian at ``w`` with ``v``."""
        return self.smooth_hessian_diagonal(w) * v


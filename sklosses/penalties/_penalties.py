"""Penalties of the objective: none, L2, L1 and elastic net.

All are the elastic net of API.md,
``alpha * (l1_ratio * ||w||_1 + (1 - l1_ratio) / 2 * ||w||_2^2)``,
at particular ``alpha`` and ``l1_ratio``.
"""

import numpy as np

from ._base import BasePenalty


class ElasticNet(BasePenalty):
    r"""Elastic-net penalty.

    .. math::
        \Omega(w) = \alpha \left(\rho \|w\|_1 + \frac{1 - \rho}{2} \|w\|_2^2\right)

    The L2 part is smooth and goes into gradients; the L1 part is handled by
    its proximal operator, soft-thresholding.

    Parameters
    ----------
    alpha : float
        Regularisation strength, ``alpha >= 0``.
    l1_ratio : float
        Share ``rho`` of the L1 part, in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.penalties import ElasticNet
    >>> pen = ElasticNet(alpha=1.0, l1_ratio=0.5)
    >>> float(pen.value(np.array([1.0, -2.0])))
    2.75
    """

    def __init__(self, alpha, l1_ratio):
        self.alpha = float(alpha)
        self.l1_ratio = float(l1_ratio)

    @property
    def l1_strength(self):
        """Coefficient of ``||w||_1``."""
        return self.alpha * self.l1_ratio

    @property
    def l2_strength(self):
        """Coefficient of ``||w||_2^2 / 2``."""
        return self.alpha * (1.0 - self.l1_ratio)

    @property
    def is_smooth(self):
        return self.l1_strength == 0.0

    def smooth_value_gradient(self, w):
        if self.l2_strength == 0.0:
            return 0.0, np.zeros_like(w)
        return 0.5 * self.l2_strength * float(w @ w), self.l2_strength * w

    def nonsmooth_value(self, w):
        if self.l1_strength == 0.0:
            return 0.0
        return self.l1_strength * float(np.abs(w).sum())

    def prox(self, w, step):
        # ``step`` may be an array (one step per weight, Adam).
        threshold = step * self.l1_strength
        if self.l1_strength == 0.0:
            return w.copy()
        return np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)

    def __repr__(self):
        return f"{type(self).__name__}(alpha={self.alpha}, l1_ratio={self.l1_ratio})"

    def smooth_hessian_diagonal(self, w):
        """``l2_strength`` on every weight: the Hessian of the L2 part.

        The L1 part has no Hessian (its generalised Hessian is 0 away from
        zero); proximal Newton methods treat it through :meth:`prox`.
        """
        return np.full(np.shape(w), self.l2_strength)


class NoPenalty(ElasticNet):
    """No penalty (``alpha=0``)."""

    def __init__(self):
        super().__init__(0.0, 0.0)

    def __repr__(self):
        return "NoPenalty()"


class L2(ElasticNet):
    r"""Ridge penalty :math:`\frac{\alpha}{2}\|w\|_2^2`."""

    def __init__(self, alpha):
        super().__init__(alpha, 0.0)

    def __repr__(self):
        return f"L2(alpha={self.alpha})"


class L1(ElasticNet):
    r"""Lasso penalty :math:`\alpha\|w\|_1`."""

    def __init__(self, alpha):
        super().__init__(alpha, 1.0)

    def __repr__(self):
        return f"L1(alpha={self.alpha})"


def make_penalty(alpha, l1_ratio):
    """The simplest penalty object for ``alpha`` and ``l1_ratio``."""
    if alpha == 0:
        return NoPenalty()
    if l1_ratio == 0:
        return L2(alpha)
    if l1_ratio == 1:
        return L1(alpha)
    return ElasticNet(alpha, l1_ratio)

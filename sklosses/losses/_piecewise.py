"""A loss's declaration of its convex piecewise-linear form.

Exact solvers of piecewise-linear losses (linear and quadratic programs) need
the loss as data rather than as code: the kinks (``knots``), the slope of
each linear piece (``slopes``), and the affine map from a raw prediction to
the scalar argument of that piecewise-linear function. A loss that has such a
form returns it from its ``piecewise_linear(y_true)`` method; the solver reads
the form and never the loss's class.

A loss that couples the raw columns of a sample (Crammer and Singer's
multiclass hinge, a maximum over the classes) has no form of one argument
per column; it declares :class:`MaxOfClassMargins` instead.
"""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

__all__ = ["MaxOfClassMargins", "PiecewiseLinear"]


@dataclass(frozen=True)
class PiecewiseLinear:
    r"""A loss as a convex piecewise-linear function of an affine argument.

    For sample :math:`i` and output :math:`k` with raw prediction
    :math:`z_{ik}`, the loss term is :math:`\phi(t_{ik})` with

    .. math::
        t_{ik} = g_{ik} + c_{ik} z_{ik},

    where :math:`\phi` is convex and piecewise linear: it has kinks at
    ``knots`` :math:`\kappa_1 < \dots < \kappa_m`, slope ``slopes[0]`` left
    of :math:`\kappa_1`, ``slopes[j]`` between :math:`\kappa_j` and
    :math:`\kappa_{j+1}`, ``slopes[m]`` right of :math:`\kappa_m`, and
    :math:`\phi(\kappa_1) =` ``offset``. The per-sample loss combines the
    outputs by their mean (``combine="mean"``, multi-output regression) or
    their sum (``combine="sum"``, one-vs-rest margins).

    Parameters
    ----------
    knots : tuple of float
        Increasing kink positions, at least one.
    slopes : tuple of float
        ``len(knots) + 1`` increasing slopes (convexity), the first <= 0 and
        the last >= 0 so that the loss has a minimum.
    offset : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        :math:`g`: the argument at a zero raw prediction (``y`` for the
        residual ``y - z``, 0 for a margin ``s z``).
    scale : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        :math:`c`: the derivative of the argument with respect to the raw
        prediction (-1 for a residual, the label sign ``s = +-1`` for a
        margin).
    combine : {"mean", "sum"}, default="mean"
        How the outputs of a sample add up to its loss.
    value_at_first_knot : float, default=0.0
        :math:`\phi(\kappa_1)`.

    Examples
    --------
    The pinball loss of level 0.9 on residuals ``y - z``:

    >>> import numpy as np
    >>> from sklosses.losses._piecewise import PiecewiseLinear
    >>> y = np.array([1.0, -2.0])
    >>> form = PiecewiseLinear(knots=(0.0,), slopes=(-0.1, 0.9), offset=y,
    ...                        scale=-np.ones(2))
    >>> form.pointwise(np.array([0.0, 0.0]))
    array([0.9, 0.2])
    """

    knots: tuple
    slopes: tuple
    offset: np.ndarray
    scale: np.ndarray
    combine: str = "mean"
    value_at_first_knot: float = 0.0

    def __post_init__(self):
        knots = tuple(float(k) for k in self.knots)
        slopes = tuple(float(s) for s in self.slopes)
        if len(knots) < 1 or len(slopes) != len(knots) + 1:
            raise ValueError(
                f"A piecewise-linear form needs at least one knot and one more slope "
                f"than knots; got {len(knots)} knots and {len(slopes)} slopes."
            )
        # Plain Python on these few numbers: a form is built per fit and output.
        if (any(b <= a for a, b in zip(knots, knots[1:]))
                or any(b <= a for a, b in zip(slopes, slopes[1:]))):
            raise ValueError(
                "A piecewise-linear form needs strictly increasing knots and slopes "
                f"(a convex loss); got knots={knots}, slopes={slopes}."
            )
        if slopes[0] > 0 or slopes[-1] < 0:
            raise ValueError(
                f"A piecewise-linear loss needs slopes[0] <= 0 <= slopes[-1] to have a "
                f"minimum; got slopes={slopes}."
            )
        if self.combine not in ("mean", "sum"):
            raise ValueError(f"combine must be 'mean' or 'sum', got {self.combine!r}.")
        object.__setattr__(self, "knots", knots)
        object.__setattr__(self, "slopes", slopes)

    # The form is immutable, and exact solvers evaluate phi and its conjugate
    # at every iteration: what depends only on knots and slopes is cached
    # (cached_property writes the instance's __dict__, which a frozen
    # dataclass allows).

    @cached_property
    def knot_values(self):
        """:math:`\\phi` at each knot, as an ndarray of shape (n_knots,)."""
        knots = np.asarray(self.knots)
        steps = np.asarray(self.slopes[1:-1]) * np.diff(knots)
        return self.value_at_first_knot + np.concatenate([[0.0], np.cumsum(steps)])

    @cached_property
    def _lines(self):
        """``(value, slope, knot)`` of each piece: the line through that knot."""
        values = self.knot_values
        # Piece j >= 1 starts at knot j - 1 (0-based); piece 0 ends at knot 0.
        return tuple((float(values[max(j - 1, 0)]), slope, self.knots[max(j - 1, 0)])
                     for j, slope in enumerate(self.slopes))

    def phi(self, t):
        """:math:`\\phi(t)`, element-wise: the maximum of the pieces' lines."""
        value, slope, knot = self._lines[0]
        out = value + slope * (t - knot)
        for value, slope, knot in self._lines[1:]:
            # A flat piece (the hinge's zero) needs no arithmetic on t.
            out = np.maximum(out, value + slope * (t - knot) if slope else value)
        return out

    def conjugate(self, theta):
        r""":math:`\phi^*(\theta) = \max_j (\theta \kappa_j - \phi(\kappa_j))`.

        Valid for ``slopes[0] <= theta <= slopes[-1]``, where it is finite.
        """
        values = self.knot_values
        out = theta * self.knots[0] - values[0]
        for j in range(1, len(self.knots)):
            out = np.maximum(out, theta * self.knots[j] - values[j])
        return out

    def argument(self, raw):
        """:math:`t = g + c z` for raw predictions ``raw`` shaped like ``offset``."""
        return self.offset + self.scale * raw

    def pointwise(self, raw):
        """Per-sample loss of raw predictions (outputs combined by ``combine``)."""
        values = self.phi(self.argument(raw))
        if values.ndim == 1:
            return values
        return values.mean(axis=1) if self.combine == "mean" else values.sum(axis=1)


@dataclass(frozen=True)
class MaxOfClassMargins:
    r"""A multiclass loss as the largest of its classes' margins (Crammer-Singer).

    For sample :math:`i` of class :math:`y_i` with raw predictions
    :math:`z_{i1}, \dots, z_{iK}`, the loss is

    .. math::
        \ell_i = \max_k \big(m [k \ne y_i] + z_{ik} - z_{iy_i}\big)
              = \max\big(0,\; m + \max_{k \ne y_i} z_{ik} - z_{iy_i}\big),

    a convex piecewise-linear function of the whole row (its pieces are the
    classes), which an exact solver turns into a linear program with one
    simplex of dual variables per sample.

    Parameters
    ----------
    margin : float
        The margin :math:`m > 0`.
    labels : ndarray of shape (n_samples,)
        Class indices :math:`y_i` in ``0 .. n_classes - 1``.
    n_classes : int
        Number of classes :math:`K > 2` (raw columns).

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses._piecewise import MaxOfClassMargins
    >>> form = MaxOfClassMargins(margin=1.0, labels=np.array([0, 2]), n_classes=3)
    >>> form.pointwise(np.array([[2.0, 0.5, 0.0], [0.0, 0.0, 0.5]]))
    array([0. , 0.5])
    """

    margin: float
    labels: np.ndarray
    n_classes: int

    def pointwise(self, raw):
        """Per-sample loss of raw predictions of shape (n_samples, n_classes)."""
        rows = np.arange(raw.shape[0])
        values = raw + self.margin
        values[rows, self.labels] -= self.margin
        return values.max(axis=1) - raw[rows, self.labels]

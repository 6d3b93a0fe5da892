"""Target domains: where a loss's targets live, held as data.

Every loss declares ``target_domain``, an instance of one of the classes
below, as scikit-learn's losses declare ``interval_y_true``. Everything that
depends on the domain is derived from it instead of being rebuilt by name:
the messages of ``validate_target``, the estimator's ``positive_only`` tag,
the default loss list of ``sklosses compare`` and the test data.

- :class:`Interval` -- real targets between two bounds, each open or closed
  (``y >= 0`` for Poisson, ``y > 0`` for Gamma, every real for the squared
  error);
- :class:`ProbabilityRows` -- rows of probabilities that sum to one (the
  targets of the KL divergence);
- :class:`ClassIndices` -- class indices ``0..K-1`` (and, for margin losses,
  the binary labels ``{-1, +1}``).

Each domain answers ``contains(y)`` (never raises) and ``check(y, owner)``
(raises a ``ValueError`` that says what is wrong and what to do).
"""

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TargetDomain", "Interval", "ProbabilityRows", "ClassIndices", "REAL_LINE"]

# Rows of a probability target may miss a sum of one by this much (rounding
# in the user's normalisation, float32 targets).
_ROW_SUM_TOL = 1e-6


def _is_numeric(y):
    return np.issubdtype(y.dtype, np.number) or y.dtype == bool


def _format_bound(value):
    """``0`` rather than ``0.0`` in requirements: they read as maths."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


class TargetDomain(ABC):
    """The set of targets a loss is defined on.

    Attributes
    ----------
    low, high : float
        Bounds of every entry of a target in the domain (``-inf`` and
        ``inf`` when unbounded). Derived properties (``positive_only``)
        read them.
    """

    low = -math.inf
    high = math.inf

    @abstractmethod
    def contains(self, y):
        """Whether every entry of ``y`` is in the domain; never raises.

        Parameters
        ----------
        y : array-like or scalar
            Targets.

        Returns
        -------
        inside : bool
        """

    @abstractmethod
    def check(self, y, owner):
        """Raise ``ValueError`` when ``y`` is outside the domain.

        Parameters
        ----------
        y : ndarray
            Targets (numeric, finite: the loss checks that first).
        owner : str
            Who asks (the loss's class name), the first word of the message.
        """

    @property
    def is_real_line(self):
        """Whether every real target, of any shape, is in the domain."""
        return False

    @property
    def positive_only(self):
        """Whether only positive targets are safe without knowing the domain.

        The value of scikit-learn's ``positive_only`` target tag: data made
        without regard to the loss (the common checks' targets, which reach
        -500) must be shifted to positive values. True when the domain is
        bounded below -- ``y >= 0``, ``y > 0``, and also ``y > -1``, which
        admits some negative targets but not the checks' -- and False for
        domains that take every real target (``Tweedie(power<=0)``).
        scikit-learn's GLMs derive the tag the same way, as
        ``not loss.in_y_true_range(-1.0)``.
        """
        return self.low > -math.inf


@dataclass(frozen=True)
class Interval(TargetDomain):
    """Real targets between ``low`` and ``high``, each end open or closed.

    Parameters
    ----------
    low, high : float
        The bounds; ``-inf`` and ``inf`` for none.
    low_inclusive, high_inclusive : bool, default=False
        Whether the bound itself is in the domain (ignored for infinite
        bounds: targets are finite).
    condition : str, default=""
        When the domain depends on a hyper-parameter, the words that say so
        in messages (``"for power=1.5"``).
    advice : str, default=""
        What to do with targets outside, the end of the error message.

    Examples
    --------
    >>> import math
    >>> from sklosses.losses import Interval
    >>> counts = Interval(0, math.inf, low_inclusive=True)
    >>> counts.contains([0.0, 3.0]), counts.contains(-1.0)
    (True, False)
    >>> print(counts)
    y >= 0
    >>> counts.positive_only, Interval(-math.inf, math.inf).positive_only
    (True, False)
    """

    low: float
    high: float
    low_inclusive: bool = False
    high_inclusive: bool = False
    condition: str = field(default="", compare=False)
    advice: str = field(default="", compare=False)

    def __post_init__(self):
        if not float(self.low) < float(self.high):
            raise ValueError(
                f"Interval needs low < high, got low={self.low!r}, high={self.high!r}."
            )

    def contains(self, y):
        """Whether every entry of ``y`` lies in the interval (see the class)."""
        y = np.asarray(y)
        if not _is_numeric(y):
            return False
        y = y.astype(np.float64, copy=False)
        if y.size == 0:
            return True
        above = y >= self.low if self.low_inclusive else y > self.low
        below = y <= self.high if self.high_inclusive else y < self.high
        return bool(np.all(above & below & np.isfinite(y)))

    @property
    def is_real_line(self):
        """Whether the interval is the whole real line."""
        return self.low == -math.inf and self.high == math.inf

    def __str__(self):
        if self.is_real_line:
            return "any real y"
        if self.high == math.inf:
            return f"y {'>=' if self.low_inclusive else '>'} {_format_bound(self.low)}"
        right = f" {'<=' if self.high_inclusive else '<'} {_format_bound(self.high)}"
        if self.low == -math.inf:
            return f"y{right}"
        return f"{_format_bound(self.low)} {'<=' if self.low_inclusive else '<'} y{right}"

    def check(self, y, owner):
        """Raise ``ValueError`` naming the bound broken, the extreme found and the advice.

        Parameters
        ----------
        y : ndarray
            Finite numeric targets.
        owner : str
            The loss's class name.
        """
        y = np.asarray(y)
        if self.contains(y):
            return
        lowest, highest = np.min(y), np.max(y)
        too_low = lowest < self.low or (lowest == self.low and not self.low_inclusive)
        found = f"min y = {lowest}" if too_low else f"max y = {highest}"
        condition = f" {self.condition}" if self.condition else ""
        advice = f"; {self.advice}" if self.advice else "."
        raise ValueError(f"{owner} requires {self}{condition} (found {found}){advice}")


#: Every real target: the domain of the losses on residuals.
REAL_LINE = Interval(-math.inf, math.inf)


@dataclass(frozen=True)
class ProbabilityRows(TargetDomain):
    """Targets of shape (n_samples, n_classes) whose rows are distributions.

    Every entry is in ``[0, 1]`` and every row sums to one (within 1e-6).

    Examples
    --------
    >>> from sklosses.losses import ProbabilityRows
    >>> ProbabilityRows().contains([[0.25, 0.75], [1.0, 0.0]])
    True
    >>> ProbabilityRows().contains([0.25, 0.75])  # 1-D: not rows
    False
    """

    low = 0.0
    high = 1.0

    def contains(self, y):
        """Whether ``y`` is 2-D with non-negative rows summing to one."""
        y = np.asarray(y)
        if not _is_numeric(y) or y.ndim != 2:
            return False
        if y.size == 0:
            return True
        y = y.astype(np.float64, copy=False)
        if not np.all(np.isfinite(y)) or np.any(y < 0):
            return False
        return bool(np.all(np.abs(y.sum(axis=1) - 1) <= _ROW_SUM_TOL))

    def __str__(self):
        return "rows of probabilities summing to 1"

    def check(self, y, owner):
        """Raise ``ValueError`` for a wrong shape, negative entries or bad row sums.

        Parameters
        ----------
        y : ndarray
            Finite numeric targets.
        owner : str
            The loss's class name.
        """
        y = np.asarray(y)
        if y.ndim != 2:
            raise ValueError(
                f"{owner} requires y of shape (n_samples, n_classes) whose rows are "
                f"probability distributions (found y.ndim = {y.ndim}); for class "
                "labels use LossClassifier with 'log_loss'."
            )
        if np.any(y < 0):
            raise ValueError(
                f"{owner} requires y >= 0 (found min y = {np.min(y)}); each row of y "
                "must be a probability distribution."
            )
        sums = y.sum(axis=1)
        worst = int(np.argmax(np.abs(sums - 1)))
        if abs(sums[worst] - 1) > _ROW_SUM_TOL:
            raise ValueError(
                f"{owner} requires rows of y that sum to 1 (found row {worst} sums to "
                f"{sums[worst]}); normalise y, e.g. y / y.sum(axis=1, keepdims=True)."
            )


@dataclass(frozen=True)
class ClassIndices(TargetDomain):
    """Class indices ``0..K-1``; with ``signed=True`` also labels ``{-1, +1}``.

    Classification losses receive labels encoded by ``LossClassifier``;
    margin losses also accept the binary labels ``-1`` and ``+1``.

    Parameters
    ----------
    signed : bool, default=False
        Whether ``{-1, +1}`` binary labels are accepted too.

    Examples
    --------
    >>> from sklosses.losses import ClassIndices
    >>> ClassIndices().contains([0, 2, 1]), ClassIndices().contains([-1, 1])
    (True, False)
    >>> ClassIndices(signed=True).contains([-1, 1])
    True
    """

    signed: bool = False

    @property
    def low(self):
        """-1 when signed labels are accepted, else 0."""
        return -1.0 if self.signed else 0.0

    def _signed_labels(self, y):
        """Whether ``y`` uses the binary labels ``{-1, +1}`` (and signs are accepted)."""
        if not (self.signed and y.size and np.any(y == -1)):
            return False
        return bool(np.all((y == -1) | (y == 1)))

    def contains(self, y):
        """Whether ``y`` holds class indices (or ``{-1, +1}`` when signed)."""
        y = np.asarray(y)
        if not _is_numeric(y):
            return False
        if y.size == 0:
            return True
        if not np.all(np.isfinite(y)):
            return False
        if self._signed_labels(y):
            return True
        return bool(np.all(y >= 0) and np.all(y == np.round(y)))

    def __str__(self):
        indices = "class indices 0..K-1"
        return f"{indices} or binary labels in {{-1, +1}}" if self.signed else indices

    def check(self, y, owner):
        """Raise ``ValueError`` unless ``y`` holds class indices.

        Parameters
        ----------
        y : ndarray
            Targets.
        owner : str
            The loss's class name.
        """
        y = np.asarray(y)
        if self.contains(y):
            return
        if self.signed and _is_numeric(y) and np.any(y == -1):
            raise ValueError(
                f"{owner} accepts binary labels in {{-1, +1}} or class indices "
                "0..K-1, not a mix of -1 with other values."
            )
        raise ValueError(
            f"{owner} expects class indices 0..K-1 as y_true; "
            "LossClassifier encodes labels for you."
        )

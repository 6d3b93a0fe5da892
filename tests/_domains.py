"""Test targets made from a loss's declared target domain, never from its name."""

import math

import numpy as np

from sklosses.losses import ClassIndices, Interval, ProbabilityRows

# Open lower bounds are kept at this distance, so that log(y - low) stays
# moderate in the deviances and in log1p.
_OPEN_MARGIN = 0.05


def targets_in(domain, rng, shape, *, at_bound=0.3):
    """Targets of ``shape`` inside ``domain``.

    A closed finite bound is hit exactly by about ``at_bound`` of the entries
    (zero counts for Poisson), because boundaries are where formulas break.
    Probability rows are Dirichlet draws with some exact zeros (0 log 0).

    Parameters
    ----------
    domain : TargetDomain
        The loss's ``target_domain``.
    rng : numpy.random.Generator
        Source of randomness.
    shape : tuple of int
        ``(n,)`` or ``(n, k)``; rows of probabilities have ``k`` columns
        (4 when ``shape`` is 1-D).
    at_bound : float, default=0.3
        Share of entries put on a closed bound.
    """
    if isinstance(domain, ProbabilityRows):
        n, k = (shape[0], shape[1] if len(shape) == 2 else 4)
        y = rng.dirichlet(np.ones(k), size=n)
        y[::5, 1] = 0.0
        return y / y.sum(axis=1, keepdims=True)
    if isinstance(domain, ClassIndices):
        return rng.integers(0, 3, size=shape[0])
    if not isinstance(domain, Interval):
        raise TypeError(f"no target generator for {domain!r}")
    low, high = domain.low, domain.high
    if low == -math.inf and high == math.inf:
        return 2 * rng.standard_normal(shape)
    if high == math.inf:
        y = low + _OPEN_MARGIN + rng.gamma(2.0, 1.0, size=shape)
        if domain.low_inclusive:
            y = np.where(rng.random(shape) < at_bound, low, y)
        return y
    if low == -math.inf:
        y = high - _OPEN_MARGIN - rng.gamma(2.0, 1.0, size=shape)
        if domain.high_inclusive:
            y = np.where(rng.random(shape) < at_bound, high, y)
        return y
    width = high - low
    return low + width * rng.uniform(0.05, 0.95, size=shape)


def targets_outside(domain):
    """One target just outside ``domain`` per broken bound (an empty list for none).

    Each is a 1-D array of two entries, one inside and one just outside, so
    that the domain check must look at every entry.
    """
    if isinstance(domain, ProbabilityRows):
        return [np.array([0.5, 0.5]), np.array([[1.5, -0.5]]), np.array([[0.5, 0.4]])]
    low, high = domain.low, domain.high
    if low > -math.inf and high < math.inf:
        inside = 0.5 * (low + high)
    else:
        inside = low + 1.0 if low > -math.inf else high - 1.0
    cases = []
    if low > -math.inf:
        cases.append(np.array([inside, low - 1e-9 if domain.low_inclusive else low]))
    if high < math.inf:
        cases.append(np.array([inside, high + 1e-9 if domain.high_inclusive else high]))
    return cases

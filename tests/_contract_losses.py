"""Losses that exercise the solver contract: what no built-in loss lacks."""

import numpy as np

from sklosses.losses import RegressionLoss


class KinkedLoss(RegressionLoss):
    """The absolute error without a smoothed surrogate, counting evaluations.

    ``is_smooth`` is False and ``has_smoothed_surrogate`` keeps its default,
    False: only the solvers that handle non-smooth losses can fit it.
    """

    is_smooth = False
    calls = 0

    def _elementwise(self, y, raw):
        type(self).calls += 1
        r = raw - y
        return np.abs(r), np.sign(r)

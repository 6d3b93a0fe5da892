"""Weighted-sum kernels: a loss's weighted total and gradient on a block of rows.

The blocked evaluation of a linear model (:mod:`sklosses._blocked`) needs,
per block of rows, only the weighted sum of the losses and their weighted
gradient on the raw predictions, never the per-sample losses. For the hot
losses of second-order fits that sum is cheaper than the per-sample path
(``loss_gradient`` then a weighted sum): the terms that depend on the
targets alone (``xlogy(y, y)`` of the Poisson deviance, ``log y`` of the
Gamma one, the sign of each class) are computed once per objective instead
of once per evaluation, the sample weights are folded into them, and sums
become dot products. A kernel is made by ``loss._weighted_kernel(y, weight)``,
which returns None where it does not apply (the loss then goes the general
way): 1-D float64 raw predictions, normalised weights, and no option that
changes the formula (label smoothing).

Every kernel computes the same per-sample formula as its loss (the tests
compare them), with the same care for cancellation: the binary log loss
keeps ``log1p(e) + max(s z, 0)``, a sum of non-negative terms, and its
gradient's numerator ``e`` on the class's side; the Gamma deviance keeps
``expm1(t) - t``.
"""

import numpy as np
from scipy.special import xlogy


class WeightedKernel:
    """``(sum_i w_i loss_i, w_i dloss_i/draw_i)`` on blocks of rows.

    Attributes
    ----------
    constant : float
        A part of the weighted total that does not depend on the raw
        predictions: the caller adds it once per evaluation, to the sum of
        the blocks' values.
    """

    constant = 0.0

    def __call__(self, raw, rows):
        """Weighted total (float) and weighted gradient on ``raw``, the rows ``rows``.

        ``raw`` is the block's raw predictions, 1-D, float64; it is not
        modified (the blocked evaluation keeps it).
        """
        raise NotImplementedError

    def hessian_diagonal(self, raw):
        """The weighted second derivatives ``w_i d^2 loss_i / draw_i^2`` on all rows."""
        raise NotImplementedError

    def at_constant(self, value, n_samples, rows_per_block):
        """Weighted total (``constant`` included) and gradient where every raw
        prediction is ``value``: a fit's start, whose weights are zero.

        By blocks of ``rows_per_block`` rows, whose temporaries stay in the
        cache (binary log loss on 1e5 rows: 1 against 3 ms whole); a loss
        whose per-sample terms at a constant take few values overrides it.
        """
        raw = np.full(n_samples, value, dtype=np.float64)
        gradient = np.empty(n_samples)
        total = 0.0
        for start in range(0, n_samples, rows_per_block):
            rows = slice(start, start + rows_per_block)
            block_total, gradient[rows] = self(raw[rows], rows)
            total += block_total
        return total + self.constant, gradient


class PoissonKernel(WeightedKernel):
    """Poisson deviance ``2 (y log y - y - y raw + exp(raw))`` with weights ``w``.

    ``2 sum w (y log y - y)`` is the constant; per block,
    ``2 w . exp(raw) - 2 (w y) . raw`` and the gradient ``2 w exp(raw) - 2 w y``.
    """

    def __init__(self, y, weight):
        y = np.asarray(y, dtype=np.float64)
        self.two_w = 2.0 * weight
        self.two_wy = self.two_w * y
        self.constant = float(self.two_w @ (xlogy(y, y) - y))

    def __call__(self, raw, rows):
        two_w, two_wy = self.two_w[rows], self.two_wy[rows]
        value = -float(two_wy @ raw)
        with np.errstate(over="ignore"):
            mu = np.exp(raw)
        value += float(two_w @ mu)
        mu *= two_w
        mu -= two_wy
        return value, mu

    def hessian_diagonal(self, raw):
        with np.errstate(over="ignore"):
            return self.two_w * np.exp(raw)

    def at_constant(self, value, n_samples, rows_per_block):
        with np.errstate(over="ignore"):
            mu = np.exp(float(value))
        total = mu * float(self.two_w.sum()) - float(value) * float(self.two_wy.sum())
        gradient = self.two_w * mu
        gradient -= self.two_wy
        return total + self.constant, gradient


class GammaKernel(WeightedKernel):
    """Gamma deviance ``2 (expm1(t) - t)``, ``t = log y - raw``, with weights ``w``.

    The gradient is ``-2 w expm1(t)``; ``log y`` is computed once.
    """

    def __init__(self, y, weight):
        self.log_y = np.log(np.asarray(y, dtype=np.float64))
        self.two_w = 2.0 * weight

    def __call__(self, raw, rows):
        t = self.log_y[rows] - raw
        with np.errstate(over="ignore", invalid="ignore"):
            em1 = np.expm1(t)
            gradient = em1 * self.two_w[rows]
            np.subtract(em1, t, out=em1)
        value = float(self.two_w[rows] @ em1)
        np.negative(gradient, out=gradient)
        return value, gradient

    def hessian_diagonal(self, raw):
        with np.errstate(over="ignore"):
            return self.two_w * np.exp(self.log_y - raw)  # 2 w y / mu


class BinaryLogLossKernel(WeightedKernel):
    """Binary log loss on log-odds ``z`` with labels ``t`` in {0, 1}, weights ``w``.

    With ``s = 1 - 2 t`` and ``e = exp(-|z|)``: the loss is
    ``log1p(e) + max(s z, 0)`` (non-negative terms, no cancellation) and the
    gradient ``s * e_or_1 / (1 + e)``, whose numerator is ``e`` exactly on
    the class's side (``s z <= 0``) so that small gradients keep their
    relative precision; ``w s`` is folded into one array.
    """

    def __init__(self, y, weight):
        sign = 1.0 - 2.0 * (np.asarray(y) == 1)
        self.w = weight
        self.ws = weight * sign
        self.sign = sign

    def __call__(self, raw, rows):
        loss, gradient = self._loss_and_numerator(self.sign[rows] * raw)
        value = float(self.w[rows] @ loss)
        gradient *= self.ws[rows]
        return value, gradient

    @staticmethod
    def _loss_and_numerator(sz):
        """Per-sample loss and ``sigmoid(s z)`` at ``s z`` (overwritten)."""
        # min(s z, 0) and max(s z, 0) give -|s z| by one subtraction, and
        # the gradient's numerator (e on the class's side, 1 beyond) is
        # exp(min(s z, 0)): the same numbers as a selection between them,
        # with fewer and cheaper passes over the block (1.5 -> 1.0 ms per
        # 1e5 rows here). The hinge is a maximum, not s z - min(s z, 0),
        # so that s z = -inf gives loss 0 and gradient 0, not NaN.
        low = np.minimum(sz, 0.0)
        hinge = np.maximum(sz, 0.0, out=sz)
        e = np.subtract(low, hinge)
        np.exp(e, out=e)
        loss = np.log1p(e)
        loss += hinge
        gradient = np.exp(low, out=low)
        e += 1.0
        gradient /= e
        return loss, gradient

    def at_constant(self, value, n_samples, rows_per_block):
        # Two values of s z, one per class: their losses and gradients by
        # the per-block formula, spread over the rows by their class.
        loss, numerator = self._loss_and_numerator(np.array([value, -value], dtype=np.float64))
        positive = self.sign > 0
        # A masked sum, not a product with the mask: no boolean-to-float
        # copy of n_samples, and no threaded BLAS call.
        weight_positive = float(self.w.sum(where=positive))
        total = float(loss[0]) * weight_positive \
            + float(loss[1]) * (float(self.w.sum()) - weight_positive)
        gradient = np.where(positive, numerator[0], numerator[1])
        gradient *= self.ws
        return total + self.constant, gradient  # the base's contract (0 here)

    def hessian_diagonal(self, raw):
        # p (1 - p) = e / (1 + e)^2, e = exp(-|z|), without cancellation;
        # in place: two arrays of n_samples instead of five.
        e = np.abs(raw)
        np.negative(e, out=e)
        np.exp(e, out=e)
        denominator = e + 1.0
        denominator *= denominator
        e /= denominator
        e *= self.w
        return e

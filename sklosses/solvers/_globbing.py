"""Portnoy-Koenker preprocessing of large piecewise-linear fits with one kink.

At the optimum of a quantile (or absolute-error) fit, most samples lie
clearly above or below the fitted plane, and only their side matters: the
loss is linear on each side of its kink. Following Portnoy and Koenker
(1997, section 6), a fit on a random subsample of
``m ~ sqrt(p) n^(2/3)`` rows predicts which samples are clearly on which
side; the samples of each side are merged ("globbed") into one
pseudo-observation, and the exact solver runs on the rows near the plane
plus the two globs, which is much smaller than the full program.

A glob is the weighted mean of its members' rows with their total weight
and a target far beyond their side of the kink, so that it stays on that
side: its loss is then the sum of its members' losses as long as they are on
their assumed side (the loss is linear there), up to a constant. The
reduced program's dual point gives each glob's ``theta`` to all its members;
the members' images in the dual constraints sum to the glob's, so this is a
feasible dual point of the *full* problem, and the full objective at the
reduced solution and this point's dual value give a certified duality gap of
the full problem. When it is above ``tol``, some members were on the wrong
side: a few are put back among the kept rows and the reduced program is
solved again; many mean the subsample was too small, and it is doubled (the
paper's loop). When the loop does not certify the fit, the caller solves the
full program.

References
----------
.. [1] S. Portnoy and R. Koenker, "The Gaussian hare and the Laplacian
   tortoise: computability of squared-error versus absolute-error
   estimators", Statistical Science 12(4), 279-300 (1997).
"""

import numpy as np
import scipy.sparse as sp

# Fewer rows than this: the full program is solved directly. Measured (see
# benchmarks/README.md, bench_quantile_l1.py section): below it the two
# smaller solves and the extra passes over the data cost about as much as
# the full interior point.
MIN_ROWS = 10_000
# The subsample has SUBSAMPLE_FACTOR * sqrt(n_columns) * n^(2/3) rows (the
# paper's rate); the band of kept rows a share
# BAND_FACTOR * sqrt(n_columns / subsample rows) of all rows.
SUBSAMPLE_FACTOR = 0.5
BAND_FACTOR = 4.0
# Preprocessing stops paying when the subsample exceeds this share of n.
_MAX_SHARE = 0.15
# Wrongly globbed members beyond this share of the kept rows: enlarge the
# subsample instead of putting them back.
_MAX_WRONG_SHARE = 0.1
# A certified gap this share of tol needs no more reduced solves.
_CLOSE = 1e-2
# Reduced solves per subsample, and subsample sizes tried.
_MAX_FIXES = 3
_MAX_SUBSAMPLES = 2
# The subsample fit only places the band; this gap is enough for that.
_GUIDE_TOL = 1e-3
# A glob's target lies this many mean absolute loss arguments beyond its
# members' mean (on their side of the kink).
_GLOB_SHIFT = 10.0


def applies(X, form):
    """Whether the preprocessing can fit this output: dense, one kink, one sign.

    The globs need a loss linear on each side of a single kink, whose slopes
    have opposite signs (so that the optimum has samples on both sides), and
    one common scale of the raw prediction in the loss argument (a
    regression residual).
    """
    if sp.issparse(X) or X.shape[0] < MIN_ROWS or len(form.knots) != 1:
        return False
    low, high = form.slopes
    scale = np.asarray(form.scale)
    return bool(low < 0 < high and scale.size and np.all(scale == scale.flat[0]))


def subsample_size(n_rows, n_columns):
    """Rows of the first subsample: ``SUBSAMPLE_FACTOR sqrt(n_columns) n^(2/3)``."""
    return int(np.ceil(SUBSAMPLE_FACTOR * np.sqrt(n_columns) * n_rows ** (2.0 / 3.0)))


class GlobbedFit:
    """Solve one output's program through its reduced programs.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense, float64, rows of positive weight.
    form : PiecewiseLinear
        The output's loss, for which :func:`applies` holds.
    weight : ndarray of shape (n_samples,)
        The loss term's weights (normalised, times the output's share).
    fit_intercept : bool
    make_problem : callable
        ``make_problem(X, form, weight)`` -> the exact solver's program of
        one output (an ``_OutputProblem``, with the output's penalty), for
        the subsample, the reduced and the full data alike.
    """

    def __init__(self, X, form, weight, *, fit_intercept, make_problem):
        self.X = X
        self.form = form
        self.weight = weight
        self.fit_intercept = fit_intercept
        self.make_problem = make_problem
        self.knot = float(form.knots[0])
        self.offset = np.asarray(form.offset, dtype=float)
        self.scale = float(np.asarray(form.scale).flat[0])
        low, high = form.slopes
        # At the optimum about this weighted share of samples is below the kink.
        self.share_below = high / (high - low)
        self.n_iter = 0

    def arguments(self, beta):
        """Loss arguments ``t = g + c (X w + b)`` of all samples at ``beta``."""
        p = self.X.shape[1]
        raw = self.X @ beta[:p]
        if self.fit_intercept:
            raw += beta[p]
        return self.offset + self.scale * raw

    def solve(self, beta0, tol, max_iter, full_problem, *, polish=True, band_factor=None):
        """The certified fit, or None when the caller should solve the full program.

        ``full_problem`` gives the full objective (in the scaled units of
        that problem) at the reduced programs' solutions. ``polish=False``
        stops each reduced program at its gap and takes the first certified
        fit; ``band_factor`` replaces ``BAND_FACTOR`` (read when called).
        """
        if band_factor is None:
            band_factor = BAND_FACTOR
        n = self.X.shape[0]
        n_columns = self.X.shape[1] + int(self.fit_intercept)
        size = subsample_size(n, n_columns)
        rng = np.random.default_rng(0)
        beta = np.asarray(beta0, dtype=float)
        for _ in range(_MAX_SUBSAMPLES):
            if size > _MAX_SHARE * n:
                return None
            rows = np.sort(rng.choice(n, size=size, replace=False))
            guide = self._solve_rows(rows, beta, _GUIDE_TOL, max_iter, polish=False)
            if guide.primal - guide.dual > _GUIDE_TOL * abs(guide.primal):
                return None  # the subsample fit itself failed
            t = self.arguments(guide.beta) - self.knot
            # The subsample fit's error moves the residuals by about
            # sqrt(n_columns / size) of their spread: the band's share of rows.
            below, above = self._classify(t, band_factor * np.sqrt(n_columns / size))
            # Globs this far beyond the kink stay on their side near the optimum.
            shift = _GLOB_SHIFT * max(float(self.weight @ np.abs(t)) / self.weight.sum(),
                                      np.finfo(float).tiny)
            beta = guide.beta
            for attempt in range(_MAX_FIXES):
                fit = self._solve_reduced(below, above, shift, beta, tol, max_iter,
                                          abs(guide.primal), polish=polish)
                if fit.dual_point is None:
                    return None
                beta = fit.beta
                gap, primal, dual = self._full_gap(fit, below, above, full_problem)
                t = self.arguments(beta) - self.knot
                wrong = (below & (t > 0)) | (above & (t < 0))
                n_wrong = int(wrong.sum())
                # Certified. With every member on its side the reduced solution
                # is the full program's (not only within tol of it, like a
                # polished direct fit); with a few on the wrong side, one more
                # reduced solve unless the gap is already far below tol.
                if gap <= tol and (n_wrong == 0 or gap <= _CLOSE * tol or not polish
                                   or attempt == _MAX_FIXES - 1):
                    fit.primal, fit.dual, fit.n_iter = primal, dual, self.n_iter
                    fit.converged, fit.message = True, ""
                    return fit
                if n_wrong == 0:
                    return None  # the reduced solve itself stopped short
                if n_wrong > _MAX_WRONG_SHARE * (n - below.sum() - above.sum()):
                    break
                below &= ~wrong
                above &= ~wrong
            size *= 2
        return None

    def rough_fit(self, beta0, tol, max_iter, full_problem, *, band_factor=None):
        """A fit certified to ``tol`` without polishing: a pilot for another program.

        As :meth:`solve`, but the reduced programs stop at their gap and the
        first certified fit is taken (no reduced solve beyond it for the
        last wrongly globbed rows); when the reduced programs do not certify
        it, the full program is solved, also unpolished. ``band_factor``
        sets the band as ``BAND_FACTOR`` does for :meth:`solve`: a narrower
        band costs fewer rows per reduced solve and, for a pilot, a wrongly
        globbed row more or less costs little.

        Returns
        -------
        fit : _OutputFit
        """
        fit = self.solve(beta0, tol, max_iter, full_problem, polish=False,
                         band_factor=band_factor)
        if fit is None:
            fit = full_problem.solve(beta0, tol, max_iter, polish=False)
            fit.n_iter += self.n_iter
            self.n_iter = fit.n_iter
        return fit

    # -- steps ---------------------------------------------------------------

    def _classify(self, t, band_share):
        """Masks of the samples clearly below and clearly above the kink.

        ``t`` are the loss arguments minus the kink. The band keeps a share
        ``band_share`` of the samples around the rank where the optimum puts
        the kink (``share_below`` of them below it), and always the kink
        itself.
        """
        n = t.shape[0]
        half = 0.5 * band_share
        low_rank = int(np.floor(max(self.share_below - half, 0.0) * (n - 1)))
        high_rank = int(np.ceil(min(self.share_below + half, 1.0) * (n - 1)))
        ordered = np.partition(t, (low_rank, high_rank))
        low = min(float(ordered[low_rank]), 0.0)
        high = max(float(ordered[high_rank]), 0.0)
        return t < low, t > high

    def _solve_rows(self, rows, beta0, tol, max_iter, *, polish):
        """Fit on the given rows, their weights scaled to the full total."""
        weight = self.weight[rows]
        weight = weight * (self.weight.sum() / weight.sum())
        problem = self.make_problem(self.X[rows], self._form_of(self.offset[rows]), weight)
        fit = problem.solve(beta0, tol, max_iter, polish=polish)
        self.n_iter += fit.n_iter
        return fit

    def _solve_reduced(self, below, above, shift, beta0, tol, max_iter, objective_size, *,
                       polish=True):
        """Fit on the kept rows and one glob per side, ``shift`` beyond its members' mean.

        A glob's loss is linear near the optimum, so its target's shift only
        adds a constant to the objective, of about ``shift`` times the
        glob's weight: the reduced fit's tolerance is tightened by the
        constant's share of the objective (``objective_size`` estimates the
        full one), for its gap to stay within ``tol`` of the full objective.
        """
        kept = ~(below | above)
        X_parts, offsets, weights = [self.X[kept]], [self.offset[kept]], [self.weight[kept]]
        constant = 0.0
        for members, side, slope in ((below, -1.0, self.form.slopes[0]),
                                     (above, 1.0, self.form.slopes[1])):
            if not members.any():
                continue
            w = self.weight[members]
            total = float(w.sum())
            X_parts.append((w @ self.X[members] / total)[None, :])
            offsets.append(np.array([float(w @ self.offset[members]) / total + side * shift]))
            weights.append(np.array([total]))
            constant += total * abs(slope) * shift
        problem = self.make_problem(np.vstack(X_parts), self._form_of(np.concatenate(offsets)),
                                    np.concatenate(weights))
        tol = tol * objective_size / (objective_size + constant)
        fit = problem.solve(beta0, tol, max_iter, polish=polish)
        self.n_iter += fit.n_iter
        return fit

    def _full_gap(self, fit, below, above, full_problem):
        """``(gap, J, D)`` of the full problem at the reduced fit.

        The dual point gives each glob's ``theta`` to all its members: their
        rows' images in the dual constraints sum to the glob's, so the point
        is feasible for the full problem, and its dual value there bounds
        the full optimum from below. ``J`` is the full objective at the
        fit's coefficients.
        """
        kept = ~(below | above)
        reduced = fit.dual_point
        n_kept = int(kept.sum())
        theta = np.empty(self.X.shape[0])
        theta[kept] = reduced[:n_kept]
        position = n_kept
        for members in (below, above):
            if members.any():
                theta[members] = reduced[position]
                position += 1
        b = full_problem.to_scaled(fit.beta)
        units = full_problem.unit / full_problem.n
        primal = full_problem.primal_value(b) * units
        dual = full_problem.dual_value_of(theta, b)[0] * units
        gap = max(primal - dual, 0.0) / max(abs(primal), np.finfo(float).tiny)
        return gap, primal, dual

    def _form_of(self, offset):
        """The output's loss on rows with targets ``offset``."""
        form = self.form
        return type(form)(knots=form.knots, slopes=form.slopes, offset=offset,
                          scale=np.full(offset.shape[0], self.scale),
                          value_at_first_knot=form.value_at_first_knot)

"""Path points of a one-kink piecewise-linear loss: a vertex walk, or small globbed programs.

With a pure L1 penalty the point's program is a linear program, and each
point is first a simplex walk from the previous point's optimal vertex
(:class:`~sklosses.solvers._vertex_path.VertexPath`): an exact vertex,
certified by the full problem's duality gap like every point here. What it
cannot finish (a singular basis, its pivot limit, a gap above ``tol``), and
every point with an L2 part (a quadratic program, without vertices), goes
to the globbed programs below; after ``_MAX_VERTEX_FAILURES`` failed walks in
a row the path stops trying the walk. :attr:`PiecewisePath.routes` records
how each point was solved.

Along a regularisation path of a quantile (or absolute-error) fit, the
previous point's solution predicts the next one's residuals far better than
any subsample fit: between neighbouring alphas only the samples nearest the
fitted plane change sides. Each point is therefore Portnoy and Koenker's
globbed program (:mod:`sklosses.solvers._globbing`) without its subsample
stage: the rows are classified by their residuals at the previous point's
coefficients, the band of the ``band`` rows nearest the kink is kept, and
every other row is merged into the glob of its side. The reduced program's
dual point, spread over the globs' members, is a feasible dual point of the
*full* problem, so each point is certified by the full problem's duality
gap (not the reduced one's); members found on the wrong side are put back
and the program solved again, and where that does not certify the point
within ``tol`` (or the band had to grow too often) the caller solves the full
program cold, as before.

The band starts at ``_BAND_FACTOR * (p + 1)`` rows (an optimum interpolates
about ``p + 1`` of them) and adapts along the path: it doubles after a point
with many wrongly globbed members and shrinks back after clean points.
"""

import numpy as np

from ..losses._piecewise import PiecewiseLinear
from ._exact import _OutputFit
from ._globbing import _CLOSE, GlobbedFit
from ._vertex_path import VertexPath

# The first band: this many times the number of coefficients, and at least
# _MIN_BAND rows; never more than _MAX_BAND_SHARE of the rows (past it the
# reduced program saves little on the full one).
_BAND_FACTOR = 8
_MIN_BAND = 100
_MAX_BAND_SHARE = 0.5
# Reduced solves per point before the full program is solved instead.
_MAX_FIXES = 4
# A row is kept when its guessed argument is within this many times its
# move along the last step of the kink. Measured on bench_cv_path's robust
# fold (rows x interior-point iterations of the reduced programs, in all):
# 2.2e5 at 1, 3.1e5 at 2 (more rows), 2.5e5 at 0.5 (more fixes).
_MOVE_MARGIN = 1.0
# The reduced programs are solved to this share of tol. A point within tol
# of its optimum is all the path needs for its objective, but not for its
# score: on bench_cv_path's robust quantile data the top two alphas of the
# exact validation curve are 1.1e-6 of R^2 apart. Scores against cold exact
# fits (polished to a vertex), and the choice: solved to tol itself, 1.7e-4
# off and a neighbouring alpha (507 interior-point iterations per fold's
# path); to 1e-2 tol, 9e-6 off and another alpha (711); to 1e-3 tol, 3e-6
# off and the same alpha (759).
_REDUCED_TOL_SHARE = 1e-3
# A glob's target lies this many mean absolute arguments beyond its members' mean.
_SHIFT = 1.0
# Consecutive points the vertex walk could not finish after which the path
# stops trying it (each failure costs up to its pivot limit).
_MAX_VERTEX_FAILURES = 3


def applies(form, X):
    """Whether the loss of ``form`` on dense ``X`` can be globbed (one kink, one scale)."""
    if len(form.knots) != 1:
        return False
    low, high = form.slopes
    scale = np.asarray(form.scale)
    return bool(low < 0 < high and scale.size and np.all(scale == scale.flat[0]))


class PiecewisePath:
    """One training fold's path of a one-kink piecewise-linear loss.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense, float64, the rows of positive weight.
    form : PiecewiseLinear
        The loss of the single output, for which :func:`applies` holds.
    weight : ndarray of shape (n_samples,)
        The loss term's weights (normalised to sum one).
    fit_intercept : bool
    make_problem : callable
        ``make_problem(X, form, weight, penalty)`` -> the exact solver's
        program of one output under ``penalty``.
    """

    def __init__(self, X, form, weight, *, fit_intercept, make_problem):
        self.X, self.form, self.weight = X, form, weight
        self.fit_intercept = fit_intercept
        self.make_problem = make_problem
        n_columns = X.shape[1] + int(fit_intercept)
        self.band = max(_BAND_FACTOR * n_columns, _MIN_BAND)
        self.n_iter_ = 0
        self._previous = None  # (start, solution) of the last certified point
        self._vertices = None  # the VertexPath, made at the first pure-L1 point
        # How each point was solved: "vertex", "globbed" or None (the
        # caller's full fit), in order.
        self.routes = []
        self._vertex_failures = 0

    def solve(self, penalty, beta0, tol, max_iter):
        """The certified optimum under ``penalty`` seeded by ``beta0``, or None.

        Parameters
        ----------
        penalty : ElasticNet
            The point's penalty.
        beta0 : ndarray of shape (n_features + fit_intercept,)
            The previous point's coefficients (user units).
        tol : float
            Relative duality gap of the full problem to certify.
        max_iter : int
            Interior-point iterations per reduced program.

        Returns
        -------
        fit : _OutputFit or None
            With the full problem's primal and dual values; None when the
            reduced programs did not certify it (the caller solves it fully).
        """
        if penalty.l2_strength == 0 and self._vertex_failures < _MAX_VERTEX_FAILURES:
            fit = self._solve_vertex(penalty, beta0, tol)
            if fit is not None:
                self._vertex_failures = 0
                self.routes.append("vertex")
                return fit
            self._vertex_failures += 1
        fit = self._solve_globbed(penalty, beta0, tol, max_iter)
        self.routes.append(None if fit is None else "globbed")
        return fit

    def solve_from_start(self, penalty, beta0, tol, max_iter):
        """:meth:`solve`, keeping ``beta0`` itself where it is already optimal.

        What a cold fit from ``beta0`` returns (the exact solver keeps its
        start unless it finds a lower objective): on a flat optimum (an even
        number of samples about the median of a constant model, at the
        largest alpha of a path) the walk ends at one end of the flat face
        while ``beta0`` may be inside it. ``beta0`` is kept when the walk's
        vertex is not lower beyond the rounding of a sum of ``n`` terms, and
        certified by the vertex's dual value within ``tol``.
        """
        fit = self.solve(penalty, beta0, tol, max_iter)
        if fit is None or self.routes[-1] != "vertex":
            return fit
        beta0 = np.asarray(beta0, dtype=float)
        value = self.vertices.objective(penalty.l1_strength, beta0)
        rounding = self.X.shape[0] * np.finfo(float).eps * abs(fit.primal)
        size = max(abs(value), np.finfo(float).tiny)
        if value <= fit.primal + rounding and max(value - fit.dual, 0.0) <= tol * size:
            fit.beta, fit.primal, fit.curve = beta0.copy(), value, [value]
            self._previous = None
        return fit

    @property
    def vertices(self):
        """The :class:`~sklosses.solvers._vertex_path.VertexPath` of this fold (made once)."""
        if self._vertices is None:
            self._vertices = VertexPath(self.X, self.form, self.weight,
                                        fit_intercept=self.fit_intercept)
        return self._vertices

    def _solve_vertex(self, penalty, beta0, tol):
        """The point by the vertex walk (:mod:`._vertex_path`), or None."""
        result = self.vertices.solve(penalty.l1_strength, beta0, tol)
        self.n_iter_ = self.vertices.n_iter_
        if result is None:
            return None
        beta, primal, dual, n_iter = result
        self._previous = (np.asarray(beta0, dtype=float), beta)
        return _OutputFit(beta=beta, primal=primal, dual=dual, n_iter=n_iter, curve=[primal],
                          converged=True, message="")

    def _solve_globbed(self, penalty, beta0, tol, max_iter):
        """The point by globbed interior-point programs, or None."""
        full = self.make_problem(self.X, self.form, self.weight, penalty)

        def reduced_problem(X, form, weight):
            return _Unpolished(self.make_problem(X, form, weight, penalty))

        globbed = GlobbedFit(self.X, self.form, self.weight, fit_intercept=self.fit_intercept,
                             make_problem=reduced_problem)
        beta = np.asarray(beta0, dtype=float)
        below, above, shift = self._classify(globbed, beta)
        objective_size = abs(full.primal_value(full.to_scaled(beta)) * full.unit / full.n)
        self.n_iter_ = 0
        for attempt in range(_MAX_FIXES):
            fit = globbed._solve_reduced(below, above, shift, beta, tol, max_iter,
                                         objective_size)
            self.n_iter_ = globbed.n_iter
            if fit.dual_point is None:
                break
            gap, primal, dual = globbed._full_gap(fit, below, above, full)
            t = globbed.arguments(fit.beta) - globbed.knot
            wrong = (below & (t > 0)) | (above & (t < 0))
            n_wrong = int(wrong.sum())
            if gap <= tol and (n_wrong == 0 or gap <= _CLOSE * tol
                               or attempt == _MAX_FIXES - 1):
                fit.primal, fit.dual, fit.n_iter = primal, dual, max(globbed.n_iter, 1)
                fit.converged, fit.message = True, ""
                self._previous = (beta, fit.beta)
                return fit
            if n_wrong == 0:
                break  # the reduced solve itself stopped short
            below &= ~wrong
            above &= ~wrong
        self._previous = None
        return None

    def _classify(self, globbed, beta):
        """Masks of the rows globbed below and above the kink, and the globs' shift.

        The point's residuals are guessed by extrapolating the last step of
        the path (its alphas are log-spaced, so the next step is about the
        last one); a row is kept when its guessed argument is within its
        move along that step (times ``_MOVE_MARGIN``) of the kink, or among
        the ``band`` nearest to it.
        """
        guess = beta
        previous = getattr(self, "_previous", None)
        if previous is not None and np.array_equal(previous[1], beta):
            guess = beta + (beta - previous[0])
        t = globbed.arguments(guess) - globbed.knot
        move = np.abs(t - (globbed.arguments(beta) - globbed.knot))
        a = np.abs(t)
        band = min(self.band, a.size - 1)
        nearest = float(np.partition(a, band)[band])
        margin = np.maximum(_MOVE_MARGIN * move, nearest)
        shift = _SHIFT * max(float(self.weight @ a) / self.weight.sum(),
                                  np.finfo(float).tiny)
        return t < -margin, t > margin, shift


class _Unpolished:
    """A reduced program solved to ``_REDUCED_TOL_SHARE * tol``, without polishing.

    The point's certificate is the full problem's gap, which the reduced
    program's own gap (tightened for the globs' constant) bounds; the tighter
    share keeps the validation scores near the exact fits', and costs fewer
    iterations than the polish and the crossover (an SVD per point).
    """

    def __init__(self, problem):
        self.problem = problem

    def solve(self, beta0, tol, max_iter, *, polish=True):
        return self.problem.solve(beta0, _REDUCED_TOL_SHARE * tol, max_iter, polish=False)


def output_form(loss, y):
    """The single output's piecewise-linear form of ``loss`` on targets ``y``.

    As the exact solver forms it: ``offset`` and ``scale`` one entry per row.
    """
    form = loss.piecewise_linear(y)
    n = len(y)
    return PiecewiseLinear(
        knots=form.knots,
        slopes=form.slopes,
        offset=np.asarray(form.offset, dtype=float).reshape(n, -1)[:, 0],
        scale=np.asarray(form.scale, dtype=float).reshape(n, -1)[:, 0],
        value_at_first_knot=form.value_at_first_knot,
    )

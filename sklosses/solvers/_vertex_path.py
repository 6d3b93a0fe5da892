"""Path points of an L1 (or unpenalised) quantile fit by walking the vertices of its program.

With a pure L1 penalty (or none), a quantile or absolute-error fit of a
linear model is a linear program: its optimum is a vertex, fixed by a basis
of ``k`` free coefficients (the intercept and the weights that are not zero)
and ``k`` *elbow* samples whose loss argument sits on the kink. The
coefficients are the solution of the ``k x k`` system ``u_E(beta) = 0``; the
elbow samples' slopes ``theta_E`` follow from the stationarity of the free
coefficients, and the vertex is optimal when every ``theta_E`` lies between
the loss's two slopes and every weight at zero has a subgradient of at most
its L1 strength. Along a path in alpha the vertex does not move until
one of these tests fails (the solution path is piecewise constant in alpha,
piecewise linear in ``||w||_1``: Li and Zhu, 2008), so the previous point's
vertex is the natural start of the next. Tracking every event of the path
(a homotopy) costs a pivot per sample that crosses the kink; walking
straight to the next grid point costs fewer (736 pivots against about
2 100 crossings on bench_cv_path's robust fold).

:class:`VertexPath` solves each point by a primal simplex on the
coefficients started at the previous point's vertex: while a test fails,
the steepest of the failing ones names an edge (release that elbow sample
to the side that lowers the objective, or let that weight leave zero), and
the objective, convex and piecewise linear along the edge, is minimised
there exactly by ordering its breakpoints (the samples that cross the kink
and the weights that reach zero, Barrodale and Roberts's long step):
several samples change sides in one iteration, and the breakpoint where the
slope turns non-negative enters the basis. The walk runs on arguments
perturbed at 1e-10 of their size (ties of the data would make degenerate
vertices); the coefficients returned are the final basis's vertex for the
exact arguments. They are checked as a cold fit is: the full problem's
primal value and the dual value of the vertex's ``theta`` (every sample's
slope), whose relative gap must be at most ``tol``; an exact vertex has a
gap of rounding. Anything unusual (a singular basis, more pivots than the
limit, no breakpoint ends an edge, a gap above ``tol``) returns None, and
the caller solves the point another way. The pivots themselves are compiled
(:mod:`sklosses.solvers._vertex_kernels`): as NumPy calls, each cost about
100 us whatever the sizes.

The first point's coefficients (an interior-point fit) need not be a
vertex: :meth:`VertexPath.solve` first *purifies* them, moving within the
null space of the current elbow rows in the direction that does not raise
the objective, until as many samples are on the kink as there are free
coefficients.

References
----------
.. [1] Y. Li and J. Zhu, "L1-norm quantile regression", Journal of
   Computational and Graphical Statistics 17(1), 163-185 (2008).
.. [2] I. Barrodale and F. D. K. Roberts, "An improved algorithm for
   discrete l1 linear approximation", SIAM J. Numerical Analysis 10(5),
   839-848 (1973).
"""

from collections import Counter

import numpy as np
from scipy.linalg.lapack import dgetrf, dgetri

# The walk's perturbation of the loss arguments, relative to their mean size
# about their median (with an intercept) or zero.
_PERTURBATION = 1e-10
# Simplex iterations per point (times the number of columns, at least the
# floor) before the point is left to the caller: a walk that long is cycling
# on a degenerate vertex or far from the previous point.
_MAX_PIVOTS_FACTOR = 4
_MIN_PIVOTS = 60
# A test fails when it is violated by more than this share of its scale
# (the slopes' spread, an L1 strength): below it the violation changes the
# objective by rounding only, and the gap of the result decides.
_VIOLATION = 1e-11
# A basis whose condition number exceeds this is treated as singular.
_SINGULAR = 1e12
# The near rows of a walk: this many times the number of columns at least
# (and _MIN_NEAR), chosen again from the current point after a step that
# passed a far row, twice as many when the step passes one of those again,
# half as many again (not below the first) after _CLEAN_POINTS points in a
# row without growing.
_NEAR_FACTOR = 16
_MIN_NEAR = 200
_CLEAN_POINTS = 3
# In-place updates of a basis inverse (_vertex_kernels) before it is
# factorised afresh, and the smallest pivot (relative) they accept.
_MAX_UPDATES = 32
_PIVOT_FLOOR = 1e-8


class VertexPath:
    """One training fold's path of an L1 or unpenalised one-kink piecewise-linear loss.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Dense, float64, the rows of positive weight.
    form : PiecewiseLinear
        The single output's loss: one knot, slopes of opposite signs, one
        scale (:func:`sklosses.solvers._piecewise_path.applies`).
    weight : ndarray of shape (n_samples,)
        The loss term's weights (normalised to sum one).
    fit_intercept : bool

    Attributes
    ----------
    n_iter_ : int
        Simplex iterations (purification steps included) of the last solve.
    """

    def __init__(self, X, form, weight, *, fit_intercept):
        n, p = X.shape
        self.n_features = p
        self.fit_intercept = fit_intercept
        self.weight = np.asarray(weight, dtype=float)
        self.low, self.high = (float(s) for s in form.slopes)
        knot = float(form.knots[0])
        self.value_at_knot = float(form.value_at_first_knot)
        scale = float(np.asarray(form.scale).flat[0])
        # Columns to unit weighted RMS (the basis systems' conditioning does
        # not depend on the features' units); the loss argument minus the
        # kink is u = a + Z beta_s with beta_s the scaled coefficients.
        rms = np.sqrt(self.weight @ (X * X))
        rms[rms == 0] = 1.0
        self.rms = rms
        columns = [X / rms]
        if fit_intercept:
            columns.append(np.ones((n, 1)))
        self.Z = scale * np.hstack(columns)
        self.a_exact = np.asarray(form.offset, dtype=float) - knot
        # The walk runs on arguments perturbed by a fixed pattern of relative
        # size _PERTURBATION: ties of the data (equal rows, rows on one line)
        # make degenerate vertices, where several rows sit on the kink
        # outside the basis and a simplex step can stall or stop short; the
        # perturbation breaks them (the classical remedy of degeneracy). The
        # basis found is then optimal for the exact arguments as well, on
        # which the coefficients are solved and the certificate is taken.
        # Its scale is the residuals' (about the median with an intercept,
        # which absorbs an offset of the targets), not the targets'.
        centre = float(np.median(self.a_exact)) if fit_intercept else 0.0
        size = float(self.weight @ np.abs(self.a_exact - centre)) / max(
            float(self.weight.sum()), 1e-300)
        pattern = np.random.default_rng(0).uniform(-1.0, 1.0, size=n)
        self._shift = _PERTURBATION * max(size, np.finfo(float).tiny) * pattern
        self.a = self.a_exact + self._shift
        self.m = self.Z.shape[1]
        self.row_norms = np.sqrt(np.einsum("ij,ij->i", self.Z, self.Z))
        self._gains = (self.high - self.low) * self.weight
        self.base_near = max(_NEAR_FACTOR * self.m, _MIN_NEAR)
        self.n_near = self.base_near
        self.n_iter_ = 0
        # How often the walks chose their near rows again, by the reason the
        # compiled pivots gave (_vertex_kernels.NO_STOP_NEAR, FAR_ROW_PASSED).
        self.reselections = Counter()
        self._state = None  # (beta_s, elbow rows, free columns) of the last vertex
        self._beta_user = None
        self._near = None  # the _NearRows of the last walk
        self._grew = False  # whether the last walk chose more near rows
        self._clean = 0  # points in a row whose walk did not

    # -- public ----------------------------------------------------------------

    def solve(self, l1_strength, beta0, tol):
        """The optimal vertex under ``l1_strength`` started from ``beta0``, or None.

        Parameters
        ----------
        l1_strength : float
            The coefficient of ``||w||_1`` (no L2 part).
        beta0 : ndarray of shape (n_features + fit_intercept,)
            The previous point's coefficients (user units). When they are
            the last vertex this object returned, its basis is the start;
            otherwise they are purified to a vertex first.
        tol : float
            Relative duality gap the result must certify.

        Returns
        -------
        result : tuple or None
            ``(beta, primal, dual, n_iter)`` in the user's units, or None
            when the walk could not finish the point (the caller solves it).
        """
        self.n_iter_ = 0
        lam = np.zeros(self.m)
        lam[: self.n_features] = l1_strength / self.rms
        beta0 = np.asarray(beta0, dtype=float)
        with np.errstate(all="ignore"):
            if self._state is not None and self._continues(beta0):
                beta, elbow, free = (v.copy() for v in self._state)
            else:
                self._near = None
                beta = self._to_scaled(beta0)
                vertex = self._purify(beta, lam)
                if vertex is None:
                    return self._fail()
                beta, elbow, free = vertex
            walked = self._walk(beta, elbow, free, lam)
            if walked is None:
                return self._fail()
            beta, elbow, free, theta, u, u_walk = walked
            primal, dual, v = self._values(beta, theta, u, lam)
            # The next point starts from this one's near rows, refreshed
            # from the (perturbed) arguments (h without the elbow rows' part).
            self._near.rebase(self._beta_walk, u_walk, elbow,
                              v - self.Z[elbow].T @ (self.weight[elbow] * theta[elbow]))
            self._clean = 0 if self._grew else self._clean + 1
            if self._clean >= _CLEAN_POINTS and self.n_near > self.base_near:
                self.n_near = max(self.base_near, self.n_near // 2)
                self._near, self._clean = None, 0  # chosen again at the next point
        gap = max(primal - dual, 0.0) / max(abs(primal), np.finfo(float).tiny)
        if not (np.isfinite(gap) and gap <= tol):
            return self._fail()
        # The next walk starts from the coefficients this one ended at (on
        # the perturbed arguments); the user gets the exact vertex.
        self._state = (self._beta_walk, elbow, free)
        self._beta_user = self._to_user(beta)
        return self._beta_user.copy(), primal, dual, max(self.n_iter_, 1)

    def _continues(self, beta0):
        """Whether ``beta0`` is the last vertex returned: as returned, or as a float32
        model stores it (rounded), which is the same vertex for the walk."""
        last = self._beta_user
        return np.array_equal(beta0, last) or np.array_equal(
            beta0, last.astype(np.float32).astype(np.float64))

    def objective(self, l1_strength, beta):
        """The full problem's objective at ``beta`` (user units), as :meth:`solve` reports it."""
        scaled = self._to_scaled(np.asarray(beta, dtype=float))
        u = self.a_exact + self.Z @ scaled
        value = float(self.weight @ np.maximum(self.low * u, self.high * u))
        value += self.value_at_knot * float(self.weight.sum())
        return value + l1_strength * float(np.abs(beta[: self.n_features]).sum())

    # -- units -----------------------------------------------------------------

    def _to_scaled(self, beta):
        scaled = np.array(beta, dtype=float)
        scaled[: self.n_features] *= self.rms
        return scaled

    def _to_user(self, scaled):
        beta = scaled.copy()
        beta[: self.n_features] /= self.rms
        return beta

    def _fail(self):
        self._state = self._beta_user = self._near = None
        return None

    # -- the walk --------------------------------------------------------------

    def _walk(self, beta, elbow, free, lam):
        """Simplex iterations from the vertex ``(elbow, free)`` to the optimum under ``lam``.

        The pivots are compiled (:func:`~sklosses.solvers._vertex_kernels.walk_near_rows`:
        steepest-edge pricing, the long step, the updates of the basis
        inverse); this method factorises the basis afresh where the kernel
        asks and chooses the near rows. The line searches look at the
        *near* rows only (:class:`_NearRows`), those whose argument was
        nearest the kink, relative to their norm, when they were chosen; a
        step that could pass a far row is checked on the far rows, and where
        one does pass (or no near row ends the edge), the near rows are
        chosen again from the current point (as many; twice as many when
        the same step needs that again).

        Returns ``(beta, elbow, free, theta, u, u_walk)`` (``theta``, ``u``
        and ``u_walk`` every sample's slope, exact argument and perturbed
        argument) or None.
        """
        kernels = _kernels()
        Z, w = self.Z, self.weight
        high, low = self.high, self.low
        p, m = self.n_features, self.m
        max_pivots = max(_MAX_PIVOTS_FACTOR * m, _MIN_PIVOTS)
        near = self._near
        if near is None:
            near = self._near = _NearRows(self, beta, elbow, self.n_near)
        self._grew = False
        # A weight at zero may leave it when |g_j| exceeds this; free
        # columns (and the intercept) never.
        base_limit = lam + _VIOLATION * (lam + (high - low))
        base_limit[p:] = np.inf
        # The basis in buffers of the largest size (the kernel changes it in
        # place): elbow[:k], free[:k], inverse[:k, :k].
        k = elbow.size
        elbow_buffer = np.zeros(m, dtype=np.int64)
        free_buffer = np.zeros(m, dtype=np.int64)
        elbow_buffer[:k], free_buffer[:k] = elbow, free
        inverse = np.zeros((m, m))
        state = np.array([k, 0, 0], dtype=np.int64)  # k, pivots, updates
        wtheta = np.empty(m)
        beta = np.array(beta, dtype=float)
        factorise, reselected_at = True, -1
        while True:
            k = int(state[0])
            if factorise and k:
                basis_inverse = _inverse(Z[np.ix_(elbow_buffer[:k], free_buffer[:k])])
                if basis_inverse is None:
                    return None
                inverse[:k, :k] = basis_inverse
            status = kernels.walk_near_rows(
                Z, w, lam, base_limit, high, low, _VIOLATION * (high - low), max_pivots, p,
                _MAX_UPDATES, _PIVOT_FLOOR, near.rows, near.local, near.ZT, near.u, near.h,
                near.gains, near.far, near.norms_far, near.u_far, near.ratio_far, near.far_base,
                near.rho_squared, beta, elbow_buffer, free_buffer, inverse, state, wtheta)
            factorise = status == kernels.REFACTOR
            if status in (kernels.NO_STOP_NEAR, kernels.FAR_ROW_PASSED):
                self.reselections[status] += 1
                # The near rows chosen again from here, twice as many if that
                # has been done for this step already.
                if reselected_at == state[1]:
                    self.n_near = min(2 * near.size, Z.shape[0])
                    self._grew = True
                reselected_at = int(state[1])
                near = self._near = _NearRows(self, beta, elbow_buffer[: state[0]],
                                              self.n_near)
            elif status in (kernels.UNBOUNDED, kernels.PIVOT_LIMIT, kernels.BROKEN_BASIS):
                return None
            elif status == kernels.OPTIMAL:
                break
        self.n_iter_ += int(state[1])
        k = int(state[0])
        elbow, free = elbow_buffer[:k].copy(), free_buffer[:k].copy()
        # The sides the walk saw (those of the perturbed arguments) and the
        # elbow rows' slopes make the dual point; the coefficients are the
        # vertex of this basis for the exact arguments.
        u_walk = self.a + Z @ beta
        u_walk[elbow] = 0.0
        theta = np.where(u_walk > 0, high, low)
        theta[elbow] = np.clip(wtheta[:k] / w[elbow], low, high)
        self._beta_walk = beta
        beta = beta.copy()
        if k:
            beta[free] = inverse[:k, :k] @ -self.a_exact[elbow]
        u = self.a_exact + Z @ beta
        u[elbow] = 0.0
        return beta, elbow, free, theta, u, u_walk

    def _slopes(self, u, on_elbow):
        """Each non-elbow sample's weight times its slope (the upper one for ``u > 0``)."""
        slope = self.weight * np.where(u > 0, self.high, self.low)
        slope[on_elbow] = 0.0
        return slope

    # -- purification ------------------------------------------------------------

    def _purify(self, beta, lam):
        """A vertex whose objective is at most that of ``beta``: ``(beta, elbow, free)`` or None.

        The free coefficients are the intercept and the non-zero weights; the
        samples on the kink (to rounding) are the first elbow rows. While
        there are fewer elbow rows than free coefficients, ``beta`` moves
        along a direction of the null space of the elbow rows (in the free
        coefficients) whose sign does not raise the objective, to the
        minimum along it: a sample that reaches the kink joins the elbow, a
        weight that reaches zero leaves the free set.
        """
        Z = self.Z
        p = self.n_features
        free = np.flatnonzero(beta != 0)
        if self.fit_intercept:
            free = np.union1d(free[free < p], [p])
        u = self.a + Z @ beta
        size = float(self.weight @ np.abs(u)) + np.finfo(float).tiny
        elbow = np.flatnonzero(np.abs(u) <= 1e-13 * size)
        if elbow.size > free.size:
            elbow = elbow[np.argsort(np.abs(u[elbow]))[: free.size]]
        u[elbow] = 0.0
        for _ in range(2 * self.m + 2):
            basis = Z[np.ix_(elbow, free)]
            if elbow.size == free.size:
                if elbow.size and np.linalg.cond(basis) > _SINGULAR:
                    return None
                return beta, elbow, free
            _, singular, vt = np.linalg.svd(basis) if elbow.size else (
                None, np.zeros(0), np.eye(free.size))
            rank = int(np.sum(singular > 1e-10 * singular[0])) if singular.size else 0
            if rank < elbow.size:
                return None
            d = np.zeros(self.m)
            d[free] = vt[-1]
            du = Z @ d
            on_elbow = np.zeros(u.size, dtype=bool)
            on_elbow[elbow] = True
            slope = self._slopes(u, on_elbow)
            # The objective's slope along +d at t = 0+ (a sample on the kink
            # outside the elbow counts on its lower side, as _slopes does).
            derivative = float(slope @ du) + float(
                lam[free] @ (np.sign(beta[free]) * d[free]))
            if derivative > 0:
                d, du, derivative = -d, -du, -derivative
            found, t, entering_row, entering, _ = _kernels().line_search(
                u, du, self._gains, beta, d, lam, derivative, p)
            if not found:
                return None
            self.n_iter_ += 1
            beta = beta + t * d
            u = u + t * du
            if entering_row:
                elbow = np.append(elbow, entering)
            else:
                beta[entering] = 0.0
                free = free[free != entering]
            u[elbow] = 0.0
        return None

    # -- the certificate ---------------------------------------------------------

    def _values(self, beta, theta, u, lam):
        """The primal objective at ``beta`` and the dual value of ``theta``, user units.

        The dual of ``min sum_i w_i phi(u_i) + sum_j lam_j |beta_j|`` is
        ``max sum_i w_i (theta_i a_i + phi(knot))`` over ``theta`` in the
        slopes' box with ``|(Z^T W theta)_j| <= lam_j`` (``= 0`` for the
        intercept). ``theta`` is shrunk towards 0 until the L1 bounds hold;
        what rounding leaves of the intercept's equality is charged as
        ``|b| |v|``, as the exact solver's certificate does. Also returns
        ``Z^T W theta`` (before the shrinking).
        """
        w = self.weight
        constant = self.value_at_knot * float(w.sum())
        primal = float(w @ np.maximum(self.low * u, self.high * u)) + constant
        primal += float(lam @ np.abs(beta))
        v = self.Z.T @ (w * theta)
        bounded = lam > 0
        excess = max(float(np.max(np.abs(v[bounded]) / lam[bounded], initial=0.0)), 1.0)
        theta = theta / excess
        v = v / excess
        dual = float(w @ (theta * self.a_exact)) + constant
        # The equalities of the unpenalised coefficients (the intercept) hold
        # to rounding: what is left changes the bound by at most |b| |v|.
        dual -= float(np.abs(beta[~bounded]) @ np.abs(v[~bounded]))
        return primal, dual, v * excess


class _NearRows:
    """The rows a walk's line searches look at, and what the walk keeps of all rows.

    Chosen at ``beta0``: the ``size`` rows of smallest ``|u_i| / |z_i|``
    (the elbow rows among them), their block of ``Z`` (transposed), arguments, slopes
    and elbow mask; ``h``, the non-elbow rows' part of the loss's
    gradient, is over all rows. A far row keeps its side while
    ``|beta - beta0| < |u_i| / |z_i|`` (by Cauchy and Schwarz, ``|u_i|``
    moves by at most ``|z_i| |beta - beta0|``): a step within the smallest
    of these bounds passes no far row; beyond it, the rows whose bound it
    exceeds are checked on their arguments
    (:func:`~sklosses.solvers._vertex_kernels.walk_near_rows`).
    """

    def __init__(self, path, beta0, elbow, size):
        Z = path.Z
        n = Z.shape[0]
        u = path.a + Z @ beta0
        u[elbow] = 0.0
        if size >= n:
            self.rows = np.arange(n)
            self.far = np.zeros(0, dtype=np.int64)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.abs(u) / path.row_norms
            ratio[elbow] = -1.0
            order = np.argpartition(ratio, size)
            self.rows, self.far = order[:size], order[size:]
        self.norms_far = path.row_norms[self.far]
        self.size = self.rows.size
        self.local = np.full(n, -1)
        self.local[self.rows] = np.arange(self.size)
        # Their block of Z, transposed (a step reads the rows of its free
        # columns).
        self.ZT = np.ascontiguousarray(Z[self.rows].T)
        self.gains = path._gains[self.rows]
        on_elbow = np.zeros(n, dtype=bool)
        on_elbow[elbow] = True
        self.rebase(beta0, u, elbow, Z.T @ path._slopes(u, on_elbow))

    def rebase(self, beta, u, elbow, h):
        """Start again from ``beta``, whose arguments ``u`` are exact, and gradient part ``h``."""
        self.h = h
        self.u = u[self.rows]
        self.u[self.local[elbow]] = 0.0
        # The far rows' arguments at their base, and the bound on a step from
        # it within which none of them crosses the kink (the walk moves the
        # base where a step goes beyond the bound).
        self.far_base = np.array(beta, dtype=float)
        self.u_far = u[self.far]
        self.ratio_far = np.empty(self.far.size)
        self.rho_squared = np.array([_kernels().far_bounds(self.u_far, self.norms_far,
                                                           self.ratio_far)])


def _kernels():
    """The compiled pivots (imported at the first walk: importing them imports Numba)."""
    from . import _vertex_kernels

    return _vertex_kernels


def _inverse(matrix):
    """``matrix^-1``, or None when ``matrix`` is (numerically) singular."""
    lu, pivots, info = dgetrf(matrix)
    if info != 0:
        return None
    inverse, info = dgetri(lu, pivots)
    if info != 0 or not np.all(np.isfinite(inverse)):
        return None
    return inverse

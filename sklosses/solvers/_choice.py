"""``solver="auto"``'s choices once the problem is known: Newton or L-BFGS, Gram or first-order."""

import numpy as np
import scipy.sparse as sp

from ._base import BaseSolver, SolverResult
from ._block_step import output_blocks
from ._lbfgs import LBFGS
from ._newton import Newton
from ._proximal import ProximalGradient
from ._quadratic_path import QuadraticPath, quadratic_path_applies


class NewtonOrLBFGS(BaseSolver):
    """``solver="auto"``'s smooth linear fits: Newton where its Hessian is cheap, else L-BFGS.

    The choice needs the number of parameters, which the estimator knows
    only once the targets are encoded (``K`` classes give ``K`` outputs), so
    it is made in :meth:`solve` from ``objective.model.n_params``; ``name``
    then says which solver ran.

    Newton-Cholesky is chosen when forming its Hessian is cheap in absolute
    terms, ``n_samples * n_params**2 <= newton_max_work`` (1e8, about 10 ms
    of BLAS-3), on at most 200 parameters (Newton's Cholesky limit; up to
    ``constant_hessian_max_params``, 1000, and no more than samples, for a
    loss with a constant Hessian). There both solvers share one change of
    variables and one stopping test, and Newton, which must also meet its
    decrement test, ends far closer to the optimum at the same ``tol``:
    on ill-conditioned real data (breast_cancer's log loss) L-BFGS at
    ``tol=1e-4`` ends 9e-5 relative above it, Newton 3e-10. Its cost
    is bounded by the rule; measured single-threaded
    (``benchmarks/bench_newton.py``, loaded machine), it was 0.65-1.2x
    L-BFGS's time on such fits (n=50-5000, p=5-20).

    A problem that splits into one per output (``loss.outputs_independent``:
    one-vs-rest squared hinge, modified Huber, exponential) counts its
    blocks' work, ``n_samples * K * (n_features + 1)**2``, and the 200
    parameters of one block: digits' ten one-vs-rest outputs (1797 x 64)
    take Newton.

    With an L1 part (lasso, elastic net) the same rule picks proximal
    Newton (coordinate descent on the quadratic model, on the working set of
    features when the Hessian is formed by columns) over L-BFGS on the split
    variables ``w = u - v``, whose gradient test is met short of the
    optimum where the objective bends sharply: on a sweep of 144 L1 and
    elastic-net classifier fits on raw breast_cancer, wine and spector
    columns (log loss, squared hinge, modified Huber; alpha 1e-4 and 1e-2;
    with and without intercept and weights) L-BFGS ended silently above
    ``tol`` 16 times (up to 1.5e-3), Newton never (it warned 14 times), in
    a median 24 ms against 61 ms.

    Beyond, L-BFGS: with the unit-free variables it needs few iterations on
    well-conditioned data, and a Hessian of ``n p^2 / 2`` operations costs
    many of its evaluations. Measured against Newton (one thread): Poisson
    and Gamma n=1e5, p=50, 105 / 100 ms against 156 / 179 ms; binary log
    loss n=1e4, p=99, 11 ms against 20 ms; squared error n=2e5, p=200,
    311 ms against 431 ms for Newton's one exact step.

    Parameters
    ----------
    max_iter, tol, verbose
        Passed to the chosen solver.
    newton_max_work : float, default=1e8
    constant_hessian_max_params : int, default=1000
    """

    handles_nonsmooth_penalty = True
    linear_only = True
    accepts_smoothing = False
    required_loss_methods = ("gradient_hessian",)

    def __init__(self, *, max_iter=500, tol=1e-4, verbose=0, newton_max_work=1e8,
                 constant_hessian_max_params=1000):
        super().__init__(max_iter=max_iter, tol=tol, verbose=verbose)
        self.newton_max_work = newton_max_work
        self.constant_hessian_max_params = constant_hessian_max_params
        self.name = "auto"

    def choose(self, objective):
        """The solver for ``objective``: a :class:`Newton` or an ``LBFGS``."""
        n_params, n_samples = objective.model.n_params, objective.n_samples
        constant = getattr(objective.loss, "has_constant_hessian", False)
        limit = (self.constant_hessian_max_params if constant and n_params <= n_samples
                 else 200)
        smooth = objective.penalty.is_smooth
        if not smooth and getattr(objective.penalty, "l1_strength", None) is None:
            # Proximal Newton needs the L1 part's strength.
            return LBFGS(max_iter=self.max_iter, tol=self.tol, verbose=self.verbose)
        # With an L1 part, proximal Newton forms the whole Hessian.
        blocks = output_blocks(objective) if smooth else None
        if blocks is not None:
            # K independent problems: Newton forms and factorises K blocks.
            n_blocks, block_size = blocks.shape
            work = n_samples * n_blocks * block_size ** 2
            n_params = block_size
        else:
            work = n_samples * n_params ** 2
        cheap = work <= self.newton_max_work
        options = dict(max_iter=self.max_iter, tol=self.tol, verbose=self.verbose)
        if n_params <= limit and cheap:
            return Newton(**options)
        return LBFGS(**options)

    def solve(self, objective, x0, *, state=None, monitor=None):
        """Minimise ``objective`` from ``x0`` with the solver :meth:`choose` picks."""
        solver = self.choose(objective)
        self.name = solver.name
        return solver.solve(objective, x0, state=state, monitor=monitor)


# Sparse data up to this many entries are copied to a dense array for the
# Gram matrix (8 MB in float64).
_DENSE_COPY_MAX = 1_000_000
# Largest n_samples * n_params**2 for which the Gram matrix is formed (about
# a second of BLAS-3): a lasso of 2e5 x 200 (8e9) took as long as L-BFGS.
_GRAM_MAX_WORK = 1e10


class GramOrFallback(BaseSolver):
    """``solver="auto"``'s fits of a quadratic data term with an L1 part: exact on the Gram matrix.

    Squared error (a loss with ``has_constant_hessian``) on a linear model
    with the lasso or the elastic net is solved exactly by the active-set
    method of :class:`~sklosses.solvers._quadratic_path.QuadraticPath`
    (feature-sign search on the centred, Jacobi-scaled Gram matrix), where
    that matrix is small (at most 300 parameters and ``n p^2 <= 1e10``;
    sparse ``X`` of at most a million entries is copied to a dense array).
    Elsewhere, or where
    the method cannot certify its solution (a singular system), the fit is
    the first-order one ``"auto"`` chose before: FISTA for more features than
    samples, else L-BFGS on the split variables.

    Why: L-BFGS on the split variables stops on its gradient test, which on
    raw features (columns in years and dollars) left the weighted lasso on
    statsmodels' ``star98`` at max_iter with a warning, and a flat elastic
    net off the weighted-versus-repeated-rows equivalence; the active set
    ends at the exact optimum, in a few linear solves of ``p`` unknowns.

    An exact fit reports its active-set linear solves as ``n_iter`` (they
    are not bounded by ``max_iter``: the method ends in finitely many).

    Parameters
    ----------
    max_iter, tol, verbose
        Passed to the first-order fallback.
    """

    handles_nonsmooth_penalty = True
    linear_only = True
    accepts_smoothing = False
    required_loss_methods = ("gradient_hessian",)

    def __init__(self, *, max_iter=500, tol=1e-4, verbose=0):
        super().__init__(max_iter=max_iter, tol=tol, verbose=verbose)
        self.name = "auto"

    def _exact(self, objective, x0):
        """The exact optimum's parameters and active-set steps, or None."""
        penalty, model, X = objective.penalty, objective.model, objective.X
        l1 = getattr(penalty, "l1_strength", None)
        l2 = getattr(penalty, "l2_strength", None)
        if l1 is None or l2 is None:
            return None
        if sp.issparse(X) and X.shape[0] * X.shape[1] <= _DENSE_COPY_MAX:
            X = X.toarray()  # centring needs the dense matrix; a small one is cheap
        # One fit forms H once whatever the rows per parameter: wide data
        # (n < p) cost at most n p^2 <= p^3 there, and their elastic net is
        # strictly convex, so the exact optimum is the one answer (two
        # first-order fits of a nearly flat objective stop at different
        # points: weighted against repeated rows, 1e-2 apart).
        if not quadratic_path_applies(objective.loss, model, X, min_rows_per_param=0) \
                or X.shape[0] * model.n_params ** 2 > _GRAM_MAX_WORK:
            return None
        alpha = l1 + l2
        path = QuadraticPath(objective.loss, model, X, objective.y, objective.sample_weight)
        params = path.solve(alpha, l1 / alpha, np.asarray(x0, dtype=np.float64))
        return None if params is None else (params, path.n_iter_)

    def solve(self, objective, x0, *, state=None, monitor=None):
        """Minimise ``objective`` from ``x0``: exactly on the Gram matrix, else first-order."""
        exact = self._exact(objective, x0)
        if exact is not None:
            params, n_iter = exact
            self.name = "gram"
            x = params.astype(objective.model.dtype)
            if self.verbose:
                print(f"Exact fit on the Gram matrix in {n_iter} linear solves")
            return SolverResult(x=x, n_iter=max(n_iter, 1),
                                loss_curve=[float(objective.value(x))], gap=0.0)
        options = dict(max_iter=self.max_iter, tol=self.tol, verbose=self.verbose)
        wide = objective.X.shape[1] > objective.X.shape[0]
        solver = ProximalGradient(**options) if wide else LBFGS(**options)
        self.name = solver.name
        return solver.solve(objective, x0, state=state, monitor=monitor)

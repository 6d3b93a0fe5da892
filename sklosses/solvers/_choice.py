"""``solver="auto"``'s choice between Newton and L-BFGS, made once the problem is known."""

from ._base import BaseSolver
from ._block_step import output_blocks
from ._lbfgs import LBFGS
from ._newton import Newton


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

    handles_nonsmooth_penalty = False
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
        blocks = output_blocks(objective)
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

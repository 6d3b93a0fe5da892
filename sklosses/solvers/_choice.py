"""``solver="auto"``'s choice between Newton and L-BFGS, made once the problem is known."""

from ._base import BaseSolver
from ._lbfgs import LBFGS
from ._newton import Newton


class NewtonOrLBFGS(BaseSolver):
    """``solver="auto"``'s smooth linear fits: Newton on few parameters, else L-BFGS.

    The choice needs the number of parameters, which the estimator knows
    only once the targets are encoded (``K`` classes give ``K`` outputs), so
    it is made in :meth:`solve` from ``objective.model.n_params``; ``name``
    then says which solver ran. The thresholds come from
    ``benchmarks/bench_newton.py`` (single thread):

    - at most ``newton_max_params`` (64) parameters: Newton-Cholesky. Its
      Hessian costs ``n p^2 / 2`` operations, a BLAS-3 update that runs at
      several times the speed of L-BFGS's memory-bound passes, and 2-4
      iterations replace L-BFGS's 10-40 evaluations (Poisson, n=1e5, p=50:
      0.21 s against 0.37 s; tiny fits n=50, p=5: 1.1 ms against 1.9 ms);
    - up to 200 parameters (Newton's Cholesky limit) when forming
      the Hessian is cheap in absolute terms, ``n_samples * n_params**2 <=
      newton_max_work`` (1e8, about 10 ms of BLAS-3): small data, where
      Newton's few exact steps also give the tightest optimum;
    - a loss with a constant Hessian (squared error, squared log error) up
      to ``constant_hessian_max_params`` (1000) parameters and no more
      parameters than samples: one exact Newton step, as Ridge's Cholesky;
    - otherwise L-BFGS: on binary log loss with n=1e5, p=100 two Newton
      iterations took 0.48 s against 0.25 s for L-BFGS.

    Parameters
    ----------
    max_iter, tol, verbose
        Passed to the chosen solver.
    newton_max_params : int, default=64
    newton_max_work : float, default=1e8
    constant_hessian_max_params : int, default=1000
    """

    handles_nonsmooth_penalty = False
    linear_only = True
    accepts_smoothing = False
    required_loss_methods = ("gradient_hessian",)

    def __init__(self, *, max_iter=500, tol=1e-4, verbose=0, newton_max_params=64,
                 newton_max_work=1e8, constant_hessian_max_params=1000):
        super().__init__(max_iter=max_iter, tol=tol, verbose=verbose)
        self.newton_max_params = newton_max_params
        self.newton_max_work = newton_max_work
        self.constant_hessian_max_params = constant_hessian_max_params
        self.name = "auto"

    def choose(self, objective):
        """The solver for ``objective``: a :class:`Newton` or an ``LBFGS``."""
        n_params = objective.model.n_params
        constant = getattr(objective.loss, "has_constant_hessian", False)
        small = n_params <= self.newton_max_params or (
            n_params <= 200 and objective.n_samples * n_params ** 2 <= self.newton_max_work)
        exact_step = (constant and n_params <= self.constant_hessian_max_params
                      and n_params <= objective.n_samples)
        options = dict(max_iter=self.max_iter, tol=self.tol, verbose=self.verbose)
        if small or exact_step:
            return Newton(**options)
        return LBFGS(**options)

    def solve(self, objective, x0, *, state=None, monitor=None):
        """Minimise ``objective`` from ``x0`` with the solver :meth:`choose` picks."""
        solver = self.choose(objective)
        self.name = solver.name
        return solver.solve(objective, x0, state=state, monitor=monitor)

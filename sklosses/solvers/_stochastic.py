"""The minibatch loop: one training loop for solver="sgd", "adam" and partial_fit.

Order of calls in an epoch, all on the :class:`~sklosses._objective.Objective`:

1. ``monitor.begin_epoch(epoch, x)``;
2. the rows are shuffled (``random_state``) and cut into batches; for each
   batch ``b = objective.subset(rows)``:
   ``value, grad = b.smooth_value_gradient(x)`` and
   ``value += b.nonsmooth_value(x)``;
3. ``step, rule_state = rule.update(grad, rule_state, lr)``,
   ``x = x + step``, and for an L1 part
   ``x = objective.prox(x, rule.prox_step(rule_state, lr))``;
4. after the last batch, ``monitor.end_epoch(epoch, x, train_loss)`` returns
   the value to monitor (the validation loss when early stopping, else
   ``None``) and whether a callback asked to stop.

The loop owns everything around the steps: the learning-rate schedule, the
divergence back-off, the stopping rule, keeping the best parameters seen by
the monitor, and the progress lines of ``verbose``.
"""

import copy
import math
import time
from dataclasses import dataclass

import numpy as np
from sklearn.utils import check_random_state

from ._base import BaseSolver, SolverResult
from ._update_rules import UPDATE_RULES

# Divergence back-offs (the k-th divides the learning rate by 2**k) in a row
# without progress before giving up. The count survives from epoch to epoch and from
# one partial_fit call to the next: with one batch per epoch a blow-up is only
# seen at the next epoch, so a count reset every epoch would never reach it.
_MAX_BACKOFFS = 10
# An epoch whose mean objective exceeds this factor times the best epoch's
# (the first epoch: the full objective at the start) has diverged, even while
# still finite.
_BLOWUP = 1e3
# A single-epoch run (a partial_fit call) whose end point has a full objective
# more than this share above the one at its start is redone at half the step:
# no later epoch would reveal the bad step.
_VERIFY_TOLERANCE = 0.1
# At the end of a fit, an end point this many times worse than the best
# epoch's mean is suspect; the start of that epoch is then evaluated too.
_END_TOLERANCE = 2.0
_TINY = 1e-12
# Plateau decays of the learning rate before the loop stops (0.2**5 = 1/3125).
_MAX_PLATEAUS = 5
# Fewest rows per block when the full objective is evaluated block by block:
# tiny batches would otherwise make that evaluation a slow Python loop.
_MIN_EVAL_BLOCK = 256


class _Diverged(Exception):
    """A batch objective, gradient or step became non-finite, or J blew up."""


class _Checkpoint:
    """Where a diverged epoch restarts: the start of the best epoch so far."""

    def __init__(self, x, state, loss):
        self.update(x, state.rule_state, state.epochs, loss)

    def update(self, x, rule_state, epochs, loss):
        self.x, self.rule_state, self.epochs, self.loss = x, rule_state, epochs, loss


@dataclass
class MinibatchState:
    """Everything a minibatch fit needs to resume (``partial_fit``).

    Attributes
    ----------
    rule_state : object
        The update rule's state (velocity, or Adam's moments).
    rule : str
        Name of the rule the state belongs to.
    epochs : float
        Epochs seen, counted in batches / batches per epoch: the clock of the
        learning-rate schedule.
    lr_scale : float
        Factor on the learning rate, divided by ``2**k`` at the k-th
        divergence back-off in a row and multiplied by the rule's
        ``plateau_decay`` on plateaus.
    random_state : numpy.random.RandomState
        Generator of the shuffles, so consecutive calls draw new orders.
    best_loss : float
        Best monitored value so far (training loss, or validation loss).
    no_improvement : int
        Epochs in a row without improvement by ``tol``.
    n_plateaus : int
        Plateau decays of the learning rate so far.
    n_backoffs : int
        Divergence back-offs since the last epoch that made progress; the
        loop raises when it exceeds 10, across epochs and calls.
    """

    rule_state: object
    rule: str = None
    epochs: float = 0.0
    lr_scale: float = 1.0
    random_state: object = None
    best_loss: float = math.inf
    no_improvement: int = 0
    n_plateaus: int = 0
    n_backoffs: int = 0


class EpochMonitor:
    """What the minibatch loop reports to after each epoch; by default nothing.

    The estimator subclasses it for early stopping (validation loss and
    score) and for scikit-learn callbacks. The solver never computes scores
    itself: it hands the monitor the parameters and uses what comes back.
    """

    def begin_epoch(self, epoch, params):
        """Called before epoch ``epoch`` (0-based) starts from ``params``."""

    def end_epoch(self, epoch, params, train_loss):
        """Called after an epoch with the parameters it reached.

        Parameters
        ----------
        epoch : int
            0-based index of the epoch in this call to ``solve``.
        params : ndarray of shape (n_params,)
            Parameters after the epoch (do not modify).
        train_loss : float
            The epoch's mean minibatch objective.

        Returns
        -------
        value : float or None
            A value to minimise instead of the training loss for the
            stopping rule (the validation loss); the loop then keeps and
            finally restores the parameters where it was lowest.
        stop : bool
            Whether to stop now (e.g. a callback asked for it).
        """
        return None, False


class MinibatchSolver(BaseSolver):
    r"""Minibatch training loop driving an update rule (SGD or Adam).

    Each epoch visits every row once in a new random order, in batches of
    ``batch_size`` rows. ``loss_curve`` holds, per epoch, the mean over the
    batches (weighted by their total sample weight) of the minibatch
    objective at the parameters the batch saw: an estimate of J along the
    epoch, not J at the epoch's end.

    Stopping (as scikit-learn's ``MLPRegressor``): an epoch "improves" when
    the monitored value (training loss, or the validation loss of the
    monitor) is below the best so far by more than ``tol`` times its
    magnitude (a relative tolerance, so that the rule does not depend on the
    units of the loss); after ``n_iter_no_change`` epochs in a row without
    improvement the loop stops, converged, unless the rule decays on
    plateaus (``rule.plateau_decay``, SGD's default schedule) and the
    training loss is monitored: the learning rate is then multiplied by
    ``plateau_decay`` and training resumes, with a fresh optimiser state,
    from the parameters at the start of the best epoch so far, up to 5
    times. Reaching ``max_iter`` epochs first reports no convergence.

    Non-smooth losses (absolute error, quantile, hinge, ...) are used as
    they are: their ``loss_gradient`` returns a subgradient. The decaying
    learning rate of SGD makes stochastic subgradient descent converge;
    Adam's constant rate leaves the iterates within about
    ``learning_rate`` of the optimum. An L1 part of the penalty goes through
    its proximal operator after every step, with the step size the rule
    reports (per coordinate for Adam), so that fixed points are optima.

    Divergence: when a batch objective, its gradient or the new parameters
    are non-finite, or an epoch's mean objective exceeds 1000 times the best
    epoch's (the first epoch: the full objective at the start), the epoch
    restarts from a checkpoint -- the parameters and optimiser state at the
    start of the best epoch so far -- with the learning rate halved (for the
    rest of the fit, and for later ``partial_fit`` calls), then divided by 4,
    8, ... as back-offs follow each other. The back-offs are counted across
    epochs and calls until an epoch makes progress; after 10 in a row (a
    rate divided by 2**55 in all) the loop raises a ``FloatingPointError`` naming the loss, the
    solver and the fixes. A single-epoch run (each ``partial_fit`` call)
    also evaluates the full objective at its end and redoes the epoch at
    half the step when that is more than 10 % above the start's.

    The end point: the full objective is evaluated there, and at the start
    of the best epoch when the end looks blown up; the better is returned.
    A point that lowered the objective is never replaced by a worse one.
    When no epoch lowered the objective below its starting value, the start
    is returned with ``converged=False`` and a ``message`` saying so (the
    estimator turns it into a ``ConvergenceWarning``).

    Parameters
    ----------
    rule : UpdateRule
        The update rule (:class:`SGD` or :class:`Adam`).
    batch_size : int or "auto", default="auto"
        Rows per batch; ``"auto"`` is ``min(200, n_samples)``. Larger values
        are clipped to ``n_samples``.
    learning_rate : float, default=1e-3
        Base learning rate, scheduled by ``rule.learning_rate_at``.
    max_iter : int, default=200
        Maximum number of epochs.
    tol : float, default=1e-4
        Relative improvement an epoch must bring to count as progress.
    n_iter_no_change : int or None, default=10
        Epochs without improvement before stopping; ``None`` disables the
        stopping rule and the plateau decay (``partial_fit``, where
        consecutive calls see different data).
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffles.
    verbose : int, default=0
        Print one line per epoch when positive.
    """

    handles_nonsmooth_loss = True
    handles_nonsmooth_penalty = True
    # Tells the estimator to pass ``state`` and ``monitor`` to ``solve``.
    is_minibatch = True

    def __init__(self, rule, *, batch_size="auto", learning_rate=1e-3, max_iter=200,
                 tol=1e-4, n_iter_no_change=10, random_state=None, verbose=0):
        super().__init__(max_iter=max_iter, tol=tol, verbose=verbose)
        self.rule = rule
        self.name = rule.name
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.n_iter_no_change = n_iter_no_change
        self.random_state = random_state

    def init_state(self, params):
        """A fresh :class:`MinibatchState` for parameters like ``params``."""
        return MinibatchState(
            rule_state=self.rule.init(params),
            rule=self.rule.name,
            random_state=check_random_state(self.random_state),
        )

    def _batch_size(self, n_samples):
        if self.batch_size == "auto":
            return min(200, n_samples)
        return max(1, min(int(self.batch_size), n_samples))

    def solve(self, objective, x0, *, state=None, monitor=None):
        """Run up to ``max_iter`` epochs from ``x0``.

        Parameters
        ----------
        objective : Objective
            The training objective.
        x0 : ndarray of shape (n_params,)
            Starting parameters.
        state : MinibatchState, default=None
            State to resume from (``partial_fit``); a fresh one when None or
            when it belongs to another rule or parameter size. It is copied,
            never modified.
        monitor : EpochMonitor, default=None
            Told about every epoch (early stopping, callbacks).

        Returns
        -------
        result : SolverResult
            ``result.state`` is the state to resume from; ``result.message``
            says why the run did not converge.
        """
        monitor = EpochMonitor() if monitor is None else monitor
        x = np.array(x0, dtype=np.float64)
        state = copy.deepcopy(state) if self._can_resume(state, x) else self.init_state(x)
        best_x, loss_curve, monitored, converged = None, [], [], False
        # The reference of the first epoch is J on every row: a reference on
        # the first rows in data order (one class only when y is sorted) would
        # make the start look unbeatable.
        start_value = self._full_value(objective, x)
        checkpoint = _Checkpoint(x, state, start_value)
        # A single-epoch run (partial_fit) has no later epoch to reveal a bad
        # last step, so it checks its own end point.
        verify_end = self.max_iter == 1
        end_value = None
        start = time.perf_counter()
        for epoch in range(self.max_iter):
            monitor.begin_epoch(epoch, x)
            x, train_loss, end_value = self._epoch(objective, x, state, checkpoint,
                                                   verify_end=verify_end)
            loss_curve.append(train_loss)
            value, stop = monitor.end_epoch(epoch, x, train_loss)
            if value is not None and _improves(value, state.best_loss, 0.0):
                best_x = x.copy()
            if self.verbose:
                self._print_epoch(epoch, train_loss, value, start)
            monitored.append(train_loss if value is None else value)
            if self._update_no_improvement(state, monitored):
                converged = value is not None or not self._decay_on_plateau(state)
                if not converged:
                    # Resume from the best point: an overshooting momentum
                    # (or Adam) trajectory must not carry on at a lower rate.
                    x = checkpoint.x
                    state.rule_state = self.rule.init(x)
            if stop or converged:
                converged = True
                break
        message = "" if converged or verify_end else (
            f"it ran max_iter={self.max_iter} epochs before the monitored loss stopped "
            f"improving by tol={self.tol:g} (relative). Increase max_iter, raise "
            "learning_rate, or loosen tol."
        )
        if best_x is not None:
            x = best_x
        elif not verify_end:
            x, improved = self._end_point(objective, x, x0, start_value, checkpoint)
            if not improved:
                converged = False
                message = (
                    f"no epoch lowered the objective below its starting value "
                    f"{start_value:.6g}, so the parameters are the starting ones. Lower "
                    f"learning_rate (it is {self.learning_rate:g}), scale the features "
                    "(e.g. StandardScaler), or increase max_iter."
                )
        return SolverResult(x=x, n_iter=len(loss_curve), loss_curve=loss_curve,
                            converged=converged, state=state, message=message)

    def _full_value(self, objective, x):
        """J at ``x`` on every row, block by block; ``inf`` when not finite.

        The blocks keep the memory of a training step rather than of a
        forward pass over all the data (which, for an MLP, can dwarf the rest
        of the fit).
        """
        block_rows = max(self._batch_size(objective.n_samples), _MIN_EVAL_BLOCK)
        with np.errstate(all="ignore"):
            value = objective.value(x, block_rows=block_rows)
        return float(value) if np.isfinite(value) else math.inf

    def _end_point(self, objective, x, x0, start_value, checkpoint):
        """The parameters to return, and whether they improve on the start.

        An epoch is judged by the mean objective over its minibatches, which
        never sees where the last step landed; full evaluations do. The end
        point is kept whenever it is the best of the points evaluated: a model
        that lowered the objective is never replaced by a worse one. When it
        is more than ``_END_TOLERANCE`` times worse than the best epoch's mean
        (the last steps blew up), the start of that epoch is evaluated too;
        the start itself is the last resort.
        """
        final = self._full_value(objective, x)
        candidates = [(final, x)]
        if checkpoint.x is not x and _blew_up(final, checkpoint.loss, _END_TOLERANCE):
            candidates.append((self._full_value(objective, checkpoint.x), checkpoint.x))
        value, best = min(candidates, key=lambda candidate: candidate[0])
        if value < start_value:
            return best, True
        # Within tol of the start: the start was (nearly) optimal already,
        # e.g. a warm start; the trained end point is as good.
        if math.isfinite(final) and not _improves(start_value, final, self.tol):
            return x, True
        return np.array(x0, dtype=np.float64), False

    def _can_resume(self, state, x):
        if state is None or state.rule != self.rule.name:
            return False
        arrays = [v for v in vars(state.rule_state).values() if isinstance(v, np.ndarray)]
        return all(a.shape == x.shape for a in arrays)

    def _update_no_improvement(self, state, monitored):
        """Update the counter; True when the loop should stop, converged.

        ``monitored`` is the list of monitored values so far, the last one
        of this epoch. A run of epochs that each improve by less than
        ``tol`` but all in the same direction is a slow descent, not a
        plateau: when the geometric tail of those decreases could still add
        up to more than ``tol`` (a step far too small for the scale of the
        parameters: features or targets in large or small units), the
        counter restarts instead of stopping the fit at its start.
        """
        value = monitored[-1]
        if _improves(value, state.best_loss, self.tol):
            state.no_improvement = 0
        else:
            state.no_improvement += 1
        if np.isfinite(value):
            state.best_loss = min(state.best_loss, value)
        if self.n_iter_no_change is None:
            return False
        if state.no_improvement < self.n_iter_no_change:
            return False
        if _still_descending(monitored[-(self.n_iter_no_change + 1):], self.tol):
            state.no_improvement = 0
            return False
        return True

    def _decay_on_plateau(self, state):
        """Lower the learning rate instead of stopping; False when done decaying."""
        decay = self.rule.plateau_decay
        if decay is None or state.n_plateaus >= _MAX_PLATEAUS:
            return False
        state.lr_scale *= decay
        state.n_plateaus += 1
        state.no_improvement = 0
        if self.verbose:
            print(f"No improvement for {self.n_iter_no_change} epochs: learning rate "
                  f"set to {self.learning_rate * state.lr_scale:.3g}")
        return True

    def _epoch(self, objective, x, state, checkpoint, *, verify_end=False):
        """One pass over shuffled rows, restarted from the checkpoint on divergence.

        Diverged: a non-finite batch objective, gradient or step, an epoch
        whose mean objective exceeds ``_BLOWUP`` times the best so far, or,
        with ``verify_end``, an end point whose full objective is more than
        ``_VERIFY_TOLERANCE`` above the checkpoint's. The pass then restarts
        from the checkpoint (the start of the epoch with the lowest mean
        objective, or the start of the run) with a lower learning rate
        (see ``_back_off``).
        Returns the new parameters, the epoch's mean objective and, with
        ``verify_end``, the full objective at the end point (else None).
        """
        rows = state.random_state.permutation(objective.n_samples)
        start_x, rule_state, epochs = x, state.rule_state, state.epochs
        while True:
            try:
                x_new, new_rule_state, new_epochs, loss = self._pass(
                    objective, rows, start_x, rule_state, epochs, state.lr_scale
                )
                if _blew_up(loss, checkpoint.loss, _BLOWUP):
                    raise _Diverged
                end_value = None
                if verify_end:
                    end_value = self._full_value(objective, x_new)
                    if _blew_up(end_value, checkpoint.loss, 1.0 + _VERIFY_TOLERANCE):
                        raise _Diverged
            except _Diverged:
                self._back_off(objective, state)
                start_x, rule_state, epochs = checkpoint.x, checkpoint.rule_state, \
                    checkpoint.epochs
                continue
            reached = loss if end_value is None else min(loss, end_value)
            if reached < checkpoint.loss:
                # Progress: the step size in use works, the back-off count restarts.
                state.n_backoffs = 0
            if loss < checkpoint.loss:
                checkpoint.update(start_x, rule_state, epochs, loss)
            state.rule_state, state.epochs = new_rule_state, new_epochs
            return x_new, loss, end_value

    def _back_off(self, objective, state):
        state.n_backoffs += 1
        lr = self.learning_rate * state.lr_scale
        if state.n_backoffs > _MAX_BACKOFFS:
            raise FloatingPointError(
                f"Solver {self.name!r} diverged with loss {objective.loss!r}: the "
                f"minibatch objective kept blowing up or becoming non-finite after "
                f"{_MAX_BACKOFFS} back-offs in a row dividing the learning rate by 2, "
                f"4, 8, ... (last tried {lr:.3g}). Lower learning_rate (it is "
                f"{self.learning_rate:g}), scale the features (e.g. StandardScaler), or "
                "increase alpha."
            )
        # Back-off k divides the rate by 2**k: a rate wrong by a factor f is
        # found in about sqrt(2 log2 f) back-offs (features in units of 1e4
        # need f ~ 1e6), where halving needed log2 f and gave up first.
        state.lr_scale *= 0.5 ** state.n_backoffs

    def _pass(self, objective, rows, x, rule_state, epochs, lr_scale):
        """Steps over the batches of ``rows``; pure: the inputs are not modified."""
        rule = self.rule
        size = self._batch_size(objective.n_samples)
        steps_per_epoch = math.ceil(objective.n_samples / size)
        needs_prox = not objective.penalty.is_smooth
        total, total_weight = 0.0, 0.0
        for begin in range(0, objective.n_samples, size):
            batch = objective.subset(rows[begin:begin + size])
            weight = float(batch.sample_weight.sum())
            if weight <= 0:
                continue  # rows of zero weight carry no information
            with np.errstate(all="ignore"):  # overflow is detected just below
                value, grad = batch.smooth_value_gradient(x)
                value += batch.nonsmooth_value(x)
            if not (np.isfinite(value) and np.all(np.isfinite(grad))):
                raise _Diverged
            lr = rule.learning_rate_at(self.learning_rate * lr_scale, epochs)
            step, rule_state = rule.update(grad.astype(np.float64, copy=False),
                                           rule_state, lr)
            x = x + step
            if needs_prox:
                x = objective.prox(x, rule.prox_step(rule_state, lr))
            if not np.all(np.isfinite(x)):
                raise _Diverged
            epochs += 1.0 / steps_per_epoch
            total += weight * value
            total_weight += weight
        loss = total / total_weight if total_weight > 0 else objective.value(x)
        return x, rule_state, epochs, float(loss)

    def _print_epoch(self, epoch, train_loss, value, start):
        line = f"Epoch {epoch + 1}, objective = {train_loss:.8g}"
        if value is not None:
            line += f", validation loss = {value:.8g}"
        print(f"{line}, time = {time.perf_counter() - start:.2f}s")


def _improves(value, best, tol):
    """Whether ``value`` beats ``best`` by more than ``tol`` relative (NaN never does).

    Relative, so that the rule does not depend on the units of the loss: an
    absolute tolerance stops a small-magnitude loss (focal with a small
    alpha, targets in small units) before it has moved.
    """
    if not math.isfinite(best):
        return bool(value < best)
    return bool(value < best - tol * abs(best))


def _still_descending(values, tol):
    """Whether ``values`` decrease steadily enough to go on by more than ``tol``.

    Every step must decrease; the decreases ``d_k`` are fitted by a geometric
    sequence of ratio ``r`` (from the first and last), whose remaining sum
    ``d_last * r / (1 - r)`` is compared with ``tol * |values[-1]|``.
    """
    values = np.asarray(values, dtype=float)
    if values.size < 3 or not np.all(np.isfinite(values)):
        return False
    decreases = -np.diff(values)
    if not np.all(decreases > 0):
        return False
    ratio = (decreases[-1] / decreases[0]) ** (1.0 / (decreases.size - 1))
    if ratio >= 1.0:
        return True
    remaining = decreases[-1] * ratio / (1.0 - ratio)
    return bool(remaining > tol * abs(values[-1]))


def _blew_up(value, reference, factor):
    """Whether ``value`` is non-finite or over ``factor`` times ``reference``.

    "Times" in magnitude, so that it also reads right for a reference near
    zero or below it: ``reference + (factor - 1) * max(|reference|, tiny)``.
    """
    if not math.isfinite(value):
        return True
    if not math.isfinite(reference):
        return False
    return value > reference + (factor - 1.0) * max(abs(reference), _TINY)


def make_minibatch_solver(name, **options):
    """The minibatch solver for ``name`` in {"sgd", "adam"} with default rules.

    ``"sgd"``: :class:`SGD` with Nesterov momentum 0.9 and the inverse
    square-root schedule ``learning_rate / sqrt(1 + epochs)``.
    ``"adam"``: :class:`Adam` with the paper's defaults and a constant rate.
    """
    return MinibatchSolver(UPDATE_RULES[name](), **options)

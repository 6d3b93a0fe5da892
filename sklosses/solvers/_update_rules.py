"""Update rules of the minibatch solvers: SGD (with momentum) and Adam.

A rule is a plain object with the optax-style contract

- ``state = rule.init(params)``: a fresh optimiser state;
- ``step, state = rule.update(grad, state, lr)``: the step to add to the
  parameters and the next state, for the learning rate ``lr`` of this step;
- ``rule.prox_step(state, lr)``: the step size (a float or one per
  parameter) that a proximal operator must use after that update so that the
  fixed points of ``x -> prox(x + step)`` are the optima of ``f + g``;
- ``rule.learning_rate_at(lr, epochs)``: the rule's schedule, the learning
  rate after ``epochs`` (a float: epochs seen so far) for the base rate ``lr``;
- ``rule.plateau_decay``: ``None``, or the factor by which the minibatch loop
  multiplies the learning rate when the training loss stops improving
  (instead of stopping), as scikit-learn's ``learning_rate="adaptive"``.

``update`` never modifies its inputs: it returns a new state. The states are
small dataclasses of arrays and numbers, so they pickle, deep-copy and clone
with the estimator that stores them, and a step can be undone by keeping the
previous state (the divergence back-off of the minibatch loop relies on it).
"""

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass

import numpy as np


class UpdateRule(metaclass=ABCMeta):
    """Base of the update rules: ``init``, ``update`` and the schedule.

    Attributes
    ----------
    name : str
        The ``solver=`` string that selects the rule.
    """

    name = None
    plateau_decay = None

    @abstractmethod
    def init(self, params):
        """Fresh state for parameters shaped like ``params``."""

    @abstractmethod
    def update(self, grad, state, lr):
        """Step to add to the parameters and the next state.

        Parameters
        ----------
        grad : ndarray of shape (n_params,)
            Minibatch gradient at the current parameters.
        state : object
            The state returned by :meth:`init` or the previous update.
        lr : float
            Learning rate of this step (already scheduled).

        Returns
        -------
        step : ndarray of shape (n_params,)
            New parameters are ``params + step``.
        state : object
            The next state; ``state`` itself is left unchanged.
        """

    @abstractmethod
    def prox_step(self, state, lr):
        """Step size of the proximal operator applied after an update."""

    def learning_rate_at(self, lr, epochs):
        """Learning rate after ``epochs`` epochs (constant by default)."""
        return lr


@dataclass
class SGDState:
    """State of :class:`SGD`: the velocity and the number of steps taken."""

    velocity: np.ndarray
    count: int = 0


class SGD(UpdateRule):
    r"""Stochastic gradient descent with optional (Nesterov) momentum.

    With velocity :math:`v` (in units of gradients) and momentum :math:`\mu`:

    .. math::
        v_{t+1} = \mu v_t + g_t, \qquad
        \Delta_t = -\eta_t v_{t+1} \ \text{(classical)}, \quad
        \Delta_t = -\eta_t (g_t + \mu v_{t+1}) \ \text{(Nesterov)}.

    Keeping the learning rate out of the velocity (as PyTorch does) keeps
    the velocity valid when the rate changes: with an L1 penalty the
    gradient of the smooth part does not vanish at the optimum, and a
    velocity scaled by an old, larger rate would push the weights away
    from it after every decay.

    Schedules (the decay is what lets SGD settle at the optimum of a convex
    problem and make subgradients of non-smooth losses converge):

    - ``"plateau"`` (default): :math:`\eta_0` while the training loss
      improves; each time it has not improved by ``tol`` for
      ``n_iter_no_change`` epochs, the minibatch loop divides the rate by 5
      instead of stopping, and stops after 5 divisions (a rate 3125 times
      smaller). Fast at first, precise at the end, and it needs no tuning of
      a decay speed, which is why it is the default (scikit-learn's MLP
      calls it ``learning_rate="adaptive"``).
    - ``"invscaling"``: :math:`\eta = \eta_0 / (1 + e)^{p}` where :math:`e`
      is the number of epochs seen (a real number, so the rate decays
      smoothly within an epoch) and ``p = power_t``. Counting in epochs
      rather than steps makes the decay independent of the batch size;
      ``p = 0.5`` is the classical rate of stochastic subgradient descent.
      On small data (one batch per epoch) it decays too fast to get far.
    - ``"constant"``: :math:`\eta_0` throughout; the iterates then jitter
      around the optimum by an amount proportional to :math:`\eta_0`.

    Parameters
    ----------
    momentum : float, default=0.9
        Momentum :math:`\mu` in [0, 1); 0 is plain SGD.
    nesterov : bool, default=True
        Nesterov's look-ahead momentum (as scikit-learn's ``MLPRegressor``).
    schedule : {"plateau", "invscaling", "constant"}, default="plateau"
        Learning-rate schedule.
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.solvers import SGD
    >>> rule = SGD(momentum=0.0)
    >>> state = rule.init(np.zeros(2))
    >>> step, state = rule.update(np.array([1.0, -2.0]), state, lr=0.1)
    >>> step
    array([-0.1,  0.2])
    """

    name = "sgd"

    def __init__(self, momentum=0.9, *, nesterov=True, schedule="plateau",
                 power_t=0.5):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")
        if schedule not in ("plateau", "invscaling", "constant"):
            raise ValueError(
                "schedule must be 'plateau', 'invscaling' or 'constant', "
                f"got {schedule!r}."
            )
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.schedule = schedule
        self.power_t = float(power_t)

    def init(self, params):
        return SGDState(velocity=np.zeros(np.shape(params), dtype=np.float64))

    def update(self, grad, state, lr):
        velocity = self.momentum * state.velocity + grad
        # Nesterov looks ahead along the new velocity (Sutskever et al., 2013).
        direction = grad + self.momentum * velocity if self.nesterov else velocity
        return -lr * direction, SGDState(velocity=velocity, count=state.count + 1)

    def prox_step(self, state, lr):
        # At a fixed point the velocity is g / (1 - mu) and the step is
        # -lr g / (1 - mu) in both forms: the prox must use that step size.
        return lr / (1.0 - self.momentum)

    @property
    def plateau_decay(self):
        return 0.2 if self.schedule == "plateau" else None

    def learning_rate_at(self, lr, epochs):
        if self.schedule != "invscaling":
            return lr
        return lr / (1.0 + epochs) ** self.power_t

    def __repr__(self):
        return (f"SGD(momentum={self.momentum}, nesterov={self.nesterov}, "
                f"schedule={self.schedule!r}, power_t={self.power_t})")


@dataclass
class AdamState:
    """State of :class:`Adam`: first and second moment estimates and step count."""

    mu: np.ndarray
    nu: np.ndarray
    count: int = 0


class Adam(UpdateRule):
    r"""Adam: adaptive moment estimation with bias correction.

    .. math::
        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \\
        \Delta_t = -\eta \, \frac{m_t / (1 - \beta_1^t)}
                                 {\sqrt{v_t / (1 - \beta_2^t)} + \epsilon}.

    The learning rate is constant (the schedule of the paper); its size
    bounds each coordinate's step, so the iterates jitter around the optimum
    by roughly ``learning_rate``: lower it for a more precise optimum.

    Parameters
    ----------
    beta_1 : float, default=0.9
        Decay of the first moment estimate, in [0, 1).
    beta_2 : float, default=0.999
        Decay of the second moment estimate, in [0, 1).
    epsilon : float, default=1e-8
        Added to the denominator for numerical stability.

    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A method for stochastic
       optimization", International Conference on Learning Representations
       (2015), arXiv:1412.6980.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.solvers import Adam
    >>> rule = Adam()
    >>> state = rule.init(np.zeros(2))
    >>> step, state = rule.update(np.array([1.0, -2.0]), state, lr=0.1)
    >>> np.round(step, 6)  # the first step has size lr in every coordinate
    array([-0.1,  0.1])
    """

    name = "adam"

    def __init__(self, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        for label, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{label} must be in [0, 1), got {beta!r}.")
        if not epsilon > 0:
            raise ValueError(f"epsilon must be > 0, got {epsilon!r}.")
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def init(self, params):
        shape = np.shape(params)
        return AdamState(mu=np.zeros(shape, dtype=np.float64),
                         nu=np.zeros(shape, dtype=np.float64))

    def update(self, grad, state, lr):
        count = state.count + 1
        mu = self.beta_1 * state.mu + (1.0 - self.beta_1) * grad
        nu = self.beta_2 * state.nu + (1.0 - self.beta_2) * (grad * grad)
        new_state = AdamState(mu=mu, nu=nu, count=count)
        mu_hat = mu / (1.0 - self.beta_1**count)
        return -self.prox_step(new_state, lr) * mu_hat, new_state

    def prox_step(self, state, lr):
        # Adam is a gradient step preconditioned per coordinate: the prox
        # takes the same per-coordinate step sizes.
        nu_hat = state.nu / (1.0 - self.beta_2 ** max(state.count, 1))
        return lr / (np.sqrt(nu_hat) + self.epsilon)

    def __repr__(self):
        return f"Adam(beta_1={self.beta_1}, beta_2={self.beta_2}, epsilon={self.epsilon})"


UPDATE_RULES = {"sgd": SGD, "adam": Adam}

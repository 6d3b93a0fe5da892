"""What happens around a minibatch fit: callbacks and per-epoch monitoring.

The minibatch loop itself lives in ``solvers/_stochastic.py``; this module
holds the estimator's side of it (validation for early stopping, scikit-learn
callbacks), so that the estimators stay thin.
"""

import copy
import functools

from .solvers import EpochMonitor

try:  # scikit-learn >= 1.9: set_callbacks(ProgressBar(), ScoringMonitor(...))
    from sklearn.callback import CallbackSupportMixin, with_callbacks
except ImportError:  # pragma: no cover - older scikit-learn has no callback API

    class CallbackSupportMixin:
        """Stand-in for scikit-learn < 1.9, which has no callbacks."""

    def with_callbacks(method):
        # A wrapper like scikit-learn's, so warnings' stacklevel stays the same.
        @functools.wraps(method)
        def wrapper(estimator, *args, **kwargs):
            return method(estimator, *args, **kwargs)

        return wrapper


class _FitMonitor(EpochMonitor):
    """What the estimator does after each epoch of a minibatch solver.

    With a validation split (early stopping) it evaluates the data term of the
    objective on the held-out rows, the value the solver minimises for
    stopping and best-parameter selection (lower is better), and the
    estimator's ``score`` there (higher is better). With scikit-learn
    callbacks it opens one subtask per epoch; a callback's request to stop
    ends the fit.

    Parameters
    ----------
    estimator : LossRegressor or LossClassifier
        The estimator being fitted.
    attributes : callable
        ``attributes(params)`` gives the fitted attributes for ``params``.
    validation : tuple or None
        ``(objective, X, y, sample_weight)`` of the held-out rows.
    callback_ctx : CallbackContext or None
        The fit's root callback context.
    hook_data : dict
        ``X``, ``y`` and ``metadata`` handed to the callback hooks.
    """

    def __init__(self, estimator, attributes, *, validation=None, callback_ctx=None,
                 hook_data=None):
        self.estimator = estimator
        self.attributes = attributes
        self.validation = validation
        self.callback_ctx = callback_ctx
        self.hook_data = hook_data or {}
        self.validation_loss_curve = []
        self.validation_scores = []
        self._epoch_ctx = None

    def begin_epoch(self, epoch, params):
        if self.callback_ctx is None:
            return
        self._epoch_ctx = self.callback_ctx.subcontext(task_name="epoch")
        self._epoch_ctx.call_on_fit_task_begin(
            estimator=self.estimator, **self.hook_data,
            reconstruction_attributes=lambda: self.attributes(params),
        )

    def end_epoch(self, epoch, params, train_loss):
        value = None if self.validation is None else self._validate(params)
        stop = False
        if self._epoch_ctx is not None:
            stop = self._epoch_ctx.call_on_fit_task_end(
                estimator=self.estimator, **self.hook_data,
                reconstruction_attributes=lambda: self.attributes(params),
            )
        return value, bool(stop)

    def _validate(self, params):
        objective, X, y, sample_weight = self.validation
        value = objective.data_loss(params)
        fitted = copy.copy(self.estimator)
        fitted.__dict__.update(self.attributes(params))
        self.validation_loss_curve.append(float(value))
        self.validation_scores.append(float(fitted.score(X, y, sample_weight=sample_weight)))
        return float(value)

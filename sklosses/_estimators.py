"""LossRegressor and LossClassifier: thin scikit-learn shells.

An estimator validates its input, resolves its arguments into a Loss, a
Model, a Penalty and a Solver, builds the Objective and hands it to the
solver. It does no arithmetic of its own.
"""

import math
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from ._diagnostics import warn_if_penalty_dominates
from ._docstrings import _COMMON_ATTRIBUTES_DOC, _COMMON_DOC
from ._objective import Objective
from ._params import check_class_weight, check_hyperparameters
from ._resolve import resolve_loss, resolve_model, resolve_penalty, resolve_solver
from ._training import CallbackSupportMixin, _FitMonitor, with_callbacks


class _BaseLossEstimator(CallbackSupportMixin, BaseEstimator):
    """Shared fit logic of LossRegressor and LossClassifier."""

    _task = None

    def _more_fit_checks(self):
        """Estimator-specific argument checks (none by default)."""

    def set_params(self, **params):
        """Set parameters; ``loss__<name>`` also works when ``loss`` is a name.

        scikit-learn sets nested parameters on the object in ``loss``; a loss
        given by name (``loss="huber"``) is first replaced by its object
        (``Huber()``), so that grids such as ``{"loss__delta": [0.5, 1.0]}``
        work with ``loss="huber"`` as with ``loss=Huber()``.

        Parameters
        ----------
        **params : dict
            Estimator parameters, ``loss__<name>`` for the loss's own.

        Returns
        -------
        self : object
            The estimator.

        Examples
        --------
        >>> from sklosses import LossRegressor
        >>> LossRegressor(loss="huber").set_params(loss__delta=0.5).loss
        Huber(delta=0.5)
        """
        if any(key.startswith("loss__") for key in params):
            loss = params.get("loss", self.loss)
            if isinstance(loss, str):
                loss = resolve_loss(loss, self._task)
                if "loss" in params:
                    params = {**params, "loss": loss}
                else:
                    self.loss = loss
        return super().set_params(**params)

    def _validate_fit_data(self, X, y, sample_weight, reset=True):
        if sp.issparse(y):
            # validate_data would fail deep in NumPy ("setting an array
            # element with a sequence").
            raise ValueError(
                f"y is a sparse {type(y).__name__}; {type(self).__name__} needs dense "
                "targets. Pass y.toarray() (and .ravel() for a single target)."
            )
        X, y = validate_data(
            self, X, y, reset=reset,
            accept_sparse=("csr", "csc"),
            dtype=(np.float64, np.float32),
            multi_output=self._task == "regression",
            y_numeric=self._task == "regression",
        )
        sample_weight = _check_sample_weight(
            sample_weight, X, dtype=X.dtype, ensure_non_negative=True
        )
        return X, y, sample_weight

    @with_callbacks
    def fit(self, X, y, sample_weight=None):
        """Fit the model by minimising the penalised weighted mean loss.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets (class labels for the classifier).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; the mean loss is normalised by their sum.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit_path(X, y, sample_weight, incremental=False)

    def _after_fit(self, result, objective, solver):
        """Diagnostics of a finished fit: every warning about its quality.

        The one place that judges a fit after the fact (``fit`` only), so
        that each new diagnostic is one more call here. A warning issued from
        a helper called here needs ``stacklevel=6`` to point at the caller of
        ``fit`` (caller, callback wrapper, fit, _fit_path, _after_fit, helper).
        """
        if not result.converged:
            self._warn_not_converged(result, objective.loss, solver)
        self._warn_if_optimum_at_infinity(objective.loss, objective.penalty, objective.X,
                                          objective.y, objective.sample_weight)
        # A regularisation path (sklosses._path) sets _path_point: there a
        # flattened fit at a large alpha is expected, and this check would
        # cost two more passes over the data at every point.
        if (self._task == "regression" and not solver.is_minibatch
                and not getattr(self, "_path_point", False)):
            warn_if_penalty_dominates(objective, result.x, solver, stacklevel=6)

    def _warn_not_converged(self, result, loss, solver):
        """ConvergenceWarning naming the loss, the solver, why and what to change."""
        if result.message:
            text = (f"{type(self).__name__} did not converge with solver "
                    f"{solver.name!r} (loss {loss}): {result.message.rstrip('.')}.")
        else:
            text = (f"{type(self).__name__} did not converge in max_iter={self.max_iter} "
                    f"iterations of solver {solver.name!r} (loss {loss}). Increase "
                    "max_iter, loosen tol, or scale the features.")
        # fit -> _fit_path -> _after_fit -> here, and fit is wrapped by
        # with_callbacks: point at the caller.
        warnings.warn(text, ConvergenceWarning, stacklevel=6)

    def _warn_if_optimum_at_infinity(self, loss, penalty, X, y_enc, sample_weight):
        """Regression losses always have a finite optimum: nothing to warn about."""

    # -- Training control: minibatch fits, partial_fit, early stopping and
    # -- callbacks. The loop itself lives in solvers/_stochastic.py.

    def _fit_path(self, X, y, sample_weight, *, incremental, classes=None, solve=None):
        """The one fit path of ``fit`` and ``partial_fit`` (and a path's first point).

        Order: check the arguments, resolve the loss, validate and encode the
        data, weigh it, build the model, penalty, Objective and solver, choose
        the start, solve, store, and (for ``fit``) judge the result.

        ``incremental=False`` (``fit``) starts afresh (or from the previous
        solution under ``warm_start``) and runs the solver the estimator
        asks for. ``incremental=True`` (``partial_fit``) runs one epoch of
        the minibatch solver on the batch; once fitted, it resumes the
        fitted loss, model and optimiser state and refuses changed settings.

        ``solve`` (full-batch fits only) is another way to solve this fit:
        ``solve(objective, y_enc, solver, x0)`` returns a
        :class:`~sklosses.solvers.SolverResult` or None to run ``solver``.
        A regularisation path solves its first point so (sklosses._path);
        its result is stored and judged as the solver's would be.
        """
        # Underflow to zero is what exp(-large) should do: a NumPy error
        # setting of "raise" must not turn it into a failed fit.
        with np.errstate(under="ignore"):
            resume = incremental and hasattr(self, "_model")
            # Every call: set_params between partial_fit calls must not bypass
            # the checks.
            check_hyperparameters(self)
            self._more_fit_checks()
            loss = resolve_loss(self.loss, self._task)
            if resume:
                # Keep the fitted loss object (a custom loss keeps its derivative
                # choice), after checking it is the one asked for.
                self._refuse_changed_settings(loss)
                loss = self.loss_
            X, y, sample_weight = self._validate_fit_data(X, y, sample_weight,
                                                          reset=not resume)
            if incremental:
                y_enc, n_outputs = self._encode_partial_target(y, loss, classes)
            else:
                y_enc, n_outputs = self._encode_target(y, loss)
            loss.validate_target(y_enc)
            if incremental:
                sample_weight = self._partial_fit_weights(y_enc, sample_weight)
            else:
                sample_weight = _check_total_weight(self._combine_weights(y_enc, sample_weight))
            if resume:
                model = self._check_partial_outputs(n_outputs)
                X = X.astype(model.dtype, copy=False)
            else:
                model = resolve_model(
                    tuple(self.hidden_layer_sizes), self.activation, X.shape[1], n_outputs,
                    self.fit_intercept, X.dtype, output_order=getattr(loss, "output_order", None),
                )
            penalty = resolve_penalty(self.alpha, self.l1_ratio)
            objective = Objective(loss, model, penalty, X, y_enc, sample_weight)
            solver = self._solver(loss, penalty, X, incremental=incremental,
                                  n_outputs=model.n_outputs)
            if resume:
                x0 = self._flat_params()
            elif incremental:
                x0 = self._partial_initial_params(model, loss, y_enc, sample_weight)
            else:
                x0 = self._initial_params(model, loss, y_enc, sample_weight,
                                          self._settings(model))
            minibatch = getattr(solver, "is_minibatch", False)
            callback_ctx = self._begin_callbacks(
                X, y, sample_weight, max_subtasks=solver.max_iter if minibatch else 0
            )
            if minibatch:
                result, monitor = self._solve_minibatch(
                    solver, objective, x0, X, y, callback_ctx,
                    state=getattr(self, "_solver_state", None) if incremental else None,
                    early_stopping=self.early_stopping and not incremental,
                )
            else:
                # y_enc as encoded: the Objective holds it cast to the model's dtype.
                result = None if solve is None else solve(objective, y_enc, solver, x0)
                if result is None:
                    result = solver.solve(objective, x0)
                monitor = None
            self._check_result(result, loss, solver)
            if resume:
                self._solver_state = result.state
            else:
                self.loss_, self._model = loss, model
                self._fitted_settings = self._settings(model)
                self._ravel_raw = objective._ravel_raw
                self.n_iter_, self.loss_curve_ = 0, []
                self._store_training_state(result, monitor)
                # A certified relative duality gap, from the solvers that have one.
                self.__dict__.pop("duality_gap_", None)
                if result.gap is not None and solver.name == "exact":
                    self.duality_gap_ = float(result.gap)
            self._store_params(np.asarray(result.x, dtype=model.dtype))
            self.n_iter_ += int(result.n_iter)
            # In place: a copy per partial_fit call would make a stream quadratic.
            self.loss_curve_.extend(result.loss_curve)
            self._end_callbacks(callback_ctx, X, y, sample_weight)
            if not incremental:
                # One epoch on one batch is no fit to judge.
                self._after_fit(result, objective, solver)
            return self

    def _solver(self, loss, penalty, X, *, incremental, n_outputs=None):
        """The solver of this fit; ``partial_fit`` always has a minibatch one."""
        if incremental:
            return resolve_solver(
                self.solver if self.solver in ("sgd", "adam") else "adam", loss, penalty,
                max_iter=1, tol=self.tol, verbose=self.verbose,
                # One epoch per call on ever new data: no stopping rule, no plateaus.
                **{**self._minibatch_options(), "early_stopping": False,
                   "n_iter_no_change": None},
            )
        return resolve_solver(
            self.solver, loss, penalty,
            max_iter=self.max_iter, tol=self.tol, verbose=self.verbose,
            hidden_layer_sizes=tuple(self.hidden_layer_sizes),
            n_samples=X.shape[0], n_features=X.shape[1], n_outputs=n_outputs,
            **self._minibatch_options(),
        )

    def _encode_partial_target(self, y, loss, classes):
        return self._encode_target(y, loss)

    def _partial_fit_weights(self, y_enc, sample_weight):
        return _check_total_weight(sample_weight, where=" of the batch given to partial_fit")

    def _check_partial_outputs(self, n_outputs):
        """The fitted model, after checking ``y`` has as many outputs as before."""
        if n_outputs != self._model.n_outputs:
            raise ValueError(
                f"y has {n_outputs} target(s) but {type(self).__name__} was fitted "
                f"with {self._model.n_outputs}; every partial_fit call needs the same "
                "number of targets."
            )
        return self._model

    def _settings(self, model):
        """What parameters of ``model`` belong to: its shape and the classes.

        Stored at fit time; ``partial_fit`` refuses to continue and
        ``warm_start`` starts afresh when it has changed since.
        """
        hidden = tuple(self.hidden_layer_sizes)
        return {
            "hidden_layer_sizes": hidden,
            # The activation only shapes an MLP.
            "activation": self.activation if hidden else None,
            "fit_intercept": bool(self.fit_intercept),
            "n_features": model.n_features,
            "n_outputs": model.n_outputs,
            "classes": getattr(self, "classes_", None),
        }

    def _same_settings(self, settings):
        fitted = getattr(self, "_fitted_settings", None)
        return fitted is not None and same_settings(fitted, settings)

    def _refuse_changed_settings(self, loss):
        """Refuse a ``partial_fit`` whose loss or architecture changed since fitting.

        As scikit-learn's MLPs do for a changed architecture: the fitted
        parameters belong to the old settings, and silently keeping the old
        ones would ignore the user's ``set_params``. (``alpha``, ``l1_ratio``,
        ``learning_rate`` and the other optimiser settings may change.)
        """
        changed = []
        if not _same_loss(loss, self.loss_):
            changed.append(f"loss (fitted with {self.loss_}, now {loss})")
        fitted = getattr(self, "_fitted_settings", {})
        now = self._settings(self._model)
        # Features, outputs and classes have their own, more specific checks.
        for key in ("hidden_layer_sizes", "activation", "fit_intercept"):
            value = now[key]
            if key == "activation" and changed and "hidden_layer_sizes" in changed[-1]:
                continue  # a new architecture; its activation says nothing more
            if key in fitted and not _same_value(fitted[key], value):
                changed.append(f"{key} (fitted with {fitted[key]!r}, now {value!r})")
        if changed:
            raise ValueError(
                f"partial_fit cannot continue: {'; '.join(changed)} changed since "
                f"{type(self).__name__} was fitted, and the fitted parameters belong "
                "to the old settings. Call fit to start afresh with the new settings, "
                "or set them back."
            )

    def _partial_initial_params(self, model, loss, y_enc, sample_weight):
        """First ``partial_fit``: fresh parameters, intercept at the best constant.

        The first batch of a stream may lack some classes; the best constant of
        such a batch would be wrong (or infinite), so it is then left at zero.
        """
        params = model.init_params(self.random_state)
        if not self.fit_intercept:
            return params
        if self._task == "classification" and np.unique(y_enc).size < len(self.classes_):
            return params
        raw0 = np.asarray(loss.init_raw(y_enc, sample_weight), dtype=model.dtype)
        if raw0.size == model.n_outputs and np.all(np.isfinite(raw0)):
            model.set_output_intercept(params, raw0)
        return params

    def _minibatch_options(self):
        """Arguments of ``resolve_solver`` that the minibatch solvers use."""
        return {
            "early_stopping": bool(self.early_stopping),
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "n_iter_no_change": self.n_iter_no_change,
            "random_state": self.random_state,
        }

    def _fitted_attributes(self, params, *, loss, model, ravel_raw):
        """Attributes that make a copy of this estimator predict with ``params``."""
        single = self._task == "regression" and ravel_raw
        attributes = model.to_attributes(
            np.asarray(params, dtype=model.dtype), single_output=single
        )
        attributes.update(loss_=loss, _model=model, _ravel_raw=ravel_raw)
        return attributes

    def _solve_minibatch(self, solver, objective, x0, X, y, callback_ctx, *, state=None,
                         early_stopping=False):
        """Run a minibatch solver with the epoch monitor; return (result, monitor)."""
        validation = None
        if early_stopping:
            objective, validation = self._hold_out(objective, X, y)
        monitor = _FitMonitor(
            self,
            lambda params: self._fitted_attributes(
                params, loss=objective.loss, model=objective.model,
                ravel_raw=objective._ravel_raw,
            ),
            validation=validation,
            callback_ctx=callback_ctx,
            hook_data={"X": X, "y": y,
                       "metadata": {"sample_weight": objective.sample_weight}},
        )
        return solver.solve(objective, x0, state=state, monitor=monitor), monitor

    def _hold_out(self, objective, X, y):
        """Split off ``validation_fraction`` of the rows.

        Classifiers split stratified by class, holding out at least one row
        per class; when a class has a single row (tiny data) stratifying is
        impossible and the split is plain random. Returns the training
        objective and ``(objective, X, y, sample_weight)`` of the held-out rows.
        """
        rows = np.arange(objective.n_samples)
        try:
            train, held_out = self._split_rows(rows, objective.y)
        except ValueError as exc:
            raise ValueError(
                f"early_stopping=True cannot hold out validation_fraction="
                f"{self.validation_fraction} of {len(rows)} samples: {exc} Use more "
                "samples, another validation_fraction, or early_stopping=False."
            ) from exc
        train_objective, val_objective = objective.subset(train), objective.subset(held_out)
        for part, label in ((train_objective, "training"), (val_objective, "validation")):
            if not part.sample_weight.sum() > 0:
                raise ValueError(
                    f"early_stopping=True: every {label} row of the split has zero "
                    "sample_weight. Change random_state or validation_fraction."
                )
        validation = (val_objective, X[held_out], y[held_out], val_objective.sample_weight)
        return train_objective, validation

    def _split_rows(self, rows, y_enc):
        if self._task == "classification":
            n_classes = np.unique(y_enc).size
            size = max(math.ceil(self.validation_fraction * len(rows)), n_classes)
            try:
                return train_test_split(rows, test_size=size, stratify=y_enc,
                                        random_state=self.random_state)
            except ValueError:
                pass  # a class with a single row: fall back to a random split
        return train_test_split(rows, test_size=self.validation_fraction,
                                random_state=self.random_state)

    def _store_training_state(self, result, monitor):
        """Keep the optimiser state (for partial_fit) and the early-stopping records."""
        for name in ("_solver_state", "validation_loss_curve_", "validation_scores_",
                     "best_validation_loss_", "best_validation_score_"):
            self.__dict__.pop(name, None)
        if result.state is not None:
            self._solver_state = result.state
        if monitor is None or monitor.validation is None:
            return
        losses = np.asarray(monitor.validation_loss_curve, dtype=float)
        # The solver restored the parameters of the lowest validation loss.
        best = int(np.argmin(np.where(np.isnan(losses), np.inf, losses)))
        self.validation_loss_curve_ = losses.tolist()
        self.validation_scores_ = list(monitor.validation_scores)
        self.best_validation_loss_ = float(losses[best])
        self.best_validation_score_ = float(self.validation_scores_[best])

    def _begin_callbacks(self, X, y, sample_weight, *, max_subtasks):
        """Root callback context of this fit (``None`` without callbacks).

        Same protocol as scikit-learn's ``LogisticRegression``: a root task
        for the fit, one subtask per epoch of a minibatch solver; the
        full-batch solvers report the root task only.
        """
        if not (hasattr(self, "_skl_callbacks") or hasattr(self, "_parent_callback_ctx")):
            return None
        ctx = self._init_callback_context(max_subtasks=max_subtasks)
        ctx.call_on_fit_task_begin(
            estimator=self, X=X, y=y, metadata={"sample_weight": sample_weight}
        )
        return ctx

    def _end_callbacks(self, ctx, X, y, sample_weight):
        if ctx is not None:
            ctx.call_on_fit_task_end(
                estimator=self, X=X, y=y, metadata={"sample_weight": sample_weight},
                reconstruction_attributes={},
            )

    def _combine_weights(self, y_enc, sample_weight):
        return sample_weight

    def _initial_params(self, model, loss, y_enc, sample_weight, settings):
        """The start: the previous solution under ``warm_start`` when it fits.

        It fits when the architecture, the number of features and outputs
        and the classes are those of the previous fit (``settings``); a
        parameter vector of the same length from another architecture means
        something else, so the fit then starts afresh.
        """
        if self.warm_start and hasattr(self, "_model") and self._same_settings(settings):
            return self._flat_params().astype(model.dtype)
        params = model.init_params(self.random_state)
        if self.fit_intercept:
            raw0 = loss.init_raw(y_enc, sample_weight)
            model.set_output_intercept(params, np.asarray(raw0, dtype=model.dtype))
        return params

    @staticmethod
    def _check_result(result, loss, solver):
        if not np.all(np.isfinite(result.x)):
            raise FloatingPointError(
                f"Solver {solver.name!r} diverged with loss {loss}: the parameters "
                "became non-finite. Scale the features (e.g. StandardScaler), increase "
                "alpha, or choose another solver."
            )

    # Fitted parameters live in scikit-learn's attributes (coef_ / intercept_
    # or coefs_ / intercepts_); the model converts them to and from the flat
    # vector the components work on.
    def _store_params(self, params):
        single = self._task == "regression" and self._ravel_raw
        for name, value in self._model.to_attributes(params, single_output=single).items():
            setattr(self, name, value)

    def _flat_params(self):
        return self._model.from_attributes(self)

    def _raw(self, X):
        """Raw predictions for validated ``X``, 1-D for a single output."""
        params = self._flat_params().astype(self._model.dtype, copy=False)
        raw = self._model.predict_raw(params, X)
        return raw.ravel() if self._ravel_raw else raw

    def _validated_raw(self, X):
        if X is getattr(self, "_trusted_input", None):
            cached = getattr(self, "_trusted_raw", None)  # set by a path's scoring
            if cached is not None:
                return cached.copy()  # a scorer may change its predictions in place
        else:
            X = self._validate_predict_data(X)
        with np.errstate(under="ignore"):  # as in fit
            return self._raw(X)

    def _validate_predict_data(self, X):
        check_is_fitted(self)
        return validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=(np.float64, np.float32),
            reset=False,
        )

    def _trust_input(self, X):
        """Skip the checks of ``X`` in later predictions if it passes them unchanged.

        A regularisation path scores every point on the same validation fold;
        checking it once instead of at every point saves about a millisecond
        a point. Only the very object checked is trusted, and only when the
        checks return it as it is (no conversion), so predictions are the same.
        """
        if self._validate_predict_data(X) is X:
            self._trusted_input = X

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class LossRegressor(RegressorMixin, _BaseLossEstimator):
    # The docstring is assembled from shared parts, so it is set explicitly.
    __doc__ = r"""Regression under any loss: a linear model or a small MLP.

    Minimises the penalised weighted mean loss, with weights
    :math:`w_i` = ``sample_weight`` and :math:`\rho` = ``l1_ratio``,

    .. math::
        J(\theta) = \frac{\sum_i w_i \ell(y_i, f(x_i; \theta))}{\sum_i w_i}
        + \alpha \left(\rho \|W\|_1 + \frac{1-\rho}{2}\|W\|_2^2\right)

    and predicts ``loss.link.inverse(f(x))``.

    Parameters
    ----------
    loss : str or loss object, default="squared_error"
        A regression loss name from :mod:`sklosses.losses` or an instance.
    """ + _COMMON_DOC + r"""
    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Weights of the linear model.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercepts of the linear model.
    coefs_ : list of ndarray of shape (n_in, n_out)
        Weight matrices of the MLP, layer by layer (as ``MLPRegressor``);
        set instead of ``coef_`` when ``hidden_layer_sizes`` is not empty.
""" + _COMMON_ATTRIBUTES_DOC + r"""
    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklosses import LossRegressor
    >>> X, y = make_regression(n_samples=100, n_features=3, noise=1.0, random_state=0)
    >>> reg = LossRegressor(loss="huber").fit(X, y)
    >>> round(reg.score(X, y), 3)
    1.0
    """

    _task = "regression"

    def __init__(self, loss="squared_error", *, hidden_layer_sizes=(),
                 activation="relu", alpha=1e-4, l1_ratio=0.0, fit_intercept=True,
                 solver="auto", learning_rate=1e-3, batch_size="auto", max_iter=500,
                 tol=1e-4, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, warm_start=False, random_state=None, verbose=0):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose

    def _encode_target(self, y, loss):
        y = np.asarray(y)
        dtype = np.float32 if y.dtype == np.float32 else np.float64
        y = y.astype(dtype, copy=False)
        # The loss says how many raw outputs y needs (K for a list of levels).
        n_outputs = loss._n_raw_outputs_for(y) or 1
        return y, n_outputs

    @with_callbacks
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch of the minibatch solver on a batch of data.

        Uses ``solver="sgd"`` when the estimator has it and Adam otherwise
        (``"auto"``, ``"lbfgs"`` and ``"proximal"`` are full-batch). The
        optimiser state (momentum or Adam's moments, learning-rate schedule
        and shuffling generator) is kept between calls, also after a
        minibatch ``fit``. Early stopping does not apply: ``partial_fit`` runs
        exactly one epoch. ``n_iter_`` counts the epochs and ``loss_curve_``
        grows by one entry per call.

        Each call checks the objective on its batch at the end of the epoch
        and redoes the epoch at half the learning rate when the step made it
        more than 10 % worse (raising after 10 back-offs in a row without
        progress). Once fitted, the estimator refuses a changed ``loss``,
        ``hidden_layer_sizes``, ``activation`` or ``fit_intercept`` (call
        ``fit`` to start afresh); ``alpha``, ``l1_ratio`` and the optimiser
        settings may change between calls.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; as many features as in the first call.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets; as many targets as in the first call.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; each minibatch mean is normalised by their sum.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_path(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predict ``loss.link.inverse(raw)``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions.
        """
        raw = self._validated_raw(X)
        with np.errstate(under="ignore"):  # as in fit
            return self.loss_.link.inverse(raw)

    def score(self, X, y, sample_weight=None):
        """Coefficient of determination R^2, or D^2 for a list of levels.

        A loss with several levels (``Quantile(quantile=[...])``,
        ``Expectile(expectile=[...])``) predicts one column per level for a
        single target; its score is the loss's ``d2_score``, the fraction of
        each level's loss explained against the best constant, averaged over
        the levels (:func:`sklearn.metrics.d2_pinball_score` for quantiles).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Test samples.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            True targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        y_pred = self.predict(X)
        if getattr(self.loss_, "n_levels", 1) > 1:
            return self.loss_.d2_score(y, y_pred, sample_weight=sample_weight)
        return r2_score(y, y_pred, sample_weight=sample_weight)

    def _score_many(self, raws, y, sample_weight=None):
        """:meth:`score` of several fits from their raw predictions on one ``X``.

        A regularisation path scores its points on one validation fold: the
        R^2 of each is computed here in one pass over a matrix of their
        predictions, the same sums ``r2_score`` forms (its ``force_finite``
        cases included), instead of one round of input checks per point.

        Parameters
        ----------
        raws : list of ndarray of shape (n_samples, n_outputs)
            Raw predictions of each fit, as ``predict_raw_many`` returns them.
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            True targets.
        sample_weight : ndarray of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        scores : ndarray of shape (len(raws),) or None
            None where :meth:`score` is not R^2 of float64 predictions (a
            list of levels, float32) or on fewer than two samples: the caller
            then calls the scorer.
        """
        if getattr(self.loss_, "n_levels", 1) > 1 or not raws or len(y) < 2:
            return None  # (r2_score is undefined on one sample: it warns, as it should)
        y = np.asarray(y)
        if y.dtype != np.float64 or any(raw.dtype != np.float64 for raw in raws):
            return None
        y2 = y.reshape(y.shape[0], -1)
        n_outputs = y2.shape[1]
        with np.errstate(under="ignore"):
            pred = np.stack([self.loss_.link.inverse(raw) for raw in raws], axis=-1)
        pred = pred.reshape(y2.shape[0], n_outputs, len(raws))
        weight = (np.ones(y2.shape[0]) if sample_weight is None
                  else np.asarray(sample_weight, dtype=np.float64))
        numerator = np.einsum("i,iok->ok", weight, (y2[:, :, None] - pred) ** 2)
        centre = np.average(y2, axis=0, weights=weight)
        denominator = np.sum(weight[:, None] * (y2 - centre) ** 2, axis=0)[:, None]
        nonzero_num, nonzero_den = numerator != 0, denominator != 0
        scores = np.ones_like(numerator)
        valid = nonzero_num & nonzero_den
        scores[valid] = 1 - (numerator / np.where(nonzero_den, denominator, 1.0))[valid]
        scores[nonzero_num & ~nonzero_den] = 0.0
        return scores.mean(axis=0)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        try:
            loss = resolve_loss(self.loss, "regression")
            domain = loss.target_domain
        except ValueError:
            return tags
        # Derived from the loss's declared domain: True when it is bounded
        # below (Poisson, Gamma, squared log error), so that the common checks
        # feed positive targets; False for every real target (Tweedie power <= 0).
        tags.target_tags.positive_only = domain.positive_only
        return tags


def same_settings(a, b):
    """Whether two ``_settings`` dicts (architecture, features, outputs, classes) agree."""
    return a.keys() == b.keys() and all(_same_value(a[key], b[key]) for key in a)


def _same_value(a, b):
    """Equality that also holds for arrays (classes, loss parameters)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.shape(a) == np.shape(b) and bool(np.all(np.asarray(a) == np.asarray(b)))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b


def _same_loss(a, b):
    """Whether two loss objects are the same loss with the same parameters."""
    if type(a) is not type(b):
        return False
    params_a, params_b = a.get_params(deep=False), b.get_params(deep=False)
    return params_a.keys() == params_b.keys() and all(
        _same_value(params_a[key], params_b[key]) for key in params_a
    )


def _check_total_weight(sample_weight, where=""):
    """``sample_weight`` after checking that its sum is positive and finite.

    The objective divides by the sum: zero leaves nothing to fit, and a sum
    that overflows (huge weights, or huge class weights) would turn every
    normalised weight into zero or NaN and be misreported downstream.
    """
    with np.errstate(over="ignore"):  # in the dtype the Objective divides in
        total = sample_weight.sum()
    if not total > 0:
        raise ValueError(
            f"sample_weight sums to zero: at least one sample{where} needs a positive "
            "weight."
        )
    if not np.isfinite(total):
        raise ValueError(
            f"sample_weight (times class_weight){where} sums to {total}, beyond the "
            "float range. Only the ratios of the weights matter: divide them by a "
            "common factor."
        )
    return sample_weight


def _class_indices(raw):
    """Predicted class indices: the sign of 1-D raw, the largest column of 2-D raw."""
    return (raw > 0).astype(int) if raw.ndim == 1 else raw.argmax(axis=1)


def _loss_is_probabilistic(est):
    """Whether the loss gives probabilities: the fitted ``loss_`` once fitted.

    Before fitting, the ``loss`` parameter decides (so ``hasattr`` tells what
    a fit will offer); after, the loss actually fitted, which a later
    ``set_params(loss=...)`` does not change until the next fit.
    """
    fitted = getattr(est, "loss_", None)
    if fitted is not None:
        return fitted.is_probabilistic
    try:
        return resolve_loss(est.loss, "classification").is_probabilistic
    except ValueError:
        return False


def _encode_labels(y):
    """Classes and encoded labels of the validated 1-D ``y``, checked as class labels.

    Integer and boolean labels are always binary or multiclass targets (on a
    1-D integer array ``type_of_target`` answers so from the number of
    distinct values alone), so scikit-learn's check cannot fail for them and
    one ``np.unique`` both finds the classes and encodes, as ``LabelEncoder``
    does; on small data the check and the encoder's bookkeeping cost about as
    much as the fit. Other labels (strings, floats, objects) take the full
    check and ``LabelEncoder``.
    """
    if isinstance(y, np.ndarray) and y.ndim == 1 and y.dtype.kind in "biu":
        return np.unique(y, return_inverse=True)
    check_classification_targets(y)
    encoder = LabelEncoder()
    # One pass: fit then transform would sort the labels twice.
    y_enc = encoder.fit_transform(y)
    return encoder.classes_, y_enc


class LossClassifier(ClassifierMixin, _BaseLossEstimator):
    # The docstring is assembled from shared parts, so it is set explicitly.
    __doc__ = r"""Classification under any loss: a linear model or a small MLP.

    Binary problems have one raw output (the decision value or logit);
    ``K > 2`` classes have ``K`` raw outputs: softmax for probabilistic
    losses, one-vs-rest for margin losses (or Crammer-Singer with
    ``Hinge(multiclass="crammer_singer")``).

    Parameters
    ----------
    loss : str or loss object, default="log_loss"
        A classification loss name from :mod:`sklosses.losses` or an instance.
    """ + _COMMON_DOC + r"""
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights of the linear model.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts of the linear model.
    coefs_ : list of ndarray of shape (n_in, n_out)
        Weight matrices of the MLP, layer by layer (as ``MLPClassifier``; the
        last has 1 column for a binary problem); set instead of ``coef_``
        when ``hidden_layer_sizes`` is not empty.
""" + _COMMON_ATTRIBUTES_DOC + r"""
    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklosses import LossClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LossClassifier(loss="focal", max_iter=1000).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
    """

    _task = "classification"

    def __init__(self, loss="log_loss", *, hidden_layer_sizes=(), activation="relu",
                 alpha=1e-4, l1_ratio=0.0, fit_intercept=True, solver="auto",
                 learning_rate=1e-3, batch_size="auto", max_iter=500, tol=1e-4,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 warm_start=False, random_state=None, verbose=0, class_weight=None):
        self.loss = loss
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
        self.class_weight = class_weight

    def _encode_target(self, y, loss):
        classes, y_enc = _encode_labels(y)
        if len(classes) < 2:
            raise ValueError(
                f"LossClassifier needs samples of at least 2 classes; y has only 1 "
                f"class ({classes.tolist()[0]!r}). Check the labels, or use a regressor."
            )
        self.classes_ = classes
        return y_enc, loss.n_raw_outputs(len(classes))

    @with_callbacks
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch of the minibatch solver on a batch of data.

        Uses ``solver="sgd"`` when the estimator has it and Adam otherwise
        (``"auto"``, ``"lbfgs"`` and ``"proximal"`` are full-batch). The
        optimiser state (momentum or Adam's moments, learning-rate schedule
        and shuffling generator) is kept between calls, also after a
        minibatch ``fit``. Early stopping does not apply: ``partial_fit`` runs
        exactly one epoch. ``n_iter_`` counts the epochs and ``loss_curve_``
        grows by one entry per call.

        Each call checks the objective on its batch at the end of the epoch
        and redoes the epoch at half the learning rate when the step made it
        more than 10 % worse (raising after 10 back-offs in a row without
        progress). Once fitted, the estimator refuses a changed ``loss``,
        ``hidden_layer_sizes``, ``activation`` or ``fit_intercept`` (call
        ``fit`` to start afresh); ``alpha``, ``l1_ratio`` and the optimiser
        settings may change between calls.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data; as many features as in the first call.
        y : array-like of shape (n_samples,)
            Class labels, all in ``classes``.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights; each minibatch mean is normalised by their sum.
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole stream. Required on the first call (unless
            the estimator was fitted with ``fit``): a batch rarely shows every
            class, and the number of outputs depends on it. Later calls may
            omit it or must repeat the same classes.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit_path(X, y, sample_weight, incremental=True, classes=classes)

    def _encode_partial_target(self, y, loss, classes):
        """Encode ``y`` against the classes fixed by the first call."""
        check_classification_targets(y)
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError(
                    "classes must be given on the first call to partial_fit: pass every "
                    "label of the stream, e.g. classes=np.unique(y_all); later batches "
                    "may miss some of them."
                )
            known = np.unique(np.asarray(classes))
            if len(known) < 2:
                raise ValueError(
                    f"classes={known.tolist()!r} has fewer than 2 classes; a classifier "
                    "needs at least 2."
                )
            self.classes_ = known
        elif classes is not None and not np.array_equal(
            np.unique(np.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={np.unique(np.asarray(classes)).tolist()!r} is not the same as "
                f"classes_={self.classes_.tolist()!r} fixed by the first call to "
                "partial_fit (or by fit)."
            )
        y = np.asarray(y)
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()!r} that are not in classes_="
                f"{self.classes_.tolist()!r}. Pass every label of the stream as classes= "
                "on the first call to partial_fit."
            )
        y_enc = np.searchsorted(self.classes_, y)
        return y_enc, loss.n_raw_outputs(len(self.classes_))

    def _partial_fit_weights(self, y_enc, sample_weight):
        if isinstance(self.class_weight, str):
            raise ValueError(
                "class_weight='balanced' is not supported by partial_fit: a batch does "
                "not show the class frequencies of the stream. Pass a dict "
                "{label: weight} computed on the whole data instead."
            )
        if self.class_weight is not None:
            per_class = check_class_weight(self.class_weight, self.classes_)
            sample_weight = sample_weight * per_class[y_enc].astype(sample_weight.dtype)
        return super()._partial_fit_weights(y_enc, sample_weight)

    def _warn_if_optimum_at_infinity(self, loss, penalty, X, y_enc, sample_weight):
        """Warn when the fit separates the classes without a penalty.

        Log-loss, focal and exponential losses approach their infimum only as
        the raw predictions grow without bound; on separable data with
        ``alpha=0`` the solver stops at finite but arbitrary coefficients.
        """
        if penalty.alpha > 0 or not loss.optimum_at_infinity:
            return
        predicted = _class_indices(self._raw(X))
        weighted = sample_weight > 0
        if np.array_equal(predicted[weighted], y_enc[weighted]):
            warnings.warn(
                f"The classes are perfectly separated and alpha=0: loss {loss} keeps "
                "decreasing as the coefficients grow, so the solver stopped at finite "
                "but arbitrary coefficients. Set alpha > 0 for a unique solution.",
                ConvergenceWarning,
                stacklevel=6,
            )

    def _combine_weights(self, y_enc, sample_weight):
        if self.class_weight is not None:
            if isinstance(self.class_weight, str) and self.class_weight == "balanced":
                # Weighted class frequencies, so integer weights equal repeated rows.
                per_class = compute_class_weight(
                    "balanced", classes=np.arange(len(self.classes_)), y=y_enc,
                    sample_weight=sample_weight,
                )
            else:  # a dict, or anything else, which gets this package's own message
                per_class = check_class_weight(self.class_weight, self.classes_)
            sample_weight = sample_weight * per_class[y_enc].astype(sample_weight.dtype)
        # Checked on the product: a zero class weight removes a class too.
        weighted_classes = np.unique(y_enc[sample_weight > 0])
        if len(weighted_classes) < 2:
            raise ValueError(
                "sample_weight is zero for every sample but those of 1 class "
                f"({self.classes_[weighted_classes].tolist()!r}); a classifier needs "
                "positive weights in at least 2 classes (sample_weight times "
                "class_weight)."
            )
        return sample_weight

    def decision_function(self, X):
        """Raw predictions: logits or decision values.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            1-D for binary problems (positive means ``classes_[1]``).
        """
        return self._validated_raw(X)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            Predicted classes.
        """
        # decision_function first: it raises NotFittedError before classes_ exists.
        indices = _class_indices(self.decision_function(X))
        return self.classes_[indices]

    @available_if(_loss_is_probabilistic)
    def predict_proba(self, X):
        """Class probabilities (probabilistic losses only).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in the order of ``classes_``.
        """
        raw = self.decision_function(X)
        with np.errstate(under="ignore"):  # as in fit
            return self.loss_.proba(raw)

    @available_if(_loss_is_probabilistic)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba` (probabilistic losses only).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probability of each class.
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

"""LossRegressorCV and LossClassifierCV: the loss and its penalty chosen by cross-validation.

The search is laid out as a grid of paths: for every loss, every
``l1_ratio`` and every fold, one warm-started path over the alphas
(:func:`sklosses._path.fit_path`). Paths run in parallel through joblib, so
any joblib backend (Dask, Ray) spreads them. The estimators here only
orchestrate: the alpha grid and the path fits live in :mod:`sklosses._path`,
the model and its arithmetic in :class:`~sklosses.LossRegressor` and
:class:`~sklosses.LossClassifier`, which they compose.
"""

import numbers
import re
import warnings

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import rankdata
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ._docstrings import _COMMON_DOC
from ._estimators import LossClassifier, LossRegressor
from ._params import check_hyperparameters
from ._path import alpha_grid, fit_path, own_score, warm_start_refit
from ._resolve import check_number, resolve_loss

__all__ = ["LossClassifierCV", "LossRegressorCV"]


def _without_entries(doc, names):
    """``doc`` without the numpydoc parameter entries ``names``."""
    for name in names:
        doc = re.sub(rf"\n    {name} : .*?(?=\n    \w+ : )", "", doc, flags=re.S)
    return doc


_CV_DOC = r"""
    alphas : int or array-like of float, default=50
        An int: a log-spaced grid of that many values from the largest
        useful alpha down by a factor 1e-4, one grid per loss and
        ``l1_ratio``, computed on the whole data. With an L1 part the
        largest alpha is the smallest one at which every weight is zero,
        ``||grad||_inf / l1_ratio`` at the best constant model; with pure L2
        it is the alpha at which the fit is practically constant (see the
        module docstring of ``sklosses._path``). An array: those alphas, for
        every loss.
    l1_ratio : float or list of float, default=0.0
        Share of the L1 part of the penalty, or several to choose from.
    cv : int, cross-validation generator or iterable, default=5
        As in :class:`~sklearn.model_selection.GridSearchCV`: ``KFold`` (or
        ``StratifiedKFold`` for the classifier) for an int. The folds are drawn
        once; every loss, ``l1_ratio`` and alpha is scored on the same folds.
    scoring : str, callable or None, default=None
        One metric judging every candidate; ``None`` uses the estimator's
        ``score``. Sample weights, when given to ``fit``, also weigh the
        scores.
    n_jobs : int, default=None
        Paths (one per loss, ``l1_ratio`` and fold) fitted in parallel with
        joblib.
    refit : bool, default=True
        Refit the chosen loss, alpha and ``l1_ratio`` on all the data, which
        gives this estimator the fitted attributes and the prediction
        methods of that fit.
"""

_COMMON_CV_DOC = _without_entries(_COMMON_DOC, ("alpha", "l1_ratio"))

_CV_ATTRIBUTES_DOC = """\
    loss_ : BaseLoss
        The chosen loss (as resolved and, with ``refit=True``, fitted).
    alpha_ : float
        The chosen alpha.
    l1_ratio_ : float
        The chosen ``l1_ratio``.
    alphas_ : ndarray of shape (n_alphas,)
        The alpha grid of the chosen loss and ``l1_ratio`` (every grid is in
        ``cv_results_["param_alpha"]``).
    best_index_ : int
        Row of the choice in ``cv_results_``.
    best_score_ : float
        Its mean cross-validated score.
    cv_results_ : dict of ndarray
        One row per (loss, ``l1_ratio``, alpha), in the style of
        ``GridSearchCV.cv_results_``: ``param_loss``, ``param_l1_ratio``,
        ``param_alpha``, ``params``, ``split<k>_test_score``,
        ``mean_test_score``, ``std_test_score``, ``rank_test_score``,
        ``mean_fit_time`` and ``std_fit_time`` (time of one path point,
        warm-started).
    best_estimator_ : LossRegressor or LossClassifier
        The refitted estimator (``refit=True``); its public fitted attributes
        (``coef_``, ``intercept_`` or ``coefs_``, ``intercepts_``, ``n_iter_``,
        ``loss_curve_``, ...) are also set on this estimator.
    n_splits_ : int
        Number of folds.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.
"""

_NOTES_DOC = r"""
    Notes
    -----
    Each fold fits the path from the largest alpha down, every fit
    warm-started from the previous one through the estimator's
    ``warm_start``: at large alphas the fit is close to a constant and
    cheap, and each later fit starts near its optimum. With an L1 part, a
    linear model's path point is fitted on the features that the sequential
    strong rule keeps (Tibshirani et al., 2012) and checked against the KKT
    conditions on all of them, refitting with any violator. A linear model
    with squared error or squared log error on dense data with at least 5
    rows per parameter (and at most 300 parameters) is solved instead, after
    the first point, exactly on the fold's weighted Gram matrix by an
    active-set method when the ``solver`` is a full-batch one ("auto",
    "lbfgs", "proximal", "newton"); ``tol`` and ``max_iter`` then apply to
    the first point and the refit only. A fit on a path
    point equals a cold fit at that alpha to within the solver's ``tol``
    (exactly, for a convex problem solved to a small ``tol``), so the choice
    equals that of ``GridSearchCV`` over the same grid and folds. With a list of
    losses, each loss is judged at its own best alpha; ties go to the
    earlier candidate (loss in the order given, then ``l1_ratio``, then
    larger alpha), as in ``GridSearchCV``.

    ``warm_start`` concerns the refit only, which is a fresh estimator: the
    paths always warm-start. A non-converged path point warns once per
    distinct message, in the calling process whichever joblib backend ran it.

    An MLP is fitted along the same path (warm starts keep one network
    throughout the path, which also regularises the search); its alpha grid
    is that of the linear model on the same data.
"""


def _check_cv_parameters(est):
    """Raise a clear ValueError for bad CV-specific arguments; return the lists."""
    alphas = est.alphas
    if isinstance(alphas, numbers.Integral) and not isinstance(alphas, bool):
        check_number("alphas", alphas, low=1, integer=True,
                     hint="Give the number of alphas of the grid, or an array of alphas.")
    else:
        try:
            values = np.asarray(alphas, dtype=float).ravel()
        except (TypeError, ValueError):
            values = None
        if values is None or values.size == 0 or not np.all(np.isfinite(values)) \
                or np.any(values < 0):
            raise ValueError(
                f"alphas must be a positive integer (the size of the grid) or a "
                f"non-empty array of finite alphas >= 0, got {alphas!r}."
            )
    l1_ratios = est.l1_ratio if isinstance(est.l1_ratio, (list, tuple, np.ndarray)) \
        else [est.l1_ratio]
    if len(l1_ratios) == 0:
        raise ValueError("l1_ratio is an empty list: give a float in [0, 1] or a list of them.")
    for ratio in l1_ratios:
        check_number("l1_ratio", ratio, low=0, high=1,
                     hint="l1_ratio=0 is ridge (L2), 1 is lasso (L1), between is elastic net.")
    losses = est.loss if isinstance(est.loss, (list, tuple)) else [est.loss]
    if len(losses) == 0:
        raise ValueError("loss is an empty list: give a loss or a list of losses to choose from.")
    if not isinstance(est.refit, bool):
        raise ValueError(f"refit must be True or False, got {est.refit!r}.")
    return list(losses), [float(r) for r in l1_ratios]


def _path_task(base, loss, l1_ratio, X, y, sample_weight, train, test, alphas, scorer):
    estimator = clone(base).set_params(loss=loss, l1_ratio=l1_ratio)
    return fit_path(estimator, X, y, sample_weight, train, test, alphas, scorer)


class _BaseLossCV(BaseEstimator):
    """Shared fit logic of LossRegressorCV and LossClassifierCV."""

    _estimator_class = None

    def _base_estimator(self):
        """The estimator that each candidate clones, with every shared parameter."""
        names = set(self._estimator_class._get_param_names()) - {"alpha", "l1_ratio", "loss"}
        params = {name: getattr(self, name) for name in names}
        return self._estimator_class(**params)

    def _validate(self, X, y, sample_weight):
        X, y = validate_data(
            self, X, y, accept_sparse=("csr", "csc"), dtype=(np.float64, np.float32),
            multi_output=not is_classifier(self), y_numeric=not is_classifier(self),
        )
        if is_classifier(self):
            check_classification_targets(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype,
                                                 ensure_non_negative=True)
        return X, y, sample_weight

    def _grids(self, base, losses, l1_ratios, X, y, sample_weight):
        """One alpha grid per (loss, l1_ratio), decreasing."""
        if not isinstance(self.alphas, numbers.Integral):
            fixed = np.sort(np.asarray(self.alphas, dtype=float).ravel())[::-1]
            return {(i, j): fixed for i in range(len(losses)) for j in range(len(l1_ratios))}
        return {
            (i, j): alpha_grid(clone(base).set_params(loss=loss), X, y, sample_weight,
                               l1_ratio=ratio, n_alphas=int(self.alphas))
            for i, loss in enumerate(losses) for j, ratio in enumerate(l1_ratios)
        }

    def fit(self, X, y, sample_weight=None):
        """Choose loss, alpha and ``l1_ratio`` by cross-validation, then refit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets (class labels for the classifier).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, given to every fit and to the scorer.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        losses, l1_ratios = _check_cv_parameters(self)
        base = self._base_estimator()
        check_hyperparameters(clone(base).set_params(alpha=1.0))
        for loss in losses:
            resolve_loss(loss, base._task)  # an unknown loss fails before any fit
        X, y, sample_weight = self._validate(X, y, sample_weight)
        splitter = check_cv(self.cv, y, classifier=is_classifier(self))
        splits = list(splitter.split(X, y))
        scorer = check_scoring(base, scoring=self.scoring)
        if self.scoring is None:  # recognised by the path: one pass for its points
            scorer = own_score
        grids = self._grids(base, losses, l1_ratios, X, y, sample_weight)
        keys = [(i, j, k) for i in range(len(losses)) for j in range(len(l1_ratios))
                for k in range(len(splits))]
        outcomes = Parallel(n_jobs=self.n_jobs)(
            delayed(_path_task)(base, losses[i], l1_ratios[j], X, y, sample_weight,
                                *splits[k], grids[i, j], scorer)
            for i, j, k in keys
        )
        seen = dict.fromkeys(w for outcome in outcomes for w in outcome["warnings"])
        for category, message in seen:
            warnings.warn(message, category, stacklevel=2)
        self.n_splits_ = len(splits)
        outcomes = dict(zip(keys, outcomes))
        self.cv_results_ = self._results(losses, l1_ratios, grids, outcomes)
        self.best_index_ = int(np.argmin(self.cv_results_["rank_test_score"]))
        best = self.cv_results_["params"][self.best_index_]
        self.alpha_, self.l1_ratio_ = best["alpha"], best["l1_ratio"]
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        # Rows run over losses, then l1_ratios, then the alphas of one grid.
        n_alphas = len(grids[0, 0])
        i, j = divmod(self.best_index_ // n_alphas, len(l1_ratios))
        self.alphas_ = grids[i, j].copy()
        self.loss_ = resolve_loss(best["loss"], base._task)
        if self.refit:
            chosen = [outcomes[i, j, k] for k in range(self.n_splits_)]
            self._refit(base, best, chosen, self.best_index_ % n_alphas, X, y,
                        sample_weight)
        return self

    def _results(self, losses, l1_ratios, grids, outcomes):
        """``cv_results_``: one row per (loss, l1_ratio, alpha)."""
        n_splits = self.n_splits_
        rows, scores, times = [], [], []
        for i, loss in enumerate(losses):
            for j, ratio in enumerate(l1_ratios):
                per_fold = [outcomes[i, j, k] for k in range(n_splits)]
                split_scores = np.column_stack([o["test_score"] for o in per_fold])
                split_times = np.column_stack([o["fit_time"] for o in per_fold])
                for k, alpha in enumerate(grids[i, j]):
                    rows.append({"loss": loss, "alpha": float(alpha), "l1_ratio": ratio})
                    scores.append(split_scores[k])
                    times.append(split_times[k])
        scores, times = np.asarray(scores), np.asarray(times)
        mean = scores.mean(axis=1)
        # NaN scores (a failed scorer) rank last, as in GridSearchCV.
        filled = np.where(np.isfinite(mean), mean, -np.inf)
        results = {
            "param_loss": np.array([r["loss"] for r in rows], dtype=object),
            "param_l1_ratio": np.array([r["l1_ratio"] for r in rows]),
            "param_alpha": np.array([r["alpha"] for r in rows]),
            "params": rows,
        }
        for k in range(n_splits):
            results[f"split{k}_test_score"] = scores[:, k]
        results.update(
            mean_test_score=mean,
            std_test_score=scores.std(axis=1),
            rank_test_score=rankdata(-filled, method="min").astype(np.int32),
            mean_fit_time=times.mean(axis=1),
            std_fit_time=times.std(axis=1),
        )
        return results

    def _refit(self, base, best, chosen, index, X, y, sample_weight):
        """Fit the choice on all the data and take over its fitted attributes.

        A linear fit of a convex loss starts from the folds' solutions at
        the chosen alpha (``chosen``: the candidate's path outcomes,
        ``index``: the alpha's position): the same optimal value within
        ``tol``, usually in fewer iterations (see
        :func:`~sklosses._path.warm_start_refit`).
        """
        estimator = warm_start_refit(clone(base).set_params(**best), chosen, index, X, y,
                                     sample_weight)
        self.best_estimator_ = estimator
        for name, value in vars(estimator).items():
            if name.endswith("_") and not name.startswith("_") \
                    and name not in ("n_features_in_", "feature_names_in_"):
                setattr(self, name, value)

    def _refitted(self, X):
        """``(best_estimator_, validated X)``, or NotFittedError."""
        check_is_fitted(self)
        if not hasattr(self, "best_estimator_"):
            raise NotFittedError(
                f"This {type(self).__name__} was fitted with refit=False: it has chosen "
                "loss_, alpha_ and l1_ratio_ but has no model to predict with. Fit with "
                "refit=True, or fit the estimator at those values yourself."
            )
        X = validate_data(self, X, accept_sparse=("csr", "csc"),
                          dtype=(np.float64, np.float32), reset=False)
        return self.best_estimator_, X

    def predict(self, X):
        """Predict with the estimator refitted at the choice.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions (class labels for the classifier).
        """
        estimator, X = self._refitted(X)
        return estimator.predict(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        losses = self.loss if isinstance(self.loss, (list, tuple)) else [self.loss]
        # A target restriction of any candidate loss holds for the search.
        for loss in losses:
            try:
                loss_tags = self._estimator_class(loss=loss).__sklearn_tags__()
            except ValueError:
                continue
            tags.target_tags.positive_only |= loss_tags.target_tags.positive_only
        return tags


class LossRegressorCV(RegressorMixin, _BaseLossCV):
    # The docstring is assembled from shared parts, so it is set explicitly.
    __doc__ = r"""Regression with the loss, alpha and ``l1_ratio`` chosen by cross-validation.

    For every candidate loss and ``l1_ratio``, each fold fits a
    warm-started regularisation path over the alphas; the candidate with the
    best mean score over the folds is refitted on all the data. The
    objective of every fit is that of :class:`~sklosses.LossRegressor`.

    Parameters
    ----------
    loss : str, loss object or list of them, default="squared_error"
        A regression loss, or several to choose from (names or objects such
        as ``Huber(delta=0.5)``); each is judged at its own best alpha, on
        the same folds.
    """ + _CV_DOC + _COMMON_CV_DOC.split("\n    Notes\n")[0] + r"""
    Attributes
    ----------
""" + _CV_ATTRIBUTES_DOC + _NOTES_DOC + r"""
    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklosses import LossRegressorCV
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = LossRegressorCV(loss=["squared_error", "absolute_error"], alphas=10,
    ...                       l1_ratio=1.0, cv=3).fit(X, y)
    >>> reg.loss_
    SquaredError()
    >>> len(reg.cv_results_["mean_test_score"])
    20
    >>> bool(reg.score(X, y) > 0.4)
    True
    """

    _estimator_class = LossRegressor

    def __init__(self, loss="squared_error", *, alphas=50, l1_ratio=0.0, cv=5,
                 scoring=None, n_jobs=None, refit=True, hidden_layer_sizes=(),
                 activation="relu", fit_intercept=True, solver="auto", learning_rate=1e-3,
                 batch_size="auto", max_iter=500, tol=1e-4, early_stopping=False,
                 validation_fraction=0.1, n_iter_no_change=10, warm_start=False,
                 random_state=None, verbose=0):
        self.loss = loss
        self.alphas = alphas
        self.l1_ratio = l1_ratio
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _has_best(method):
    """Whether the refitted estimator (or, before fit, every candidate) has ``method``."""

    def check(self):
        if hasattr(self, "best_estimator_"):
            return hasattr(self.best_estimator_, method)
        losses = self.loss if isinstance(self.loss, (list, tuple)) else [self.loss]
        return all(hasattr(LossClassifier(loss=loss), method) for loss in losses)

    return check


class LossClassifierCV(ClassifierMixin, _BaseLossCV):
    # The docstring is assembled from shared parts, so it is set explicitly.
    __doc__ = r"""Classification with the loss, alpha and ``l1_ratio`` chosen by cross-validation.

    For every candidate loss and ``l1_ratio``, each (stratified) fold fits
    a warm-started regularisation path over the alphas; the candidate with
    the best mean score over the folds is refitted on all the data. The
    objective of every fit is that of :class:`~sklosses.LossClassifier`.

    Parameters
    ----------
    loss : str, loss object or list of them, default="log_loss"
        A classification loss, or several to choose from; each is judged at
        its own best alpha, on the same folds.
    """ + _CV_DOC + _COMMON_CV_DOC.split("\n    Notes\n")[0] + r"""
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight`` in every fit
        (the scorer sees ``sample_weight`` only).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
""" + _CV_ATTRIBUTES_DOC + _NOTES_DOC + r"""
    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklosses import LossClassifierCV
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(),
    ...                     LossClassifierCV(alphas=10, l1_ratio=1.0, cv=3)).fit(X, y)
    >>> search = clf[-1]
    >>> bool(search.best_score_ > 0.9), search.alphas_.shape
    (True, (10,))
    """

    _estimator_class = LossClassifier

    def __init__(self, loss="log_loss", *, alphas=50, l1_ratio=0.0, cv=5, scoring=None,
                 n_jobs=None, refit=True, hidden_layer_sizes=(), activation="relu",
                 fit_intercept=True, solver="auto", learning_rate=1e-3, batch_size="auto",
                 max_iter=500, tol=1e-4, early_stopping=False, validation_fraction=0.1,
                 n_iter_no_change=10, warm_start=False, random_state=None, verbose=0,
                 class_weight=None):
        self.loss = loss
        self.alphas = alphas
        self.l1_ratio = l1_ratio
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
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

    def fit(self, X, y, sample_weight=None):
        """Choose loss, alpha and ``l1_ratio`` by cross-validation, then refit.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, given to every fit and to the scorer.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        super().fit(X, y, sample_weight)
        if not self.refit:
            self.classes_ = np.unique(np.asarray(y))
        return self

    def decision_function(self, X):
        """Raw predictions of the refitted estimator: logits or decision values.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            1-D for binary problems (positive means ``classes_[1]``).
        """
        estimator, X = self._refitted(X)
        return estimator.decision_function(X)

    @available_if(_has_best("predict_proba"))
    def predict_proba(self, X):
        """Class probabilities of the refitted estimator (probabilistic losses only).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in the order of ``classes_``.
        """
        estimator, X = self._refitted(X)
        return estimator.predict_proba(X)

    @available_if(_has_best("predict_log_proba"))
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
        estimator, X = self._refitted(X)
        return estimator.predict_log_proba(X)

"""ConformalRegressor: prediction intervals with a finite-sample coverage guarantee.

Two conformity scores, chosen from what the wrapped regressor predicts:

- a band (predictions of shape ``(n_samples, K)``, ``K >= 2``, e.g. a
  two-level quantile :class:`~sklosses.LossRegressor`): conformalized
  quantile regression (Romano, Patterson and Candes, 2019), score
  ``max(lo - y, y - hi)``, the band widened (or narrowed) by its quantile;
- a point prediction (shape ``(n_samples,)``): absolute residuals
  ``|y - mu(x)|``, the interval ``mu(x) +- Q``.

Two ways of calibrating: ``"split"`` holds out a calibration set (Vovk et
al.; the guarantee is exact, coverage >= ``coverage``) and ``"cv+"`` uses
out-of-fold scores of ``cv`` models (Barber, Candes, Ramdas and Tibshirani,
2021; guarantee ``1 - 2 (1 - coverage)``, about ``coverage`` in practice).
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import check_cv, train_test_split
from sklearn.utils import get_tags
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

# CV+ compares every test row with every training row; rows are processed in
# blocks holding at most this many (test row, training row) pairs.
_CV_PLUS_BLOCK = 2_000_000


def _conformal_upper(values, weights, alpha):
    """The conformal upper quantile of ``values`` along the last axis.

    The smallest ``v`` whose cumulative weight reaches ``(1 - alpha)(W + 1)``
    with ``W`` the total weight (the test point counts as one more row of
    weight 1): with unit weights the ``ceil((1 - alpha)(n + 1))``-th smallest
    value. ``+inf`` when no value reaches it (too few calibration rows for
    the coverage). Integer weights equal repeated rows.

    Parameters
    ----------
    values : ndarray of shape (n,) or (n_rows, n)
        Scores.
    weights : ndarray of shape (n,)
        Non-negative weights of the ``n`` calibration rows.
    alpha : float
        Miscoverage, ``1 - coverage``.

    Returns
    -------
    quantile : float or ndarray of shape (n_rows,)
    """
    values = np.atleast_2d(values)
    order = np.argsort(values, axis=1, kind="stable")
    sorted_values = np.take_along_axis(values, order, axis=1)
    cumulative = np.cumsum(weights[order], axis=1)
    level = (1 - alpha) * (weights.sum() + 1)
    # a relative slack so that (1 - alpha)(n + 1) = integer is not missed by rounding
    reached = cumulative >= level * (1 - 1e-12)
    first = np.argmax(reached, axis=1)
    out = np.where(reached.any(axis=1),
                   sorted_values[np.arange(values.shape[0]), first], np.inf)
    return out if out.size > 1 else float(out[0])


class ConformalRegressor(RegressorMixin, BaseEstimator):
    r"""Conformal prediction intervals around a regressor.

    With the default estimator, a linear :class:`~sklosses.LossRegressor`
    fitting the quantiles ``(1 - coverage) / 2`` and ``(1 + coverage) / 2``
    jointly, it is conformalized quantile regression (CQR):
    intervals that adapt their width to ``x`` and cover a new ``y`` with
    probability at least ``coverage``. Around a regressor that predicts one
    value per row the intervals are ``mu(x) +- Q`` from absolute residuals.

    On exchangeable data (e.g. i.i.d. rows) ``method="split"`` guarantees
    :math:`P(y \in [lo(x), hi(x)]) \ge` ``coverage`` for a new row, whatever
    the model and the sample size (and at most ``coverage + 1 / (n_cal + 1)``
    when the scores have no ties). ``method="cv+"`` uses every row for both
    fitting and calibration; its guarantee is ``1 - 2 (1 - coverage)``, and
    its coverage is close to ``coverage`` in practice.

    Parameters
    ----------
    estimator : regressor, default=None
        The regressor to wrap, cloned for every fit. It may predict one
        column (absolute-residual scores) or a band of ``K >= 2`` columns
        whose first and last are the lower and upper bounds (CQR scores).
        None uses ``LossRegressor(loss=Quantile([(1 - coverage) / 2,
        (1 + coverage) / 2], noncrossing="sort"), alpha=0)``: two linear
        quantiles with free slopes, so that the width of the interval can
        change with ``x`` (a non-crossing linear band has a constant width,
        see :class:`~sklosses.losses.Quantile`); sorting keeps ``lo <= hi``.
        Unpenalised (as ``QuantileRegressor(alpha=0)``): a penalty would
        shrink the slopes on targets in large units and widen the intervals.
    coverage : float, default=0.9
        Target probability that the interval covers ``y``, in (0, 1).
    method : {"split", "cv+"}, default="split"
        ``"split"``: fit on a share ``1 - calibration_fraction`` of the rows
        and calibrate on the rest. ``"cv+"``: fit one model per fold of
        ``cv`` and combine the out-of-fold scores (CV+, Barber et al. 2021).
    calibration_fraction : float, default=0.25
        Share of the rows held out for calibration (``method="split"``).
    cv : int or cross-validation splitter, default=5
        Folds of ``method="cv+"``; an int gives shuffled ``KFold`` splits
        seeded by ``random_state``.
    random_state : int, RandomState instance or None, default=None
        Seed of the calibration split and of the folds.

    Attributes
    ----------
    estimator_ : regressor
        The fitted regressor (``"split"``: on the training part), used by
        :meth:`predict` and :meth:`predict_interval` for ``"split"``.
    estimators_ : list of regressors
        ``"cv+"`` only: one fitted regressor per fold.
    interval_kind_ : {"conformalized_quantile", "absolute_residual"}
        Which conformity score was used, from the shape of the predictions.
    calibration_scores_ : ndarray of shape (n_calibration,)
        Conformity scores of the calibration rows (``"cv+"``: of every row,
        out of fold).
    correction_ : float
        ``"split"`` only: the conformal quantile of the scores, added to
        both ends of the band (or the radius of ``mu(x) +- Q``). ``inf`` when
        there are too few calibration rows for ``coverage``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the features, when ``X`` has string column names.

    Notes
    -----
    ``sample_weight`` is passed to the wrapped estimator's ``fit``, and the
    calibration counts each row with its weight (integer weights equal
    repeated rows). The coverage guarantee is for unit weights.

    :meth:`predict` returns the wrapped estimator's point prediction: the
    middle column of an odd band (the median of ``[0.05, 0.5, 0.95]``), the
    centre of an even band, or the single column; for ``"cv+"`` the mean
    over the fold models.

    References
    ----------
    .. [1] Y. Romano, E. Patterson and E. Candes, "Conformalized quantile
       regression", NeurIPS (2019).
    .. [2] R. F. Barber, E. J. Candes, A. Ramdas and R. J. Tibshirani,
       "Predictive inference with the jackknife+", Annals of Statistics
       49(1), 486-507 (2021).
    .. [3] J. Lei, M. G'Sell, A. Rinaldo, R. J. Tibshirani and L. Wasserman,
       "Distribution-free predictive inference for regression", JASA 113,
       1094-1111 (2018).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> from sklosses import ConformalRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> conformal = ConformalRegressor(coverage=0.8, random_state=0).fit(X[:300], y[:300])
    >>> interval = conformal.predict_interval(X[300:])
    >>> interval.shape
    (142, 2)
    >>> covered = (interval[:, 0] <= y[300:]) & (y[300:] <= interval[:, 1])
    >>> bool(covered.mean() > 0.7)
    True
    """

    def __init__(self, estimator=None, *, coverage=0.9, method="split",
                 calibration_fraction=0.25, cv=5, random_state=None):
        self.estimator = estimator
        self.coverage = coverage
        self.method = method
        self.calibration_fraction = calibration_fraction
        self.cv = cv
        self.random_state = random_state

    # -- parameters ------------------------------------------------------------

    def _check_params(self):
        for name in ("coverage", "calibration_fraction"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                    or not 0 < value < 1):
                raise ValueError(
                    f"ConformalRegressor: {name} must be a number in (0, 1), got "
                    f"{value!r}; e.g. coverage=0.9 asks for 90 % intervals."
                )
        if self.method not in ("split", "cv+"):
            raise ValueError(
                f"ConformalRegressor: method must be 'split' or 'cv+', got {self.method!r}."
            )

    def _base_estimator(self):
        if self.estimator is not None:
            return clone(self.estimator)
        from ._estimators import LossRegressor  # noqa: PLC0415 - avoids an import cycle
        from .losses import Quantile  # noqa: PLC0415

        low = (1 - self.coverage) / 2
        # Free slopes: a linear band that cannot cross anywhere would have one
        # slope and a constant width, and the interval could not adapt to x.
        # Unpenalised, as quantile regression is classically fitted: the
        # pinball loss's gradient is bounded, so on targets in large units
        # even alpha=1e-4 shrinks the slopes (engel, food expenditure in
        # dollars: 135 instead of 343 at the 5 % level), and the intervals,
        # still valid, come out twice as wide as needed.
        return LossRegressor(loss=Quantile(quantile=[low, 1 - low], noncrossing="sort"),
                             alpha=0.0)

    # -- fit -------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Fit the regressor and calibrate the intervals.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Passed to the wrapped estimator's ``fit``; calibration rows count
            with their weight.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._check_params()
        X, y = validate_data(self, X, y, accept_sparse=("csr", "csc"), y_numeric=True)
        y = np.asarray(y, dtype=float)
        weighted = sample_weight is not None
        sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        if X.shape[0] < 2:
            raise ValueError(
                f"ConformalRegressor needs at least 2 samples to fit and calibrate, got "
                f"n_samples = {X.shape[0]}."
            )
        for name in ("estimators_", "correction_"):
            self.__dict__.pop(name, None)
        if self.method == "split":
            self._fit_split(X, y, sample_weight, weighted)
        else:
            self._fit_cv_plus(X, y, sample_weight, weighted)
        return self

    def _fit_one(self, X, y, sample_weight, weighted):
        estimator = self._base_estimator()
        if weighted:
            return estimator.fit(X, y, sample_weight=sample_weight)
        return estimator.fit(X, y)

    def _scores(self, y, prediction):
        """Conformity scores of rows with targets ``y``; sets ``interval_kind_``."""
        prediction = np.asarray(prediction, dtype=float)
        if prediction.ndim == 2 and prediction.shape[1] >= 2:
            self.interval_kind_ = "conformalized_quantile"
            return np.maximum(prediction[:, 0] - y, y - prediction[:, -1])
        self.interval_kind_ = "absolute_residual"
        return np.abs(y - prediction.reshape(-1))

    def _fit_split(self, X, y, sample_weight, weighted):
        rows = np.arange(X.shape[0])
        train, calibration = train_test_split(
            rows, test_size=self.calibration_fraction, random_state=self.random_state
        )
        if not sample_weight[calibration].sum() > 0 or not sample_weight[train].sum() > 0:
            raise ValueError(
                "ConformalRegressor: every training or every calibration row of the split "
                "has zero sample_weight. Change random_state or calibration_fraction."
            )
        self.estimator_ = self._fit_one(X[train], y[train], sample_weight[train], weighted)
        scores = self._scores(y[calibration], self.estimator_.predict(X[calibration]))
        self.calibration_scores_ = scores
        self.correction_ = _conformal_upper(scores, sample_weight[calibration],
                                            1 - self.coverage)

    def _fit_cv_plus(self, X, y, sample_weight, weighted):
        cv = self.cv
        if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
            from sklearn.model_selection import KFold  # noqa: PLC0415

            cv = KFold(n_splits=cv, shuffle=True, random_state=self.random_state)
        cv = check_cv(cv)
        fold_of_row = np.full(X.shape[0], -1)
        scores = np.empty(X.shape[0])
        self.estimators_ = []
        for k, (train, held_out) in enumerate(cv.split(X, y)):
            model = self._fit_one(X[train], y[train], sample_weight[train], weighted)
            scores[held_out] = self._scores(y[held_out], model.predict(X[held_out]))
            fold_of_row[held_out] = k
            self.estimators_.append(model)
        if np.any(fold_of_row < 0):
            raise ValueError(
                "ConformalRegressor(method='cv+') needs a cv whose test folds cover every "
                "row once (such as KFold); some rows are in no test fold."
            )
        self.estimator_ = self.estimators_[0]
        self.calibration_scores_ = scores
        self._fold_of_row = fold_of_row
        self._calibration_weight = sample_weight

    # -- predict ---------------------------------------------------------------

    def _validated(self, X):
        check_is_fitted(self, "calibration_scores_")
        return validate_data(self, X, accept_sparse=("csr", "csc"), reset=False)

    @staticmethod
    def _point(prediction):
        """The point prediction of a band or of a single column."""
        prediction = np.asarray(prediction, dtype=float)
        if prediction.ndim == 1 or prediction.shape[1] == 1:
            return prediction.reshape(-1)
        K = prediction.shape[1]
        if K % 2:
            return prediction[:, K // 2]
        return 0.5 * (prediction[:, 0] + prediction[:, -1])

    def predict(self, X):
        """Point prediction of the wrapped regressor (median or centre of a band).

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        X = self._validated(X)
        models = getattr(self, "estimators_", [self.estimator_])
        return np.mean([self._point(model.predict(X)) for model in models], axis=0)

    def _band(self, prediction):
        """Lower and upper ends before calibration: the band, or the point twice."""
        prediction = np.asarray(prediction, dtype=float)
        if self.interval_kind_ == "conformalized_quantile":
            return prediction[:, 0], prediction[:, -1]
        point = prediction.reshape(-1)
        return point, point

    def predict_interval(self, X):
        """Conformal prediction intervals.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        interval : ndarray of shape (n_samples, 2)
            Lower and upper ends; each covers a new ``y`` with probability at
            least ``coverage`` (see the class docstring for ``"cv+"``).
        """
        X = self._validated(X)
        if self.method == "split" or not hasattr(self, "estimators_"):
            low, high = self._band(self.estimator_.predict(X))
            return np.column_stack([low - self.correction_, high + self.correction_])
        return self._cv_plus_interval(X)

    def _cv_plus_interval(self, X):
        """CV+: conformal quantiles over the training rows of fold-wise bands.

        For a test row ``x`` and training row ``i`` in fold ``k(i)``, the upper
        end is the conformal quantile of ``hi_{-k(i)}(x) + R_i`` and the lower
        end minus that of ``-(lo_{-k(i)}(x) - R_i)`` (Barber et al., 2021).
        """
        bands = [self._band(model.predict(X)) for model in self.estimators_]
        low = np.stack([band[0] for band in bands], axis=1)  # (n_test, n_folds)
        high = np.stack([band[1] for band in bands], axis=1)
        fold, scores = self._fold_of_row, self.calibration_scores_
        weight, alpha = self._calibration_weight, 1 - self.coverage
        out = np.empty((X.shape[0], 2))
        block = max(1, _CV_PLUS_BLOCK // max(scores.size, 1))
        for start in range(0, X.shape[0], block):
            rows = slice(start, start + block)
            upper = high[rows][:, fold] + scores
            lower = -(low[rows][:, fold] - scores)
            out[rows, 1] = _conformal_upper(upper, weight, alpha)
            out[rows, 0] = -_conformal_upper(lower, weight, alpha)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        try:
            inner = get_tags(self._base_estimator())
            tags.input_tags.sparse = inner.input_tags.sparse
        except (ValueError, TypeError):
            tags.input_tags.sparse = False
        tags.target_tags.multi_output = False
        tags.target_tags.single_output = True
        return tags

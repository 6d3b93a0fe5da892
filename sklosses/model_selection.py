"""Choosing a loss: a scorer from any loss, and a cross-validated comparison.

- :func:`make_loss_scorer` turns a loss into a scikit-learn scorer, for
  ``cross_validate`` or ``GridSearchCV(scoring=...)``.
- :func:`compare_losses` cross-validates one estimator per loss on the same
  folds and returns a :class:`LossComparison` (ranked table, DataFrame, plot).
"""

import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from scipy.stats import rankdata
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import check_cv, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.utils import indexable
from sklearn.utils.metadata_routing import MetadataRequest

from ._resolve import resolve_loss
from ._significance import corrected_resampled_ttest

__all__ = [
    "LossComparison",
    "LossComparisonDisplay",
    "LossScorer",
    "compare_losses",
    "make_loss_scorer",
]


# ---------------------------------------------------------------------------
# Scorer
# ---------------------------------------------------------------------------


def _response_method(loss):
    """Which estimator method gives what ``loss.__call__`` takes."""
    if loss.task == "regression":
        return "predict"
    if loss.is_margin:
        return "decision_function"
    if loss.is_probabilistic:
        return "predict_proba"
    return "decision_function"


def _encode_labels(estimator, y):
    """Class indices 0..K-1 of labels ``y`` in the order of ``estimator.classes_``."""
    classes = np.asarray(estimator.classes_)
    y = np.asarray(y)
    index = np.clip(np.searchsorted(classes, y), 0, len(classes) - 1)
    unknown = classes[index] != y
    if np.any(unknown):
        raise ValueError(
            f"y contains labels the estimator was not fitted on: "
            f"{sorted(set(np.asarray(y)[unknown].tolist()))!r} (classes_: "
            f"{classes.tolist()!r})."
        )
    return index


class LossScorer:
    """A scikit-learn scorer: minus the mean loss on held-out data.

    Made by :func:`make_loss_scorer`; see there. Implements the scorer
    protocol ``scorer(estimator, X, y_true, sample_weight=None)``.

    Parameters
    ----------
    loss : str or BaseLoss
        The loss, as given to :func:`make_loss_scorer`.

    Attributes
    ----------
    name : str
        Short label for tables: ``"neg_<loss name>"`` or ``"-<loss>"``.
    """

    def __init__(self, loss):
        self.loss = loss
        # Short label for tables, in the style of scikit-learn's neg_* scorers.
        self.name = f"neg_{loss}" if isinstance(loss, str) else f"-{loss}"
        self._loss = resolve_loss(loss)
        self._response = _response_method(self._loss)
        self._sample_weight_request = None

    def __call__(self, estimator, X, y_true, sample_weight=None):
        """Minus the (weighted) mean loss of the estimator's responses on ``X``.

        Parameters
        ----------
        estimator : object
            A fitted estimator (or pipeline) with the response method the
            loss needs: ``predict``, ``predict_proba`` or
            ``decision_function``.
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Held-out data.
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets or class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the mean.

        Returns
        -------
        score : float
            ``-loss(y_true, response, sample_weight)``; greater is better.
        """
        method = getattr(estimator, self._response, None)
        if method is None:
            raise AttributeError(
                f"Scoring with {self._loss} needs {type(estimator).__name__}."
                f"{self._response}, which it does not have."
            )
        y_pred = method(X)
        y = np.asarray(y_true)
        if self._loss.task == "classification":
            y = _encode_labels(estimator, y)
            if self._response == "predict_proba" and y_pred.ndim == 2 and y_pred.shape[1] == 2:
                # Binary probabilistic losses take P(class 1), as log_loss does.
                y_pred = y_pred[:, 1]
        return -self._loss(y, y_pred, sample_weight=sample_weight)

    def set_score_request(self, *, sample_weight=None):
        """Request ``sample_weight`` when metadata routing is enabled.

        Parameters
        ----------
        sample_weight : bool, str or None, default=None
            ``True`` to receive ``sample_weight``, ``False`` not to, ``None``
            to raise when it is passed (scikit-learn's convention).

        Returns
        -------
        self : LossScorer
        """
        self._sample_weight_request = sample_weight
        return self

    def get_metadata_routing(self):
        """The metadata this scorer requests (scikit-learn's routing protocol).

        Returns
        -------
        request : MetadataRequest
        """
        request = MetadataRequest(owner=self)
        request.score.add_request(param="sample_weight", alias=self._sample_weight_request)
        return request

    def __repr__(self):
        shown = repr(self.loss) if isinstance(self.loss, str) else str(self.loss)
        return f"make_loss_scorer({shown})"


def make_loss_scorer(loss):
    """A scorer that rates an estimator by minus its mean loss on held-out data.

    Parameters
    ----------
    loss : str or BaseLoss
        A loss name (``"huber"``), a loss object (``Huber(delta=2.0)``) or a
        loss from :func:`~sklosses.make_loss`.

    Returns
    -------
    scorer : LossScorer
        ``scorer(estimator, X, y, sample_weight=None)`` returns
        ``-loss(y, response(X), sample_weight)``: greater is better, as
        scikit-learn's ``neg_*`` scorers.

    Notes
    -----
    The response compared with ``y`` is what the loss takes:

    - regression losses: ``predict``;
    - probabilistic classification losses (``log_loss``, ``focal``):
      ``predict_proba``, the class-1 column for binary problems;
    - margin losses (``hinge``, ``modified_huber``, ...):
      ``decision_function``.

    Class labels are encoded with the fitted estimator's ``classes_`` (a
    pipeline's too) into indices 0..K-1 before calling the loss, so string
    labels work and a fold missing a class is scored correctly.

    The estimator need not be a sklosses estimator: any estimator with the
    response method works, e.g. ``make_loss_scorer("hinge")`` on a
    :class:`~sklearn.svm.LinearSVC`.

    With metadata routing enabled, call
    ``scorer.set_score_request(sample_weight=True)`` to receive weights.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklosses import LossRegressor, make_loss_scorer
    >>> X, y = make_regression(n_samples=60, n_features=3, noise=5.0, random_state=0)
    >>> scorer = make_loss_scorer("absolute_error")
    >>> scorer
    make_loss_scorer('absolute_error')
    >>> scores = cross_val_score(LossRegressor(), X, y, cv=3, scoring=scorer)
    >>> bool((scores < 0).all())
    True
    """
    return LossScorer(loss)


# ---------------------------------------------------------------------------
# Comparison
# ---------------------------------------------------------------------------


def _loss_param(estimator):
    """Name of the parameter that sets the loss: ``loss``, or ``step__loss`` in a pipeline."""
    params = estimator.get_params(deep=True)
    if "loss" in params:
        return "loss"
    nested = [name for name in params if name.endswith("__loss")]
    if len(nested) == 1:
        return nested[0]
    raise ValueError(
        f"compare_losses needs an estimator with one 'loss' parameter, such as "
        f"LossRegressor or a pipeline ending with one; {type(estimator).__name__} has "
        f"{'none' if not nested else 'several: ' + ', '.join(nested)}."
    )


def _loss_label(loss):
    """Display name: string names as given, ``str`` (the repr) for objects.

    ``str`` equals ``repr`` for the built-in losses; custom losses give the
    short form with their ``name`` instead of ``<function f at 0x...>``.
    """
    return loss if isinstance(loss, str) else str(loss)


def _scoring_label(estimator, scoring):
    if scoring is None:
        if is_regressor(estimator):
            return "r2"
        if is_classifier(estimator):
            return "accuracy"
        return "score"
    if isinstance(scoring, str):
        return scoring
    name = getattr(scoring, "name", None)
    return name if isinstance(name, str) else repr(scoring)


def _first_line(message):
    return str(message).strip().splitlines()[0] if str(message).strip() else ""


def _cross_validate_one(estimator, param, loss, X, y, splits, scoring, tuned=False):
    """Cross-validate ``estimator`` with ``loss``; a failure becomes a message.

    With ``tuned``, the estimator is a cross-validated search and the alpha
    it chose on each outer training fold is returned too. Warnings are
    recorded and returned, so that the caller re-emits them in its own
    process whichever joblib backend ran this.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est = clone(estimator).set_params(**{param: loss})
            cv_results = cross_validate(
                est, X, y, cv=splits, scoring=scoring, error_score="raise",
                return_estimator=tuned,
            )
        except Exception as exc:  # noqa: BLE001 - one loss failing must not stop the rest
            outcome = {"error": f"{type(exc).__name__}: {exc}"}
        else:
            outcome = {
                "test_score": np.asarray(cv_results["test_score"], dtype=float),
                "fit_time": np.asarray(cv_results["fit_time"], dtype=float),
                "score_time": np.asarray(cv_results["score_time"], dtype=float),
                "error": "",
            }
            if tuned:
                outcome["alpha"] = np.array(
                    [_final_step(fitted).alpha_ for fitted in cv_results["estimator"]]
                )
    outcome["warnings"] = list(dict.fromkeys((w.category, str(w.message)) for w in caught))
    return outcome


def _reemit_warnings(outcomes):
    """Warn once per distinct (category, message) recorded by the workers."""
    seen = dict.fromkeys(w for outcome in outcomes for w in outcome["warnings"])
    for category, message in seen:
        warnings.warn(message, category, stacklevel=3)


def _collect_results(losses, outcomes, n_splits, sizes):
    """Arrays in the style of ``cv_results_`` from the per-loss outcomes.

    ``sizes`` is ``(n_train, n_test)``, the mean sizes of the splits, for the
    corrected t-test.
    """
    n = len(losses)
    nan = np.full(n_splits, np.nan)
    scores = np.array([o.get("test_score", nan) for o in outcomes]).reshape(n, n_splits)
    fit_times = np.array([o.get("fit_time", nan) for o in outcomes]).reshape(n, n_splits)
    score_times = np.array([o.get("score_time", nan) for o in outcomes]).reshape(n, n_splits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows of failed losses
        results = {
            "loss": np.array([_loss_label(loss) for loss in losses], dtype=object),
            "mean_test_score": np.nanmean(scores, axis=1),
            "std_test_score": np.nanstd(scores, axis=1),
            "mean_fit_time": np.nanmean(fit_times, axis=1),
            "std_fit_time": np.nanstd(fit_times, axis=1),
            "mean_score_time": np.nanmean(score_times, axis=1),
            "std_score_time": np.nanstd(score_times, axis=1),
        }
    # Failed losses rank last, as GridSearchCV ranks NaN scores.
    filled = np.where(np.isnan(results["mean_test_score"]), -np.inf,
                      results["mean_test_score"])
    results["rank_test_score"] = rankdata(-filled, method="min").astype(np.int32)
    for k in range(n_splits):
        results[f"split{k}_test_score"] = scores[:, k]
    results["error"] = np.array([o["error"] for o in outcomes], dtype=object)
    results.update(_versus_best(results, scores, sizes))
    if any("alpha" in o for o in outcomes):
        results["alphas_per_split"] = np.empty(n, dtype=object)
        for i, outcome in enumerate(outcomes):
            results["alphas_per_split"][i] = outcome.get("alpha", nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            results["median_alpha"] = np.array(
                [np.nanmedian(a) for a in results["alphas_per_split"]])
    return results


def _versus_best(results, scores, sizes):
    """``delta_vs_best`` and ``p_value_vs_best`` of every loss against the best one.

    The p-value is the corrected resampled t-test of Nadeau and Bengio on the
    paired split scores; the best loss itself (and a failed loss) gets NaN.
    """
    best = int(np.argmin(results["rank_test_score"]))
    n_train, n_test = sizes
    delta = results["mean_test_score"] - results["mean_test_score"][best]
    p_values = np.full(len(delta), np.nan)
    for i in range(len(delta)):
        if i != best:
            p_values[i] = corrected_resampled_ttest(scores[i] - scores[best], n_train, n_test)
    return {"delta_vs_best": delta, "p_value_vs_best": p_values}


def _final_step(estimator):
    """The last step of a pipeline, or the estimator itself."""
    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _tuned(estimator, *, alphas, inner_cv, scoring):
    """The estimator with its final LossRegressor / LossClassifier made a CV search.

    Every parameter but ``alpha`` is kept; the search chooses alpha by
    ``inner_cv`` on each training fold it is given, judged by ``scoring``.
    """
    from ._cv import LossClassifierCV, LossRegressorCV  # noqa: PLC0415 - import cycle
    from ._estimators import LossClassifier, LossRegressor  # noqa: PLC0415

    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        tuned = _tuned(last, alphas=alphas, inner_cv=inner_cv, scoring=scoring)
        return clone(estimator).set_params(**{name: tuned})
    searches = {LossRegressor: LossRegressorCV, LossClassifier: LossClassifierCV}
    search = searches.get(type(estimator))
    if search is None:
        raise ValueError(
            "tune_alpha=True needs a LossRegressor or LossClassifier, or a pipeline "
            f"ending with one, to tune its alpha; got {type(estimator).__name__}. Use "
            "tune_alpha=False to compare at the estimator's own alpha."
        )
    params = estimator.get_params(deep=False)
    params.pop("alpha")
    return search(alphas=alphas, cv=inner_cv, scoring=scoring, **params)


def compare_losses(estimator, X, y, losses, *, cv=5, scoring=None, n_jobs=None,
                   tune_alpha=False, alphas=20, inner_cv=5):
    """Cross-validate an estimator once per loss, on the same folds.

    Parameters
    ----------
    estimator : estimator object
        An estimator with a ``loss`` parameter (:class:`~sklosses.LossRegressor`,
        :class:`~sklosses.LossClassifier`) or a pipeline ending with one (its
        ``<step>__loss`` parameter is found automatically). It is cloned for
        each loss.
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Data.
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Targets or class labels.
    losses : list of str or BaseLoss
        The losses to compare: names, loss objects or losses from
        :func:`~sklosses.make_loss`.
    cv : int, cross-validation generator or iterable, default=5
        As in :func:`~sklearn.model_selection.cross_validate` (``KFold``, or
        ``StratifiedKFold`` for classifiers). The splits are drawn once, so
        every loss sees the same folds.
    scoring : str, callable or None, default=None
        One metric that judges every loss; ``None`` uses the estimator's
        ``score`` (R² for regressors, accuracy for classifiers).
    n_jobs : int, default=None
        Losses evaluated in parallel with joblib (``-1``: all cores). The
        folds of one loss run sequentially, so the two levels do not
        oversubscribe the cores.
    tune_alpha : bool, default=False
        Judge every loss at its own tuned penalty: on each outer training
        fold, the estimator's final :class:`~sklosses.LossRegressor` or
        :class:`~sklosses.LossClassifier` becomes the matching
        :class:`~sklosses.LossRegressorCV` / :class:`~sklosses.LossClassifierCV`
        (every parameter kept but ``alpha``), which chooses alpha by
        ``inner_cv`` with the same ``scoring``, and the outer test fold
        scores its refit (nested cross-validation: the outer score never
        sees the data the alpha was chosen on). Without it every loss is
        scored at the estimator's one ``alpha``, which suits some losses and
        flattens others.
    alphas : int or array-like, default=20
        With ``tune_alpha=True``: the alpha grid of the inner search, as
        :class:`~sklosses.LossRegressorCV`'s ``alphas`` (an int is a
        data-derived log grid per loss).
    inner_cv : int, cross-validation generator or iterable, default=5
        With ``tune_alpha=True``: the folds of the inner search.

    Returns
    -------
    comparison : LossComparison
        ``results_``, ``best_loss_``, ``best_score_``, ``to_frame()``,
        ``plot()``; printing it shows the ranked table.

    Raises
    ------
    ValueError
        When every loss fails; a single failing loss (e.g. ``"poisson"`` on
        negative targets) gets a NaN score and its message in
        ``results_["error"]``.

    Notes
    -----
    Scores are only comparable across losses when one metric judges them
    all, which is why the default is the estimator's ``score`` and not each
    loss's own value: a Huber loss of 3 and a squared error of 20 say nothing
    about which model is better.

    Choose a **strictly consistent** scoring function for the quantity you
    want to predict, so that the best score goes to the model closest to
    that quantity:

    - the conditional mean: squared error (``"neg_mean_squared_error"``) or
      R²;
    - the median: absolute error (``"neg_mean_absolute_error"``);
    - the quantile ``q``: the pinball loss,
      ``make_loss_scorer(Quantile(quantile=q))``;
    - class probabilities: the log loss (``"neg_log_loss"``) or the Brier
      score; accuracy ignores probabilities.

    Warnings raised while fitting (e.g. ``ConvergenceWarning``) are
    collected per loss and re-issued once each in the calling process, so
    they reach the user whichever joblib backend ran the fits.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklosses import LossRegressor, compare_losses
    >>> X, y = make_regression(n_samples=80, n_features=3, noise=10.0, random_state=0)
    >>> comparison = compare_losses(LossRegressor(), X, y,
    ...                             ["squared_error", "huber"], cv=3)
    >>> list(comparison.results_["loss"])
    ['squared_error', 'huber']
    >>> comparison.best_loss_
    'squared_error'
    """
    losses = list(losses)
    if not losses:
        raise ValueError("losses is empty: give at least one loss to compare.")
    if isinstance(scoring, (list, tuple, set, dict)):
        raise ValueError(
            "compare_losses ranks losses by one metric: give scoring as one string or "
            f"callable, got {scoring!r}."
        )
    if not isinstance(tune_alpha, bool):
        raise ValueError(f"tune_alpha must be True or False, got {tune_alpha!r}.")
    param = _loss_param(estimator)
    classifier = is_classifier(estimator)
    if tune_alpha:
        estimator = _tuned(estimator, alphas=alphas, inner_cv=inner_cv, scoring=scoring)
    X, y = indexable(X, y)
    splitter = check_cv(cv, y, classifier=classifier)
    splits = list(splitter.split(X, y))
    sizes = (np.mean([len(train) for train, _ in splits]),
             np.mean([len(test) for _, test in splits]))
    outcomes = Parallel(n_jobs=n_jobs)(
        delayed(_cross_validate_one)(estimator, param, loss, X, y, splits, scoring,
                                     tuned=tune_alpha)
        for loss in losses
    )
    _reemit_warnings(outcomes)
    if all(outcome["error"] for outcome in outcomes):
        details = "; ".join(
            f"{_loss_label(loss)}: {_first_line(o['error'])}" for loss, o in zip(losses, outcomes)
        )
        raise ValueError(f"Every loss failed. {details}")
    results = _collect_results(losses, outcomes, len(splits), sizes)
    tuning = _tuning_label(alphas, inner_cv) if tune_alpha else None
    return LossComparison(losses, results, scoring=_scoring_label(estimator, scoring),
                          tuning=tuning)


def _tuning_label(alphas, inner_cv):
    """How each loss was tuned, for the table's header."""
    if isinstance(alphas, numbers.Integral):
        grid = (f"{alphas} alphas log-spaced from the loss's data-derived largest "
                "useful alpha down by 1e-4")
    else:
        grid = f"{len(np.ravel(alphas))} given alphas"
    folds = f"{inner_cv}-fold" if isinstance(inner_cv, numbers.Integral) else "inner"
    return (f"alpha tuned per loss by {folds} cross-validation inside each outer "
            f"training fold, over {grid}")


class LossComparison:
    """The result of :func:`compare_losses`: scores per loss, ranked.

    Built by :func:`compare_losses`, not by hand.

    Parameters
    ----------
    losses : list of str or BaseLoss
        The losses compared, as given.
    results : dict of ndarray
        The per-loss results (``results_``).
    scoring : str
        Name of the metric that judged the losses.
    tuning : str or None, default=None
        How the penalty of each loss was tuned (``tune_alpha=True``), shown
        in the table's header; None when every loss used the estimator's
        alpha.

    Attributes
    ----------
    results_ : dict of ndarray
        One entry per loss, in the order of ``losses``, in the style of
        ``GridSearchCV.cv_results_``: ``loss`` (display names: names as
        given, ``str`` of objects, which is their repr except that custom
        losses show their ``name``), ``mean_test_score``,
        ``std_test_score``, ``split{k}_test_score``, ``mean_fit_time``,
        ``std_fit_time``, ``mean_score_time``, ``std_score_time``,
        ``rank_test_score`` (1 is best; failed losses rank last),
        ``error`` (the message of a failed loss, else ``""``),
        ``delta_vs_best`` (mean score minus the best loss's, <= 0) and
        ``p_value_vs_best`` (two-sided p-value of that difference by the
        corrected resampled t-test of Nadeau and Bengio (2003) on the paired
        split scores; NaN for the best loss and failed ones). With
        ``tune_alpha=True`` also ``alphas_per_split`` (the alpha chosen on
        each outer training fold, an array per loss) and ``median_alpha``.
    losses_ : list
        The losses, as given.
    best_index_ : int
        Position of the best loss in ``losses_``.
    best_loss_ : str or BaseLoss
        The best loss, as given (an element of ``losses_``).
    best_score_ : float
        Its mean test score.
    scoring_ : str
        The metric (higher is better).
    n_splits_ : int
        Number of cross-validation splits.
    tuning_ : str or None
        How each loss's alpha was tuned, or None.

    References
    ----------
    .. [1] C. Nadeau and Y. Bengio, "Inference for the generalization error",
       Machine Learning 52, 239-281 (2003).
    """

    def __init__(self, losses, results, *, scoring, tuning=None):
        self.losses_ = list(losses)
        self.results_ = results
        self.scoring_ = scoring
        self.tuning_ = tuning
        self.n_splits_ = sum(key.startswith("split") for key in results)
        self.best_index_ = int(np.argmin(results["rank_test_score"]))
        self.best_loss_ = self.losses_[self.best_index_]
        self.best_score_ = float(results["mean_test_score"][self.best_index_])

    def _order(self):
        """Positions of the losses from best to worst (stable for ties)."""
        return np.argsort(self.results_["rank_test_score"], kind="stable")

    def to_frame(self):
        """The results as a pandas DataFrame, one row per loss, best first.

        Returns
        -------
        frame : pandas.DataFrame
            Columns as the keys of ``results_``, ``rank_test_score`` first;
            the index is the position of the loss in ``losses_``.
        """
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                "LossComparison.to_frame needs pandas: pip install pandas "
                "(or read the dict results_ directly)."
            ) from exc
        columns = ["rank_test_score"] + [k for k in self.results_ if k != "rank_test_score"]
        frame = pd.DataFrame({key: self.results_[key] for key in columns})
        return frame.iloc[self._order()]

    def plot(self, ax=None):
        """Bar chart of the mean test score ± its standard deviation per loss.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : LossComparisonDisplay
            With ``ax_``, ``figure_`` and ``bars_`` (one bar per loss).
        """
        return LossComparisonDisplay.from_comparison(self, ax=ax)

    def _versus_best_text(self, i):
        """The "vs best" cell: the difference in mean score and its p-value."""
        r = self.results_
        if i == self.best_index_:
            return "best"
        p_value = r["p_value_vs_best"][i]
        return f"{r['delta_vs_best'][i]:+.4f}, p={p_value:.2g}"

    def _rows(self):
        r = self.results_
        tuned = "median_alpha" in r
        rows = []
        for i in self._order():
            if r["error"][i]:
                cells = [f"failed: {_first_line(r['error'][i])}", "", ""]
            else:
                cells = [f"{r['mean_test_score'][i]:.4f} ± {r['std_test_score'][i]:.4f}",
                         self._versus_best_text(i), f"{r['mean_fit_time'][i]:.3f}"]
            if tuned:
                cells.append("" if r["error"][i] else f"{r['median_alpha'][i]:.3g}")
            rows.append((str(r["rank_test_score"][i]), str(r["loss"][i]), *cells))
        return rows

    def __str__(self):
        header = ["rank", "loss", f"{self.scoring_} (mean ± std)", "vs best: Δ, p",
                  "fit time (s)"]
        if "median_alpha" in self.results_:
            header.append("alpha (median)")
        rows = self._rows()
        ok = [row for row in rows if row[4]]
        widths = [max(len(header[c]), *(len(row[c]) for row in (ok if c == 2 else rows)))
                  for c in range(len(header))]
        lines = [
            f"Losses ranked by {self.scoring_} (higher is better), "
            f"{self.n_splits_}-fold cross-validation"
        ]
        if self.tuning_:
            lines.append(f"({self.tuning_}; Δ and p against the best loss: corrected "
                         "resampled t-test, Nadeau & Bengio 2003)")
        for row in (header, *rows):
            line = (f"{row[0]:>4}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  "
                    f"{row[3]:<{widths[3]}}  {row[4]:>12}")
            if len(row) > 5:
                line += f"  {row[5]:>{widths[5]}}"
            lines.append(line.rstrip())
        return "\n".join(lines)

    __repr__ = __str__


# ---------------------------------------------------------------------------
# Display
# ---------------------------------------------------------------------------


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "Plotting needs matplotlib: pip install matplotlib (or sklosses[plot])."
        ) from exc
    return plt


class LossComparisonDisplay:
    """Horizontal bars of the cross-validated score per loss, best on top.

    In scikit-learn's Display style: build it with :meth:`from_comparison`
    (or :meth:`LossComparison.plot`), or with the arrays and call
    :meth:`plot`.

    Parameters
    ----------
    names : list of str
        Loss display names, best first.
    mean_scores, std_scores : array-like of shape (n_losses,)
        Mean and standard deviation of the test score per loss (NaN for a
        failed loss, drawn as an empty bar labelled "failed").
    scoring : str, default="score"
        The metric, for the axis label.
    notes : list of str, default=None
        A note written beside each bar (``from_comparison`` writes the
        difference to the best loss and its p-value, "Δ -0.012, p=0.03").

    Attributes
    ----------
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure
    bars_ : matplotlib BarContainer
        One bar per loss; ``bars_.errorbar`` holds the ± std lines.
    notes_ : list of matplotlib Text
        The notes drawn, one per bar that has one.
    """

    def __init__(self, names, mean_scores, std_scores, *, scoring="score", notes=None):
        self.names = list(names)
        self.mean_scores = np.asarray(mean_scores, dtype=float)
        self.std_scores = np.asarray(std_scores, dtype=float)
        self.scoring = scoring
        self.notes = notes

    @classmethod
    def from_comparison(cls, comparison, *, ax=None):
        """Plot a :class:`LossComparison`.

        Parameters
        ----------
        comparison : LossComparison
            The result of :func:`compare_losses`.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        display : LossComparisonDisplay
        """
        order = comparison._order()
        r = comparison.results_
        notes = []
        for i in order:
            if r["error"][i]:
                note = ""
            elif i == comparison.best_index_:
                note = "best"
            else:
                note = f"Δ {r['delta_vs_best'][i]:+.3g}, p={r['p_value_vs_best'][i]:.2g}"
            if note and "median_alpha" in r:
                note += f" (alpha {r['median_alpha'][i]:.2g})"
            notes.append(note)
        display = cls(
            [r["loss"][i] for i in order],
            r["mean_test_score"][order],
            r["std_test_score"][order],
            scoring=comparison.scoring_,
            notes=notes,
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        """Draw the bars.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        self : LossComparisonDisplay
        """
        plt = _pyplot()
        from matplotlib.transforms import blended_transform_factory  # noqa: PLC0415

        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 0.5 * len(self.names) + 1.5))
        failed = np.isnan(self.mean_scores)
        positions = np.arange(len(self.names))[::-1]  # best on top
        self.bars_ = ax.barh(
            positions,
            np.where(failed, 0.0, self.mean_scores),
            xerr=np.where(failed, 0.0, self.std_scores),
            capsize=3,
            color="tab:blue",
        )
        for position in positions[failed]:
            ax.annotate("failed", (0, position), va="center", xytext=(4, 0),
                        textcoords="offset points")
        ax.set_yticks(positions, labels=self.names)
        ax.set_xlabel(f"{self.scoring} (mean ± std over folds)")
        ax.axvline(0, color="black", linewidth=0.8)
        self.notes_ = []
        # Notes sit right of the axes, level with their bar, whatever the scores' sign.
        beside = blended_transform_factory(ax.transAxes, ax.transData)
        for position, note in zip(positions, self.notes or ()):
            if note:
                self.notes_.append(ax.text(1.02, position, note, transform=beside,
                                           va="center", fontsize="small"))
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

"""Regularisation paths: the alpha grid and a warm-started fit along it.

The cross-validated estimators (:mod:`sklosses._cv`) ask this module two
things: which alphas are worth trying on the data, and the scores of one
estimator fitted along those alphas on one fold, each fit starting from the
solution at the previous (larger) alpha.

Largest useful alpha, from the gradient of the data term at the best
constant model (weights zero, intercepts at ``loss.init_raw``):

- with an L1 part (``l1_ratio > 0``) zero weights are optimal exactly when
  ``alpha * l1_ratio >= ||grad_W||_inf`` (the subgradient condition of the
  penalty), so ``alpha_max = ||grad_W||_inf / l1_ratio`` is the smallest
  alpha at which every weight is zero, as ``LassoCV`` and glmnet use;
- with a pure L2 penalty no alpha gives exactly zero weights. At a large
  alpha the fit is about ``W = -grad_W / alpha``, which lowers the data term
  by about ``||grad_W||_2^2 / alpha`` below its value ``L_0`` at the best
  constant (the penalised optimum keeps about half of that).
  ``alpha_max = 10 * ||grad_W||_2^2 / L_0`` is the alpha at which that
  first-order gain is a tenth of ``L_0``: the fit is then close to the
  constant (on diabetes an R² of 0.06 for squared error), and the grid's
  lower end, 1e-4 times smaller, is practically unpenalised on data with
  many more samples than features. The ratio does not change when the target is
  rescaled (``grad`` and ``L_0`` scale together for squared error, and the
  fitted weights scale with the target for the robust losses), so the grid
  follows the data rather than its units.

Along an L1 / elastic-net path of a linear model whose loss has a Hessian
(``gradient_hessian``: log loss, Huber with a fixed scale, Poisson, ...),
each point after the first is a working-set proximal Newton fit from the
previous one (:class:`_WorkingSetPoints`), which keeps the previous
point's curvature, its column moments and its last gradient: usually one
or two evaluations per point and no new Hessian. Other L1 paths (no
Hessian, or Huber's joint scale) fit each point on the features the
sequential strong rule keeps, then check the KKT conditions on all of them
(:class:`_StrongRule`), so early points, where few weights are active,
touch few columns.

Along a regression path of one output on dense data with few features,
the robust losses have path solvers of their own, each point starting from
the previous one's solution: ``Huber(scale="joint")`` with any penalty, and
other smooth convex losses (log-cosh, Huber with a fixed ``delta``) with a
pure L2 penalty, by proximal Newton in standardised columns
(:class:`_SmoothPoints`, :mod:`~sklosses.solvers._smooth_path`; the joint
scale as a variable of its own); quantile and absolute error by small
globbed programs seeded by the previous point's residuals and certified by
the full problem's duality gap (:class:`_PiecewisePoints`,
:mod:`~sklosses.solvers._piecewise_path`). A point either solver cannot
finish is an ordinary warm-started ``fit``.

Along any path of a linear model whose loss is quadratic in the raw
prediction (squared error, squared log error: ``loss.has_constant_hessian``)
on dense data, the points after the first are solved exactly on the
weighted Gram matrix (:class:`~sklosses.solvers._quadratic_path.QuadraticPath`),
formed once per training fold, as ``LassoCV`` does: each point then costs
work in ``n_features``, not in ``n_samples``.

An MLP uses the grid of the linear model on the same data: the gradient of
its first layer at zero weights is zero, so the linear model's is the
data-derived scale that is left.
"""

import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import clone

from ._estimators import same_settings
from ._lagged_hessian import LaggedFeatureHessian
from ._objective import Objective
from ._preconditioning import ScaledProblem
from ._resolve import (
    FitProblem,
    resolve_loss,
    resolve_model,
    resolve_penalty,
    solver_incompatibility,
)
from .losses._piecewise import PiecewiseLinear
from .models import LinearModel
from .solvers import SolverResult
from .solvers import _piecewise_path as piecewise_path
from .solvers import _smooth_path as smooth_path
from .solvers._exact import _OutputProblem, _rows_float64, _ScaledDesign, relative_gap
from .solvers._newton import Newton
from .solvers._quadratic_path import QuadraticPath, quadratic_path_applies

# The grid spans alpha_max down to alpha_max * _GRID_RATIO (API.md section 6).
_GRID_RATIO = 1e-4
# Pure L2: the first-order gain of the fit at alpha_max, relative to the
# data term of the best constant model.
_L2_RELATIVE_GAIN = 0.1


def _gradient_at_constant(estimator, X, y, sample_weight):
    """Data term ``L_0`` and its gradient in the weights at the best constant model.

    The estimator's own encoding and weighting of the target are used, so
    that class labels, ``class_weight`` and multi-output targets enter as in
    its ``fit``.
    """
    est = clone(estimator)
    loss = resolve_loss(est.loss, est._task)
    X, y, sample_weight = est._validate_fit_data(X, y, sample_weight)
    y_enc, n_outputs = est._encode_target(y, loss)
    loss.validate_target(y_enc)
    sample_weight = est._combine_weights(y_enc, sample_weight)
    model = resolve_model((), "identity", X.shape[1], n_outputs, est.fit_intercept,
                          X.dtype)
    objective = Objective(loss, model, resolve_penalty(0.0, 0.0), X, y_enc, sample_weight)
    params = model.zeros()
    if est.fit_intercept:
        raw0 = np.asarray(loss.init_raw(y_enc, sample_weight), dtype=model.dtype)
        model.set_output_intercept(params, raw0)
    value, grad = objective.data_loss_gradient(params)
    return float(value), np.asarray(grad[objective.weights_slice], dtype=np.float64)


def largest_alpha(estimator, X, y, sample_weight=None, *, l1_ratio=0.0):
    """The largest useful alpha of a path (see the module docstring).

    Parameters
    ----------
    estimator : LossRegressor or LossClassifier
        Gives the loss, ``fit_intercept`` and the target encoding.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        Training data.
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Targets or class labels.
    sample_weight : ndarray of shape (n_samples,), default=None
        Per-sample weights.
    l1_ratio : float, default=0.0
        Share of the L1 part of the penalty.

    Returns
    -------
    alpha_max : float
        Positive and finite; 1.0 when the data give no scale (every weight's
        gradient is zero, e.g. constant features).

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses import LossRegressor
    >>> from sklosses._path import largest_alpha
    >>> X = np.array([[1.0], [2.0], [3.0], [4.0]])
    >>> y = np.array([1.0, 3.0, 2.0, 6.0])
    >>> largest_alpha(LossRegressor(), X, y, l1_ratio=1.0)  # 2 |x_c . y_c| / n
    3.5
    """
    value, grad = _gradient_at_constant(estimator, X, y, sample_weight)
    if l1_ratio > 0:
        alpha_max = float(np.max(np.abs(grad), initial=0.0)) / l1_ratio
    elif abs(value) > 0:
        alpha_max = float(grad @ grad) / (_L2_RELATIVE_GAIN * abs(value))
    else:  # the constant fits exactly: any alpha gives the same model
        alpha_max = 0.0
    if not (np.isfinite(alpha_max) and alpha_max > 0):
        return 1.0
    return alpha_max


def alpha_grid(estimator, X, y, sample_weight=None, *, l1_ratio=0.0, n_alphas=50):
    """``n_alphas`` values log-spaced from :func:`largest_alpha` down by 1e-4.

    Parameters
    ----------
    estimator : LossRegressor or LossClassifier
        As in :func:`largest_alpha`.
    X, y, sample_weight
        Training data, as in :func:`largest_alpha`.
    l1_ratio : float, default=0.0
        Share of the L1 part of the penalty.
    n_alphas : int, default=50
        Number of values.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        Decreasing, the order in which a path is fitted.
    """
    alpha_max = largest_alpha(estimator, X, y, sample_weight, l1_ratio=l1_ratio)
    if n_alphas == 1:
        return np.array([alpha_max])
    return np.geomspace(alpha_max, alpha_max * _GRID_RATIO, n_alphas)


def _take(a, rows):
    return None if a is None else a[rows]


def fit_path(estimator, X, y, sample_weight, train, test, alphas, scorer):
    """Fit ``estimator`` along ``alphas`` on ``train`` and score each fit on ``test``.

    Each fit starts from the previous one (``warm_start=True``), so the path
    costs little more than its hardest point. Weights, when given, go to every
    fit and to the scorer.

    Parameters
    ----------
    estimator : LossRegressor or LossClassifier
        Unfitted, with the loss and ``l1_ratio`` of the path; cloned.
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
        All the data.
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Targets or class labels.
    sample_weight : ndarray of shape (n_samples,) or None
        Per-sample weights.
    train, test : ndarray of int
        Rows of the training and the validation fold.
    alphas : array-like of float
        The path, in the order fitted (largest first for cheap warm starts).
    scorer : callable
        ``scorer(estimator, X, y[, sample_weight=...])``, greater is better.

    Returns
    -------
    outcome : dict
        ``test_score`` and ``fit_time`` (ndarray of shape (n_alphas,)),
        ``params`` (the flat parameters after each fit, a list),
        ``start`` (what :func:`warm_start_refit` needs to start a fit on all
        the data from these parameters, or None when a start from a fold
        would change what the refit finds) and ``warnings``: the distinct
        ``(category, message)`` raised, for the caller to re-emit in its own
        process.
    """
    est = clone(estimator).set_params(warm_start=True)
    # That a large alpha of the path flattens the fit is what the path is for:
    # its points skip the PenaltyDominatesWarning check (two passes over the
    # data each); the refit at the chosen alpha still makes it.
    est._path_point = True
    X_train, y_train, w_train = X[train], y[train], _take(sample_weight, train)
    X_test, y_test, w_test = X[test], y[test], _take(sample_weight, test)
    score_kwargs = {} if w_test is None else {"sample_weight": w_test}
    scores, fit_times, params = [], [], []
    if len(alphas) == 0:
        return {"test_score": np.array([]), "fit_time": np.array([]), "params": [],
                "start": None, "warnings": []}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k, alpha in enumerate(alphas):
            # A plain attribute (set_params inspects the signature each call,
            # which costs more than an exact solve on the Gram matrix).
            est.alpha = float(alpha)
            start = time.perf_counter()
            if k == 0:
                path_solver = _first_point(est, X_train, y_train, w_train)
                est._trust_input(X_test)
            else:
                path_solver.fit(float(alphas[k - 1]), float(alpha))
            fit_times.append(time.perf_counter() - start)
            params.append(est._flat_params())
            if not path_solver.params_only:
                scores.append(float(scorer(est, X_test, y_test, **score_kwargs)))
        if path_solver.params_only:
            scores = _score_points(est, params, scorer, X_test, y_test, score_kwargs)
    return {
        "test_score": np.asarray(scores, dtype=float),
        "fit_time": np.asarray(fit_times, dtype=float),
        "params": params,
        "start": _refit_start(est),
        "warnings": list(dict.fromkeys((w.category, str(w.message)) for w in caught)),
    }


def _first_point(est, X, y, sample_weight):
    """Fit the path's first point on ``X``; the solver of the points after it.

    An ordinary ``fit``, except for an L1 quantile (or absolute-error) path,
    whose first point is the vertex walk's
    (:meth:`_PiecewisePoints.from_constant`): from the best constant model,
    a cold fit's start and the optimum at (or a few pivots from) the grid's
    largest alpha, certified by the full problem's duality gap as any point
    of the walk.
    """
    path_solver = _PiecewisePoints.from_constant(est, X, y, sample_weight)
    if path_solver is None:
        est.fit(X, y, sample_weight=sample_weight)
        path_solver = _path_solver(est, X, y, sample_weight)
    return path_solver


def _refit_start(est):
    """What a refit needs to start from this path's parameters, or None.

    Only for a convex loss (``loss.is_convex``) on a linear model with a
    full-batch solver: the optimal value of the objective then does not
    depend on the start, and a start near it saves iterations. An MLP's
    refit starts afresh, as a user's own fit would, since its start chooses
    the local optimum; so do non-convex losses (focal, custom ones).
    """
    convex = getattr(est.loss_, "is_convex", False)
    if (not convex or len(est.hidden_layer_sizes) > 0 or est.early_stopping
            or est.solver not in _WARM_REFIT):
        return None
    return {"model": est._model, "settings": est._fitted_settings,
            "ravel_raw": est._ravel_raw}


def warm_start_refit(estimator, outcomes, index, X, y, sample_weight):
    """Fit ``estimator`` on all the data, started from the folds' solutions.

    The start is the mean of the folds' parameters at path point ``index``
    (each fold's solution at the chosen alpha, all close to the solution on
    all the data), among the folds fitted with the same model and classes;
    of several such groups, the one with the most classes (a fold may lack
    a rare class), then the largest. The fit itself is an ordinary ``fit``
    with ``warm_start``, whose ``_initial_params`` still starts afresh when
    the data's classes are not those of the folds. The estimator's own
    ``warm_start`` setting is kept.

    The refit reaches the optimal value of its objective within ``tol``, as
    a cold fit does; where that optimum is not unique (a linear program's
    flat face, separable classes at a tiny alpha) its coefficients may be
    another point of it than a cold fit's, and it may take more iterations
    than a cold fit rather than fewer.

    Parameters
    ----------
    estimator : LossRegressor or LossClassifier
        Unfitted, at the chosen loss, alpha and ``l1_ratio``.
    outcomes : list of dict
        :func:`fit_path` results of the chosen candidate, one per fold.
    index : int
        The chosen alpha's position on the path.
    X, y, sample_weight
        All the data, as given to ``fit``.

    Returns
    -------
    estimator : LossRegressor or LossClassifier
        Fitted.
    """
    starts = [o for o in outcomes if o.get("start") is not None and len(o["params"]) > index]
    if not starts:
        return estimator.fit(X, y, sample_weight=sample_weight)
    groups = []  # folds fitted with the same model and classes
    for outcome in starts:
        settings = outcome["start"]["settings"]
        group = next((g for g in groups
                      if same_settings(g[0]["start"]["settings"], settings)), None)
        if group is None:
            groups.append([outcome])
        else:
            group.append(outcome)

    def most_classes_then_folds(group):
        classes = group[0]["start"]["settings"]["classes"]
        return (0 if classes is None else len(classes), len(group))

    chosen = max(groups, key=most_classes_then_folds)
    first = chosen[0]["start"]
    estimator._fitted_settings = first["settings"]
    estimator.__dict__.update(estimator._fitted_attributes(
        np.mean([o["params"][index] for o in chosen], axis=0), loss=None,
        model=first["model"], ravel_raw=first["ravel_raw"]))
    user_warm_start = estimator.warm_start
    estimator.warm_start = True
    try:
        estimator.fit(X, y, sample_weight=sample_weight)
    finally:
        estimator.warm_start = user_warm_start
    return estimator


def _score_points(est, params, scorer, X_test, y_test, score_kwargs):
    """Scores of the path points when each is its parameters alone.

    The raw predictions of every point come from one product with the
    validation fold (reading it once rather than once per point). With the
    estimator's own score (:func:`own_score`) a regressor scores them all
    from those predictions at once (``_score_many``, the same R^2 numbers);
    otherwise the estimator takes each point's parameters and serves its
    predictions from them while the scorer runs.
    """
    own = scorer is own_score or scorer is type(est).score
    model = est._model
    # Points per product: the predictions of a chunk stay within ~64 MB.
    per_point = 8 * X_test.shape[0] * model.n_outputs
    chunk = max(1, int(_SCORE_MEMORY // max(per_point, 1)))
    scores = []
    for first in range(0, len(params), chunk):
        points = params[first: first + chunk]
        raws = model.predict_raw_many(
            [np.asarray(p, dtype=model.dtype) for p in points], X_test)
        many = (est._score_many(raws, y_test, score_kwargs.get("sample_weight"))
                if own and hasattr(est, "_score_many") else None)
        if many is not None:
            scores.extend(float(s) for s in many)
            continue
        for point, raw in zip(points, raws):
            est.__dict__.update(est._fitted_attributes(
                point, loss=est.loss_, model=model, ravel_raw=est._ravel_raw))
            est._trusted_raw = raw.ravel() if est._ravel_raw else raw
            try:
                scores.append(float(scorer(est, X_test, y_test, **score_kwargs)))
            finally:
                del est._trusted_raw
    return scores


_SCORE_MEMORY = 64 * 2**20


def own_score(estimator, X, y, sample_weight=None):
    """The estimator's own ``score``: the scorer of ``scoring=None``.

    A plain function (it pickles to joblib's workers) that the path
    recognises, so that it may score all its points in one pass.
    """
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    return estimator.score(X, y, **kwargs)


# Solvers whose fits the path may replace by an exact solve of the same
# objective: the full-batch ones (a minibatch solver asked for by name is
# what the user wants to see along the path).
_FULL_BATCH = ("auto", "lbfgs", "proximal", "newton")
# Solvers whose refit may start from the folds: the deterministic full-batch
# ones (a warm start changes what a minibatch run sees, not only its start).
_WARM_REFIT = (*_FULL_BATCH, "exact")


def _path_solver(est, X, y, sample_weight):
    """How the points after the first are fitted, given the first fit ``est``.

    The exact Gram-matrix solve when the data term is quadratic, else the
    globbed programs of a one-kink piecewise-linear loss, else proximal
    Newton for joint-scale Huber and smooth L2 regression paths, else the
    working set or the strong rule for an L1 part, else a warm-started
    ``fit`` each time.
    """
    full_batch = (len(est.hidden_layer_sizes) == 0 and not est.early_stopping
                  and est.solver in _FULL_BATCH)
    if full_batch and quadratic_path_applies(est.loss_, est._model, X):
        return _QuadraticPoints(est, X, y, sample_weight)
    if piecewise_path_applies(est, X):
        return _PiecewisePoints(est, X, y, sample_weight)
    if full_batch and smooth_path_applies(est, X):
        return _SmoothPoints(est, X, y, sample_weight)
    if full_batch and est.l1_ratio > 0 and working_set_applies(est, X):
        return _WorkingSetPoints(est, X, y, sample_weight)
    if full_batch and est.l1_ratio > 0 and est.solver != "newton":
        return _StrongRule(est, X, y, sample_weight)
    return _WarmFits(est, X, y, sample_weight)


def piecewise_path_applies(est, X):
    """Whether the path points of fitted ``est`` on ``X`` go to :class:`_PiecewisePoints`.

    The first point was fitted by the exact solver (``solver`` ``"auto"`` or
    ``"exact"``; it set ``duality_gap_``), on a plain linear model of one
    output and dense data, and the loss has one kink between slopes of
    opposite signs with one scale (quantile, absolute error:
    :func:`~sklosses.solvers._piecewise_path.applies`).
    """
    loss = est.loss_
    if (est.solver not in ("auto", "exact") or not hasattr(est, "duality_gap_")
            or type(est._model) is not LinearModel or est._model.n_outputs != 1
            or sp.issparse(X) or getattr(loss, "n_levels", 1) > 1
            or not hasattr(loss, "piecewise_linear")):
        return False
    form = loss.piecewise_linear(np.zeros(1))
    return isinstance(form, PiecewiseLinear) and piecewise_path.applies(form, X)


def smooth_path_applies(est, X):
    """Whether the path points of fitted ``est`` on ``X`` go to :class:`_SmoothPoints`.

    A regression of one output on a plain linear model with ``solver``
    ``"auto"`` or ``"newton"``, on dense data of at most
    ``_SMOOTH_PATH_MAX_FEATURES`` columns (:func:`~sklosses.solvers._smooth_path.applies`),
    and either ``Huber(scale="joint")`` with any penalty or another smooth
    convex loss with a pure L2 penalty: an L1 path of those keeps
    :class:`_WorkingSetPoints`, which screens features.
    """
    loss = est.loss_
    if (est._task != "regression" or est.solver not in ("auto", "newton")
            or type(est._model) is not LinearModel):
        return False
    if not (getattr(loss, "has_joint_scale", False) or est.l1_ratio == 0):
        return False
    problem = FitProblem(loss=loss, penalty=resolve_penalty(1.0, est.l1_ratio))
    if (not getattr(loss, "has_joint_scale", False)
            and solver_incompatibility("newton", problem) is not None):
        return False
    return smooth_path.applies(loss, est._model, X, _SMOOTH_PATH_MAX_FEATURES)


# Most features for a dense Newton path: each step forms a (p + 2)-square
# Hessian from all the fold's rows.
_SMOOTH_PATH_MAX_FEATURES = 100


def working_set_applies(est, X):
    """Whether the path points of fitted ``est`` on ``X`` go to :class:`_WorkingSetPoints`.

    A convex loss with a Hessian (``gradient_hessian``, so that Newton can
    fit it) on a plain linear model, without a scale fitted with the model
    (Huber's ``scale="joint"`` is a joint problem in the scale, fitted by
    its own solver, and keeps the strong rule), and ``solver`` ``"auto"``
    or ``"newton"``: a solver named otherwise is what the user asked to see
    along the path. Only on tall data of at most
    ``_WORKING_SET_MAX_FEATURES`` features, where it was measured: the
    Hessian blocks grow with the square of the active set, which on wide
    data can approach ``n_features``.
    """
    loss = est.loss_
    n_samples, n_features = X.shape
    if (est.solver not in ("auto", "newton") or type(est._model) is not LinearModel
            or n_features > _WORKING_SET_MAX_FEATURES or n_samples < n_features
            or not getattr(loss, "is_convex", False)
            or getattr(loss, "has_joint_scale", False)):
        return False
    problem = FitProblem(loss=loss, penalty=resolve_penalty(1.0, est.l1_ratio))
    return solver_incompatibility("newton", problem) is None


# Most features for a working-set path (measured up to p=500, n=4e4: its
# blocks on all features are a p x p matrix and one n p^2 product).
_WORKING_SET_MAX_FEATURES = 1000


def _data_inputs(est, X, y, sample_weight):
    """``X``, the encoded target and the weights exactly as ``est.fit`` sees them."""
    Xv, yv, sw = est._validate_fit_data(X, y, sample_weight, reset=False)
    y_enc, _ = est._encode_target(yv, est.loss_)
    return Xv, y_enc, est._combine_weights(y_enc, sw)


class _WarmFits:
    """Each point is ``est.fit`` from the previous solution (``warm_start``)."""

    #: Whether a point's parameters are all of its fitted state (no fitted
    #: scale in the loss, ...), so that points can be scored after the path.
    params_only = False

    def __init__(self, est, X, y, sample_weight):
        self.est, self.X, self.y, self.sample_weight = est, X, y, sample_weight

    def fit(self, alpha_old, alpha_new):
        self.est.fit(self.X, self.y, sample_weight=self.sample_weight)


class _QuadraticPoints(_WarmFits):
    """Each point is the exact optimum on the Gram matrix, or a warm fit when it
    cannot be certified (a singular system, rounding)."""

    params_only = True  # a loss with a constant Hessian has no fitted state

    def __init__(self, est, X, y, sample_weight):
        super().__init__(est, X, y, sample_weight)
        Xv, y_enc, sw = _data_inputs(est, X, y, sample_weight)
        self.solver = QuadraticPath(est.loss_, est._model, Xv, y_enc, sw)

    def fit(self, alpha_old, alpha_new):
        est = self.est
        params = self.solver.solve(alpha_new, est.l1_ratio, est._flat_params())
        if params is None:
            super().fit(alpha_old, alpha_new)
            return
        est.__dict__.update(est._fitted_attributes(
            params, loss=est.loss_, model=est._model, ravel_raw=est._ravel_raw))
        est.n_iter_ = self.solver.n_iter_


class _PiecewisePoints(_WarmFits):
    """Each point by globbed programs seeded by the previous point's residuals
    (:class:`~sklosses.solvers._piecewise_path.PiecewisePath`), certified by the
    full problem's duality gap; a warm exact fit where they do not certify it."""

    params_only = True  # a piecewise-linear loss has no fitted state

    def __init__(self, est, X, y, sample_weight, *, setup=None):
        super().__init__(est, X, y, sample_weight)
        if setup is None:
            Xv, y_enc, sw = _data_inputs(est, X, y, sample_weight)
            objective = Objective(est.loss_, est._model, resolve_penalty(0.0, 0.0),
                                  Xv, y_enc, sw)
        else:
            # (objective, y_enc) of the first point's fit, before it stores est.loss_.
            objective, y_enc = setup
        weight = objective._normalised_weight
        keep = weight > 0
        rows = _rows_float64(objective.X, keep)
        w = np.asarray(weight[keep], dtype=float)
        form = piecewise_path.output_form(objective.loss, y_enc)
        form = PiecewiseLinear(knots=form.knots, slopes=form.slopes, offset=form.offset[keep],
                               scale=form.scale[keep],
                               value_at_first_knot=form.value_at_first_knot)
        # The full rows' design, made at the first program that needs it (a
        # path walked from vertex to vertex needs none).
        full_design = []

        def make_problem(part_X, part_form, part_weight, penalty):
            if part_X is not rows:
                design = _ScaledDesign(part_X, part_weight, fit_intercept=est.fit_intercept)
            else:
                if not full_design:
                    full_design.append(_ScaledDesign(rows, w, fit_intercept=est.fit_intercept))
                design = full_design[0]
            return _OutputProblem(design, part_form, part_weight, penalty)

        self.path = piecewise_path.PiecewisePath(rows, form, w, fit_intercept=est.fit_intercept,
                                                 make_problem=make_problem)

    @classmethod
    def from_constant(cls, est, X, y, sample_weight):
        """Fit ``est``'s first point from the best constant model; the path solver, or None.

        At the grid's largest alpha an L1 quantile fit's optimum is its best
        constant model (weights zero, the intercept at the targets' weighted
        quantile: ``loss.init_raw``), the start of a cold fit, or a few
        pivots from it (the grid's alpha_max is measured with one
        subgradient of the kinked loss). ``est`` is fitted by its own fit
        path (``_BaseEstimator._fit_path``: the same checks, validation,
        encoding and fitted attributes) with the point solved by the
        vertex walk from that start
        (:class:`~sklosses.solvers._vertex_path.VertexPath`, certified by
        the full problem's duality gap), not by the interior-point solver;
        a walk that cannot finish it leaves it to that solver, which
        starts from the same point. At another first alpha (a grid of the
        user's) the walk goes from the constant to it.

        Only where the exact solver would fit the point and its path would
        be :class:`_PiecewisePoints`: ``solver`` ``"auto"`` or ``"exact"``
        resolving to it, a pure L1 penalty, one target, dense ``X``, a
        linear model without callbacks (a ``fit`` reports to them). None,
        before anything is fitted (``est`` is then left to its ``fit``),
        where the estimator or ``X`` rules the walk out; where the loss,
        the target or the solver does, ``est`` is fitted by its solver and
        the path solver is :func:`_path_solver`'s.
        """
        if (est._task != "regression" or est.l1_ratio != 1.0 or est.alpha <= 0
                or len(est.hidden_layer_sizes) > 0 or est.early_stopping
                or est.solver not in ("auto", "exact") or sp.issparse(X)
                or hasattr(est, "_skl_callbacks") or hasattr(est, "_parent_callback_ctx")):
            return None
        made = []

        def solve(objective, y_enc, solver, x0):
            loss = objective.loss
            if (solver.name != "exact" or objective.model.n_outputs != 1
                    or np.ndim(y_enc) != 1 or getattr(loss, "n_levels", 1) > 1
                    or not hasattr(loss, "piecewise_linear")):
                return None
            form = loss.piecewise_linear(np.zeros(1))
            if not (isinstance(form, PiecewiseLinear)
                    and piecewise_path.applies(form, objective.X)):
                return None
            made.append(cls(est, X, y, sample_weight, setup=(objective, y_enc)))
            # x0 is a cold fit's start (est is a fresh clone: no previous solution).
            fit = made[-1].path.solve_from_start(objective.penalty,
                                                np.asarray(x0, dtype=np.float64),
                                                est.tol, est.max_iter)
            if fit is None:
                return None
            return SolverResult(x=fit.beta, n_iter=int(fit.n_iter), loss_curve=list(fit.curve),
                                converged=fit.converged, message=fit.message,
                                gap=float(relative_gap([fit])))

        est._fit_path(X, y, sample_weight, incremental=False, solve=solve)
        return made[-1] if made else _path_solver(est, X, y, sample_weight)

    def fit(self, alpha_old, alpha_new):
        est = self.est
        penalty = resolve_penalty(alpha_new, est.l1_ratio)
        start = np.asarray(est._flat_params(), dtype=np.float64)
        fit = self.path.solve(penalty, start, est.tol, est.max_iter)
        if fit is None:
            super().fit(alpha_old, alpha_new)
            return
        est.__dict__.update(est._fitted_attributes(
            fit.beta, loss=est.loss_, model=est._model, ravel_raw=est._ravel_raw))
        est.duality_gap_ = float(relative_gap([fit]))
        est.n_iter_ = int(fit.n_iter)


class _SmoothPoints(_WarmFits):
    """Each point by proximal Newton from the previous solution, on the fold's
    standardised columns (:class:`~sklosses.solvers._smooth_path.SmoothPath`),
    or a warm fit where that does not converge."""

    params_only = True  # a joint scale is refitted at every point, not scored

    def __init__(self, est, X, y, sample_weight):
        super().__init__(est, X, y, sample_weight)
        Xv, y_enc, sw = _data_inputs(est, X, y, sample_weight)
        self.data = (Xv, y_enc, sw)
        self.solver = smooth_path.SmoothPath(est.loss_, Xv, y_enc, sw,
                                             fit_intercept=est.fit_intercept, tol=est.tol)

    def fit(self, alpha_old, alpha_new):
        est = self.est
        loss = est.loss_
        sigma = getattr(loss, "scale_", None)
        params = self.solver.solve(alpha_new, est.l1_ratio, est._flat_params(),
                                   None if sigma is None else float(np.ravel(sigma)[0]))
        if params is None:
            super().fit(alpha_old, alpha_new)
            return
        est.__dict__.update(est._fitted_attributes(
            params, loss=loss, model=est._model, ravel_raw=est._ravel_raw))
        if self.solver.joint:
            # The joint optimum's scale (within tol): it starts the next
            # point; a refit at the chosen alpha fits its own.
            loss.scale_ = self.solver.scale_
        est.n_iter_ = max(int(self.solver.n_iter_), 1)


class _WorkingSetPoints(_WarmFits):
    """Each point by working-set proximal Newton from the previous solution.

    The points share one fold's data as the estimator's ``fit`` sees it,
    one set of column moments (``ScaledProblem(like=...)``) and one
    :class:`~sklosses._lagged_hessian.LaggedFeatureHessian`, whose blocks
    are refreshed only when the steps stop contracting (4 times in 49
    points of L1 logistic at n=4e4, p=500): a point costs one or two
    Newton steps of one evaluation each, with no validation, column pass
    or screening of its own. The solver stops on the full problem's tests
    (:mod:`~sklosses.solvers._working_set`), so a point is the optimum a
    cold fit at that alpha reaches within ``tol``; one that does not
    converge warns as its ``fit`` would.
    """

    params_only = True  # no fitted state beyond the parameters (no joint scale)

    def __init__(self, est, X, y, sample_weight):
        super().__init__(est, X, y, sample_weight)
        self.data = _data_inputs(est, X, y, sample_weight)
        self.solver = Newton(max_iter=est.max_iter, tol=est.tol)
        self._problem = None
        objective = Objective(est.loss_, est._model, resolve_penalty(0.0, 0.0), *self.data)
        # The working set's Hessian blocks carry over from one alpha to the next.
        self._lagged = (LaggedFeatureHessian(objective)
                        if LaggedFeatureHessian.applies(objective) else None)

    def fit(self, alpha_old, alpha_new):
        est = self.est
        objective = Objective(est.loss_, est._model,
                              resolve_penalty(alpha_new, est.l1_ratio), *self.data)
        x0 = est._flat_params().astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            problem = ScaledProblem(objective, x0, balance_outputs=False,
                                    first_evaluation=False, like=self._problem)
        if self._problem is not None and est.l1_ratio == 1.0:
            # Without an L2 part the smooth part and its variables do not
            # change with alpha: the previous point's last gradient is this
            # one's first.
            problem.start_from(self._problem, x0)
        self._problem = problem
        with np.errstate(under="ignore"):
            result = self.solver.solve_scaled(problem, x0, lagged_hessian=self._lagged)
        est._check_result(result, est.loss_, self.solver)
        if not result.converged:
            est._warn_not_converged(result, est.loss_, self.solver)
        est.__dict__.update(est._fitted_attributes(
            result.x, loss=est.loss_, model=est._model, ravel_raw=est._ravel_raw))
        est.n_iter_ = int(result.n_iter)


class _StrongRule(_WarmFits):
    """Fit a linear L1 / elastic-net path point on the features that can be active.

    The sequential strong rule (Tibshirani et al., 2012): going from
    ``alpha_old`` to ``alpha_new``, a feature whose weights are zero and whose
    data-term gradient satisfies ``max_k |g_jk| < l1_ratio * (2 alpha_new -
    alpha_old)`` at the previous solution is very likely zero at the new one.
    The point is fitted on the other features only (warm-started), then the
    KKT condition ``max_k |g_jk| <= alpha_new * l1_ratio`` (+ ``tol``) is
    checked on every feature left out; violators join and the fit repeats,
    so the result is the optimum of the full problem, not of the screened
    one. Early path points touch a few columns instead of all of them.

    References
    ----------
    R. Tibshirani, J. Bien, J. Friedman, T. Hastie, N. Simon, J. Taylor and
    R. Tibshirani, "Strong rules for discarding predictors in lasso-type
    problems", J. Royal Statistical Society B 74(2), 245-266 (2012).
    """

    def __init__(self, est, X, y, sample_weight):
        super().__init__(est, X, y, sample_weight)
        Xv, y_enc, sw = _data_inputs(est, X, y, sample_weight)
        self.objective = Objective(est.loss_, est._model, resolve_penalty(0.0, 0.0), Xv,
                                   y_enc, sw)
        model = est._model
        self.shape = (model.n_outputs, model.n_features)
        # (parameters, their feature gradient) of the last KKT check: the
        # next point's screening needs the gradient at those same parameters.
        self._checked = None

    def _gradient_at(self, params):
        """:meth:`_feature_gradient`, reusing the last KKT check's when at its point."""
        if self._checked is not None:
            checked, gradient = self._checked
            if np.array_equal(checked.astype(params.dtype), params):
                return gradient
        return self._feature_gradient(params)

    def _feature_gradient(self, params):
        """``max_k |d data / d W_kj|`` per feature j at ``params``."""
        grad = self.objective.data_loss_gradient(params)[1][self.objective.weights_slice]
        return np.abs(np.asarray(grad, dtype=np.float64).reshape(self.shape)).max(axis=0)

    def fit(self, alpha_old, alpha_new):
        est = self.est
        previous = est._flat_params()
        n_weights = self.objective.weights_slice.stop
        weights = previous[:n_weights].reshape(self.shape)
        gradient = self._gradient_at(previous)
        l1 = est.l1_ratio
        keep = np.any(weights != 0, axis=0) | (gradient >= l1 * (2 * alpha_new - alpha_old))
        while True:
            if keep.sum() > 0.5 * keep.size:  # screening saves little: fit everything
                super().fit(alpha_old, alpha_new)
                return
            params = self._fit_subset(np.flatnonzero(keep), previous)
            checked = self._feature_gradient(params)
            violators = ~keep & (checked > alpha_new * l1 + est.tol)
            if not violators.any():
                break
            keep |= violators
        self._checked = (params, checked)
        est.__dict__.update(est._fitted_attributes(
            params, loss=self._sub.loss_, model=est._model, ravel_raw=est._ravel_raw))
        est.n_iter_ = self._sub.n_iter_

    def _fit_subset(self, columns, previous):
        """Fit on ``X[:, columns]`` from ``previous``; the full flat parameters."""
        est = self.est
        n_weights = self.objective.weights_slice.stop
        weights = previous[:n_weights].reshape(self.shape)
        sub_model = resolve_model((), est.activation, columns.size, self.shape[0],
                                  est.fit_intercept, est._model.dtype)
        start = np.concatenate([weights[:, columns].ravel(), previous[n_weights:]])
        sub = clone(est)
        sub._path_point = True
        sub.__dict__.update(est._fitted_attributes(
            start, loss=est.loss_, model=sub_model, ravel_raw=est._ravel_raw))
        sub.fit(self.X[:, columns], self.y, sample_weight=self.sample_weight)
        self._sub = sub
        fitted = sub._flat_params()
        full = np.zeros_like(previous)
        full_weights = full[:n_weights].reshape(self.shape)
        full_weights[:, columns] = fitted[: sub_model.n_weights].reshape(
            self.shape[0], columns.size)
        full[n_weights:] = fitted[sub_model.n_weights:]
        return full

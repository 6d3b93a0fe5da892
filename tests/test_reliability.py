"""Reliability: bad input, numerical edge cases, determinism.

``ERRORS`` and ``WARNINGS`` are the executable form of
``docs/input_validation.rst``: every case is triggered here, its message is
checked, and the same stable fragment of the message is looked up in the
document, so that the document cannot drift away from the code.
"""

import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from _contract_losses import KinkedLoss
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import SGDRegressor
from sklearn.metrics import log_loss, recall_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sklosses
from sklosses import (
    ConformalRegressor,
    LossClassifier,
    LossRegressor,
    PenaltyDominatesWarning,
    make_loss,
)
from sklosses.losses import Focal, GradientCheckWarning, Huber, Quantile, Tweedie

DOC = Path(__file__).resolve().parents[1] / "docs" / "input_validation.rst"

RNG = np.random.RandomState(0)
X = RNG.randn(30, 3)
Y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * RNG.randn(30)
LABELS = (X[:, 0] > 0).astype(int)
COUNTS = RNG.poisson(np.exp(X[:, 0]))


def _replaced(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


def _two_calls(first, second):
    def run():
        est = first()
        second(est)

    return run


def _squared(y, p):
    return (y - p) ** 2


def _wrong_gradient(y, p):
    return y - p  # the right one is 2 * (p - y)


def _mean_squared(y, p):
    return np.mean((y - p) ** 2)  # not element-wise


def _conjugate_square(y, p):
    # Equals (y - p) ** 2 on reals, but conj is not complex-analytic: the
    # complex step sees the derivative with the wrong sign.
    return np.conj(y - p) ** 2


def _subtract_in_place(y, p):
    y -= p
    return y**2


def _nan_above_five(y, p):
    return np.where(np.abs(p) > 0.5, np.nan, (y - p) ** 2)


def _rounded(y, p):
    return np.round((y - p) ** 2).astype(int)


def _linear(y, p):
    return p - y


# (id, thunk, exception, fragment): the fragment is a stable, data-free part of
# the message and appears verbatim in docs/input_validation.rst.
ERRORS = [
    # -- data ------------------------------------------------------------
    ("nan_in_X", lambda: LossRegressor().fit(_replaced(X, (0, 0), np.nan), Y),
     ValueError, "Input X contains NaN"),
    ("inf_in_X", lambda: LossRegressor().fit(_replaced(X, (0, 0), np.inf), Y),
     ValueError, "Input X contains infinity or a value too large"),
    ("nan_in_y", lambda: LossRegressor().fit(X, _replaced(Y, 0, np.nan)),
     ValueError, "Input y contains NaN"),
    ("inf_in_y", lambda: LossRegressor().fit(X, _replaced(Y, 0, np.inf)),
     ValueError, "Input y contains infinity or a value too large"),
    ("empty_X", lambda: LossRegressor().fit(X[:0], Y[:0]),
     ValueError, "Found array with 0 sample(s)"),
    ("inconsistent_lengths", lambda: LossRegressor().fit(X, Y[:-1]),
     ValueError, "Found input variables with inconsistent numbers of samples"),
    ("string_y_in_regressor",
     lambda: LossRegressor().fit(X, np.where(LABELS, "a", "b").astype(object)),
     ValueError, "could not convert string to float: 'a'"),
    ("predict_wrong_n_features", lambda: LossRegressor().fit(X, Y).predict(X[:, :2]),
     ValueError, "X has 2 features, but LossRegressor is expecting 3 features"),
    ("predict_before_fit", lambda: LossRegressor().predict(X),
     NotFittedError, "This LossRegressor instance is not fitted yet"),
    # -- targets outside the loss's domain ---------------------------------
    ("poisson_negative_y", lambda: LossRegressor(loss="poisson").fit(X, Y),
     ValueError, "Poisson requires y >= 0 (found min y ="),
    ("gamma_zero_y", lambda: LossRegressor(loss="gamma").fit(X, np.abs(Y) * 0),
     ValueError, "Gamma requires y > 0 (found min y ="),
    ("tweedie_negative_y", lambda: LossRegressor(loss="tweedie").fit(X, Y),
     ValueError, "Tweedie requires y >= 0 for power=1.5 (found min y ="),
    ("squared_log_error_y_below_-1",
     lambda: LossRegressor(loss="squared_log_error").fit(X, Y - 10),
     ValueError, "SquaredLogError requires y > -1 (found min y ="),
    ("kl_divergence_1d_y", lambda: LossRegressor(loss="kl_divergence").fit(X, np.abs(Y)),
     ValueError, "KLDivergence requires y of shape (n_samples, n_classes) whose rows are "
     "probability distributions"),
    ("kl_divergence_negative_y",
     lambda: LossRegressor(loss="kl_divergence").fit(X, np.c_[Y, 1 - Y]),
     ValueError, "KLDivergence requires y >= 0 (found min y ="),
    ("kl_divergence_rows_not_summing_to_1",
     lambda: LossRegressor(loss="kl_divergence").fit(X, np.c_[np.abs(Y), np.abs(Y)]),
     ValueError, "KLDivergence requires rows of y that sum to 1"),
    ("continuous_y_in_classifier", lambda: LossClassifier().fit(X, Y),
     ValueError, "Unknown label type: continuous"),
    ("single_class", lambda: LossClassifier().fit(X, np.zeros(30)),
     ValueError, "LossClassifier needs samples of at least 2 classes; y has only 1 class"),
    # -- the loss -----------------------------------------------------------
    ("unknown_loss_name", lambda: LossRegressor(loss="hubr").fit(X, Y),
     ValueError, "Unknown loss 'hubr'. Valid loss names for regression:"),
    ("loss_not_a_loss", lambda: LossRegressor(loss=len).fit(X, Y),
     ValueError, "loss must be a loss name or a sklosses loss object"),
    ("classification_loss_in_regressor", lambda: LossRegressor(loss="hinge").fit(X, Y),
     ValueError, "Loss 'hinge' is a classification loss; use it with LossClassifier"),
    ("regression_loss_in_classifier", lambda: LossClassifier(loss="huber").fit(X, LABELS),
     ValueError, "Loss 'huber' is a regression loss; use it with LossRegressor"),
    ("loss_parameter_out_of_range", lambda: LossRegressor(loss=Huber(delta=-1)).fit(X, Y),
     ValueError, "Huber requires delta > 0"),
    ("tweedie_power_between_0_and_1",
     lambda: LossRegressor(loss=Tweedie(power=0.5)).fit(X, np.abs(Y)),
     ValueError, "Tweedie requires power <= 0 or power >= 1"),
    ("focal_alpha_out_of_range", lambda: LossClassifier(loss=Focal(alpha=2.0)).fit(X, LABELS),
     ValueError, "Focal: alpha must be a real number in [0, 1]"),
    ("custom_loss_not_elementwise", lambda: LossRegressor(loss=make_loss(_mean_squared)).fit(X, Y),
     ValueError, "func must return one value per element of y_pred"),
    # -- hyper-parameters ---------------------------------------------------
    ("alpha_negative", lambda: LossRegressor(alpha=-1).fit(X, Y),
     ValueError, "alpha must be in [0, inf], got -1."),
    ("alpha_not_a_number", lambda: LossRegressor(alpha="1").fit(X, Y),
     ValueError, "alpha must be a number, got '1'."),
    ("l1_ratio_above_1", lambda: LossRegressor(l1_ratio=1.5).fit(X, Y),
     ValueError, "l1_ratio must be in [0, 1], got 1.5."),
    ("unknown_solver", lambda: LossRegressor(solver="bfgs").fit(X, Y),
     ValueError, "solver must be one of 'auto', 'lbfgs', 'proximal', 'sgd', 'adam'"),
    ("newton_with_mlp",
     lambda: LossRegressor(solver="newton", hidden_layer_sizes=(4,)).fit(X, Y),
     ValueError, "solver='newton' cannot fit loss SquaredError(): this solver fits linear "
     "models only."),
    ("newton_with_nonsmooth_loss",
     lambda: LossRegressor(loss="absolute_error", solver="newton").fit(X, Y),
     ValueError, "solver='newton' cannot fit loss AbsoluteError(): the loss is not smooth "
     "and this solver needs second derivatives"),
    ("unknown_activation", lambda: LossRegressor(activation="gelu").fit(X, Y),
     ValueError, "activation must be one of 'relu', 'tanh', 'logistic', 'identity'"),
    ("hidden_layer_sizes_not_a_tuple", lambda: LossRegressor(hidden_layer_sizes=5).fit(X, Y),
     ValueError, "hidden_layer_sizes must be a tuple of positive integers"),
    ("hidden_layer_sizes_zero", lambda: LossRegressor(hidden_layer_sizes=(0,)).fit(X, Y),
     ValueError, "hidden_layer_sizes must contain positive integers"),
    ("learning_rate_zero", lambda: LossRegressor(learning_rate=0).fit(X, Y),
     ValueError, "learning_rate must be in (0, inf], got 0."),
    ("batch_size_zero", lambda: LossRegressor(batch_size=0).fit(X, Y),
     ValueError, "batch_size must be in [1, inf], got 0."),
    ("batch_size_not_an_integer", lambda: LossRegressor(batch_size=2.5).fit(X, Y),
     ValueError, "batch_size must be an integer, got 2.5."),
    ("max_iter_zero", lambda: LossRegressor(max_iter=0).fit(X, Y),
     ValueError, "max_iter must be in [1, inf], got 0."),
    ("tol_negative", lambda: LossRegressor(tol=-1).fit(X, Y),
     ValueError, "tol must be in [0, inf], got -1."),
    ("validation_fraction_1", lambda: LossRegressor(validation_fraction=1.0).fit(X, Y),
     ValueError, "validation_fraction must be in (0, 1), got 1.0."),
    ("n_iter_no_change_zero", lambda: LossRegressor(n_iter_no_change=0).fit(X, Y),
     ValueError, "n_iter_no_change must be in [1, inf], got 0."),
    ("verbose_negative", lambda: LossRegressor(verbose=-1).fit(X, Y),
     ValueError, "verbose must be in [0, inf], got -1."),
    ("early_stopping_full_batch_solver",
     lambda: LossRegressor(early_stopping=True, solver="lbfgs").fit(X, Y),
     ValueError, "early_stopping=True needs solver='sgd' or 'adam'"),
    ("early_stopping_all_weight_held_out",
     lambda: LossRegressor(early_stopping=True, validation_fraction=0.5).fit(
         X[:2], Y[:2], sample_weight=[1.0, 0.0]),
     ValueError, "row of the split has zero sample_weight"),
    ("solver_cannot_fit_loss", lambda: LossRegressor(loss=KinkedLoss(), solver="lbfgs").fit(X, Y),
     ValueError, "solver='lbfgs' cannot fit loss KinkedLoss(): the loss is not smooth and "
     "declares no smoothed surrogate"),
    # -- sample_weight and class_weight -------------------------------------
    ("sample_weight_negative", lambda: LossRegressor().fit(X, Y, sample_weight=-np.ones(30)),
     ValueError, "Negative values in data passed to"),
    ("sample_weight_all_zero", lambda: LossRegressor().fit(X, Y, sample_weight=np.zeros(30)),
     ValueError, "Sample weights must contain at least one non-zero number"),
    ("sample_weight_nan",
     lambda: LossRegressor().fit(X, Y, sample_weight=_replaced(np.ones(30), 0, np.nan)),
     ValueError, "Input sample_weight contains NaN"),
    ("sample_weight_wrong_length", lambda: LossRegressor().fit(X, Y, sample_weight=np.ones(3)),
     ValueError, "sample_weight.shape == (3,), expected (30,)!"),
    ("sample_weight_one_class_left",
     lambda: LossClassifier().fit(X, LABELS, sample_weight=LABELS.astype(float)),
     ValueError, "sample_weight is zero for every sample but those of 1 class"),
    ("class_weight_unknown_label",
     lambda: LossClassifier(class_weight={5: 2.0}).fit(X, LABELS),
     ValueError, "class_weight names labels [5] that are not in y"),
    ("class_weight_invalid", lambda: LossClassifier(class_weight="even").fit(X, LABELS),
     ValueError, "class_weight must be 'balanced', a dict {label: weight} or None"),
    # -- partial_fit --------------------------------------------------------
    ("partial_fit_without_classes", lambda: LossClassifier().partial_fit(X, LABELS),
     ValueError, "classes must be given on the first call to partial_fit"),
    ("partial_fit_one_class", lambda: LossClassifier().partial_fit(X, LABELS, classes=[0]),
     ValueError, "has fewer than 2 classes; a classifier needs at least 2"),
    ("partial_fit_label_not_in_classes",
     lambda: LossClassifier().partial_fit(X, LABELS + 1, classes=[0, 1]),
     ValueError, "y contains labels [2] that are not in classes_=[0, 1]"),
    ("partial_fit_classes_changed", _two_calls(
        lambda: LossClassifier().partial_fit(X, LABELS, classes=[0, 1]),
        lambda est: est.partial_fit(X, LABELS, classes=[0, 1, 2])),
     ValueError, "is not the same as classes_=[0, 1] fixed by the first call"),
    ("partial_fit_features_changed", _two_calls(
        lambda: LossClassifier().partial_fit(X, LABELS, classes=[0, 1]),
        lambda est: est.partial_fit(X[:, :2], LABELS)),
     ValueError, "X has 2 features, but LossClassifier is expecting 3 features"),
    ("partial_fit_targets_changed", _two_calls(
        lambda: LossRegressor().partial_fit(X, Y),
        lambda est: est.partial_fit(X, np.c_[Y, Y])),
     ValueError, "y has 2 target(s) but LossRegressor was fitted with 1"),
    ("partial_fit_loss_changed", _two_calls(
        lambda: LossRegressor().partial_fit(X, Y),
        lambda est: est.set_params(loss="huber").partial_fit(X, Y)),
     ValueError, "partial_fit cannot continue: loss (fitted with SquaredError(), now "
     "Huber()) changed since LossRegressor was fitted"),
    ("partial_fit_balanced_class_weight",
     lambda: LossClassifier(class_weight="balanced").partial_fit(X, LABELS, classes=[0, 1]),
     ValueError, "class_weight='balanced' is not supported by partial_fit"),
    # -- values accepted or misreported before (reliab) ---------------------
    ("class_weight_negative",
     lambda: LossClassifier(class_weight={0: -1.0}).fit(X, LABELS),
     ValueError, "class_weight[0] must be a finite number >= 0, got -1.0."),
    ("class_weight_zero_leaves_one_class",
     lambda: LossClassifier(class_weight={0: 0.0}).fit(X, LABELS),
     ValueError, "positive weights in at least 2 classes (sample_weight times class_weight)"),
    ("weights_sum_overflows",
     lambda: LossRegressor().fit(X, Y, sample_weight=np.full(30, 1e308)),
     ValueError, "sums to inf, beyond the float range. Only the ratios of the weights"),
    ("alpha_infinite", lambda: LossRegressor(alpha=np.inf).fit(X, Y),
     ValueError, "alpha must be finite, got inf."),
    ("sparse_y", lambda: LossRegressor().fit(X, sp.csr_matrix(Y[:, None])),
     ValueError, "y is a sparse csr_matrix; LossRegressor needs dense targets."),
    ("custom_loss_in_place",
     lambda: LossRegressor(loss=make_loss(_subtract_in_place)).fit(X, Y.copy()),
     ValueError, "func modifies its inputs in place"),
    ("custom_loss_nan",
     lambda: LossRegressor(loss=make_loss(_nan_above_five)).fit(X, Y),
     ValueError, "func returned NaN for"),
    ("custom_loss_integer", lambda: LossRegressor(loss=make_loss(_rounded)).fit(X, Y),
     ValueError, "returned int64 values; a loss must return floats"),
    ("custom_loss_unbounded", lambda: LossRegressor(loss=make_loss(_linear)).fit(X, Y),
     ValueError, "func decreases without bound as y_pred moves away from y_true"),
    # -- cross-validated search and joint scale (issue 13) -------------------
    ("cv_alphas_zero", lambda: sklosses.LossRegressorCV(alphas=0).fit(X, Y),
     ValueError, "alphas must be in [1, inf], got 0. Give the number of alphas of the grid"),
    ("cv_negative_alphas", lambda: sklosses.LossRegressorCV(alphas=[-1.0, 1.0]).fit(X, Y),
     ValueError, "alphas must be a positive integer (the size of the grid) or a non-empty "
     "array of finite alphas >= 0, got [-1.0, 1.0]."),
    ("cv_empty_l1_ratio", lambda: sklosses.LossRegressorCV(l1_ratio=[]).fit(X, Y),
     ValueError, "l1_ratio is an empty list: give a float in [0, 1] or a list of them."),
    ("cv_empty_loss_list", lambda: sklosses.LossRegressorCV(loss=[]).fit(X, Y),
     ValueError, "loss is an empty list: give a loss or a list of losses to choose from."),
    ("cv_refit_not_bool", lambda: sklosses.LossRegressorCV(refit="yes").fit(X, Y),
     ValueError, "refit must be True or False, got 'yes'."),
    ("cv_predict_without_refit",
     lambda: sklosses.LossRegressorCV(alphas=2, cv=3, refit=False).fit(X, Y).predict(X),
     NotFittedError, "This LossRegressorCV was fitted with refit=False: it has chosen"),
    ("compare_tune_alpha_other_estimator",
     lambda: sklosses.compare_losses(SGDRegressor(), X, Y, ["huber"], tune_alpha=True),
     ValueError, "tune_alpha=True needs a LossRegressor or LossClassifier, or a pipeline "
     "ending with one, to tune its alpha; got SGDRegressor."),
    ("compare_tune_alpha_not_bool",
     lambda: sklosses.compare_losses(LossRegressor(), X, Y, ["huber"], tune_alpha="yes"),
     ValueError, "tune_alpha must be True or False, got 'yes'."),
    ("huber_joint_small_delta", lambda: LossRegressor(loss=Huber(scale="joint")).fit(X, Y),
     ValueError, 'Huber requires delta > 1 with scale="joint" (got delta=1.0)'),
    ("huber_unknown_scale", lambda: LossRegressor(loss=Huber(scale="median")).fit(X, Y),
     ValueError, 'Huber requires scale=None or scale="joint" (got scale=\'median\')'),
    # -- divergence ---------------------------------------------------------
    ("non_finite_start",
     lambda: LossRegressor(loss="poisson", solver="proximal", hidden_layer_sizes=(4,),
                           random_state=0).fit(X * 1e4, COUNTS),
     FloatingPointError, "The objective is not finite at the starting point"),
    ("minibatch_divergence",
     lambda: LossRegressor(solver="sgd", learning_rate=1e30, batch_size=5, max_iter=5,
                           random_state=0).fit(X, Y),
     FloatingPointError, "Solver 'sgd' diverged with loss SquaredError()"),
    # -- solver="exact" -----------------------------------------------------
    ("exact_smooth_loss", lambda: LossRegressor(solver="exact").fit(X, Y),
     ValueError, "solver='exact' cannot fit loss SquaredError(): the loss does not define "
     "piecewise_linear(), which this solver calls."),
    # -- lists of quantile / expectile levels --------------------------------
    ("levels_not_increasing", lambda: LossRegressor(loss=Quantile([0.5, 0.1])).fit(X, Y),
     ValueError, "requires strictly increasing levels"),
    ("levels_not_a_list", lambda: LossRegressor(loss=Quantile([])).fit(X, Y),
     ValueError, "or a non-empty 1-D list of them"),
    ("levels_unknown_noncrossing",
     lambda: LossRegressor(loss=Quantile([0.1, 0.9], noncrossing="yes")).fit(X, Y),
     ValueError, "requires noncrossing in 'monotone', 'sort'"),
    ("levels_with_2d_target",
     lambda: LossRegressor(loss=Quantile([0.1, 0.9])).fit(X, np.c_[Y, Y]),
     ValueError, "models a single target, but y has shape (30, 2)"),
    ("levels_metric_wrong_columns",
     lambda: Quantile([0.1, 0.5, 0.9])(Y, np.c_[Y, Y]),
     ValueError, "predictions of shape (n_samples, 3), one column per level"),
    # -- ConformalRegressor ----------------------------------------------------
    ("conformal_coverage_out_of_range", lambda: ConformalRegressor(coverage=1.0).fit(X, Y),
     ValueError, "ConformalRegressor: coverage must be a number in (0, 1), got 1.0"),
    ("conformal_unknown_method", lambda: ConformalRegressor(method="jackknife").fit(X, Y),
     ValueError, "method must be 'split' or 'cv+', got 'jackknife'."),
    ("conformal_one_row", lambda: ConformalRegressor().fit(X[:1], Y[:1]),
     ValueError, "ConformalRegressor needs at least 2 samples to fit and calibrate"),
    ("conformal_split_without_weight",
     lambda: ConformalRegressor(calibration_fraction=0.5, random_state=0).fit(
         X[:2], Y[:2], sample_weight=[1.0, 0.0]),
     ValueError, "every training or every calibration row of the split has zero sample_weight"),
    ("conformal_cv_plus_folds_miss_rows",
     lambda: ConformalRegressor(method="cv+", cv=[(np.arange(10, 30), np.arange(10))]).fit(X, Y),
     ValueError, "needs a cv whose test folds cover every row once"),
]

# (id, thunk, warning class, fragment), documented likewise.
WARNINGS = [
    ("not_converged", lambda: LossRegressor(max_iter=1, solver="lbfgs").fit(X, Y),
     ConvergenceWarning, "LossRegressor did not converge with solver 'lbfgs' (loss "
     "SquaredError()): it reached max_iter=1 iterations; the largest entry of the scaled "
     "gradient is"),
    ("custom_gradient_disagrees",
     lambda: LossRegressor(loss=make_loss(_squared, gradient=_wrong_gradient)).fit(X, Y),
     GradientCheckWarning, "the gradient you passed disagrees with numerical differentiation"),
    ("custom_loss_not_complex_analytic",
     lambda: LossRegressor(loss=make_loss(_conjugate_square)).fit(X, Y),
     GradientCheckWarning, "complex-step and central-difference derivatives of func disagree"),
    # -- minibatch fits that cannot claim success (reliab) ------------------
    ("minibatch_never_improved",
     lambda: LossRegressor(solver="adam", learning_rate=50, max_iter=20,
                           random_state=0).fit(X, Y),
     ConvergenceWarning, "no epoch lowered the objective below its starting value"),
    ("minibatch_max_iter",
     lambda: LossRegressor(solver="sgd", max_iter=3, random_state=0).fit(X, Y),
     ConvergenceWarning, "epochs before the monitored loss stopped improving by tol="),
    ("penalty_dominates", lambda: LossRegressor(loss="huber").fit(X, 1e5 + 3e4 * Y),
     PenaltyDominatesWarning, "flattens the fit of loss Huber() on targets of scale"),
    ("solver_stopped_early", lambda: LossRegressor(loss=make_loss(
        _squared, gradient=_wrong_gradient)).fit(X, Y),
     ConvergenceWarning, "did not converge"),
]


def _ids(cases):
    return [case[0] for case in cases]


def _normalised_doc():
    if not DOC.exists():
        pytest.skip("docs/input_validation.rst is not part of this checkout")
    return " ".join(DOC.read_text(encoding="utf-8").split())


@pytest.mark.parametrize("case", ERRORS, ids=_ids(ERRORS))
def test_bad_input_raises_documented_error(case):
    _, thunk, exception, fragment = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(exception, match=re.escape(fragment)):
            thunk()


@pytest.mark.parametrize("case", WARNINGS, ids=_ids(WARNINGS))
def test_documented_warning(case):
    _, thunk, category, fragment = case
    with pytest.warns(category, match=re.escape(fragment)):
        thunk()


@pytest.mark.parametrize("case", ERRORS + WARNINGS, ids=_ids(ERRORS + WARNINGS))
def test_message_is_in_the_documentation(case):
    assert case[3] in _normalised_doc(), (
        f"the message of case {case[0]!r} is not in docs/input_validation.rst"
    )


# -- Scale of the features --------------------------------------------------


def _scaled_data(task, scale, dtype):
    if task == "regression":
        X_, y_ = make_regression(n_samples=200, n_features=4, noise=1.0, random_state=0)
        return (X_ * scale).astype(dtype), y_.astype(dtype)
    X_, y_ = make_classification(n_samples=200, n_features=4, random_state=0)
    return (X_ * scale).astype(dtype), y_


ESTIMATORS = {"regression": LossRegressor, "classification": LossClassifier}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1e-8, 1e8])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_standardised_fit_does_not_depend_on_feature_scale(task, scale, dtype):
    # StandardScaler removes the scale, so the fit equals the one on unit-scale
    # features up to the rounding of the scaled data and the solver's tol.
    X_s, y_s = _scaled_data(task, scale, dtype)
    X_1, y_1 = _scaled_data(task, 1.0, dtype)
    est = ESTIMATORS[task](tol=1e-8)
    scaled = make_pipeline(StandardScaler(), clone(est)).fit(X_s, y_s)
    unit = make_pipeline(StandardScaler(), clone(est)).fit(X_1, y_1)
    method = "predict" if task == "regression" else "decision_function"
    atol = 1e-6 if dtype == np.float64 else 1e-3
    np.testing.assert_allclose(
        getattr(scaled, method)(X_s), getattr(unit, method)(X_1), rtol=1e-4, atol=atol
    )
    assert scaled[-1].coef_.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("scale", [1e-8, 1e8])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_unscaled_extreme_features_fit_finite_and_never_worse_than_a_constant(
        task, scale, dtype):
    # Without scaling the result is finite but may be far from the optimum
    # (see docs/input_validation.rst): at 1e-8 the gradient starts below tol,
    # at 1e8 the problem is ill-conditioned. It never ends worse than the best
    # constant, where the solvers start, and it warns of nothing it cannot do.
    X_s, y_s = _scaled_data(task, scale, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = ESTIMATORS[task]().fit(X_s, y_s)
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    assert est.coef_.dtype == dtype
    if task == "regression":
        prediction = est.predict(X_s)
        assert np.all(np.isfinite(prediction))
        assert est.score(X_s, y_s) >= -1e-6
    else:
        proba = est.predict_proba(X_s)
        assert np.all(np.isfinite(proba))
        prior = np.tile(np.bincount(y_s) / len(y_s), (len(y_s), 1))
        assert log_loss(y_s, proba) <= log_loss(y_s, prior) + 1e-6
    if scale == 1e8:
        # Ill-conditioned but informative: much better than the constant.
        assert est.score(X_s, y_s) > 0.9


# -- Degenerate columns -------------------------------------------------------


@pytest.mark.parametrize("loss", ["squared_error", "huber", "poisson"])
def test_constant_feature_gets_zero_coefficient(loss):
    # At the optimum the gradient for a constant column c is c times the
    # intercept's, zero, so with L2 its coefficient is zero: to the solver's
    # accuracy, c * tol / alpha, a tiny fraction of the informative ones.
    X_, y_ = make_regression(n_samples=100, n_features=3, noise=1.0, random_state=0)
    if loss == "poisson":
        y_ = np.random.RandomState(0).poisson(np.exp(X_[:, 0] / 3))
    X_const = np.c_[X_, np.full(len(X_), 7.0), np.zeros(len(X_))]
    est = LossRegressor(loss=loss, alpha=1e-2, tol=1e-10).fit(X_const, y_)
    assert np.abs(est.coef_[3:]).max() <= 1e-6 * np.abs(est.coef_[:3]).max()
    reference = LossRegressor(loss=loss, alpha=1e-2, tol=1e-10).fit(X_, y_)
    np.testing.assert_allclose(est.predict(X_const), reference.predict(X_), rtol=1e-6,
                               atol=1e-6)


def test_classifier_constant_feature_gets_zero_coefficient():
    X_, y_ = make_classification(n_samples=100, n_features=3, n_informative=2,
                                 n_redundant=0, random_state=0)
    X_const = np.c_[X_, np.full(len(X_), -3.0)]
    est = LossClassifier(alpha=1e-2, tol=1e-10).fit(X_const, y_)
    assert np.abs(est.coef_[0, 3]) <= 1e-6 * np.abs(est.coef_[0, :3]).max()


@pytest.mark.parametrize("make_estimator", [
    lambda alpha: LossRegressor(alpha=alpha, tol=1e-12),
    lambda alpha: LossClassifier(alpha=alpha, tol=1e-12),
], ids=["regressor", "classifier"])
def test_duplicate_columns_split_the_coefficient_equally(make_estimator):
    # With L2, a column repeated twice gets two equal coefficients a, a; since
    # alpha/2 (a^2 + a^2) = (alpha/2)/2 (2a)^2, the fit equals the single-column
    # fit with half the alpha, whose coefficient is 2a.
    rng = np.random.RandomState(0)
    x = rng.randn(80, 1)
    target = 1.5 * x[:, 0] + 0.3 * rng.randn(80)
    y_ = target if "Regressor" in type(make_estimator(1.0)).__name__ else (target > 0)
    alpha = 0.1
    twice = make_estimator(alpha).fit(np.c_[x, x], y_)
    once = make_estimator(alpha / 2).fit(x, y_)
    coef = np.ravel(twice.coef_)
    np.testing.assert_allclose(coef[0], coef[1], rtol=1e-7)
    np.testing.assert_allclose(coef[0] + coef[1], np.ravel(once.coef_)[0], rtol=1e-6)


# -- Separable classes, boundary targets, imbalance ---------------------------


@pytest.mark.parametrize("loss", ["log_loss", "focal", "exponential"])
def test_separable_classes_without_penalty_stay_finite(loss):
    # Without a penalty the optimum is at infinity; the fit must end within
    # max_iter with finite coefficients and probabilities, classifying perfectly.
    rng = np.random.RandomState(0)
    X_ = rng.randn(60, 2)
    y_ = (X_[:, 0] + X_[:, 1] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = LossClassifier(loss=loss, alpha=0.0, max_iter=200, tol=1e-12).fit(X_, y_)
    assert 1 <= est.n_iter_ <= 200
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    assert np.all(np.isfinite(est.decision_function(X_)))
    assert est.score(X_, y_) == 1.0
    if hasattr(est, "predict_proba"):
        assert np.all(np.isfinite(est.predict_proba(X_)))


def test_separable_classes_without_penalty_warn():
    rng = np.random.RandomState(0)
    X_ = rng.randn(60, 2)
    y_ = (X_[:, 0] + X_[:, 1] > 0).astype(int)
    with pytest.warns(ConvergenceWarning, match="perfectly separated"):
        est = LossClassifier(alpha=0.0).fit(X_, y_)
    assert np.all(np.isfinite(est.coef_))


def test_poisson_with_zero_targets():
    rng = np.random.RandomState(0)
    X_ = rng.randn(100, 2)
    y_ = rng.poisson(np.exp(0.5 * X_[:, 0]))
    y_[:20] = 0
    est = LossRegressor(loss="poisson").fit(X_, y_)
    assert np.all(np.isfinite(est.coef_)) and est.coef_[0] > 0.3
    assert np.all(est.predict(X_) > 0)


@pytest.mark.parametrize("loss, value", [
    ("poisson", 0.0), ("tweedie", 0.0), ("squared_log_error", 0.0),
    ("squared_log_error", -1 + 1e-9), ("gamma", 1e-300), ("gamma", 1e300),
], ids=["poisson_0", "tweedie_0", "msle_0", "msle_near_-1", "gamma_1e-300", "gamma_1e300"])
def test_constant_target_at_the_domain_boundary(loss, value):
    # The best constant may be at infinity (log 0 = -inf); the starting
    # intercept is then a finite floor, and the fit stays finite.
    est = LossRegressor(loss=loss).fit(X, np.full(30, value))
    assert np.isfinite(est.intercept_) and np.all(np.isfinite(est.coef_))
    prediction = est.predict(X)
    assert np.all(np.isfinite(prediction))
    np.testing.assert_allclose(prediction, value, rtol=1e-3, atol=1e-8)


def test_poisson_with_one_huge_count_among_zeros():
    y_ = np.r_[np.zeros(29), 1e6]
    est = LossRegressor(loss="poisson").fit(X, y_)
    assert np.isfinite(est.intercept_) and np.all(np.isfinite(est.coef_))
    prediction = est.predict(X)
    assert np.all(np.isfinite(prediction)) and np.all(prediction >= 0)
    assert np.argmax(prediction) == 29


def test_focal_balanced_class_weight_recovers_a_1_in_1000_minority():
    X_, y_ = make_classification(n_samples=20020, n_features=5, weights=[1000 / 1001],
                                 flip_y=0, random_state=0)
    assert 10 <= np.bincount(y_)[1] <= 40
    plain = LossClassifier(loss="focal").fit(X_, y_)
    balanced = LossClassifier(loss="focal", class_weight="balanced").fit(X_, y_)
    assert np.all(np.isfinite(balanced.coef_))
    recall_plain = recall_score(y_, plain.predict(X_))
    recall_balanced = recall_score(y_, balanced.predict(X_))
    assert recall_balanced > recall_plain + 0.2


# -- Determinism ---------------------------------------------------------------

DETERMINISTIC = {
    "linear_lbfgs": dict(),
    "linear_proximal_l1": dict(solver="proximal", l1_ratio=1.0, alpha=1e-2),
    "mlp_lbfgs": dict(hidden_layer_sizes=(5,), solver="lbfgs"),
    "mlp_adam": dict(hidden_layer_sizes=(5,), solver="adam"),
    "mlp_sgd": dict(hidden_layer_sizes=(5,), solver="sgd"),
    "linear_sgd": dict(solver="sgd"),
}


def _parameters(est):
    if hasattr(est, "coefs_"):
        return [*est.coefs_, *est.intercepts_]
    return [np.asarray(est.coef_), np.asarray(est.intercept_)]


@pytest.mark.parametrize("options", DETERMINISTIC.values(), ids=DETERMINISTIC.keys())
def test_same_random_state_gives_bit_identical_parameters(options):
    X_, y_ = make_classification(n_samples=120, n_features=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = LossClassifier(random_state=7, max_iter=40, **options).fit(X_, y_)
        second = LossClassifier(random_state=7, max_iter=40, **options).fit(X_, y_)
    for a, b in zip(_parameters(first), _parameters(second), strict=True):
        assert np.array_equal(a, b)
    assert first.loss_curve_ == second.loss_curve_


def test_different_random_state_gives_different_mlp():
    # Guards the test above against a random_state that is silently ignored.
    X_, y_ = make_classification(n_samples=120, n_features=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        first = LossClassifier(hidden_layer_sizes=(5,), random_state=1, max_iter=5).fit(X_, y_)
        second = LossClassifier(hidden_layer_sizes=(5,), random_state=2, max_iter=5).fit(X_, y_)
    assert not np.array_equal(first.coefs_[0], second.coefs_[0])


@pytest.mark.parametrize("options", DETERMINISTIC.values(), ids=DETERMINISTIC.keys())
def test_pickle_and_clone_keep_predictions(options):
    X_, y_ = make_classification(n_samples=120, n_features=4, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = LossClassifier(random_state=3, max_iter=40, **options).fit(X_, y_)
        refit = clone(est).fit(X_, y_)
    restored = pickle.loads(pickle.dumps(est))
    assert np.array_equal(restored.decision_function(X_), est.decision_function(X_))
    assert np.array_equal(restored.predict_proba(X_), est.predict_proba(X_))
    assert np.array_equal(refit.decision_function(X_), est.decision_function(X_))
    assert clone(est).get_params() == est.get_params()


# -- Fitting leaves the caller's data alone ------------------------------------


def _inputs(kind):
    rng = np.random.RandomState(0)
    X_ = rng.randn(60, 4)
    if kind == "float32":
        X_ = X_.astype(np.float32)
    elif kind == "sparse":
        X_[np.abs(X_) < 0.8] = 0.0
        X_ = sp.csr_matrix(X_)
    weights = rng.uniform(0, 2, size=60)
    weights[:5] = 0.0
    return X_, weights


def _snapshot(a):
    if sp.issparse(a):
        return (a.data.copy(), a.indices.copy(), a.indptr.copy(), a.dtype)
    return (np.array(a, copy=True), np.asarray(a).dtype)


def _assert_unchanged(before, a):
    after = _snapshot(a)
    for old, new in zip(before, after, strict=True):
        if isinstance(old, np.ndarray):
            assert np.array_equal(old, new)
        else:
            assert old == new


FIT_CALLS = {
    "regressor_lbfgs": (LossRegressor(loss="huber"), "fit"),
    "regressor_poisson": (LossRegressor(loss="poisson"), "fit"),
    "regressor_proximal_l1": (LossRegressor(solver="proximal", l1_ratio=0.5), "fit"),
    "regressor_quantile": (LossRegressor(loss="quantile"), "fit"),
    "regressor_adam": (LossRegressor(solver="adam", max_iter=5), "fit"),
    "regressor_partial_fit": (LossRegressor(), "partial_fit"),
    "classifier_lbfgs": (LossClassifier(class_weight="balanced"), "fit"),
    "classifier_hinge_mlp": (LossClassifier(loss="hinge", hidden_layer_sizes=(3,)), "fit"),
    "classifier_sgd": (LossClassifier(solver="sgd", max_iter=5), "fit"),
    "classifier_partial_fit": (LossClassifier(), "partial_fit"),
}


@pytest.mark.parametrize("kind", ["float64", "float32", "sparse"])
@pytest.mark.parametrize("call", FIT_CALLS.values(), ids=FIT_CALLS.keys())
def test_fit_does_not_modify_the_inputs(call, kind):
    est, method = call
    X_, weights = _inputs(kind)
    dense = X_.toarray() if sp.issparse(X_) else np.asarray(X_, dtype=float)
    if isinstance(est, LossClassifier):
        y_ = np.where(dense[:, 0] > 0, "yes", "no")
        extra = {"classes": ["no", "yes"]} if method == "partial_fit" else {}
    else:
        y_ = np.exp(dense[:, 0] / 2) + 0.1  # positive, for the Poisson case
        y_ = y_.astype(dense.dtype if kind == "float32" else np.float64)
        extra = {}
    snapshots = [_snapshot(X_), _snapshot(y_), _snapshot(weights)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        getattr(clone(est), method)(X_, y_, sample_weight=weights, **extra)
    for before, a in zip(snapshots, (X_, y_, weights), strict=True):
        _assert_unchanged(before, a)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_minibatch_divergence_never_returns_garbage(solver):
    # API.md: a diverging fit backs off or raises; it never returns parameters
    # whose objective blew up. One batch per epoch makes every step the last
    # of its epoch, the case a check on the epoch's batches alone misses.
    X_big = X * 1e3
    est = LossRegressor(solver=solver, learning_rate=1e6, max_iter=5, random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X_big, Y)
    except FloatingPointError as exc:
        assert "diverged" in str(exc)
        return
    objective = np.mean((Y - est.predict(X_big)) ** 2) + est.alpha / 2 * est.coef_ @ est.coef_
    constant = np.mean((Y - Y.mean()) ** 2)
    # Falling back to the start (the constant fit) is the worst allowed outcome.
    assert np.isfinite(objective) and objective <= 2 * constant


@pytest.mark.parametrize("solver", [
    "lbfgs", "proximal", "sgd", "adam",
])
def test_non_finite_starting_objective_is_refused(solver):
    # An MLP on unscaled features with a log-link loss starts at exp(raw) = inf.
    # The fit must raise a clear FloatingPointError, not return the start.
    est = LossRegressor(loss="poisson", solver=solver, hidden_layer_sizes=(4,), random_state=0)
    with pytest.raises(FloatingPointError, match="not finite|diverged"):
        est.fit(X * 1e4, COUNTS)


@pytest.mark.parametrize("solver", ["lbfgs", "proximal"])
def test_rejected_trial_steps_emit_no_numpy_warnings(solver):
    # gamma with tiny targets: trials with raw < -709 give y * exp(-raw) = inf.
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        LossRegressor(loss="gamma", solver=solver).fit(X, np.full(30, 1e-300))

"""scikit-learn's common estimator checks for every advertised configuration."""

import numpy as np
import pytest
from sklearn.base import is_regressor
from sklearn.utils.estimator_checks import parametrize_with_checks

import sklosses
from sklosses import LossClassifier, LossRegressor, make_loss
from sklosses._resolve import loss_registry, resolve_loss
from sklosses.losses import Expectile, Focal, Hinge, Huber, LogLoss, Quantile, Tweedie

# The common checks feed 1-D real targets, shifted to positive ones when the
# positive_only tag (derived from the loss's domain) asks for it: every loss
# whose domain holds positive 1-D targets can be checked. That leaves out the
# KL divergence, whose targets are rows of probabilities; tests/test_estimators.py
# covers it.
_CHECK_TARGETS = np.array([0.5, 1.0, 3.0, 250.0])
REGRESSION_LOSSES = sorted(
    name for name, cls in loss_registry().items()
    if cls.task == "regression" and cls().target_domain.contains(_CHECK_TARGETS)
)
CLASSIFICATION_LOSSES = sorted(
    name for name, cls in loss_registry().items() if cls.task == "classification"
)

def _pseudo_huber(y_true, y_pred):
    """A custom loss at module level, so that it pickles."""
    return np.sqrt(1.0 + (y_true - y_pred) ** 2) - 1.0


LINEAR = [LossRegressor(loss=name) for name in REGRESSION_LOSSES] + [
    LossClassifier(loss=name) for name in CLASSIFICATION_LOSSES
] + [LossClassifier(loss="hinge", l1_ratio=0.5), LossRegressor(alpha=0.0)]

# The other advertised settings: every solver, penalty kind, early stopping,
# class weights, parametrised loss objects and a custom loss.
SETTINGS = [
    LossRegressor(solver="sgd", random_state=0),
    LossRegressor(loss="huber", solver="adam", random_state=0),
    LossRegressor(loss="quantile", l1_ratio=1.0, alpha=1e-3, solver="proximal"),
    LossRegressor(loss="squared_error", l1_ratio=0.5, alpha=1e-3),
    LossRegressor(loss=Huber(delta=0.5), early_stopping=True, random_state=0),
    LossRegressor(loss=make_loss(_pseudo_huber, name="pseudo_huber")),
    # Every real target is in its domain: not positive_only, real-valued checks.
    LossRegressor(loss=Tweedie(power=0)),
    LossClassifier(solver="adam", random_state=0),
    LossClassifier(loss="log_loss", l1_ratio=1.0, alpha=1e-3, solver="proximal"),
    LossClassifier(loss=Hinge(multiclass="crammer_singer")),
    LossClassifier(loss=Focal(gamma=1.0), class_weight="balanced"),
    LossClassifier(loss=LogLoss(label_smoothing=0.1), early_stopping=True, random_state=0),
]

# Small MLPs under every loss, with the default activation, plus one deeper tanh net.
MLP = [
    LossRegressor(loss=name, hidden_layer_sizes=(8,), random_state=0)
    for name in REGRESSION_LOSSES
] + [
    LossClassifier(loss=name, hidden_layer_sizes=(8,), random_state=0)
    for name in CLASSIFICATION_LOSSES
] + [LossRegressor(hidden_layer_sizes=(8, 4), activation="tanh", random_state=0)]


BOUNDED_DOMAIN = (
    "The check fits make_regression targets, which reach -500, and ignores the "
    "positive_only tag; this loss's target domain is bounded below. Multi-output "
    "fits of this loss are tested in tests/test_estimators.py."
)
UNREACHABLE_TARGETS = (
    "The check asks R2 > 0.5 on centred targets, half of them negative. They are in "
    "this loss's domain (every real target), but its link predicts only positive "
    "values, so no model of this loss can follow the negative half."
)
NON_CONVEX = (
    "An MLP objective is non-convex; on the check's 15 samples the network is "
    "over-parameterised. The weighted and the repeated-rows objectives agree to 1e-16 "
    "in value and gradient, yet rounding sends the solver to different local minima "
    "(scikit-learn's own MLPs are exempt from this check likewise)."
)


HELD_OUT_ROWS = (
    "Early stopping holds out a share of the rows, not of the weight: a row of "
    "weight 2 is one row in the split but two rows once repeated, so the two fits "
    "train and validate on different data (scikit-learn's MLPs with "
    "early_stopping=True behave the same)."
)


BALANCED_STREAM = (
    "The check also calls partial_fit, which refuses class_weight='balanced': a "
    "batch does not show the class frequencies of the stream (as SGDClassifier)."
)


def expected_failures(estimator):
    """Checks expected to fail, each with its reason."""
    failures = {}
    is_mlp = len(estimator.hidden_layer_sizes) > 0
    # Every linear configuration passes check_sample_weight_equivalence_*:
    # piecewise-linear losses end on the optimum itself (the exact solver's
    # crossover, and the exact finish of first-order fits), squared error
    # with an L1 part is solved exactly on the Gram matrix, and the other
    # convex fits (Newton under "auto", proximal gradient) reach it to far
    # below the check's tolerance.
    if getattr(estimator, "class_weight", None) == "balanced":
        for check in ("check_fit_score_takes_y", "check_n_features_in_after_fitting",
                      "check_estimators_partial_fit_n_features"):
            failures[check] = BALANCED_STREAM
    if estimator.early_stopping:
        failures["check_sample_weight_equivalence_on_dense_data"] = HELD_OUT_ROWS
        failures["check_sample_weight_equivalence_on_sparse_data"] = HELD_OUT_ROWS
    if is_mlp and is_regressor(estimator):
        # The classifiers' MLPs pass it: on the check's data their weighted
        # and repeated-rows fits end on the same local minimum (every
        # classification loss, predictions, probabilities and decision
        # values alike), so they carry no expected failure.
        failures["check_sample_weight_equivalence_on_dense_data"] = NON_CONVEX
        failures["check_sample_weight_equivalence_on_sparse_data"] = NON_CONVEX
    if is_regressor(estimator):
        failures.update(_domain_failures(resolve_loss(estimator.loss, "regression")))
    return failures


def _domain_failures(loss):
    """Checks a regression loss fails because of its target and prediction domains."""
    failures = {}
    if not loss.target_domain.is_real_line:
        failures["check_regressor_multioutput"] = BOUNDED_DOMAIN
    negative = -1.0
    if loss.target_domain.contains(negative) and not loss.link.prediction_domain.contains(
        negative
    ):
        failures["check_regressors_train"] = UNREACHABLE_TARGETS
    return failures


@parametrize_with_checks(LINEAR, expected_failed_checks=expected_failures)
def test_linear_estimators_pass_common_checks(estimator, check):
    check(estimator)


def test_every_loss_is_covered():
    assert len(REGRESSION_LOSSES) >= 10
    assert len(CLASSIFICATION_LOSSES) >= 6
    assert pytest.importorskip("pandas")  # two checks skip without pandas


@parametrize_with_checks(MLP, expected_failed_checks=expected_failures)
def test_mlp_estimators_pass_common_checks(estimator, check):
    check(estimator)


@parametrize_with_checks(SETTINGS, expected_failed_checks=expected_failures)
def test_advertised_settings_pass_common_checks(estimator, check):
    check(estimator)


# The cross-validated estimators (API.md section 6); small grids and 3 folds keep
# the checks fast. They pass with no exemption.
CV_ESTIMATORS = [
    sklosses.LossRegressorCV(alphas=3, cv=3),
    sklosses.LossRegressorCV(loss=["squared_error", "huber"], alphas=3, cv=3,
                             l1_ratio=[0.0, 1.0]),
    sklosses.LossClassifierCV(alphas=3, cv=3),
]


@pytest.mark.slow  # ~45 s: every check runs a whole cross-validated search
@parametrize_with_checks(CV_ESTIMATORS)
def test_cv_estimators_pass_common_checks(estimator, check):
    check(estimator)


# -- Lists of quantile and expectile levels (one target, one column per level) --
LEVEL_SETTINGS = [
    LossRegressor(loss=Quantile(quantile=[0.1, 0.5, 0.9])),
    LossRegressor(loss=Quantile(quantile=[0.1, 0.9], noncrossing="sort")),
    LossRegressor(loss=Expectile(expectile=[0.2, 0.8])),
    LossRegressor(loss=Quantile(quantile=[0.2, 0.8]), hidden_layer_sizes=(8,), random_state=0),
    LossRegressor(loss=Expectile(expectile=[0.2, 0.8]), hidden_layer_sizes=(8,),
                  random_state=0),
]
ONE_COLUMN_PER_LEVEL = (
    "A list of K levels predicts shape (n_samples, K) for a 1-D target, one column per "
    "level (API section 7); the check asserts predictions shaped like y."
)
ONE_TARGET = (
    "A list of levels models a single target (K columns for one y) and refuses a 2-D "
    "y with a clear error; several targets need one estimator each."
)


def level_failures(estimator):
    """Checks expected to fail for a list of levels, each with its reason."""
    failures = expected_failures(estimator)
    for check in ("check_regressors_train", "check_estimator_sparse_array",
                  "check_estimator_sparse_matrix"):
        failures[check] = ONE_COLUMN_PER_LEVEL
    failures["check_regressor_multioutput"] = ONE_TARGET
    return failures


@parametrize_with_checks(LEVEL_SETTINGS, expected_failed_checks=level_failures)
def test_level_lists_pass_common_checks(estimator, check):
    check(estimator)

"""Early stopping: held-out validation loss, best parameters restored."""

import math
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from sklosses import LossClassifier, LossRegressor


def overfitting_regression(seed=0):
    """Few noisy rows, many features: the validation loss turns back up."""
    X, y = make_regression(n_samples=120, n_features=60, n_informative=5, noise=30.0,
                           random_state=seed)
    return X, y / y.std()


def fit_quietly(est, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args, **kwargs)


def held_out_rows(n_samples, fraction, random_state):
    """The regressor's documented split: train_test_split on row indices."""
    return train_test_split(np.arange(n_samples), test_size=fraction,
                            random_state=random_state)[1]


@pytest.fixture(scope="module")
def stopped():
    X, y = overfitting_regression()
    est = fit_quietly(LossRegressor("huber", alpha=1e-4, solver="adam", learning_rate=2e-2,
                                    early_stopping=True, validation_fraction=0.25,
                                    n_iter_no_change=15, max_iter=500, random_state=0),
                      X, y)
    return est, X, y


def test_best_validation_loss_is_the_minimum_of_the_curve(stopped):
    est, _, _ = stopped
    curve = est.validation_loss_curve_
    assert est.best_validation_loss_ == min(curve)
    # The fit went on past the best epoch: restoring the best matters here.
    assert int(np.argmin(curve)) < len(curve) - 1
    assert curve[-1] > min(curve)


def test_restored_parameters_give_the_best_validation_loss(stopped):
    est, X, y = stopped
    rows = held_out_rows(len(y), 0.25, 0)
    # The validation loss is the loss term only (no penalty) on held-out rows.
    value = est.loss_(y[rows], est.predict(X[rows]))
    assert value == pytest.approx(est.best_validation_loss_, rel=1e-12)
    assert est.score(X[rows], y[rows]) == pytest.approx(est.best_validation_score_,
                                                        rel=1e-12)


def test_curves_have_one_entry_per_epoch_and_stop_early(stopped):
    est, _, _ = stopped
    n = est.n_iter_
    assert len(est.validation_loss_curve_) == len(est.validation_scores_) == n
    assert len(est.loss_curve_) == n
    assert n < 500
    best = int(np.argmin(est.validation_loss_curve_))
    assert est.best_validation_score_ == est.validation_scores_[best]
    # Stopped exactly n_iter_no_change epochs after the last improvement.
    assert 1 <= n - 1 - best <= 15


def test_stopping_early_is_convergence():
    X, y = overfitting_regression()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        LossRegressor(solver="adam", learning_rate=2e-2, early_stopping=True,
                      max_iter=500, random_state=0).fit(X, y)


def test_classifier_validation_scores_are_held_out_accuracy():
    X, y = make_classification(n_samples=400, n_features=8, n_informative=4,
                               n_classes=3, weights=[0.6, 0.3, 0.1], random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = fit_quietly(LossClassifier(solver="sgd", learning_rate=1e-2,
                                     early_stopping=True, validation_fraction=0.2,
                                     random_state=0), X, y)
    # Stratified split holding out ceil(0.2 n) rows, as documented.
    rows = train_test_split(np.arange(len(y)), test_size=math.ceil(0.2 * len(y)),
                            stratify=y, random_state=0)[1]
    assert set(y[rows]) == {0, 1, 2}
    assert clf.best_validation_score_ == pytest.approx(clf.score(X[rows], y[rows]))
    assert all(0.0 <= s <= 1.0 for s in clf.validation_scores_)
    assert clf.best_validation_loss_ == min(clf.validation_loss_curve_)


def test_tiny_classes_fall_back_to_a_random_split():
    X, y = make_classification(n_samples=30, n_features=4, n_classes=3,
                               n_informative=3, n_redundant=0, random_state=0)
    y[0] = 3  # a class with a single row cannot be stratified
    clf = fit_quietly(LossClassifier(solver="adam", early_stopping=True,
                                     max_iter=5, random_state=0), X, y)
    assert len(clf.validation_loss_curve_) == clf.n_iter_


@pytest.mark.parametrize("solver", ["lbfgs", "proximal"])
def test_full_batch_solvers_refuse_early_stopping(solver):
    X, y = overfitting_regression()
    with pytest.raises(ValueError, match="early_stopping=True needs solver='sgd' or 'adam'"):
        LossRegressor(solver=solver, early_stopping=True).fit(X, y)


def test_auto_solver_uses_adam_for_early_stopping():
    X, y = overfitting_regression()
    est = fit_quietly(LossRegressor(early_stopping=True, max_iter=5, random_state=0), X, y)
    assert est._solver_state.rule == "adam"
    assert len(est.validation_loss_curve_) == est.n_iter_


def test_refit_without_early_stopping_drops_validation_attributes(stopped):
    est, X, y = stopped
    est = fit_quietly(LossRegressor(solver="adam", early_stopping=True, max_iter=3,
                                    random_state=0), X, y)
    assert hasattr(est, "validation_scores_")
    fit_quietly(est.set_params(early_stopping=False), X, y)
    for name in ("validation_loss_curve_", "validation_scores_", "best_validation_loss_",
                 "best_validation_score_"):
        assert not hasattr(est, name)


def test_verbose_reports_the_validation_loss(capsys):
    X, y = overfitting_regression()
    fit_quietly(LossRegressor(solver="adam", early_stopping=True, max_iter=2, verbose=1,
                              random_state=0), X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("validation loss = " in line for line in lines)


def test_same_random_state_same_split_and_result():
    X, y = overfitting_regression()
    make = lambda: LossRegressor(solver="sgd", early_stopping=True,  # noqa: E731
                                 max_iter=20, random_state=5)
    a, b = fit_quietly(make(), X, y), fit_quietly(make(), X, y)
    assert a.validation_loss_curve_ == b.validation_loss_curve_
    np.testing.assert_array_equal(a.coef_, b.coef_)

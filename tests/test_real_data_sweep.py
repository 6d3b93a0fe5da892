"""Default fits on real data with raw features reach the stated optimum or warn.

Each case was found by a sweep of the datasets shipped with statsmodels and
scikit-learn, with their features as shipped (columns in dollars, years,
populations), over every loss whose domain fits the target: a default fit
that ended more than ``tol`` (relative) above the optimum of its objective
without a warning. The optimum comes from an independent solver
(scikit-learn's coordinate descent) or from another algorithm of this
package at a tight tolerance.
"""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso

from sklosses import LossRegressor
from sklosses.losses import Expectile

sm = pytest.importorskip("statsmodels.api")

TOL = 1e-4  # the default tol


def _dataset(name, target=None):
    data = getattr(sm.datasets, name).load_pandas()
    endog = np.asarray(data.endog, dtype=float)
    if target == "fraction":  # star98: NABOVE / (NABOVE + NBELOW)
        endog = endog[:, 0] / endog.sum(axis=1)
    return np.asarray(data.exog, dtype=float), endog


def _weights(n):
    return np.random.RandomState(0).uniform(0.1, 3.0, size=n)


def _objective(est, X, y, sample_weight=None, coef=None, intercept=None):
    """J of API.md from public attributes (linear regressor, elastic net).

    ``coef`` and ``intercept``, when given, replace the estimator's (the
    solution of another library, evaluated with this estimator's loss).
    """
    W = est.coef_ if coef is None else coef
    b = est.intercept_ if intercept is None else intercept
    pred = est.loss_.link.inverse(X @ W + b)
    penalty = est.alpha * (est.l1_ratio * np.abs(W).sum()
                           + (1 - est.l1_ratio) / 2 * np.sum(W**2))
    return est.loss_(y, pred, sample_weight=sample_weight) + penalty


def _fit_quietly(est, X, y, sample_weight=None):
    """Fit; fail on a ConvergenceWarning (these fits must converge)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        return est.fit(X, y, sample_weight=sample_weight)


def _fit_and_warned(est, X, y):
    """Fit at its settings; ``(est, warned)``: whether it said it did not converge."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, y)
    return est, any(issubclass(w.category, ConvergenceWarning) for w in caught)


# -- 1. L-BFGS-B stalls under the L1 split far from the optimum ---------------
# scipy's L-BFGS-B stopped on a relative decrease at rounding level with a
# scaled gradient between tol and sqrt(tol), which the verdict counted as
# converged: 2e-4 to 9e-3 above the optimum. A restart with a fresh memory
# resumes the descent.

@pytest.mark.parametrize("name, target, fit_intercept, weighted, alpha", [
    ("copper", None, True, False, 1e-2),          # was 2.1e-4 above
    # Was 8.6e-3 above, silent, then (under OpenBLAS's default kernels) a
    # warning at L-BFGS's max_iter; the Gram active set is exact.
    ("star98", "fraction", False, True, 1e-2),
])
def test_lasso_on_raw_columns_matches_coordinate_descent(
        name, target, fit_intercept, weighted, alpha):
    X, y = _dataset(name, target)
    sw = _weights(len(y)) if weighted else None
    est = _fit_quietly(LossRegressor(alpha=alpha, l1_ratio=1.0,
                                     fit_intercept=fit_intercept), X, y, sw)
    # Lasso's 1/(2n) sum w r^2 + a ||w||_1 is half of J with a = alpha / 2
    # (it normalises sample weights to sum to n, as J does to 1).
    ref = Lasso(alpha=alpha / 2, fit_intercept=fit_intercept, tol=1e-14,
                max_iter=1_000_000).fit(X, y, sample_weight=sw)
    J_ref = _objective(est, X, y, sw, coef=ref.coef_, intercept=ref.intercept_)
    assert _objective(est, X, y, sw) <= J_ref * (1 + TOL)


@pytest.mark.parametrize("name, loss, alpha, l1_ratio, fit_intercept, weighted", [
    ("copper", "gamma", 1e-4, 1.0, False, True),        # was 1.6e-3 above
    ("cpunish", "poisson", 1e-2, 1.0, False, False),    # was 1.4e-4 above
    ("stackloss", "squared_log_error", 1e-2, 0.5, False, False),  # was 3.9e-4 above
])
def test_l1_glm_on_raw_columns_matches_proximal_gradient(
        name, loss, alpha, l1_ratio, fit_intercept, weighted):
    X, y = _dataset(name)
    sw = _weights(len(y)) if weighted else None
    options = dict(loss=loss, alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept)
    est = _fit_quietly(LossRegressor(**options), X, y, sw)
    # Another algorithm (FISTA on the gradient mapping) run to 1e-10.
    ref = LossRegressor(**options, solver="proximal", tol=1e-10,
                        max_iter=20_000).fit(X, y, sample_weight=sw)
    assert _objective(est, X, y, sw) <= _objective(ref, X, y, sw) * (1 + TOL)


# -- 2. The gradient test met far from the optimum (ill-conditioned columns) --
# Raw columns with large means and no intercept (longley) or nearly collinear
# ones give scaled Hessians with condition numbers of 1e4-1e6: L-BFGS met its
# gradient test 1e-4 to 7e-3 above the optimum. Its Newton decrement now has
# to be within tol too.

@pytest.mark.parametrize("name, loss, alpha, l1_ratio, fit_intercept, weighted, reference", [
    ("longley", Expectile(0.9), 1e-4, 1.0, False, True, "lbfgs"),         # was 6.7e-3 above
    ("longley", "squared_log_error", 1e-4, 0.5, True, False, "proximal"),  # was 2.5e-4 above
])
def test_elastic_net_on_ill_conditioned_raw_columns_reaches_the_optimum(
        name, loss, alpha, l1_ratio, fit_intercept, weighted, reference):
    X, y = _dataset(name)
    sw = _weights(len(y)) if weighted else None
    options = dict(loss=loss, alpha=alpha, l1_ratio=l1_ratio, fit_intercept=fit_intercept)
    est = _fit_quietly(LossRegressor(**options), X, y, sw)
    # A tight fit: FISTA where it is fast, else L-BFGS at 1e-10 (whose
    # gradient test then is met close to the optimum whatever the conditioning).
    ref = LossRegressor(**options, solver=reference, tol=1e-10,
                        max_iter=20_000).fit(X, y, sample_weight=sw)
    assert _objective(est, X, y, sw) <= _objective(ref, X, y, sw) * (1 + TOL)


# The working set's feature-sign model step failed at the model's optimum on
# raw columns with an intercept (its Hessian block symmetric only to rounding,
# the intercept's centred gradient tested far below that rounding); the
# coordinate-descent fallback then stopped each step short, and proximal
# Newton crept at a linear rate, its model decrease below tol while J was
# 1.1e-4 to 1.9e-4 above the optimum, without a warning.

@pytest.mark.parametrize("name, target, loss, alpha, l1_ratio, weighted, solver", [
    ("longley", None, "squared_error", 1e-2, 1.0, True, "newton"),       # was 1.9e-4 above
    ("longley", None, "squared_error", 1e-4, 0.5, True, "newton"),       # was 1.8e-4 above
    ("star98", "fraction", "squared_error", 1e-4, 0.5, False, "newton"),  # was 1.5e-4 above
    ("star98", "fraction", "squared_error", 1e-4, 1.0, False, "newton"),  # was 1.1e-4 above
    ("star98", "fraction", "huber", 1e-4, 0.5, False, "auto"),           # was 1.05e-4 above
])
def test_proximal_newton_with_intercept_on_raw_columns_reaches_the_optimum(
        name, target, loss, alpha, l1_ratio, weighted, solver):
    X, y = _dataset(name, target)
    sw = _weights(len(y)) if weighted else None
    options = dict(loss=loss, alpha=alpha, l1_ratio=l1_ratio, fit_intercept=True)
    est = _fit_quietly(LossRegressor(**options, solver=solver), X, y, sw)
    # Another algorithm at a tight tolerance (L-BFGS's gradient test at 1e-10
    # is met close to the optimum whatever the conditioning).
    ref = LossRegressor(**options, solver="lbfgs", tol=1e-10,
                        max_iter=20_000).fit(X, y, sample_weight=sw)
    assert _objective(est, X, y, sw) <= _objective(ref, X, y, sw) * (1 + TOL)


def test_expectile_takes_newton_and_its_optimum():
    # Expectile has second derivatives (piecewise constant, positive), so
    # "auto" takes Newton (iteratively reweighted least squares) as for every
    # such loss; L-BFGS stopped 1.5e-4 above the optimum on star98's raw columns.
    X, y = _dataset("star98", "fraction")
    sw = _weights(len(y))
    options = dict(loss=Expectile(0.9), alpha=1e-2, fit_intercept=False)
    est = _fit_quietly(LossRegressor(**options), X, y, sw)
    ref = LossRegressor(**options, solver="lbfgs", tol=1e-10,
                        max_iter=20_000).fit(X, y, sample_weight=sw)
    assert _objective(est, X, y, sw) <= _objective(ref, X, y, sw) * (1 + TOL)


def test_expectile_hessian_matches_finite_differences_of_its_gradient():
    loss = Expectile(0.8)
    y = np.array([0.0, 1.0, 2.0, -1.0])
    raw = np.array([0.5, 0.2, 2.5, -3.0])
    _, hessian = loss.gradient_hessian(y, raw)
    h = 1e-6
    numeric = (loss.loss_gradient(y, raw + h)[1] - loss.loss_gradient(y, raw - h)[1]) / (2 * h)
    np.testing.assert_allclose(hessian.diagonal, numeric, rtol=1e-6)
    # A list of levels is fitted by the location-shift model: no Newton there.
    assert not hasattr(Expectile([0.2, 0.8]), "gradient_hessian")


@pytest.mark.slow
def test_multinomial_log_loss_on_raw_digits_is_near_the_optimum_or_warns():
    # 650 parameters: beyond the matrix Hessian, the decrement comes from
    # conjugate gradients. The default fit ended 0.29 relative above the
    # optimum without a warning.
    from sklearn.datasets import load_digits

    from sklosses import LossClassifier

    X, y = load_digits(return_X_y=True)
    est, warned = _fit_and_warned(LossClassifier(), X, y)
    ref = LossClassifier(solver="newton", tol=1e-10, max_iter=200).fit(X, y)

    def J(e):
        proba = e.predict_proba(X)
        return e.loss_(y, proba) + e.alpha / 2 * np.sum(e.coef_**2)

    assert warned or J(est) <= J(ref) * (1 + TOL)


# -- 3. Known and left: losses whose curvature vanishes on whole zones ---------

def test_l1_modified_huber_on_raw_iris_without_intercept_reaches_the_optimum():
    # Under L-BFGS on the split variables (auto's choice with an L1 part
    # before proximal Newton) this ended 1.2e-3 above the optimum without a
    # warning: the gradient test was met short of it.
    from sklearn.datasets import load_iris

    from sklosses import LossClassifier

    X, y = load_iris(return_X_y=True)
    options = dict(loss="modified_huber", alpha=1e-4, l1_ratio=1.0, fit_intercept=False)
    est, warned = _fit_and_warned(LossClassifier(**options), X, y)
    ref = LossClassifier(**options, solver="proximal", tol=1e-10, max_iter=20_000).fit(X, y)

    def J(e):
        # one-vs-rest margin loss on decision values, summed over the classes
        return e.loss_(y, e.decision_function(X)) + e.alpha * np.abs(e.coef_).sum()

    assert warned or J(est) <= J(ref) * (1 + TOL)


# Was an xfail: Newton (one-vs-rest blocks) stopped with both tests met at
# J = 4.6e-6 where the optimum is 8e-9 (wine, features x 1e3: separable, the
# optimum a tiny share of the best constant's loss). The cause: a null space
# kept from an earlier iterate that no longer was one, and the solve projected
# only its result off it, so the decrement g @ H^+ g came out negative (-0.19
# of J), which met the test. Now the decrement is a quadratic form and the fit
# warns at max_iter: the semismooth Newton model is off there (decrements of
# 1 to 300 times J, steps of 1e-7 to 1e-2) and L-BFGS's gradient test, relative
# to the best constant's loss, is met at once when J* / F is 1e-8.
def test_squared_hinge_on_separable_wine_in_thousandths_reaches_the_optimum():
    from sklearn.datasets import load_wine

    from sklosses import LossClassifier

    X, y = load_wine(return_X_y=True)
    X = X * 1e3
    options = dict(loss="squared_hinge", alpha=1e-4)
    est, warned = _fit_and_warned(LossClassifier(**options), X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = LossClassifier(**options, solver="newton", tol=1e-9, max_iter=100).fit(X, y)

    def J(e):
        return e.loss_(y, e.decision_function(X)) + e.alpha / 2 * np.sum(e.coef_**2)

    assert warned or J(est) <= J(ref) * (1 + TOL)

"""Tests of sklosses.plot: loss shapes and loss curves (Agg backend)."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sklosses import LossClassifier, LossRegressor, make_loss  # noqa: E402
from sklosses.losses import Focal, Huber, Quantile  # noqa: E402
from sklosses.plot import LossCurveDisplay, LossesDisplay, plot_losses  # noqa: E402

REGRESSION = ["squared_error", "absolute_error", "huber", "log_cosh", "squared_log_error",
              "quantile", "epsilon_insensitive", "poisson", "gamma", "tweedie"]
CLASSIFICATION = ["log_loss", "focal", "hinge", "squared_hinge", "modified_huber",
                  "exponential"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _legend(display):
    return [text.get_text() for text in display.ax_.get_legend().get_texts()]


def _pointwise_log_cosh(y_true, y_pred):
    return np.log(np.cosh(y_true - y_pred))


# --------------------------------------------------------------------------
# plot_losses
# --------------------------------------------------------------------------


@pytest.mark.parametrize("losses", [REGRESSION, CLASSIFICATION], ids=["regression",
                                                                      "classification"])
def test_one_line_per_loss_with_names(losses):
    display = plot_losses(losses)
    assert isinstance(display, LossesDisplay)
    assert len(display.lines_) == len(losses) == len(display.ax_.get_lines()) - 1  # + axvline
    assert _legend(display) == losses
    assert display.figure_ is display.ax_.figure
    for line in display.lines_:
        assert np.all(np.isfinite(line.get_ydata()))


@pytest.mark.parametrize(
    ("name", "formula"),
    [
        ("squared_error", lambda r: r**2),
        ("absolute_error", np.abs),
        ("huber", lambda r: np.where(np.abs(r) <= 1, 0.5 * r**2, np.abs(r) - 0.5)),
        ("quantile", lambda r: np.maximum(0.5 * r, -0.5 * r)),
        ("epsilon_insensitive", lambda r: np.maximum(0, np.abs(r) - 0.1)),
        # log link at y = 1: r = log(y / mu), so mu = exp(-r).
        ("poisson", lambda r: 2 * (r - 1 + np.exp(-r))),
        ("gamma", lambda r: 2 * (-r + np.exp(r) - 1)),
        # log1p link: r = log1p(y) - log1p(p).
        ("squared_log_error", lambda r: r**2),
    ],
)
def test_regression_curves_against_residual(name, formula):
    x = np.linspace(-2.5, 2.5, 11)
    display = plot_losses(name, x=x)
    (line,) = display.lines_
    np.testing.assert_allclose(line.get_xdata(), x)
    np.testing.assert_allclose(line.get_ydata(), formula(x), atol=1e-12)
    assert display.kind == "residual"


def test_raw_scale_is_said_on_the_axis_only_for_non_identity_links():
    assert "raw" not in plot_losses(["huber", "mae"]).ax_.get_xlabel()
    assert "raw" in plot_losses(["huber", "poisson"]).ax_.get_xlabel()


@pytest.mark.parametrize(
    ("name", "formula"),
    [
        ("log_loss", lambda m: np.log1p(np.exp(-m))),
        ("focal", lambda m: -((1 - 1 / (1 + np.exp(-m))) ** 2) * np.log(1 / (1 + np.exp(-m)))),
        ("hinge", lambda m: np.maximum(0, 1 - m)),
        ("squared_hinge", lambda m: np.maximum(0, 1 - m) ** 2),
        ("modified_huber", lambda m: np.where(m >= -1, np.maximum(0, 1 - m) ** 2, -4 * m)),
        ("exponential", lambda m: np.exp(-m)),
    ],
)
def test_classification_curves_against_margin(name, formula):
    x = np.linspace(-3, 3, 13)
    display = plot_losses([name], x=x)
    np.testing.assert_allclose(display.lines_[0].get_ydata(), formula(x), rtol=1e-7,
                               atol=1e-12)
    assert display.kind == "margin"
    assert "margin" in display.ax_.get_xlabel()


def test_loss_objects_and_custom_losses_are_labelled():
    custom = make_loss(_pointwise_log_cosh, name="my_log_cosh")
    display = plot_losses([Huber(delta=2.0), Quantile(quantile=0.9), custom, "mse"])
    assert _legend(display) == ["Huber(delta=2.0)", "Quantile(quantile=0.9)",
                                "my_log_cosh", "mse"]
    # The custom loss draws log cosh r, the built-in mse r ** 2.
    x = display.lines_[2].get_xdata()
    np.testing.assert_allclose(display.lines_[2].get_ydata(), np.log(np.cosh(x)), atol=1e-10)
    np.testing.assert_allclose(display.lines_[3].get_ydata(), x**2)


def test_hyper_parameters_change_the_curve():
    x = np.array([-2.0, 2.0])
    ys = [plot_losses(Focal(gamma=g), x=x).lines_[0].get_ydata() for g in (0.0, 2.0)]
    assert np.all(ys[1] < ys[0])  # the focusing term shrinks every loss


def test_draws_on_given_ax_and_passes_line_kwargs():
    fig, (ax1, ax2) = plt.subplots(1, 2)
    display = plot_losses(["hinge", "log_loss"], ax=ax2, linewidth=3)
    assert display.ax_ is ax2 and display.figure_ is fig
    assert len(ax1.get_lines()) == 0
    assert all(line.get_linewidth() == 3 for line in display.lines_)


def test_display_plot_redraws_on_another_ax():
    display = plot_losses(["huber", "mae"])
    _, ax = plt.subplots()
    assert display.plot(ax=ax).ax_ is ax
    assert len(display.lines_) == 2


def test_kind_checks():
    with pytest.raises(ValueError, match="two axes"):
        plot_losses(["huber", "hinge"])
    with pytest.raises(ValueError, match="drawn against the residual, not the margin"):
        plot_losses(["huber"], kind="margin")
    with pytest.raises(ValueError, match="kind must be one of"):
        plot_losses(["huber"], kind="logit")
    assert plot_losses(["hinge"], kind="margin").kind == "margin"
    with pytest.raises(ValueError, match="no scalar residual"):
        plot_losses(["kl_divergence"])
    with pytest.raises(ValueError, match="Unknown loss"):
        plot_losses(["not_a_loss"])
    with pytest.raises(ValueError, match="at least one"):
        plot_losses([])


# --------------------------------------------------------------------------
# LossCurveDisplay
# --------------------------------------------------------------------------


def test_curve_from_estimator_training_only():
    X, y = make_regression(n_samples=80, n_features=3, noise=1.0, random_state=0)
    est = LossRegressor(loss="huber").fit(X, y)
    display = LossCurveDisplay.from_estimator(est)
    (line,) = display.lines_
    np.testing.assert_allclose(line.get_ydata(), est.loss_curve_)
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, len(est.loss_curve_) + 1))
    assert _legend(display) == ["training"]
    assert "huber" in display.ax_.get_title()


def test_curve_from_estimator_with_validation():
    X, y = make_classification(n_samples=120, n_features=4, random_state=0)
    est = LossClassifier(early_stopping=True, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    display = LossCurveDisplay.from_estimator(est)
    assert len(display.lines_) == 2
    np.testing.assert_allclose(display.lines_[0].get_ydata(), est.loss_curve_)
    np.testing.assert_allclose(display.lines_[1].get_ydata(), est.validation_loss_curve_)
    assert _legend(display) == ["training", "validation"]


def test_curve_from_pipeline_uses_final_step():
    X, y = make_regression(n_samples=60, n_features=2, random_state=0)
    pipe = make_pipeline(StandardScaler(), LossRegressor()).fit(X, y)
    display = LossCurveDisplay.from_estimator(pipe)
    np.testing.assert_allclose(display.lines_[0].get_ydata(), pipe[-1].loss_curve_)


def test_curve_from_unfitted_estimator_raises():
    with pytest.raises(ValueError, match="fit it first"):
        LossCurveDisplay.from_estimator(LossRegressor())


def test_curve_display_by_hand():
    _, ax = plt.subplots()
    display = LossCurveDisplay([3.0, 2.0, 1.5], validation_loss_curve=[3.5, 2.5],
                               estimator_name="mine").plot(ax=ax, marker="o")
    assert display.ax_ is ax and display.figure_ is ax.figure
    np.testing.assert_array_equal(display.lines_[0].get_ydata(), [3.0, 2.0, 1.5])
    np.testing.assert_array_equal(display.lines_[1].get_xdata(), [1, 2])
    assert display.lines_[0].get_marker() == "o"
    assert ax.get_title() == "mine"


# --------------------------------------------------------------------------
# matplotlib is optional
# --------------------------------------------------------------------------


def test_import_error_says_how_to_install(monkeypatch):
    # None in sys.modules makes `import matplotlib.pyplot` raise ImportError.
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install sklosses\[plot\]"):
        plot_losses(["huber"])
    with pytest.raises(ImportError, match=r"pip install sklosses\[plot\]"):
        LossCurveDisplay([1.0, 0.5]).plot()


def test_importing_sklosses_does_not_import_matplotlib():
    code = (
        "import sys, sklosses, sklosses.plot; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

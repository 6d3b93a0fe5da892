"""
============================
A custom loss with make_loss
============================

When no built-in loss matches the cost of an error, write it with NumPy.
Here under-predicting demand (a stock-out) costs four times as much as
over-predicting it (spare stock), so the loss is an asymmetric squared error

.. math::

    \\ell(y, p) = \\begin{cases} c\\,(y - p)^2 & \\text{if } y > p,\\\\
                               (y - p)^2 & \\text{otherwise,} \\end{cases}

with :math:`c = 4`. :func:`~sklosses.make_loss` turns the function into a
loss object that fits, clones, pickles and grid-searches like the built-in
ones. The function is defined at module level so that it pickles, and its
cost ``c`` is a keyword argument, so ``loss__kw_args`` can tune it.
"""

# %%
# The loss as a NumPy function
# ----------------------------
import matplotlib.pyplot as plt
import numpy as np

from sklosses import LossRegressor, make_loss
from sklosses.plot import plot_losses


def asymmetric_squared_error(y_true, y_pred, under_cost=4.0):
    """Squared error that costs ``under_cost`` times more below the target."""
    residual = y_true - y_pred
    return np.where(residual > 0, under_cost, 1.0) * residual**2


def asymmetric_squared_error_gradient(y_true, y_pred, under_cost=4.0):
    """Derivative of :func:`asymmetric_squared_error` with respect to y_pred."""
    residual = y_true - y_pred
    return -2.0 * np.where(residual > 0, under_cost, 1.0) * residual


# The gradient is optional: without it, sklosses differentiates the function
# numerically. Given, it is checked once against numerical derivatives.
stock_loss = make_loss(
    asymmetric_squared_error,
    gradient=asymmetric_squared_error_gradient,
    name="asymmetric squared error",
    kw_args={"under_cost": 4.0},
)
print(stock_loss)

# %%
# Its shape next to the squared error
# -----------------------------------
display = plot_losses([stock_loss, "squared_error"])
display.ax_.set_ylim(0, 12)
display.ax_.set_title("Under-prediction (r > 0) costs four times as much")

# %%
# Fit it like any loss
# --------------------
# Daily demand with noise. The custom loss shifts the predictions upwards, to
# the expectile of level c / (1 + c) = 0.8, which for normal noise lies near
# its 70th percentile: more spare stock, fewer stock-outs.
rng = np.random.default_rng(0)
X = rng.uniform(0, 10, size=(300, 1))
y = 20 + 3 * X[:, 0] + rng.normal(scale=4.0, size=300)

models = {
    "squared_error": LossRegressor(loss="squared_error").fit(X, y),
    "asymmetric": LossRegressor(loss=stock_loss).fit(X, y),
}
for name, model in models.items():
    stock_outs = np.mean(y > model.predict(X))
    print(f"{name:>14}: stock-outs on {stock_outs:.0%} of the days")

grid = np.linspace(0, 10, 100).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(6.4, 4.2))
ax.scatter(X[:, 0], y, s=8, color="0.6", label="demand")
for name, model in models.items():
    ax.plot(grid[:, 0], model.predict(grid), linewidth=2, label=name)
ax.set_xlabel("x")
ax.set_ylabel("demand")
ax.legend()
ax.set_title("The custom loss predicts above the mean")
fig.tight_layout()
plt.show()

"""
==============================================
Robust regression: squared, Huber and absolute
==============================================

Ten percent of the targets below are gross outliers. The squared error lets
them pull the fitted line towards them, because a residual counts with its
square; the Huber loss counts large residuals linearly and the absolute error
counts every residual linearly, so both stay close to the true line.
"""

# %%
# Data: a line with 10% outliers
# ------------------------------
import matplotlib.pyplot as plt
import numpy as np

from sklosses import LossRegressor

rng = np.random.default_rng(0)
n_samples = 200
X = rng.uniform(-3, 3, size=(n_samples, 1))
y = 2.0 * X[:, 0] + 1.0 + rng.normal(scale=0.5, size=n_samples)
outliers = rng.choice(n_samples, size=n_samples // 10, replace=False)
y[outliers] += rng.uniform(10, 20, size=outliers.size)  # all pull upwards

# %%
# Fit one model per loss
# ----------------------
# Only ``loss`` changes; ``alpha=0`` fits without a penalty. The absolute
# error is not smooth: the default solver handles it by smoothing.
losses = ["squared_error", "huber", "absolute_error"]
models = {loss: LossRegressor(loss=loss, alpha=0.0).fit(X, y) for loss in losses}
for loss, model in models.items():
    print(f"{loss:>15}: slope {model.coef_[0]:.2f}, intercept {model.intercept_:.2f}")
print(f"{'true':>15}: slope 2.00, intercept 1.00")

# %%
# Fitted lines
# ------------
grid = np.linspace(-3, 3, 100).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(6.4, 4.2))
inliers = np.setdiff1d(np.arange(n_samples), outliers)
ax.scatter(X[inliers, 0], y[inliers], s=10, color="0.6", label="inliers")
ax.scatter(X[outliers, 0], y[outliers], s=14, color="tab:red", marker="x", label="outliers")
for loss, model in models.items():
    ax.plot(grid[:, 0], model.predict(grid), linewidth=2, label=loss)
ax.plot(grid[:, 0], 2 * grid[:, 0] + 1, "k--", linewidth=1, label="true line")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.legend()
ax.set_title("Outliers pull the squared-error fit, not the robust ones")
fig.tight_layout()
plt.show()

# %%
# The Huber loss switches from squared to linear at ``delta``, in the units of
# the target; ``loss=Huber(delta=...)`` sets it, and a grid search can tune it
# (see :ref:`sphx_glr_auto_examples_plot_grid_search_losses.py`).

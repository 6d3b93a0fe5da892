"""
=========================================
Prediction intervals with quantile losses
=========================================

The quantile (pinball) loss with level ``q`` is minimised by the ``q``-th
quantile of the target given the features. Three models with ``q = 0.05``,
``0.5`` and ``0.95`` give a median prediction and a 90% prediction interval,
whose width here follows the noise, which grows with ``x``. Spline features
make the linear model flexible enough to follow the curve.
"""

# %%
# Data whose noise grows with x
# -----------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import SplineTransformer

from sklosses import LossRegressor
from sklosses.losses import Quantile

rng = np.random.default_rng(0)
n_samples = 600
X = rng.uniform(0, 10, size=(n_samples, 1))
noise_scale = 0.2 + 0.25 * X[:, 0]
y = np.sin(X[:, 0]) * X[:, 0] / 2 + rng.normal(scale=noise_scale)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)

# %%
# One model per quantile
# ----------------------
# ``Quantile(quantile=q)`` is a loss object: its level is a hyper-parameter,
# so ``loss__quantile`` is also a valid grid-search name.
quantiles = [0.05, 0.5, 0.95]
models = {}
for q in quantiles:
    model = make_pipeline(
        SplineTransformer(n_knots=8, degree=3),
        LossRegressor(loss=Quantile(quantile=q), alpha=1e-4),
    )
    models[q] = model.fit(X_train, y_train)

# %%
# Coverage on held-out data
# -------------------------
# About 90% of the test targets should fall between the 5% and 95% quantiles,
# and about half below the median.
low, median, high = (models[q].predict(X_test) for q in quantiles)
inside = (y_test >= low) & (y_test <= high)
print(f"coverage of the 90% interval: {inside.mean():.1%}")
print(f"share of targets below the median: {(y_test < median).mean():.1%}")

# %%
# The interval
# ------------
grid = np.linspace(0, 10, 300).reshape(-1, 1)
fig, ax = plt.subplots(figsize=(6.4, 4.2))
ax.scatter(X_test[:, 0], y_test, s=8, color="0.6", label="test data")
ax.fill_between(grid[:, 0], models[0.05].predict(grid), models[0.95].predict(grid),
                alpha=0.3, color="tab:blue", label="90% interval (q=0.05 to 0.95)")
ax.plot(grid[:, 0], models[0.5].predict(grid), color="tab:blue", label="median (q=0.5)")
ax.set_xlabel("x")
ax.set_ylabel("y")
ax.set_title(f"Quantile regression: {inside.mean():.0%} of test points inside")
ax.legend(loc="upper left")
fig.tight_layout()
plt.show()

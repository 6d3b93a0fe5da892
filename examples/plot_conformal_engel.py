"""
=====================================================
Non-crossing quantiles and conformal intervals: Engel
=====================================================

Engel's 1857 data (shipped with statsmodels): household food expenditure
against income for 235 Belgian working-class households. The spread of food
expenditure grows with income, the textbook case for quantile regression.

1. One joint fit of five quantile levels with an MLP whose levels cannot
   cross for any income (a lowest level plus softplus gaps), against the
   linear location-shift model, whose levels are parallel lines.
2. A conformal interval (conformalized quantile regression) with 90 %
   coverage, checked on held-out households.
"""

# %%
# The data
# --------
import matplotlib.pyplot as plt
import numpy as np
import statsmodels.api as sm
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklosses import ConformalRegressor, LossRegressor
from sklosses.losses import Quantile
from sklosses.plot import IntervalDisplay

engel = sm.datasets.engel.load_pandas().data
X = engel[["income"]].to_numpy()
y = engel["foodexp"].to_numpy()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)

# %%
# Five levels, one fit, no crossing
# ---------------------------------
# ``predict`` returns one column per level. The MLP's levels spread with
# income; the linear model's share one slope: the only linear quantile lines
# that cannot cross anywhere are parallel.
levels = [0.05, 0.25, 0.5, 0.75, 0.95]
mlp = make_pipeline(
    StandardScaler(),
    LossRegressor(loss=Quantile(levels), hidden_layer_sizes=(16,), activation="tanh",
                  alpha=1e-3, max_iter=2000, random_state=0),
).fit(X_train, y_train)
shift = make_pipeline(StandardScaler(), LossRegressor(loss=Quantile(levels))).fit(
    X_train, y_train)

grid = np.linspace(X.min(), X.max() * 1.5, 300).reshape(-1, 1)  # beyond the data, too
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, model, title in zip(axes, (mlp, shift), ("MLP, softplus gaps", "linear, location shift")):
    ax.scatter(X_train, y_train, s=6, color="black", label="training households")
    P = model.predict(grid)
    assert np.all(np.diff(P, axis=1) >= 0)  # ordered everywhere
    for k, q in enumerate(levels):
        ax.plot(grid, P[:, k], label=f"q = {q}")
    ax.set_title(title)
    ax.set_xlabel("income")
axes[0].set_ylabel("food expenditure")
axes[0].legend()

# %%
# Held-out pinball loss per level
from sklearn.metrics import mean_pinball_loss  # noqa: E402

for name, model in (("MLP", mlp), ("location shift", shift)):
    P = model.predict(X_test)
    losses = [mean_pinball_loss(y_test, P[:, k], alpha=q) for k, q in enumerate(levels)]
    print(f"{name:15s}", np.round(losses, 2))

# %%
# A 90 % conformal interval
# -------------------------
# ``ConformalRegressor`` fits the 5 % and 95 % quantiles on 75 % of the
# training rows and widens the band by the conformal quantile of the scores
# on the other 25 %: on exchangeable data it covers a new household with
# probability at least 90 %. The legend shows the coverage on held-out rows.
conformal = ConformalRegressor(coverage=0.9, random_state=0).fit(X_train, y_train)
display = IntervalDisplay.from_estimator(conformal, X_test, y_test)
display.ax_.set_xlabel("income")
display.ax_.set_ylabel("food expenditure")
print(f"held-out coverage {display.coverage_:.3f}, mean width {display.mean_width_:.1f}")

# %%
# One split of 71 held-out households is noisy: the guarantee is about the
# average over random splits, which is what the loop below estimates.
coverages = []
for seed in range(50):
    X_a, X_b, y_a, y_b = train_test_split(X, y, test_size=0.3, random_state=seed)
    interval = ConformalRegressor(coverage=0.9, random_state=seed).fit(X_a, y_a)
    interval = interval.predict_interval(X_b)
    coverages.append(np.mean((interval[:, 0] <= y_b) & (y_b <= interval[:, 1])))
print(f"mean held-out coverage over 50 random splits: {np.mean(coverages):.3f}")
plt.show()

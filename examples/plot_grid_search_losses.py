"""
============================================
Grid search over losses and their parameters
============================================

The loss is an ordinary parameter of :class:`~sklosses.LossRegressor`, and a
loss object's hyper-parameters are nested parameters, so
:class:`~sklearn.model_selection.GridSearchCV` can search over the loss
(``loss``) and, for the Huber loss, over its threshold (``loss__delta``),
also inside a :class:`~sklearn.pipeline.Pipeline` (``reg__loss__delta``).

The targets have heavy-tailed noise (Student's t with 1.2 degrees of
freedom), so a few residuals are huge. All candidates are judged by one
metric, the mean absolute error on held-out folds.
"""

# %%
# Data with heavy-tailed noise
# ----------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_regression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklosses import LossRegressor
from sklosses.losses import Huber

rng = np.random.default_rng(0)
X, y_clean = make_regression(n_samples=150, n_features=20, n_informative=20, noise=0.0,
                             random_state=0)
y = y_clean + 10 * rng.standard_t(df=1.2, size=y_clean.size)

# %%
# A pipeline and a grid over losses
# ---------------------------------
# Two grids in a list: the losses without parameters, and the Huber loss with
# three thresholds. ``reg__loss__delta`` reaches ``Huber.delta`` through the
# pipeline step and the loss object.
pipe = Pipeline([("scale", StandardScaler()), ("reg", LossRegressor(alpha=1e-4))])
param_grid = [
    {"reg__loss": ["squared_error", "absolute_error", "log_cosh"]},
    {"reg__loss": [Huber()], "reg__loss__delta": [1.0, 5.0, 20.0]},
]
search = GridSearchCV(pipe, param_grid, cv=KFold(5, shuffle=True, random_state=0),
                      scoring="neg_mean_absolute_error")
search.fit(X, y)
print("best parameters:", search.best_params_)
print(f"best cross-validated MAE: {-search.best_score_:.2f}")

# %%
# Results
# -------
results = search.cv_results_
labels = []
for params in results["params"]:
    loss = params["reg__loss"]
    label = loss if isinstance(loss, str) else f"huber, delta={params['reg__loss__delta']:g}"
    labels.append(label)
order = np.argsort(results["rank_test_score"])
fig, ax = plt.subplots(figsize=(6.4, 3.8))
positions = np.arange(len(order))
ax.barh(positions, -results["mean_test_score"][order],
        xerr=results["std_test_score"][order], capsize=3)
ax.set_yticks(positions, labels=[labels[i] for i in order])
ax.invert_yaxis()  # best on top
ax.set_xlabel("mean absolute error on held-out folds (lower is better)")
ax.set_title("GridSearchCV over losses and loss__delta")
fig.tight_layout()
plt.show()

# %%
# The squared error chases the huge residuals of the heavy tails; losses
# that grow linearly far from zero (absolute error, log-cosh, Huber with a
# small enough ``delta``) ignore them. A very large ``delta`` turns the Huber
# loss back into the squared error. :func:`sklosses.compare_losses` runs the
# same comparison in one call when only the loss changes.

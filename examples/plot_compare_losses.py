"""
====================================
Comparing losses with compare_losses
====================================

:func:`~sklosses.compare_losses` cross-validates one estimator once per
loss, on the same folds, and ranks the losses by one metric. By default that
metric is the estimator's own ``score`` (R² for a regressor): each loss's own
value cannot rank them, since a Huber loss of 3 and a squared error of 2000
are not on one scale.

The data is scikit-learn's diabetes dataset: 442 patients, 10 features, and
a positive target (disease progression after one year), so the Poisson and
Gamma losses, which need positive targets, are candidates too.
"""

# %%
# Compare
# -------
import matplotlib.pyplot as plt
from sklearn.datasets import load_diabetes
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklosses import LossRegressor, compare_losses

X, y = load_diabetes(return_X_y=True)
model = make_pipeline(StandardScaler(), LossRegressor(alpha=1e-3))
losses = ["squared_error", "huber", "absolute_error", "log_cosh", "poisson", "gamma"]
comparison = compare_losses(model, X, y, losses, cv=KFold(5, shuffle=True, random_state=0))
print(comparison)

# %%
# The results in the style of ``cv_results_``, and as a DataFrame when pandas
# is installed:
print(comparison.best_loss_, round(comparison.best_score_, 3))
comparison.to_frame()[["rank_test_score", "loss", "mean_test_score", "std_test_score"]]

# %%
# Plot
# ----
display = comparison.plot()
display.ax_.set_title("Diabetes: R² by loss, 5-fold cross-validation")
plt.tight_layout()
plt.show()

# %%
# The Huber loss with ``delta=1`` and the log-cosh loss grow linearly beyond
# residuals of about 1, and the residuals here are in the tens, so both behave
# like the absolute error: scale Huber's threshold to the target, e.g.
# ``Huber(delta=30.0)``, or tune it with a grid search. The differences
# between losses are within one standard deviation across folds: on this
# data, the choice of loss matters less than it does with outliers. The same
# comparison runs from the shell with ``sklosses compare``.

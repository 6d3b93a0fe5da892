"""
==============================================
Choosing a loss by cross-validation, fairly
==============================================

A loss is only fairly compared with another at its **own** tuned penalty,
and with parameters that mean something in the target's units. This example
chooses among four losses on scikit-learn's diabetes data (442 patients, a
positive target with standard deviation 77):

- ``squared_error``: the conditional mean;
- ``Huber(delta=1.35, scale="joint")``: robust, with ``delta`` in units of a
  residual scale fitted together with the model (``Huber(delta=1)`` here
  would be the absolute error in disguise, since almost every residual is
  larger than 1);
- ``Quantile(quantile=0.5)``: the conditional median;
- ``poisson``: a log-link model of a positive target.

:class:`~sklosses.LossRegressorCV` fits a warm-started regularisation path
per loss and fold, each loss on its own data-derived alpha grid, and picks
the best (loss, alpha). :func:`~sklosses.compare_losses` with
``tune_alpha=True`` then scores every loss at its own alpha by nested
cross-validation and says how sure each difference to the best is.
"""

# %%
# One search over losses and alphas
# ---------------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.model_selection import KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklosses import LossRegressor, LossRegressorCV, compare_losses
from sklosses.losses import Huber, Quantile

X, y = load_diabetes(return_X_y=True)
losses = ["squared_error", Huber(delta=1.35, scale="joint"), Quantile(quantile=0.5),
          "poisson"]
folds = KFold(5, shuffle=True, random_state=0)
search = make_pipeline(StandardScaler(), LossRegressorCV(loss=losses, alphas=15, cv=folds))
search.fit(X, y)
cv = search[-1]
print(f"chosen: {cv.loss_} at alpha={cv.alpha_:.3g}, R² {cv.best_score_:.3f}")

# %%
# The path plot: mean validation R² against alpha, one curve per loss. Each
# loss peaks at a different alpha: one fixed alpha for all would favour some.
results = cv.cv_results_
fig, ax = plt.subplots(figsize=(6.4, 4.0))
n_alphas = len(cv.alphas_)
for i, loss in enumerate(losses):
    rows = slice(i * n_alphas, (i + 1) * n_alphas)  # rows run loss by loss
    alphas = results["param_alpha"][rows]
    mean, std = results["mean_test_score"][rows], results["std_test_score"][rows]
    line, = ax.semilogx(alphas, mean, marker=".", label=str(loss))
    ax.fill_between(alphas, mean - std / np.sqrt(cv.n_splits_),
                    mean + std / np.sqrt(cv.n_splits_), color=line.get_color(), alpha=0.15)
    best = np.argmax(mean)
    ax.plot(alphas[best], mean[best], "o", color=line.get_color())
ax.set_xlabel("alpha (each loss on its own data-derived grid)")
ax.set_ylabel("R² (mean over 5 folds ± standard error)")
ax.set_ylim(0.3, 0.52)
ax.legend(fontsize="small")
ax.set_title("Regularisation paths on diabetes")
fig.tight_layout()

# %%
# Nested comparison with significance
# -----------------------------------
# ``tune_alpha=True`` chooses each loss's alpha inside every outer training
# fold, so the outer scores are never computed on data that chose the
# alpha. The p-values of the corrected resampled t-test (Nadeau and Bengio,
# 2003) account for the overlap of training sets between folds: with 442
# samples, most differences between these losses are within noise.
model = make_pipeline(StandardScaler(), LossRegressor())
comparison = compare_losses(model, X, y, losses, cv=folds, tune_alpha=True, alphas=15,
                            inner_cv=3)
print(comparison)

# %%
display = comparison.plot()
display.ax_.set_xlim(0.3, 0.52)
display.figure_.tight_layout()
plt.show()

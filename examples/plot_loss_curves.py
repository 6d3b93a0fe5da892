"""
==============================
Training and validation curves
==============================

Every fitted estimator records its objective after each iteration in
``loss_curve_``; with ``early_stopping=True`` it also records the loss on a
held-out ``validation_fraction`` of the training data after each epoch, in
``validation_loss_curve_``, and stops when that stops improving for
``n_iter_no_change`` epochs. :class:`sklosses.plot.LossCurveDisplay` draws
both.
"""

# %%
# A noisy curve and a small MLP
# -----------------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklosses import LossRegressor
from sklosses.plot import LossCurveDisplay

rng = np.random.default_rng(0)
X = rng.uniform(-3, 3, size=(500, 1))
y = np.sin(2 * X[:, 0]) + rng.normal(scale=0.3, size=500)

# %%
# Full batch (L-BFGS) and minibatch (Adam, early stopping)
# --------------------------------------------------------
# With early stopping, ``solver="auto"`` picks Adam; the fitted parameters are
# those of the epoch with the lowest validation loss.
lbfgs = make_pipeline(
    StandardScaler(),
    LossRegressor(loss="huber", hidden_layer_sizes=(32,), solver="lbfgs", max_iter=2000,
                  random_state=0),
)
adam = make_pipeline(
    StandardScaler(),
    LossRegressor(loss="huber", hidden_layer_sizes=(32,), early_stopping=True,
                  learning_rate=0.01, max_iter=300, n_iter_no_change=20, random_state=0),
)
lbfgs.fit(X, y)
adam.fit(X, y)
print(f"L-BFGS: {lbfgs[-1].n_iter_} iterations; Adam: {adam[-1].n_iter_} epochs")

# %%
# The curves
# ----------
# The training curve is the whole objective (mean loss plus penalty); the
# validation curve is the mean loss alone, on rows the solver never saw.
fig, (ax_lbfgs, ax_adam) = plt.subplots(1, 2, figsize=(11, 4))
LossCurveDisplay.from_estimator(lbfgs, ax=ax_lbfgs)
ax_lbfgs.set_title("L-BFGS (full batch)")
ax_lbfgs.set_yscale("log")
LossCurveDisplay.from_estimator(adam, ax=ax_adam)
ax_adam.set_title("Adam with early stopping")
ax_adam.set_yscale("log")
fig.tight_layout()
plt.show()

# %%
# Here Adam stops on a plateau, at a higher training loss than L-BFGS
# reaches, and the validation curve says that waiting longer would not have
# helped at this learning rate. On a few hundred samples the full-batch
# solver is often both faster and better; the minibatch solvers and early
# stopping pay off on large data, where one epoch of Adam costs as much as a
# single L-BFGS iteration and makes far more progress.

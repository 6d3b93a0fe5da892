"""
===============================
Linear model versus a small MLP
===============================

``hidden_layer_sizes`` is the only difference between a linear model
(``()``, the default) and a multi-layer perceptron (``(32,)``: one hidden
layer of 32 units). The loss, the penalty and the solver stay the same, so a
grid search can compare the two like any other parameter.

On the two interleaved half-moons below, a line cannot separate the classes
and the MLP can, with the log loss and with the squared hinge loss alike.
"""

# %%
# Data
# ----
import matplotlib.pyplot as plt
from sklearn.datasets import make_moons
from sklearn.inspection import DecisionBoundaryDisplay
from sklearn.model_selection import train_test_split

from sklosses import LossClassifier

X, y = make_moons(n_samples=300, noise=0.2, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0)

# %%
# Four classifiers: linear or MLP, log loss or squared hinge
# ----------------------------------------------------------
# On a few hundred samples, full-batch L-BFGS fits the MLP in well under a
# second; ``solver="auto"`` picks it for MLPs on fewer than 10 000 samples and
# Adam on more. It is set here so that the example does not depend on that
# rule.
models = {
    f"{loss}, {kind}": LossClassifier(loss=loss, hidden_layer_sizes=sizes, alpha=1e-3,
                                      solver="lbfgs", max_iter=1000, random_state=0)
    for loss in ("log_loss", "squared_hinge")
    for kind, sizes in (("linear", ()), ("MLP (32,)", (32,)))
}
for name, model in models.items():
    model.fit(X_train, y_train)
    print(f"{name:>25}: test accuracy {model.score(X_test, y_test):.3f}")

# %%
# Decision boundaries
# -------------------
fig, axes = plt.subplots(2, 2, figsize=(8, 7), sharex=True, sharey=True)
for ax, (name, model) in zip(axes.ravel(), models.items()):
    DecisionBoundaryDisplay.from_estimator(model, X, response_method="predict", ax=ax,
                                           alpha=0.3, cmap="coolwarm")
    ax.scatter(X_test[:, 0], X_test[:, 1], c=y_test, s=12, cmap="coolwarm",
               edgecolors="k", linewidths=0.3)
    ax.set_title(f"{name}: {model.score(X_test, y_test):.0%}")
fig.tight_layout()
plt.show()

# %%
# The MLP has no output activation of its own: the loss owns the link
# (logistic for the log loss, none for the squared hinge loss, whose decision
# values are margins), so any loss can sit on top of any network. Smooth
# losses suit the MLP best: L-BFGS converges on them in a few hundred
# iterations, while on the non-smooth hinge loss it needs many more.

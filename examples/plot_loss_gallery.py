"""
===================
A gallery of losses
===================

:func:`sklosses.plot.plot_losses` draws losses side by side: regression
losses against the residual, classification losses against the margin.

Regression losses differ in how they grow far from zero: quadratically (the
squared error: outliers dominate), linearly (absolute, Huber, log-cosh,
quantile, epsilon-insensitive: robust), and asymmetrically (the quantile
loss, and the Poisson, Gamma and Tweedie deviances, drawn on the log scale
as functions of :math:`\\log(y/\\mu)`).
"""

# %%
# Regression losses
# -----------------
import matplotlib.pyplot as plt

from sklosses.losses import Quantile
from sklosses.plot import plot_losses

identity_link = ["squared_error", "absolute_error", "huber", "log_cosh",
                 Quantile(quantile=0.8), "epsilon_insensitive"]
other_links = ["squared_log_error", "poisson", "gamma", "tweedie"]

fig, (ax_left, ax_right) = plt.subplots(1, 2, figsize=(11, 4.2), sharey=True)
plot_losses(identity_link, ax=ax_left)
ax_left.set_title("identity link: loss against y − p")
plot_losses(other_links, ax=ax_right)
ax_right.set_title("log and log1p links, at y = 1")
ax_left.set_ylim(0, 4)
fig.tight_layout()

# %%
# ``kl_divergence`` compares rows of probabilities and has no scalar residual,
# so it is not drawn.
#
# Classification losses
# ---------------------
# For a binary problem the margin is :math:`m = y z` with :math:`y = \\pm 1`
# and :math:`z` the decision value (the logit for the log loss and the focal
# loss). A negative margin is a mistake. The exponential loss punishes
# mistakes hardest, the modified Huber and hinge losses linearly; the hinge
# loss is exactly zero beyond the margin 1, so well-classified samples stop
# mattering, and the focal loss nearly so.
display = plot_losses(["log_loss", "focal", "hinge", "squared_hinge", "modified_huber",
                       "exponential"])
display.ax_.set_ylim(0, 8)
display.ax_.set_title("Classification losses against the margin")
plt.show()

"""
================================================
Imbalanced classes: focal loss and class weights
================================================

With 5% positives, a classifier fitted with the plain log loss predicts the
majority class most of the time: its accuracy looks good and its balanced
accuracy does not. Two remedies change the objective:

- ``class_weight="balanced"`` weighs each class by the inverse of its
  frequency, so both classes count equally in the mean loss;
- the focal loss multiplies the log loss by :math:`(1 - p_y)^\\gamma`, which
  shrinks the loss of the many samples that are already well classified and
  lets the hard ones drive the fit.

Balanced accuracy judges the hard decisions; average precision (the area
under the precision-recall curve) judges the ranking, which no class weight
can fix when the features cannot separate the classes.
"""

# %%
# Data with 5% positives
# ----------------------
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import make_classification
from sklearn.metrics import (
    PrecisionRecallDisplay,
    average_precision_score,
    balanced_accuracy_score,
)
from sklearn.model_selection import train_test_split

from sklosses import LossClassifier
from sklosses.losses import Focal

X, y = make_classification(n_samples=2000, n_features=10, n_informative=4,
                           n_clusters_per_class=1, weights=[0.95, 0.05], class_sep=0.8,
                           flip_y=0.0, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y,
                                                    random_state=0)
print(f"positives in the training set: {y_train.mean():.1%}")

# %%
# Four objectives
# ---------------
models = {
    "log_loss": LossClassifier(loss="log_loss"),
    "log_loss, balanced": LossClassifier(loss="log_loss", class_weight="balanced"),
    "focal (gamma=2)": LossClassifier(loss=Focal(gamma=2.0)),
    "focal, balanced": LossClassifier(loss=Focal(gamma=2.0), class_weight="balanced"),
}
scores = {}
for name, model in models.items():
    model.fit(X_train, y_train)
    scores[name] = (
        balanced_accuracy_score(y_test, model.predict(X_test)),
        average_precision_score(y_test, model.predict_proba(X_test)[:, 1]),
    )
    print(f"{name:>20}: balanced accuracy {scores[name][0]:.3f}, "
          f"average precision {scores[name][1]:.3f}")

# %%
# Balanced accuracy and precision-recall
# --------------------------------------
fig, (ax_bar, ax_pr) = plt.subplots(1, 2, figsize=(11, 4.2))
names = list(scores)
positions = np.arange(len(names))
ax_bar.barh(positions + 0.2, [scores[n][0] for n in names], height=0.4,
            label="balanced accuracy")
ax_bar.barh(positions - 0.2, [scores[n][1] for n in names], height=0.4,
            label="average precision")
ax_bar.set_yticks(positions, labels=names)
ax_bar.invert_yaxis()
ax_bar.set_xlim(0, 1)
ax_bar.legend(loc="lower right")
ax_bar.set_title("Test scores")
for name, model in models.items():
    PrecisionRecallDisplay.from_estimator(model, X_test, y_test, name=name, ax=ax_pr)
ax_pr.set_title("Precision-recall on the test set")
fig.tight_layout()
plt.show()

# %%
# Class weights move the decision threshold: balanced accuracy jumps, while
# the ranking of the samples (the precision-recall curve) barely changes.
# On this problem the focal loss alone changes little: it reweighs easy
# against hard samples, not one class against the other, and the minority
# class is not made only of hard samples. It helps most when many easy
# negatives swamp the gradient, as in dense object detection, and combines
# with class weights. Its probabilities are less calibrated than those of the
# log loss, so judge it by ranking or decision metrics, not by the log loss;
# :func:`sklosses.compare_losses` with ``scoring="balanced_accuracy"`` or
# ``"average_precision"`` makes that comparison by cross-validation.

"""Is one cross-validated score really better than another?

Fold scores of two models on the same folds are paired, but not independent:
the training sets overlap, so the plain paired t-test underestimates the
variance of the mean difference and finds differences everywhere. Nadeau and
Bengio (2003) correct the variance by the ratio of test to training size.
"""

import math

import numpy as np
from scipy.stats import t as student_t


def corrected_resampled_ttest(differences, n_train, n_test):
    r"""Two-sided p-value of a mean score difference over resampled splits.

    The corrected resampled t-statistic of Nadeau and Bengio (2003),

    .. math::
        t = \frac{\bar d}{\sqrt{\left(\frac1k + \frac{n_{test}}{n_{train}}\right)
            \hat\sigma^2_d}}

    with :math:`k` splits, :math:`\bar d` and :math:`\hat\sigma^2_d` the mean
    and the (``ddof=1``) variance of the per-split differences, compared
    with Student's t with :math:`k - 1` degrees of freedom.

    Parameters
    ----------
    differences : array-like of shape (n_splits,)
        Score of one model minus the other's, split by split (the same
        splits for both).
    n_train, n_test : float
        Training and test sizes of a split (their means over the splits).

    Returns
    -------
    p_value : float
        1.0 when every difference is zero, 0.0 when they are all equal and
        non-zero (no variance, a sure difference), NaN for fewer than two
        splits or non-finite differences.

    References
    ----------
    .. [1] C. Nadeau and Y. Bengio, "Inference for the generalization error",
       Machine Learning 52, 239-281 (2003).

    Examples
    --------
    >>> from sklosses._significance import corrected_resampled_ttest
    >>> round(corrected_resampled_ttest([0.02, 0.01, 0.03, 0.00, 0.02], 80, 20), 3)
    0.105
    """
    d = np.asarray(differences, dtype=float)
    if d.size < 2 or not np.all(np.isfinite(d)):
        return math.nan
    mean = float(d.mean())
    variance = float(d.var(ddof=1)) * (1.0 / d.size + n_test / n_train)
    if variance <= 0:
        return 1.0 if mean == 0 else 0.0
    statistic = mean / math.sqrt(variance)
    return float(2 * student_t.sf(abs(statistic), df=d.size - 1))

"""Losses indexed by a level (quantiles, expectiles) and lists of levels.

A loss such as ``Quantile(quantile=[0.1, 0.5, 0.9])`` asks for one joint fit
of ``K`` outputs on a single target: output ``k`` estimates level ``k``.

Conventions
-----------
- The target ``y`` has shape ``(n_samples,)`` (or ``(n_samples, 1)``); raw
  predictions and predictions have shape ``(n_samples, K)``. The target is
  broadcast against every column, and the per-sample loss is the mean over
  the ``K`` levels (API: multi-output losses average their outputs).
- A list of one level is the scalar level: 1-D raw predictions, the same fit.
- The outputs are ordered. ``noncrossing="monotone"`` declares it to the
  model resolution through :attr:`output_order`, which then builds a model
  whose outputs are non-decreasing for every input
  (:mod:`sklosses.models._monotone`); ``noncrossing="sort"`` keeps ``K`` free
  outputs and sorts the predictions (rearrangement) in the link.
"""

import numbers

import numpy as np

from ._base import RegressionLoss, as_float_array
from ._link import BaseLink, IdentityLink

NONCROSSING = ("monotone", "sort")


class RearrangementLink(BaseLink):
    """Identity on each output, then a sort along the outputs (rearrangement).

    ``inverse(raw)`` sorts each row of ``raw`` in increasing order: the
    rearrangement of Chernozhukov, Fernandez-Val and Galichon (2010), which
    turns any estimate of a quantile curve into a non-decreasing one that is
    closer to the true (non-decreasing) curve in every Lp norm. ``link`` is
    the identity: sorted predictions are their own raw values.

    References
    ----------
    .. [1] V. Chernozhukov, I. Fernandez-Val and A. Galichon, "Quantile and
       probability curves without crossing", Econometrica 78(3), 1093-1125
       (2010).

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.losses._levels import RearrangementLink
    >>> RearrangementLink().inverse(np.array([[2.0, 1.0, 3.0]]))
    array([[1., 2., 3.]])
    """

    name = "rearrangement"

    def link(self, y_pred):
        return IdentityLink().link(y_pred)

    def inverse(self, raw):
        raw = IdentityLink().inverse(raw)
        return np.sort(raw, axis=1) if raw.ndim == 2 else raw


class _LevelsMixin:
    """Scalar or list-valued level parameter, broadcasting and ordered outputs.

    Subclasses set ``_level_name`` (the constructor argument holding the
    level or levels, e.g. ``"quantile"``) and may have a ``noncrossing``
    argument; the smoothed surrogates have none (their model is built).
    """

    _level_name = None
    _level_hint = ""

    # -- levels --------------------------------------------------------------

    def _level_array(self):
        """The levels as a validated ndarray of shape (K,)."""
        name, value = self._level_name, getattr(self, self._level_name)
        owner = type(self).__name__
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            levels = np.array([float(value)])
        else:
            try:
                levels = np.asarray(value, dtype=float)
            except (TypeError, ValueError):
                levels = None
            if levels is None or levels.ndim != 1 or levels.size == 0:
                raise ValueError(
                    f"{owner} requires {name} to be a number in (0, 1) or a non-empty "
                    f"1-D list of them (got {name}={value!r}); for example "
                    f"{name}=[0.1, 0.5, 0.9]."
                )
        if not np.all(np.isfinite(levels)):
            raise ValueError(f"{owner}: {name} must be finite, got {value!r}.")
        if np.any(levels <= 0) or np.any(levels >= 1):
            raise ValueError(
                f"{owner} requires 0 < {name} < 1 (got {name}={value!r}); {self._level_hint}"
            )
        if np.any(np.diff(levels) <= 0):
            raise ValueError(
                f"{owner} requires strictly increasing levels (got {name}={value!r}); "
                f"sort them and drop duplicates, e.g. {name}=sorted(set(levels))."
            )
        return levels

    def _check_levels(self):
        """The ``_check_params`` of a loss with levels: the levels (a float for
        one, else an ndarray) after checking them and ``noncrossing``."""
        levels = self._level_array()
        self._check_noncrossing()
        return float(levels[0]) if levels.size == 1 else levels

    def _check_noncrossing(self):
        noncrossing = getattr(self, "noncrossing", "monotone")
        if noncrossing not in NONCROSSING:
            raise ValueError(
                f"{type(self).__name__} requires noncrossing in "
                f"{', '.join(map(repr, NONCROSSING))} (got noncrossing={noncrossing!r}); "
                "'monotone' builds a model whose levels cannot cross, 'sort' sorts "
                "the predictions of free outputs."
            )

    @property
    def n_levels(self):
        """Number of levels ``K`` (1 for a scalar level)."""
        return int(self._level_array().size)

    def _levels_for(self, dtype):
        """The levels as a Python float (one level) or an ndarray in ``dtype``.

        A Python float keeps float32 arithmetic float32 (NumPy treats Python
        scalars as weak); an array is cast to the dtype of the data.
        """
        levels = self._level_array()
        if levels.size == 1:
            return float(levels[0])
        return levels.astype(dtype)

    # -- what the rest of the package reads ------------------------------------

    @property
    def output_order(self):
        """``"non-decreasing"`` when the model must order its outputs, else None.

        Read by the model resolution: with ``K >= 2`` levels and
        ``noncrossing="monotone"``, the outputs are built non-decreasing for
        every input.
        """
        if self.n_levels >= 2 and getattr(self, "noncrossing", None) == "monotone":
            return "non-decreasing"
        return None

    @property
    def link(self):
        """Identity, or :class:`RearrangementLink` for ``noncrossing="sort"``."""
        if self.n_levels >= 2 and getattr(self, "noncrossing", None) == "sort":
            return RearrangementLink()
        return IdentityLink()

    def _n_raw_outputs_for(self, y):
        if self.n_levels >= 2:
            return self.n_levels
        return super()._n_raw_outputs_for(y)

    # -- broadcasting the target against the levels ---------------------------

    def _paired(self, y_true, y_pred):
        """``(y, y_pred)`` with ``y`` as a column against ``K`` prediction columns."""
        y, p = np.asarray(y_true), np.asarray(y_pred)
        K = self.n_levels
        if p.shape == (y.shape[0], K) and (y.ndim == 1 or y.shape[1:] == (1,)):
            return y.reshape(-1, 1), p
        raise ValueError(
            f"{type(self).__name__} with {K} levels needs y_true of shape (n_samples,) "
            f"and predictions of shape (n_samples, {K}), one column per level; got "
            f"shapes {y.shape} and {p.shape}."
        )

    def validate_target(self, y):
        """Refuse a 2-D target for a list of levels, then check the domain."""
        y = np.asarray(y)
        if self.n_levels >= 2 and y.ndim == 2 and y.shape[1] != 1:
            raise ValueError(
                f"{type(self).__name__} with a list of {self.n_levels} levels models a "
                f"single target, but y has shape {y.shape}. Fit one estimator per "
                "target (e.g. sklearn.multioutput.MultiOutputRegressor)."
            )
        super().validate_target(y)

    def _checked_metric_inputs(self, y_true, y_pred):
        if self.n_levels < 2:
            return super()._checked_metric_inputs(y_true, y_pred)
        self._check_params()
        y_true, y_pred = self._paired(y_true, y_pred)
        self.validate_target(y_true)
        y_pred = as_float_array(y_pred)
        self._check_prediction(y_pred)
        return y_true, y_pred

    def loss_gradient(self, y_true, raw, sample_weight=None):
        """Per-sample loss and its gradient with respect to ``raw``.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,) or (n_samples, n_outputs)
            True targets (not checked here: call :meth:`validate_target` once).
        raw : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Raw predictions; ``(n_samples, K)`` for ``K >= 2`` levels.
        sample_weight : array-like of shape (n_samples,), default=None
            Multiplies both outputs row-wise when given.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
            Per-sample loss (mean over outputs or levels), in the dtype of ``raw``.
        gradient : ndarray shaped like ``raw``
            Its gradient with respect to ``raw``, in the dtype of ``raw``.
        """
        if self.n_levels < 2:
            return super().loss_gradient(y_true, raw, sample_weight)
        self._check_params()
        y, raw = self._paired(y_true, raw)
        return RegressionLoss.loss_gradient(self, y, raw, sample_weight)

    def _per_level(self, func, y_true, sample_weight):
        """``func(y, level, w)`` for every level: a float, or an ndarray (K,)."""
        levels = self._level_array()
        if levels.size == 1:
            return func(y_true, float(levels[0]), sample_weight)
        y = as_float_array(y_true, np.float64).reshape(-1)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
        return np.array([func(y, float(level), w) for level in levels])

    def d2_score(self, y_true, y_pred, sample_weight=None):
        r"""Fraction of the loss explained, averaged over the levels.

        For each level ``k``, :math:`D^2_k = 1 - \sum_i w_i \ell_k(y_i,
        p_{ik}) / \sum_i w_i \ell_k(y_i, c_k)` with :math:`c_k` the best
        constant: :func:`sklearn.metrics.d2_pinball_score` for quantiles, its
        analogue for expectiles. 1 is perfect, 0 is no better than a
        constant. As scikit-learn, a level whose constant is already perfect
        scores 1 when the predictions are perfect too, else 0.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Targets.
        y_pred : array-like of shape (n_samples, K)
            Predictions, one column per level (1-D for one level).
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
            The mean of :math:`D^2_k` over the levels.
        """
        y_true, y_pred = self._checked_metric_inputs(y_true, y_pred)
        y = as_float_array(y_true, y_pred.dtype)
        constant = np.asarray(self.init_raw(y, sample_weight), dtype=y_pred.dtype)
        fitted = self._elementwise_pred(y, y_pred)
        baseline = self._elementwise_pred(y, np.broadcast_to(constant, y_pred.shape))
        numerator = np.average(fitted, axis=0, weights=sample_weight)
        denominator = np.average(baseline, axis=0, weights=sample_weight)
        scores = np.where(
            denominator > 0,
            1 - numerator / np.where(denominator > 0, denominator, 1),
            np.where(numerator == 0, 1.0, 0.0),
        )
        return float(np.mean(scores))

r"""Blocks of a linear model's Hessian on chosen features, at a point that may lag.

A working-set proximal Newton fit (:mod:`sklosses.solvers._working_set`)
needs the data term's Hessian :math:`X_W^\top D X_W` on its working set
``W`` only. Forming it costs ``n |W|^2``, which for a few hundred active
features is the price of a hundred gradients; yet from one Newton iteration
to the next, and from one alpha of a path to the next, the curvature
weights ``D`` (the loss's second derivative per sample) barely move.
:class:`LaggedFeatureHessian` keeps ``D`` from its last :meth:`refresh`
and the block it formed then, and serves the block on any later working
set, computing only the rows of features that joined since
(one pass over ``X``, ``n |new| p``; past a quarter of the columns, all of
them at once), so that a fit asks for a fresh ``D`` only when its steps
stop contracting.

Only a single-output linear model on dense data is served (one weight
vector ``d``); the caller forms fresh blocks for the others.
"""

import numpy as np

from .models import LinearModel
from .models._linear import weighted_gram

# Past this share of the columns, a block is formed on all of them.
_WHOLE_SHARE = 0.25


class LaggedFeatureHessian:
    """The data term's Hessian blocks at the point of the last refresh.

    Parameters
    ----------
    objective : Objective
        A single-output :class:`~sklosses.models.LinearModel` on dense
        ``X`` (see :meth:`applies`); its ``X`` and ``fit_intercept`` are kept.

    Attributes
    ----------
    is_fresh : bool
        Whether no step was taken since the last :meth:`refresh` (set to
        False by the caller after each step).
    n_refresh : int
        Refreshes so far (each a forward pass and a block of the working set).
    priority : ndarray of shape (n_features,) or None
        Set by the caller: how close each column is to entering the working
        set (larger: closer). An extension adds the closest columns beyond
        those asked for, as many as it holds already.
    """

    def __init__(self, objective):
        self.X = objective.X
        self.fit_intercept = objective.model.fit_intercept
        self._d = None
        self._features = np.zeros(0, dtype=np.intp)
        self._gram = np.zeros((0, 0))
        self._cross = np.zeros(0)
        self._total = 0.0
        self.is_fresh = False
        self.n_refresh = 0
        self.priority = None

    @staticmethod
    def applies(objective):
        """Whether ``objective`` is a single-output linear model on dense data."""
        model = objective.model
        return (type(model) is LinearModel and model.n_outputs == 1
                and isinstance(objective.X, np.ndarray))

    @property
    def has_point(self):
        """Whether a refresh happened (there is a ``D`` to serve from)."""
        return self._d is not None

    def refresh(self, d, features):
        """Take the curvature weights ``d`` (one per row) and form the block on ``features``.

        ``d`` is the loss's second derivative per sample at the new point,
        weights included (:meth:`Objective.curvature_weights`); ``features``
        are columns of ``X``.
        """
        self._d = np.asarray(d, dtype=np.float64)
        features = np.asarray(features, dtype=np.intp)
        n_features = self.X.shape[1]
        if features.size > _WHOLE_SHARE * n_features:
            # Many columns: all of them, with no copy, so that none is added later.
            features = np.arange(n_features)
            gram, cross, total = weighted_gram(self.X, self._d)
        else:
            gram, cross, total = weighted_gram(np.take(self.X, features, axis=1), self._d)
        self._features, self._gram, self._cross, self._total = features, gram, cross, total
        self.is_fresh = True
        self.n_refresh += 1

    def _extend(self, features):
        """Add the rows and columns of the features not held yet."""
        new = np.setdiff1d(features, self._features, assume_unique=True)
        if new.size == 0:
            return
        X, d = self.X, self._d
        n_features = X.shape[1]
        if self._features.size + new.size > _WHOLE_SHARE * n_features:
            # Each extension is a pass over X (2 n |new| p): past a quarter
            # of the columns, one symmetric product over all of them
            # (n p^2) costs less than the extensions left.
            self._features = np.arange(n_features)
            self._gram, self._cross, self._total = weighted_gram(X, d)
            return
        missing = np.setdiff1d(np.arange(n_features), self._features, assume_unique=True)
        if self.priority is not None and new.size < self._features.size:
            # As many as are held (the held set doubles, so a path makes a
            # few passes in all), the closest to entering first.
            extra = np.setdiff1d(missing, new, assume_unique=True)
            room = min(self._features.size - new.size, extra.size)
            if room > 0:
                ranked = extra[np.argsort(-self.priority[extra], kind="stable")[:room]]
                new = np.sort(np.concatenate([new, ranked]))
        X_new = np.take(X, new, axis=1)
        gram_new, cross_new, _ = weighted_gram(X_new, d)
        # One product with all of X (read once, not copied): its columns of
        # the features held are the coupling block.
        coupling = (np.asarray((X_new * d[:, None]).T @ X)[:, self._features]
                    if self._features.size else np.zeros((new.size, 0)))
        held = self._features.size
        gram = np.empty((held + new.size, held + new.size))
        gram[:held, :held] = self._gram
        gram[held:, held:] = gram_new
        gram[held:, :held] = coupling
        gram[:held, held:] = coupling.T
        features = np.concatenate([self._features, new])
        order = np.argsort(features, kind="stable")
        self._features = features[order]
        self._gram = gram[np.ix_(order, order)]
        self._cross = np.concatenate([self._cross, cross_new])[order]

    def block(self, features):
        """The data term's Hessian on ``model.feature_indices(features)``, at the lagged ``D``.

        Parameters
        ----------
        features : ndarray of int
            Sorted feature columns.

        Returns
        -------
        ndarray of shape (n_block, n_block), float64
            Weights of ``features`` then the intercept (when fitted), in the
            parameters' own units, without the penalty.
        """
        features = np.asarray(features, dtype=np.intp)
        self._extend(features)
        position = np.searchsorted(self._features, features)
        p = features.size
        intercept = self.fit_intercept
        out = np.empty((p + intercept, p + intercept))
        out[:p, :p] = self._gram[np.ix_(position, position)]
        if intercept:
            out[:p, p] = out[p, :p] = self._cross[position]
            out[p, p] = self._total
        return out

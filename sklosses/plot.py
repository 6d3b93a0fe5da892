"""Plots for choosing a loss: loss shapes and training curves.

Everything here needs matplotlib, the optional extra ``sklosses[plot]``. It is
imported inside the functions that draw, so that ``import sklosses`` and
``import sklosses.plot`` never import matplotlib.

Both displays follow scikit-learn's Display conventions: a constructor that
stores the data to draw, a ``plot(ax=None, ...)`` method that draws it and
returns the display, a ``from_*`` class method that computes the data and
plots it, and the matplotlib artists in attributes ending in ``_`` (``ax_``,
``figure_``, ``lines_``).
"""

import numpy as np

__all__ = ["IntervalDisplay", "LossCurveDisplay", "LossesDisplay", "plot_losses"]

_KINDS = ("residual", "margin")


def _pyplot():
    """``matplotlib.pyplot``, or an ImportError that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "sklosses.plot needs matplotlib, an optional dependency: "
            "pip install sklosses[plot] (or pip install matplotlib)."
        ) from exc
    return plt


def _get_ax(ax):
    """The axes to draw on: ``ax``, or the axes of a new figure."""
    if ax is None:
        _, ax = _pyplot().subplots()
    else:
        _pyplot()  # the same clear error when matplotlib is missing
    return ax


def _draw_lines(display, ax, curves, **kwargs):
    """Draw labelled curves with a legend; return the axes drawn on.

    ``curves`` holds ``(x, y, label)`` triples; ``ax=None`` draws on a new
    figure and ``kwargs`` go to every :meth:`~matplotlib.axes.Axes.plot`.
    Stores the artists on ``display`` as scikit-learn's displays do:
    ``ax_``, ``figure_`` and ``lines_``.
    """
    ax = _get_ax(ax)
    display.lines_ = []
    for x, y, label in curves:
        (line,) = ax.plot(x, y, label=label, **kwargs)
        display.lines_.append(line)
    ax.legend()
    display.ax_ = ax
    display.figure_ = ax.figure
    return ax


def _loss_label(given, loss):
    """Legend label: a name as the user typed it, else the loss's repr."""
    if isinstance(given, str):
        return given
    name = getattr(loss, "name", None)
    # Custom losses carry a user-given display name as a hyper-parameter;
    # built-in classes have a class-level name, so their repr shows the
    # hyper-parameters that tell two instances apart.
    if isinstance(name, str) and "name" in loss.get_params(deep=False):
        return name
    return repr(loss)


def _curve(loss, x):
    """Per-sample loss of ``loss`` at residuals or margins ``x``.

    Regression: the reference target is ``y = 1`` and the raw prediction is
    ``link(1) - x``, so ``x = link(y) - raw``: the residual ``y - p`` for the
    identity link, ``log(y / mu)`` for the log link. Classification: the
    positive class (``y = 1``, i.e. +1) with raw prediction ``x``, so ``x`` is
    the margin ``y * z`` (for log loss and focal loss, of the logit).
    """
    if getattr(loss, "task", None) == "regression":
        if getattr(loss.link, "name", None) == "softmax":
            raise ValueError(
                f"{type(loss).__name__} compares rows of probabilities; it has no "
                "scalar residual to plot against."
            )
        y = np.ones_like(x)
        raw = loss.link.link(y) - x
    else:
        y = np.ones_like(x)
        raw = x
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        values = loss.loss(y, raw)
    return np.asarray(values, dtype=float)


class LossesDisplay:
    """Losses drawn against the residual or the margin.

    Build it with :func:`plot_losses` (or :meth:`from_losses`), which
    evaluates the losses; or give the values and call :meth:`plot`.

    Parameters
    ----------
    x : ndarray of shape (n_points,)
        Residuals or margins at which the losses were evaluated.
    values : list of ndarray of shape (n_points,)
        The loss of each curve at ``x``.
    names : list of str
        Legend label of each curve.
    kind : {"residual", "margin"}
        What ``x`` is, for the axis label.
    raw_scale : bool, default=False
        Whether some regression loss was evaluated on the raw scale (a
        non-identity link), which the axis label then says.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure containing the curves.
    lines_ : list of matplotlib Line2D
        One line per loss, in the order of ``names``.

    See Also
    --------
    plot_losses : Evaluate losses and plot them.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.plot import LossesDisplay
    >>> x = np.linspace(-2, 2, 5)
    >>> display = LossesDisplay(x, [x**2, np.abs(x)], ["squared", "absolute"],
    ...                         kind="residual")
    >>> display = display.plot()
    >>> len(display.lines_)
    2
    """

    def __init__(self, x, values, names, *, kind, raw_scale=False):
        self.x = x
        self.values = values
        self.names = names
        self.kind = kind
        self.raw_scale = raw_scale

    @classmethod
    def from_losses(cls, losses, *, kind=None, x=None, ax=None, **kwargs):
        """Evaluate losses and plot them against the residual or the margin.

        See :func:`plot_losses`, which calls this, for the parameters.

        Returns
        -------
        display : LossesDisplay
            The display, with ``ax_``, ``figure_`` and ``lines_``.
        """
        # Imported here: _resolve imports the solvers and models, which this
        # module has no other need for.
        from ._resolve import resolve_loss

        if isinstance(losses, str) or not hasattr(losses, "__iter__"):
            losses = [losses]
        losses = list(losses)
        if not losses:
            raise ValueError("plot_losses needs at least one loss.")
        resolved = [resolve_loss(loss) for loss in losses]
        tasks = {loss.task for loss in resolved}
        wanted = {"regression": "residual", "classification": "margin"}
        if kind is None:
            if len(tasks) > 1:
                raise ValueError(
                    "plot_losses got both regression and classification losses; "
                    "regression losses are drawn against the residual and "
                    "classification losses against the margin, so plot them on "
                    "two axes."
                )
            kind = wanted[tasks.pop()]
        elif kind not in _KINDS:
            raise ValueError(f"kind must be one of {_KINDS} or None, got {kind!r}.")
        else:
            for given, loss in zip(losses, resolved):
                if wanted[loss.task] != kind:
                    raise ValueError(
                        f"{_loss_label(given, loss)} is a {loss.task} loss; it is "
                        f"drawn against the {wanted[loss.task]}, not the {kind}."
                    )
        x = np.linspace(-3.0, 3.0, 601) if x is None else np.asarray(x, dtype=float)
        if x.ndim != 1:
            raise ValueError(f"x must be 1-D, got an array of shape {x.shape}.")
        values = [_curve(loss, x) for loss in resolved]
        names = [_loss_label(given, loss) for given, loss in zip(losses, resolved)]
        raw_scale = kind == "residual" and any(
            getattr(loss.link, "name", None) != "identity" for loss in resolved
        )
        display = cls(x, values, names, kind=kind, raw_scale=raw_scale)
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw one line per loss, with a legend of their names.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for every line.

        Returns
        -------
        display : LossesDisplay
            ``self``, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        curves = [(self.x, values, name) for values, name in zip(self.values, self.names)]
        ax = _draw_lines(self, ax, curves, **kwargs)
        if self.kind == "residual":
            xlabel = "residual $y - p$"
            if self.raw_scale:
                xlabel = "residual on the raw scale, link$(y)$ − raw (at $y = 1$)"
        else:
            xlabel = "margin $y \\cdot z$  ($y = \\pm 1$, $z$ = decision value or logit)"
        ax.set_xlabel(xlabel)
        ax.set_ylabel("loss per sample")
        ax.axvline(0.0, color="0.8", linewidth=0.8, zorder=0)
        return self


def plot_losses(losses, *, kind=None, x=None, ax=None, **kwargs):
    r"""Plot losses against the residual (regression) or the margin (classification).

    Each loss is one line, labelled with its name in the legend. The curves
    show at a glance how hard each loss punishes large errors (outliers) and
    which errors it ignores.

    Parameters
    ----------
    losses : str, loss object, or list of them
        Loss names (as :class:`~sklosses.LossRegressor` accepts them) or loss
        objects, including losses made by :func:`~sklosses.make_loss`.
    kind : {"residual", "margin"}, default=None
        What the horizontal axis is. ``None`` picks it from the losses:
        ``"residual"`` for regression losses, ``"margin"`` for classification
        losses. Regression and classification losses cannot share an axes.
    x : array-like of shape (n_points,), default=None
        Residuals or margins at which to evaluate the losses; by default 601
        points from -3 to 3.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure when None.
    **kwargs : dict
        Passed to :meth:`matplotlib.axes.Axes.plot` for every line.

    Returns
    -------
    display : LossesDisplay
        With ``ax_``, ``figure_`` and ``lines_`` (one line per loss).

    Notes
    -----
    **Regression losses** are drawn against the residual on the raw scale,
    :math:`r = g(y) - \text{raw}` with :math:`g` the loss's link, at the
    reference target :math:`y = 1`. For the identity link this is the usual
    residual :math:`r = y - p`, and the losses there depend on :math:`r`
    only. For the log link (Poisson, Gamma, Tweedie) it is
    :math:`r = \log(y / \mu)`, and for ``squared_log_error``
    :math:`r = \log(1 + y) - \log(1 + p)`; these losses also depend on
    :math:`y`, hence the fixed reference. Their asymmetry shows which
    direction of error they punish more: Poisson over-prediction
    (:math:`r < 0`), Gamma under-prediction (:math:`r > 0`).
    ``kl_divergence`` compares rows of probabilities and cannot be drawn.

    **Classification losses** are drawn against the margin :math:`m = y z`
    with :math:`y \in \{-1, +1\}` and :math:`z` the raw prediction of a
    binary problem: the decision value for margin losses, the logit for
    ``log_loss`` and ``focal`` (so ``log_loss`` is
    :math:`\log(1 + e^{-m})`). A positive margin is a correct prediction.
    Curves are for the positive class, which matters only for a focal loss
    with a class weight ``alpha``.

    See Also
    --------
    LossesDisplay : The display object returned.

    Examples
    --------
    >>> from sklosses.plot import plot_losses
    >>> display = plot_losses(["squared_error", "huber", "absolute_error"])
    >>> len(display.lines_)
    3
    >>> display = plot_losses(["log_loss", "hinge", "focal"])
    >>> display.ax_.get_legend().get_texts()[1].get_text()
    'hinge'
    """
    return LossesDisplay.from_losses(losses, kind=kind, x=x, ax=ax, **kwargs)


def _per_iteration(curve, label):
    """``(x, y, label)`` of a curve against iterations numbered from 1."""
    values = np.asarray(curve, dtype=float)
    return np.arange(1, values.size + 1), values, label


class LossCurveDisplay:
    """Training (and validation) loss against the iteration or epoch.

    Build it with :meth:`from_estimator` from a fitted
    :class:`~sklosses.LossRegressor` or :class:`~sklosses.LossClassifier`, or
    give the curves and call :meth:`plot`.

    Parameters
    ----------
    loss_curve : array-like of shape (n_iter,)
        Training objective after each iteration or epoch (``loss_curve_``).
    validation_loss_curve : array-like of shape (n_epochs,), default=None
        Loss on held-out data after each epoch (``validation_loss_curve_``,
        set with ``early_stopping=True``).
    estimator_name : str, default=None
        Title of the axes; none when None.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the curves.
    figure_ : matplotlib Figure
        Figure containing the curves.
    lines_ : list of matplotlib Line2D
        The training line, then the validation line when there is one.

    Notes
    -----
    ``loss_curve_`` is the whole objective :math:`J` (mean loss plus
    penalty) on the training data, or its minibatch estimate for the
    ``"sgd"`` and ``"adam"`` solvers, while ``validation_loss_curve_`` is the
    mean loss alone on the held-out rows, so the two can differ by the
    penalty even without over-fitting. Iterations are numbered from 1.

    Examples
    --------
    >>> from sklearn.datasets import make_regression
    >>> from sklosses import LossRegressor
    >>> from sklosses.plot import LossCurveDisplay
    >>> X, y = make_regression(n_samples=100, n_features=3, random_state=0)
    >>> est = LossRegressor(loss="huber").fit(X, y)
    >>> display = LossCurveDisplay.from_estimator(est)
    >>> len(display.lines_)
    1
    """

    def __init__(self, loss_curve, *, validation_loss_curve=None, estimator_name=None):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.estimator_name = estimator_name

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, **kwargs):
        """Plot the loss curves of a fitted estimator.

        Parameters
        ----------
        estimator : LossRegressor, LossClassifier or Pipeline
            A fitted estimator with ``loss_curve_`` (and, with early stopping,
            ``validation_loss_curve_``); for a pipeline, its final step.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for every line.

        Returns
        -------
        display : LossCurveDisplay
            With ``ax_``, ``figure_`` and ``lines_``.
        """
        # A pipeline's curves are those of its final step.
        final = getattr(estimator, "_final_estimator", estimator)
        if not hasattr(final, "loss_curve_"):
            raise ValueError(
                f"{type(final).__name__} has no loss_curve_: fit it first "
                "(LossRegressor and LossClassifier record one in fit)."
            )
        loss = getattr(final, "loss", None)
        name = type(final).__name__
        if loss is not None:
            name = f"{name}(loss={loss!r})"
        display = cls(
            loss_curve=final.loss_curve_,
            validation_loss_curve=getattr(final, "validation_loss_curve_", None),
            estimator_name=name,
        )
        return display.plot(ax=ax, **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw the training curve and, when given, the validation curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.plot` for every line.

        Returns
        -------
        display : LossCurveDisplay
            ``self``, with ``ax_``, ``figure_`` and ``lines_`` set.
        """
        curves = [_per_iteration(self.loss_curve, "training")]
        if self.validation_loss_curve is not None:
            curves.append(_per_iteration(self.validation_loss_curve, "validation"))
        ax = _draw_lines(self, ax, curves, **kwargs)
        ax.set_xlabel("iteration (epoch for minibatch solvers)")
        ax.set_ylabel("loss")
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        return self


# -- Prediction intervals ------------------------------------------------------


def _interval_columns(y_interval):
    """``(lower, upper)`` from an interval of shape (n, 2) or a band (n, K >= 2)."""
    y_interval = np.asarray(y_interval, dtype=float)
    if y_interval.ndim != 2 or y_interval.shape[1] < 2:
        raise ValueError(
            "y_interval must have shape (n_samples, 2) (lower, upper), or (n_samples, K) "
            f"with K >= 2 levels whose first and last are the band; got {y_interval.shape}."
        )
    return y_interval[:, 0], y_interval[:, -1]


class IntervalDisplay:
    """Observed targets, a prediction band and its empirical coverage.

    Build it with :meth:`from_estimator` (a fitted
    :class:`~sklosses.ConformalRegressor`, or a regressor predicting several
    quantile levels such as ``LossRegressor(loss=Quantile([0.05, 0.95]))``)
    or with :meth:`from_predictions`, or give the arrays and call :meth:`plot`.

    Parameters
    ----------
    x : array-like of shape (n_samples,)
        Horizontal position of each row (a feature, or a rank).
    y_true : array-like of shape (n_samples,)
        Observed targets.
    lower, upper : array-like of shape (n_samples,)
        Ends of the interval of each row.
    y_pred : array-like of shape (n_samples,), default=None
        Point predictions, drawn as a line when given.
    x_label : str, default=None
        Label of the horizontal axis.
    estimator_name : str, default=None
        Title of the axes; none when None.

    Attributes
    ----------
    coverage_ : float
        Share of rows with ``lower <= y_true <= upper`` (set by the
        constructor).
    mean_width_ : float
        Mean of ``upper - lower``.
    ax_ : matplotlib Axes
        Axes with the plot.
    figure_ : matplotlib Figure
        Figure containing the plot.
    band_ : matplotlib PolyCollection
        The filled band.
    points_ : matplotlib PathCollection
        The observed targets; the legend gives the empirical coverage.
    line_ : matplotlib Line2D or None
        The point predictions, when given.

    Examples
    --------
    >>> import numpy as np
    >>> from sklosses.plot import IntervalDisplay
    >>> y = np.array([0.0, 1.0, 2.0, 3.0])
    >>> display = IntervalDisplay.from_predictions(y, np.c_[y - 1, y + 0.5 - 2 * (y > 2)])
    >>> display.coverage_
    0.75
    """

    def __init__(self, x, y_true, lower, upper, *, y_pred=None, x_label=None,
                 estimator_name=None):
        self.x = np.asarray(x, dtype=float).reshape(-1)
        self.y_true = np.asarray(y_true, dtype=float).reshape(-1)
        self.lower = np.asarray(lower, dtype=float).reshape(-1)
        self.upper = np.asarray(upper, dtype=float).reshape(-1)
        self.y_pred = None if y_pred is None else np.asarray(y_pred, dtype=float).reshape(-1)
        self.x_label = x_label
        self.estimator_name = estimator_name
        sizes = {a.size for a in (self.x, self.y_true, self.lower, self.upper)}
        if len(sizes) != 1:
            raise ValueError(
                "x, y_true, lower and upper must have one value per row; got lengths "
                f"{[a.size for a in (self.x, self.y_true, self.lower, self.upper)]}."
            )
        covered = (self.lower <= self.y_true) & (self.y_true <= self.upper)
        self.coverage_ = float(np.mean(covered)) if covered.size else float("nan")
        self.mean_width_ = float(np.mean(self.upper - self.lower)) if covered.size \
            else float("nan")

    @classmethod
    def from_predictions(cls, y_true, y_interval, *, x=None, y_pred=None, x_label=None,
                         estimator_name=None, ax=None, **kwargs):
        """Plot intervals given as arrays.

        Parameters
        ----------
        y_true : array-like of shape (n_samples,)
            Observed targets.
        y_interval : array-like of shape (n_samples, 2) or (n_samples, K)
            Lower and upper ends (``predict_interval``), or ``K >= 2``
            predicted levels whose first and last columns are the band.
        x : array-like of shape (n_samples,), default=None
            Horizontal positions; None ranks the rows by the centre of their
            interval (useful with several features).
        y_pred : array-like of shape (n_samples,), default=None
            Point predictions to draw as a line.
        x_label : str, default=None
            Label of the horizontal axis.
        estimator_name : str, default=None
            Title of the axes.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.fill_between` for the band.

        Returns
        -------
        display : IntervalDisplay
        """
        lower, upper = _interval_columns(y_interval)
        if x is None:
            centre = 0.5 * (lower + upper)
            x = np.empty(centre.size)
            x[np.argsort(centre, kind="stable")] = np.arange(centre.size)
            x_label = x_label or "rows, sorted by the centre of their interval"
        display = cls(x, y_true, lower, upper, y_pred=y_pred, x_label=x_label,
                      estimator_name=estimator_name)
        return display.plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, feature=None, ax=None, **kwargs):
        """Plot the intervals of a fitted estimator on ``(X, y)``.

        Parameters
        ----------
        estimator : estimator
            Fitted; its ``predict_interval(X)`` gives the intervals
            (:class:`~sklosses.ConformalRegressor`), or else ``predict(X)``
            must return ``K >= 2`` columns (a list of quantile levels) whose
            first and last are the band. The point predictions drawn are
            ``predict(X)`` when it is 1-D, or a band's middle column.
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Rows to plot, e.g. held-out ones.
        y : array-like of shape (n_samples,)
            Their targets.
        feature : int or str, default=None
            Column of ``X`` for the horizontal axis (an index, or a name for a
            DataFrame). None uses the only feature of one-column ``X`` and
            otherwise ranks the rows by the centre of their interval.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.fill_between` for the band.

        Returns
        -------
        display : IntervalDisplay
        """
        if hasattr(estimator, "predict_interval"):
            y_interval = estimator.predict_interval(X)
            y_pred = estimator.predict(X)
        else:
            band = np.asarray(estimator.predict(X), dtype=float)
            if band.ndim != 2 or band.shape[1] < 2:
                raise ValueError(
                    f"{type(estimator).__name__} has no predict_interval and predicts shape "
                    f"{band.shape}; give a ConformalRegressor or a regressor of several "
                    "quantile levels, e.g. LossRegressor(loss=Quantile([0.05, 0.95]))."
                )
            y_interval = band
            y_pred = band[:, band.shape[1] // 2] if band.shape[1] % 2 else None
        x, x_label = None, None
        n_features = X.shape[1] if hasattr(X, "shape") and len(X.shape) == 2 else None
        if feature is None and n_features == 1:
            feature = 0
        if feature is not None:
            if hasattr(X, "iloc"):
                column = X[feature] if isinstance(feature, str) else X.iloc[:, feature]
                x, x_label = np.asarray(column, dtype=float), str(column.name)
            else:
                column = X[:, feature]
                x = np.asarray(column.toarray() if hasattr(column, "toarray") else column,
                               dtype=float).reshape(-1)
                x_label = f"feature {feature}"
        return cls.from_predictions(y, y_interval, x=x, y_pred=y_pred, x_label=x_label,
                                    estimator_name=type(estimator).__name__, ax=ax,
                                    **kwargs)

    def plot(self, ax=None, **kwargs):
        """Draw the band, the observed points and the point predictions.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        **kwargs : dict
            Passed to :meth:`matplotlib.axes.Axes.fill_between` for the band.

        Returns
        -------
        display : IntervalDisplay
            ``self``, with ``ax_``, ``figure_``, ``band_``, ``points_`` and
            ``line_`` set.
        """
        ax = _get_ax(ax)
        order = np.argsort(self.x, kind="stable")
        band_kwargs = {"alpha": 0.3, "label": f"interval (mean width {self.mean_width_:.3g})",
                       **kwargs}
        self.band_ = ax.fill_between(self.x[order], self.lower[order], self.upper[order],
                                     **band_kwargs)
        self.points_ = ax.scatter(self.x, self.y_true, s=8, color="black",
                                  label=f"observed (coverage {100 * self.coverage_:.1f} %)")
        self.line_ = None
        if self.y_pred is not None:
            (self.line_,) = ax.plot(self.x[order], self.y_pred[order], label="prediction")
        ax.set_xlabel(self.x_label or "x")
        ax.set_ylabel("y")
        if self.estimator_name is not None:
            ax.set_title(self.estimator_name)
        ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

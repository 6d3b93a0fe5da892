"""Docstring sections shared by LossRegressor and LossClassifier."""

_COMMON_DOC = """
    hidden_layer_sizes : tuple of int, default=()
        ``()`` fits a linear model; ``(64,)`` or ``(64, 32)`` a multilayer
        perceptron with those hidden layers.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers (MLP only).
    alpha : float, default=1e-4
        Penalty strength; ``alpha=0`` means no penalty.
    l1_ratio : float, default=0.0
        Share of the L1 part of the penalty: 0 is ridge, 1 is lasso.
    fit_intercept : bool, default=True
        Whether to fit intercepts (never penalised).
    solver : {"auto", "lbfgs", "proximal", "newton", "exact", "sgd", "adam"}, \
default="auto"
        Optimiser. ``"lbfgs"`` is full-batch L-BFGS-B; it also handles an L1
        part by splitting each weight as ``w = u - v`` with ``u, v >= 0``
        under bounds. ``"proximal"`` is full-batch accelerated proximal
        gradient (FISTA with backtracking and adaptive restart). Under both, a
        non-smooth loss (absolute, quantile, epsilon-insensitive, hinge) is
        minimised through a continuation on Nesterov smoothing whose final
        level guarantees the objective within relative ``tol`` of the
        optimum. ``"newton"`` (linear models, smooth losses) takes Newton
        steps on the Hessian, with proximal-Newton coordinate descent for an
        L1 part. ``"exact"`` (linear models, piecewise-linear losses) solves
        the linear or quadratic program by an interior point and certifies
        its duality gap (``duality_gap_``). ``"sgd"`` and ``"adam"`` are
        minibatch solvers. ``"auto"`` takes the first that applies:
        ``"exact"`` for a linear piecewise-linear fit of moderate size;
        ``"proximal"`` for a linear model with a smooth loss, an L1 part and
        more features than samples; Newton (falling back to L-BFGS) for a
        linear smooth fit whose Hessian is cheap to form; ``"lbfgs"`` for
        other linear fits and MLPs on fewer than 10 000 samples; ``"adam"``
        otherwise and with ``early_stopping=True``. The rules follow the
        package's benchmarks (user guide, "Solvers and the auto rule").
    learning_rate : float, default=1e-3
        Step size of the minibatch solvers. ``"adam"`` keeps it constant
        (Kingma and Ba); ``"sgd"`` (Nesterov momentum 0.9) divides it by 5
        each time the training loss stalls for ``n_iter_no_change`` epochs,
        restarting from the best epoch, and stops after 5 divisions. A fit
        that diverges divides it by 2, then 4, 8, ... and restarts the
        epoch, and raises after 10 such back-offs in a row without progress
        (see :class:`~sklosses.solvers.MinibatchSolver`); a fit in which no epoch
        lowered the objective returns the start with a
        ``ConvergenceWarning``.
    batch_size : int or "auto", default="auto"
        Rows per minibatch; ``"auto"`` is ``min(200, n_samples)``.
    max_iter : int, default=500
        Maximum iterations (full-batch solvers) or epochs (minibatch).
    tol : float, default=1e-4
        Convergence tolerance. Full-batch solvers: relative and independent
        of the units of ``X`` and ``y``; the fit stops when the objective is
        within about ``tol`` of its optimum (see "What tol means" in the user
        guide). Minibatch solvers: an epoch improves when the monitored loss
        drops by more than ``tol`` times its magnitude (relative, unlike
        scikit-learn's ``MLPRegressor``, so that the rule does not depend on
        the units of the loss); epochs that each improve by less but keep
        descending steadily do not count as a plateau.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified by class
        for the classifier), monitor the loss term of the objective on them
        after every epoch, stop after ``n_iter_no_change`` epochs without an
        improvement by ``tol`` and restore the parameters of the lowest
        validation loss. Needs a minibatch solver: ``"auto"`` then uses
        ``"adam"``; ``"lbfgs"`` and ``"proximal"`` raise a ``ValueError``.
        Ignored by ``partial_fit``.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping, split with
        ``train_test_split(..., random_state=random_state)``.
    n_iter_no_change : int, default=10
        Epochs without improvement before a minibatch solver stops (or, for
        ``"sgd"``, lowers its learning rate).
    warm_start : bool, default=False
        Start from the previous solution when refitting, when it belongs to
        the same model: the same ``hidden_layer_sizes``, ``activation``
        (MLP), ``fit_intercept``, number of features and outputs, and
        classes. Otherwise the fit starts afresh. (``partial_fit``, in
        contrast, refuses a changed loss or architecture with a
        ``ValueError``, as scikit-learn's MLPs do; ``alpha``, ``l1_ratio``
        and the optimiser settings may change between its calls.)
    random_state : int, RandomState instance or None, default=None
        Seed for initialisation, shuffling and the validation split.
    verbose : int, default=0
        Print one line per iteration (full batch) or epoch (minibatch, with
        the validation loss under early stopping) when positive.

    Notes
    -----
    With scikit-learn >= 1.9 the estimators accept its callbacks,
    ``est.set_callbacks(ProgressBar())`` or ``ScoringMonitor(...)``, with
    ``LogisticRegression``'s protocol: one task for the fit and, for the
    minibatch solvers, one subtask per epoch (a callback may stop the fit
    there); the full-batch solvers report the fit task only.
"""


# The attributes both estimators set after the ones that differ (coef_ and
# coefs_ have task-specific shapes).
_COMMON_ATTRIBUTES_DOC = """\
    intercepts_ : list of ndarray of shape (n_out,)
        Biases of the MLP; the output biases are zeros when
        ``fit_intercept=False`` (hidden layers always have biases).
    loss_ : BaseLoss
        The loss object used.
    n_iter_ : int
        Iterations (or epochs) run.
    loss_curve_ : list of float
        Objective after each iteration; for the minibatch solvers, the mean
        minibatch objective of each epoch (an estimate of J along the epoch).
    validation_loss_curve_ : list of float
        Early stopping only: the loss term on the held-out rows after each
        epoch (lower is better).
    validation_scores_ : list of float
        Early stopping only: ``score`` on the held-out rows after each epoch
        (higher is better).
    best_validation_loss_ : float
        Early stopping only: ``min(validation_loss_curve_)``, the validation
        loss of the restored parameters.
    best_validation_score_ : float
        Early stopping only: the validation score of the restored parameters
        (at the epoch of the lowest validation loss, which need not be the
        highest score).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when X has string column names.
"""

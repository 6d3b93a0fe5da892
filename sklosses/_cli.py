"""The ``sklosses`` command line: ``sklosses compare``.

Every problem with the user's input ends as one line on stderr,
``sklosses compare: error: ...``, and exit code 2; :func:`main` returns the
exit code instead of raising, so it can be tested in-process too.
"""

import argparse
import csv
import os
import sys
import warnings

import numpy as np

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

# Only loaders whose data ship with scikit-learn: the command must work offline.
DATASETS = {
    "diabetes": ("load_diabetes", "regression"),
    "linnerud": ("load_linnerud", "regression"),
    "breast_cancer": ("load_breast_cancer", "classification"),
    "iris": ("load_iris", "classification"),
    "wine": ("load_wine", "classification"),
    "digits": ("load_digits", "classification"),
}

DEFAULT_LOSSES = {
    "regression": [
        "squared_error", "absolute_error", "huber", "log_cosh", "quantile",
        "epsilon_insensitive", "poisson", "gamma",
    ],
    "classification": [
        "log_loss", "focal", "hinge", "squared_hinge", "modified_huber", "exponential",
    ],
}

# --tune-alpha's inner search: small enough that the default run on diabetes
# (8 losses, 5 outer folds) takes well under half a minute on one core.
DEFAULT_N_ALPHAS = 10
DEFAULT_INNER_CV = 3

# A numeric target with at most this many distinct integer values is taken as
# class labels when --task is not given.
MAX_INFERRED_CLASSES = 20

_MISSING = {"", "na", "nan", "null", "none", "?"}

EPILOG = """\
The estimator is Pipeline(StandardScaler(), LossRegressor(loss)) for
regression and Pipeline(StandardScaler(), LossClassifier(loss)) for
classification: a linear model, with the features standardised inside each
training fold. Every loss is cross-validated on the same folds and judged by
one metric (--scoring; default the estimator's score: R² or accuracy).

examples:
  sklosses compare
  sklosses compare --dataset breast_cancer --losses log_loss,hinge,focal
  sklosses compare --csv data.csv --target price --losses squared_error,huber --cv 10
  python -m sklosses compare --dataset iris --scoring neg_log_loss --plot losses.png

exit status: 0 success, 1 every loss failed, 2 invalid input.
"""


class CommandError(Exception):
    """An input problem, reported as one line and exit code 2.

    Parameters
    ----------
    message : str
        What is wrong and how to fix it.
    prog : str, default="sklosses compare"
        The command the message is about.
    """

    def __init__(self, message, prog="sklosses compare"):
        super().__init__(message)
        self.prog = prog


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are exceptions, so main prints one line."""

    def error(self, message):
        raise CommandError(f"{message} (see '{self.prog} --help')", prog=self.prog)


# ---------------------------------------------------------------------------
# Arguments
# ---------------------------------------------------------------------------


def _positive_int(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def _n_jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("must be a positive integer or -1 (all cores)")
    return value


def build_parser():
    """The argument parser of the ``sklosses`` command."""
    parser = _Parser(
        prog="sklosses",
        description="sklosses: the loss function as a swappable part of scikit-learn.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    compare = commands.add_parser(
        "compare",
        help="cross-validate one model per loss and print the ranked table",
        description=(
            "Cross-validate one model per loss on a CSV file or on a dataset shipped\n"
            "with scikit-learn, and print the losses ranked by their mean test score."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = compare.add_mutually_exclusive_group()
    source.add_argument(
        "--dataset", choices=sorted(DATASETS), default=None,
        help="dataset shipped with scikit-learn (default: diabetes, a regression); "
             "diabetes and linnerud are regressions, the others classifications",
    )
    source.add_argument(
        "--csv", metavar="FILE",
        help="CSV file with a header row; every column but the target is a feature "
             "and must be numeric",
    )
    compare.add_argument("--target", metavar="COL", help="target column of the CSV file")
    compare.add_argument(
        "--task", choices=("regression", "classification"),
        help="default: inferred from the target (non-numeric, or at most "
             f"{MAX_INFERRED_CLASSES} distinct integer values: classification)",
    )
    compare.add_argument(
        "--losses", metavar="A,B,C",
        help="comma-separated loss names (default: a set for the task, each loss "
             "only when the target is in its domain)",
    )
    compare.add_argument(
        "--cv", type=_positive_int(2), default=5, metavar="K",
        help="number of cross-validation folds, shuffled, stratified for "
             "classification (default: 5)",
    )
    compare.add_argument(
        "--scoring", metavar="NAME",
        help="one metric for every loss: a scikit-learn scorer name (r2, "
             "neg_mean_absolute_error, neg_log_loss, ...) or a loss name scored as "
             "minus its mean (default: R² for regression, accuracy for classification)",
    )
    compare.add_argument("--plot", metavar="FILE.png",
                         help="also save a bar chart of the scores (needs matplotlib)")
    compare.add_argument("--seed", type=int, default=0, metavar="N",
                         help="seed of the folds and of the models (default: 0)")
    compare.add_argument("--n-jobs", type=_n_jobs, default=None, metavar="N",
                         help="losses evaluated in parallel (-1: all cores; default: 1)")
    compare.add_argument("--max-iter", type=_positive_int(1), default=500, metavar="N",
                         help="iterations of each fit (default: 500)")
    compare.add_argument(
        "--tune-alpha", action=argparse.BooleanOptionalAction, default=True,
        help="choose each loss's alpha by an inner cross-validation inside every "
             "training fold, so each loss is judged at its own best penalty (default: "
             "on; --no-tune-alpha scores every loss at alpha=1e-4)",
    )
    compare.add_argument(
        "--alphas", type=_positive_int(1), default=DEFAULT_N_ALPHAS, metavar="N",
        help=f"size of each loss's alpha grid with --tune-alpha (default: "
             f"{DEFAULT_N_ALPHAS}, log-spaced from the loss's data-derived largest "
             "useful alpha down by 1e-4)",
    )
    compare.add_argument(
        "--inner-cv", type=_positive_int(2), default=DEFAULT_INNER_CV, metavar="K",
        help=f"folds of the inner search with --tune-alpha (default: {DEFAULT_INNER_CV})",
    )
    compare.set_defaults(run=run_compare)
    return parser


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def _parse_column(values):
    """Floats (NaN for missing) when every present value is a number, else strings."""
    numbers = np.empty(len(values))
    for i, text in enumerate(values):
        text = text.strip()
        if text.lower() in _MISSING:
            numbers[i] = np.nan
            continue
        try:
            numbers[i] = float(text)
        except ValueError:
            return np.array([v.strip() for v in values], dtype=object)
    return numbers


def read_csv(path):
    """Columns of a CSV file with a header row, with the standard library only.

    Returns
    -------
    columns : dict of str to ndarray
        Float arrays for numeric columns (NaN marks a missing value), object
        arrays of strings otherwise, in file order.
    """
    if not os.path.isfile(path):
        raise CommandError(f"CSV file {path!r} does not exist")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            rows = [row for row in csv.reader(handle, dialect) if any(f.strip() for f in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CommandError(f"cannot read {path!r}: {exc}") from None
    if not rows:
        raise CommandError(f"CSV file {path!r} is empty")
    header = [name.strip() for name in rows[0]]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if duplicated:
        raise CommandError(f"{path!r} has duplicated column names: {', '.join(duplicated)}")
    body = rows[1:]
    if not body:
        raise CommandError(f"CSV file {path!r} has a header but no rows")
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise CommandError(
                f"{path!r} line {line} has {len(row)} fields, the header has {len(header)}"
            )
    return {name: _parse_column([row[i] for row in body]) for i, name in enumerate(header)}


def _is_numeric(column):
    return column.dtype != object


def load_csv_problem(path, target):
    """Features, target and column names from a CSV file."""
    if not target:
        raise CommandError("--csv needs --target COL, the column to predict")
    columns = read_csv(path)
    if target not in columns:
        raise CommandError(
            f"no column {target!r} in {path!r}; available columns: {', '.join(columns)}"
        )
    features = [name for name in columns if name != target]
    if not features:
        raise CommandError(f"{path!r} has no feature column besides the target {target!r}")
    text = [name for name in features if not _is_numeric(columns[name])]
    if text:
        raise CommandError(
            f"non-numeric feature columns: {', '.join(text)}; encode them as numbers "
            "(e.g. one-hot or ordinal) or drop them"
        )
    missing = [name for name in features if np.isnan(columns[name]).any()]
    if missing:
        raise CommandError(
            f"missing values in feature columns: {', '.join(missing)}; impute them or "
            "drop those rows"
        )
    y = columns[target]
    absent = np.array([v == "" for v in y]) if not _is_numeric(y) else np.isnan(y)
    if absent.any():
        raise CommandError(
            f"the target {target!r} has {int(absent.sum())} missing values; drop those rows"
        )
    X = np.column_stack([columns[name] for name in features])
    return X, y, features


def load_dataset(name):
    """Features, target and task of a dataset shipped with scikit-learn."""
    import sklearn.datasets

    loader, task = DATASETS[name]
    X, y = getattr(sklearn.datasets, loader)(return_X_y=True)
    return np.asarray(X, dtype=float), np.asarray(y), task


def infer_task(y):
    """Classification for non-numeric or few distinct integer values, else regression."""
    if not _is_numeric(y):
        return "classification"
    values = np.unique(y)
    integers = np.all(values == np.round(values))
    return "classification" if integers and len(values) <= MAX_INFERRED_CLASSES else "regression"


def check_target(y, task, what):
    """The target as the task needs it, or a CommandError saying why not."""
    if task == "regression":
        if not _is_numeric(y):
            examples = ", ".join(repr(v) for v in list(dict.fromkeys(y.tolist()))[:3])
            raise CommandError(
                f"{what} is not numeric (values such as {examples}); regression needs "
                "numbers: use --task classification for class labels"
            )
        return y.astype(float)
    if _is_numeric(y):
        if not np.all(y == np.round(y)):
            raise CommandError(
                f"{what} has non-integer values, which are not class labels; use "
                "--task regression"
            )
        y = y.astype(np.int64)
    if len(np.unique(y)) < 2:
        raise CommandError(f"{what} has a single class; classification needs at least 2")
    return y


# ---------------------------------------------------------------------------
# Losses, scoring, folds, estimator
# ---------------------------------------------------------------------------


def choose_losses(text, task, y):
    """Loss names from --losses, or the default set for the task and target."""
    from ._resolve import loss_names, resolve_loss

    valid = loss_names(task)
    if text is None:
        # Each loss's declared target domain decides: poisson takes counts
        # with zeros, gamma only y > 0.
        chosen = [name for name in DEFAULT_LOSSES[task] if name in valid and (
            task != "regression" or resolve_loss(name, task).target_domain.contains(y))]
        return chosen
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    if not chosen:
        raise CommandError(f"--losses is empty; valid {task} losses: {', '.join(valid)}")
    other = "classification" if task == "regression" else "regression"
    for name in chosen:
        if name in valid:
            continue
        if name in loss_names(other):
            raise CommandError(
                f"{name!r} is a {other} loss but the task is {task}; valid {task} "
                f"losses: {', '.join(valid)}"
            )
        raise CommandError(f"unknown loss {name!r}; valid {task} losses: {', '.join(valid)}")
    return list(dict.fromkeys(chosen))


def choose_scoring(name, task):
    """None, a scikit-learn scorer name, or a loss scorer."""
    if name is None:
        return None
    from sklearn.metrics import get_scorer_names

    from ._resolve import loss_names
    from .model_selection import make_loss_scorer

    if name in get_scorer_names():
        return name
    if name in loss_names(task):
        return make_loss_scorer(name)
    raise CommandError(
        f"unknown scoring {name!r}; use a scikit-learn scorer name (e.g. "
        f"{'r2, neg_mean_absolute_error' if task == 'regression' else 'accuracy, neg_log_loss'}"
        f"; see sklearn.metrics.get_scorer_names()) or a {task} loss name "
        f"({', '.join(loss_names(task))})"
    )


def make_folds(k, task, y, seed):
    """Shuffled K-fold, stratified for classification, after checking K fits the data."""
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(y)
    if k > n:
        raise CommandError(f"--cv {k} is more folds than the {n} samples")
    if task == "classification":
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if k > smallest:
            raise CommandError(
                f"--cv {k} is more folds than the {smallest} samples of the smallest "
                f"class; use --cv {max(smallest, 2)} or fewer"
            )
        return StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return KFold(n_splits=k, shuffle=True, random_state=seed)


def scale_aware(losses):
    """Loss names with parameters in the target's units replaced by scale-aware losses.

    ``huber`` becomes ``Huber(delta=1.35, scale="joint")``: its threshold is then
    in units of a residual scale fitted with the model (95 % efficiency under
    normal errors), where ``Huber(delta=1)`` on a target of standard deviation
    77 would be the absolute error in disguise.
    """
    from .losses import Huber

    replacements = {"huber": Huber(delta=1.35, scale="joint")}
    return [replacements.get(name, name) for name in losses]


def make_estimator(task, seed, max_iter):
    """StandardScaler followed by the sklosses estimator of the task."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from ._estimators import LossClassifier, LossRegressor

    cls = LossRegressor if task == "regression" else LossClassifier
    return make_pipeline(StandardScaler(), cls(random_state=seed, max_iter=max_iter))


def _check_plot_path(path):
    if path is None:
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CommandError(f"cannot write --plot {path!r}: directory does not exist")
    try:
        import matplotlib
    except ImportError:
        raise CommandError("--plot needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")  # files only: never open a window


# ---------------------------------------------------------------------------
# The command
# ---------------------------------------------------------------------------


def _load(args):
    if args.csv is not None:
        X, y, features = load_csv_problem(args.csv, args.target)
        task = args.task or infer_task(y)
        y = check_target(y, task, f"the target column {args.target!r}")
        source = f"{os.path.basename(args.csv)}, target {args.target!r}"
        inferred = args.task is None
        return X, y, task, source, inferred
    if args.target is not None:
        raise CommandError("--target goes with --csv; shipped datasets have their own target")
    name = args.dataset or "diabetes"
    X, y, task = load_dataset(name)
    if args.task is not None and args.task != task:
        raise CommandError(f"dataset {name!r} is a {task} problem, not {args.task}")
    return X, y, task, name, False


def run_compare(args):
    """Run ``sklosses compare``; returns the exit code."""
    from .model_selection import compare_losses

    X, y, task, source, inferred = _load(args)
    losses = scale_aware(choose_losses(args.losses, task, y))
    scoring = choose_scoring(args.scoring, task)
    folds = make_folds(args.cv, task, y, args.seed)
    _check_plot_path(args.plot)
    estimator = make_estimator(task, args.seed, args.max_iter)
    final = type(estimator.steps[-1][1]).__name__
    print(f"data: {source} ({X.shape[0]} samples, {X.shape[1]} features)")
    print(f"task: {task}{' (inferred; set --task to change)' if inferred else ''}")
    print(f"model: StandardScaler -> {final} (linear), {args.cv}-fold cross-validation, "
          f"seed {args.seed}")
    if not args.tune_alpha:
        print(f"alpha: {estimator.steps[-1][1].alpha:g} for every loss (--no-tune-alpha)")
    if any(not isinstance(loss, str) for loss in losses):
        print("huber: Huber(delta=1.35, scale='joint'), delta in units of a residual "
              "scale fitted with the model")
    print()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            comparison = compare_losses(estimator, X, y, losses, cv=folds,
                                        scoring=scoring, n_jobs=args.n_jobs,
                                        tune_alpha=args.tune_alpha, alphas=args.alphas,
                                        inner_cv=args.inner_cv)
        except ValueError as exc:
            print(f"sklosses compare: error: {exc}", file=sys.stderr)
            return EXIT_FAILED
    print(comparison)
    _report_warnings(caught)
    if args.plot is not None:
        display = comparison.plot()
        display.figure_.savefig(args.plot, bbox_inches="tight")  # keeps the notes
        print(f"\nplot saved to {args.plot}")
    return EXIT_OK


def _report_warnings(caught):
    """One line per distinct warning, after the table, instead of tracebacks of them."""
    messages = list(dict.fromkeys(
        f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught
    ))
    for message in messages:
        print(f"sklosses compare: warning: {message}", file=sys.stderr)


def main(argv=None):
    """Entry point of the ``sklosses`` command; returns the exit code.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    code : int
        0 on success, 1 when every loss failed, 2 for invalid input.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise CommandError("choose a command: compare (see 'sklosses --help')",
                               prog="sklosses")
        return args.run(args)
    except CommandError as exc:
        print(f"{exc.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version exit through argparse
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE

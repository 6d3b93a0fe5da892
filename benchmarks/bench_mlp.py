"""Small MLPs with Adam: LossClassifier / LossRegressor against scikit-learn's MLP.

One hidden layer of 64 ReLU units, Adam (learning rate 1e-3, betas 0.9 and
0.999, epsilon 1e-8), batches of 200 rows, exactly ``--epochs`` epochs on
both sides (no tolerance or plateau stopping, no early stopping):

- classification: ``LossClassifier(loss="log_loss")`` against
  ``MLPClassifier`` on ``make_classification`` (10 classes);
- regression: ``LossRegressor(loss="squared_error")`` against
  ``MLPRegressor`` on ``make_friedman1`` (a non-linear target).

Same objective on both sides. scikit-learn's MLP minimises, on each batch of
``B`` rows, ``loss_sk + alpha_sk / (2 B) * ||W||^2`` (``_backprop`` divides the
L2 term by the batch's weight sum), with ``loss_sk`` the mean log-loss, or
half the mean squared error. sklosses minimises
``mean loss + alpha / 2 * ||W||^2`` with the full squared error, so with
``B`` dividing the number of training rows (every batch full):

- log-loss: ``alpha = alpha_sk / B``;
- squared error: ``alpha = 2 * alpha_sk / B`` (the objective is then twice
  scikit-learn's). Adam is invariant to that factor 2 on the gradient (up to
  its epsilon), so the learning rate stays the same; plain SGD would take
  half of it.

No bias is penalised on either side. ``objective`` below evaluates both
fitted networks, in sklosses' convention, on the training rows; held-out
accuracy / R^2 are on 20 % of the rows. Times alternate in one process, one
seed per round (the same seed for both), medians; once with the default BLAS
threads and once on one thread (threadpoolctl). Peak memory: each fit in a
fresh subprocess after a tiny warm-up fit (lazy imports, BLAS buffers), peak
resident memory during the fit minus the resident memory before it.

Usage: python benchmarks/bench_mlp.py [--rounds 5] [--epochs 20] [--no-memory]
"""

import argparse
import gc
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np
from scipy.special import logsumexp
from sklearn.datasets import make_classification, make_friedman1
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sklosses import LossClassifier, LossRegressor

N_SAMPLES, N_FEATURES, N_CLASSES = 50_000, 50, 10
HIDDEN, BATCH, LEARNING_RATE, SK_ALPHA = (64,), 200, 1e-3, 1e-4
# sklosses' alpha for the same objective as scikit-learn's alpha (module docstring).
OUR_ALPHA = {"clf": SK_ALPHA / BATCH, "reg": 2 * SK_ALPHA / BATCH}
TASKS = {"clf": "log-loss, 10 classes", "reg": "squared error, Friedman #1"}


def make_data(task):
    """Standardised X (and regression y), 80 / 20 split: 40 000 training rows = 200 batches."""
    if task == "clf":
        X, y = make_classification(
            n_samples=N_SAMPLES, n_features=N_FEATURES, n_informative=30,
            n_classes=N_CLASSES, n_clusters_per_class=2, flip_y=0.02, random_state=0,
        )
    else:
        X, y = make_friedman1(n_samples=N_SAMPLES, n_features=N_FEATURES, noise=1.0,
                              random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2,
                                                        random_state=0)
    scaler = StandardScaler().fit(X_train)
    if task == "reg":
        # Centred target: scikit-learn starts its output bias near 0, sklosses at
        # the mean of y; on the raw target (mean 14) the comparison would be
        # about the first epochs spent moving the bias, not about the optimiser.
        mean, scale = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - mean) / scale, (y_test - mean) / scale
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def make_estimator(task, side, epochs, seed):
    # n_iter_no_change > max_iter and tol=0: both run exactly ``epochs`` epochs.
    common = {"hidden_layer_sizes": HIDDEN, "activation": "relu", "solver": "adam",
              "batch_size": BATCH, "max_iter": epochs, "tol": 0.0,
              "n_iter_no_change": epochs + 1, "early_stopping": False,
              "random_state": seed}
    if side == "sklosses":
        cls = LossClassifier if task == "clf" else LossRegressor
        loss = "log_loss" if task == "clf" else "squared_error"
        return cls(loss=loss, alpha=OUR_ALPHA[task], learning_rate=LEARNING_RATE, **common)
    cls = MLPClassifier if task == "clf" else MLPRegressor
    return cls(alpha=SK_ALPHA, learning_rate_init=LEARNING_RATE, shuffle=True, **common)


def network_raw(X, coefs, intercepts):
    """Raw output of a ReLU network from ``coefs_`` / ``intercepts_`` (either side)."""
    a = X
    for W, b in zip(coefs[:-1], intercepts[:-1]):
        a = np.maximum(a @ W + b, 0.0)
    return a @ coefs[-1] + intercepts[-1]


def objective(task, est, X, y):
    """Mean loss + alpha/2 ||W||^2 in sklosses' convention, independent of both fits."""
    raw = network_raw(X, est.coefs_, est.intercepts_)
    if task == "clf":
        labels = np.searchsorted(est.classes_, y)
        loss = logsumexp(raw, axis=1) - raw[np.arange(len(y)), labels]
    else:
        loss = (y - raw.ravel()) ** 2
    penalty = sum(float(np.sum(W * W)) for W in est.coefs_)
    return float(loss.mean()) + 0.5 * OUR_ALPHA[task] * penalty


def run(task, data, rounds, epochs):
    X_train, X_test, y_train, y_test = data
    rows = {side: {"time": [], "epoch": [], "objective": [], "score": [], "n_iter": set()}
            for side in ("sklosses", "scikit-learn")}
    for seed in range(rounds):
        for side, row in rows.items():
            est = make_estimator(task, side, epochs, seed)
            start = time.perf_counter()
            est.fit(X_train, y_train)
            elapsed = time.perf_counter() - start
            row["time"].append(elapsed)
            row["epoch"].append(elapsed / est.n_iter_)
            row["n_iter"].add(est.n_iter_)
            row["objective"].append(objective(task, est, X_train, y_train))
            row["score"].append(est.score(X_test, y_test))
    return rows


def report(task, label, rows):
    metric = "accuracy" if task == "clf" else "R^2"
    print(f"[{TASKS[task]}; {label}]")
    for side, row in rows.items():
        print(f"  {side:13s} per epoch {statistics.median(row['epoch']) * 1e3:7.1f} ms"
              f"  fit {statistics.median(row['time']):6.2f} s  epochs {sorted(row['n_iter'])}"
              f"  objective {statistics.median(row['objective']):.5f}"
              f"  held-out {metric} {statistics.median(row['score']):.4f}"
              f" ({min(row['score']):.4f}-{max(row['score']):.4f})")
    ratio = (statistics.median(rows["sklosses"]["epoch"])
             / statistics.median(rows["scikit-learn"]["epoch"]))
    print(f"  per-epoch time ratio sklosses / scikit-learn = {ratio:.2f}x")


def _rss_kib(field):
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(task, side, *, epochs, folder):
    """Peak resident memory of one fit, in MiB above the memory before it."""
    X = np.load(os.path.join(folder, f"{task}_X.npy"))
    y = np.load(os.path.join(folder, f"{task}_y.npy"))
    warnings.simplefilter("ignore")
    # Warm-up on a few rows: lazy imports and BLAS buffers are not the fit's.
    make_estimator(task, side, 1, 0).fit(X[:400], y[:400])
    gc.collect()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM to the current resident size
    before = _rss_kib("VmRSS")
    make_estimator(task, side, epochs, 0).fit(X, y)
    print((_rss_kib("VmHWM") - before) / 1024)


def measure_memory(task, data, epochs):
    with tempfile.TemporaryDirectory() as folder:
        np.save(os.path.join(folder, f"{task}_X.npy"), data[0])
        np.save(os.path.join(folder, f"{task}_y.npy"), data[2])
        runs = {"sklosses": [], "scikit-learn": []}
        for _ in range(3):
            for side, peaks in runs.items():
                out = subprocess.run(
                    [sys.executable, __file__, "--memory-child", task, side, folder,
                     "--epochs", str(epochs)],
                    check=True, capture_output=True, text=True,
                )
                peaks.append(float(out.stdout.split()[-1]))
    peaks = {side: statistics.median(values) for side, values in runs.items()}
    print(f"[{TASKS[task]}; peak memory during fit, median of 3 fresh subprocesses]")
    for side, peak in peaks.items():
        print(f"  {side:13s} {peak:7.2f} MiB")
    print(f"  ratio sklosses / scikit-learn = {peaks['sklosses'] / peaks['scikit-learn']:.2f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--memory-child", nargs=3, metavar=("TASK", "SIDE", "FOLDER"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        task, side, folder = args.memory_child
        memory_child(task, side, epochs=args.epochs, folder=folder)
        return
    warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is the budget
    print(f"n={N_SAMPLES} (80 % train), p={N_FEATURES}, hidden={HIDDEN}, batch={BATCH}, "
          f"lr={LEARNING_RATE}, alpha: scikit-learn {SK_ALPHA}, sklosses {OUR_ALPHA}, "
          f"epochs={args.epochs}, rounds={args.rounds}")
    for task in TASKS:
        data = make_data(task)
        report(task, "default BLAS threads", run(task, data, args.rounds, args.epochs))
        with threadpool_limits(limits=1):
            rows = run(task, data, args.rounds, args.epochs)
        report(task, "single thread", rows)
        if not args.no_memory:
            measure_memory(task, data, args.epochs)


if __name__ == "__main__":
    main()

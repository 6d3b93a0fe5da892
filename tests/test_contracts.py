"""Contracts held as data: loss target domains and solver capabilities.

Everything derived from a declaration is checked against behaviour or an
independent reference (scikit-learn's metrics and the solver rule as it was
written before the table), so that the data cannot drift from the code.
"""

import math

import numpy as np
import pytest
from _contract_losses import KinkedLoss
from _domains import targets_in, targets_outside
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import (
    mean_gamma_deviance,
    mean_poisson_deviance,
    mean_squared_log_error,
    mean_tweedie_deviance,
)

from sklosses import LossRegressor, make_loss
from sklosses import _resolve as resolve
from sklosses._cli import choose_losses
from sklosses._resolve import (
    FitProblem,
    auto_solver_name,
    check_solver_compatible,
    loss_registry,
    resolve_loss,
    resolve_penalty,
    resolve_solver,
    solver_incompatibility,
)
from sklosses.losses import (
    REAL_LINE,
    BaseLoss,
    ClassIndices,
    Gamma,
    Interval,
    Poisson,
    ProbabilityRows,
    SquaredLogError,
    Tweedie,
)
from sklosses.losses._link import LINKS
from sklosses.solvers import BaseSolver, SmoothingContinuation

# Every registered loss plus the parametrisations whose domain differs.
LOSSES = [cls() for cls in loss_registry().values()] + [
    Tweedie(power=p) for p in (-0.5, 0, 1, 2, 3)
]


def _id(loss):
    return repr(loss)


# ---------------------------------------------------------------------------
# 1. Domains
# ---------------------------------------------------------------------------

INTERVAL_CASES = [
    # domain, inside, outside, str
    (Interval(0, math.inf, low_inclusive=True), [0.0, 1e30], [-1e-30], "y >= 0"),
    (Interval(0, math.inf), [1e-30, 5.0], [0.0], "y > 0"),
    (Interval(-1, math.inf), [-0.999, 0.0], [-1.0], "y > -1"),
    (Interval(0, 1, True, True), [0.0, 1.0], [1.0 + 1e-12], "0 <= y <= 1"),
    (Interval(-math.inf, 2.5, high_inclusive=True), [-1e30, 2.5], [2.6], "y <= 2.5"),
    (REAL_LINE, [-1e30, 0.0, 1e30], [np.inf, np.nan], "any real y"),
]


@pytest.mark.parametrize("domain, inside, outside, text", INTERVAL_CASES,
                         ids=[c[3] for c in INTERVAL_CASES])
def test_interval_contains_and_reads_as_maths(domain, inside, outside, text):
    assert domain.contains(inside) and domain.contains(np.array(inside, dtype=np.float32))
    for value in outside:
        assert not domain.contains([inside[0], value])
        assert not domain.contains(value)
    assert domain.contains([])  # nothing is outside
    assert not domain.contains(["a"])  # strings are not numbers
    assert str(domain) == text


def test_interval_refuses_an_empty_range_and_compares_as_data():
    with pytest.raises(ValueError, match="low < high"):
        Interval(1.0, 1.0)
    # condition and advice are words for messages, not part of the set
    assert Interval(0, math.inf, advice="x") == Interval(0.0, math.inf)
    assert Interval(0, math.inf) != Interval(0, math.inf, low_inclusive=True)


def test_probability_rows_and_class_indices():
    rows = ProbabilityRows()
    assert rows.contains([[0.2, 0.8], [1.0, 0.0]])
    assert not rows.contains([[0.2, 0.7]]) and not rows.contains([[1.5, -0.5]])
    assert not rows.contains([0.5, 0.5])
    assert ClassIndices().contains([0, 1, 4]) and not ClassIndices().contains([0.5])
    assert not ClassIndices().contains([-1, 1])
    assert ClassIndices(signed=True).contains([-1, 1, 1])
    with pytest.raises(ValueError, match="not a mix of -1"):
        ClassIndices(signed=True).check(np.array([-1, 0, 2]), "Hinge")
    with pytest.raises(ValueError, match="expects class indices 0..K-1"):
        ClassIndices().check(np.array([0, 2.5]), "LogLoss")


@pytest.mark.parametrize("loss", LOSSES, ids=_id)
def test_validate_target_follows_the_declared_domain(loss):
    # Targets generated from the declaration pass; each broken bound fails
    # with a message that names the loss, phrased by the domain.
    domain = loss.target_domain
    rng = np.random.default_rng(0)
    y = targets_in(domain, rng, (30,))
    assert domain.contains(y)
    loss.validate_target(y)
    for bad in targets_outside(domain) if not isinstance(domain, ClassIndices) else []:
        assert not domain.contains(bad)
        with pytest.raises(ValueError, match=f"^{type(loss).__name__} requires"):
            loss.validate_target(bad)


# scikit-learn's metrics are an independent statement of the same domains.
METRICS = [
    (Poisson(), mean_poisson_deviance),
    (Gamma(), mean_gamma_deviance),
    (SquaredLogError(), mean_squared_log_error),
    *[(Tweedie(power=p), lambda y, p_, power=p: mean_tweedie_deviance(y, p_, power=power))
      for p in (-0.5, 0, 1, 1.5, 2, 3)],
]


@pytest.mark.parametrize("loss, metric", METRICS, ids=[_id(m[0]) for m in METRICS])
@pytest.mark.parametrize("value", [-5.0, -1.0, -0.5, 0.0, 1e-3, 2.0])
def test_domain_equals_scikit_learn_metric_domain(loss, metric, value):
    y = np.array([value, 1.0])
    try:
        metric(y, np.array([1.0, 1.0]))
        sklearn_accepts = True
    except ValueError:
        sklearn_accepts = False
    assert loss.target_domain.contains(y) == sklearn_accepts


def test_positive_only_tag_is_derived_from_the_domain():
    def tag(loss):
        return LossRegressor(loss=loss).__sklearn_tags__().target_tags.positive_only

    # These two were tagged by their link's name before, and wrongly so:
    # every real target is in the domain of the normal deviance.
    assert not tag(Tweedie(power=0)) and not tag(Tweedie(power=-0.5))
    assert tag("poisson") and tag("gamma") and tag("tweedie") and tag(Tweedie(power=3))
    # y > -1 is bounded below: only positive targets are safe for data that
    # knows nothing of the loss (see TargetDomain.positive_only).
    assert tag("squared_log_error")
    assert not tag("squared_error") and not tag("huber")
    assert not tag(make_loss(lambda y, p: (y - p) ** 2, link="log"))
    for name, cls in loss_registry().items():
        if cls.task == "regression":
            assert tag(name) == (cls().target_domain.low > -math.inf), name
    # an invalid parameter leaves the tags at their defaults instead of raising
    assert not tag(Tweedie(power=0.5))


@pytest.mark.parametrize("name", sorted(LINKS))
def test_link_prediction_domain_holds_its_inverse(name):
    link = LINKS[name]()
    rng = np.random.default_rng(1)
    raw = 5 * rng.standard_normal((50, 3))
    assert link.prediction_domain.contains(link.inverse(raw if name != "logit" else raw[:, 0]))


def test_cli_default_losses_follow_the_domains():
    counts = np.array([0.0, 1.0, 3.0, 0.0, 7.0])
    chosen = choose_losses(None, "regression", counts)
    assert "poisson" in chosen and "gamma" not in chosen  # counts with zeros
    both = choose_losses(None, "regression", counts + 0.5)
    assert {"poisson", "gamma"} <= set(both)
    real = choose_losses(None, "regression", counts - 2)
    assert not {"poisson", "gamma"} & set(real) and "squared_error" in real


# ---------------------------------------------------------------------------
# 2. Smoothed surrogates as a declared capability
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("loss", LOSSES, ids=_id)
def test_has_smoothed_surrogate_matches_behaviour(loss):
    if loss.is_smooth:
        assert loss.smoothed(0.1) is loss
        return
    overrides = type(loss).smoothed is not BaseLoss.smoothed
    assert loss.has_smoothed_surrogate == overrides
    surrogate = loss.smoothed(0.1)
    assert surrogate.is_smooth and surrogate.link == loss.link


class _NeedsHessian(BaseSolver):
    """A solver with needs no built-in solver has: a linear model, a Hessian."""

    name = "needs_hessian"
    linear_only = True
    required_loss_methods = ("gradient_hessian",)

    def solve(self, objective, x0, *, state=None, monitor=None):  # pragma: no cover
        raise AssertionError("never reached in these tests")


class _SmoothPenaltyOnly(_NeedsHessian):
    name = "smooth_penalty_only"
    linear_only = False
    required_loss_methods = ()
    handles_nonsmooth_penalty = False


class _WithHessian(KinkedLoss):
    is_smooth = True

    def gradient_hessian(self, y, raw):
        return np.sign(raw - y), np.zeros_like(raw)


@pytest.fixture
def extra_solvers(monkeypatch):
    """Two more rows in the solver table, registered as any branch would."""
    table = (*resolve.SOLVER_TABLE,
             resolve.SolverSpec("needs_hessian", _NeedsHessian, lambda o: _NeedsHessian(),
                                auto_rank=-1),
             resolve.SolverSpec("smooth_penalty_only", _SmoothPenaltyOnly,
                                lambda o: _SmoothPenaltyOnly()))
    monkeypatch.setattr(resolve, "SOLVER_TABLE", table)
    monkeypatch.setattr(resolve, "SOLVER_SPECS", {s.name: s for s in table})
    monkeypatch.setattr(resolve, "SOLVERS", ("auto", *(s.name for s in table)))


def _half_square(y_true, y_pred):
    return 0.5 * (y_true - y_pred) ** 2


# A smooth loss without second derivatives (every built-in smooth loss has
# gradient_hessian, a custom loss has not).
_NO_HESSIAN = make_loss(_half_square, name="half_square")


def _problem(loss="squared_error", l1_ratio=0.0, **kwargs):
    loss = resolve_loss(loss) if isinstance(loss, str) else loss
    return FitProblem(loss, resolve_penalty(0.1, l1_ratio), **kwargs)


def test_solver_contract_reasons(extra_solvers):
    def reason(name, problem):
        found = solver_incompatibility(name, problem)
        return None if found is None else found[0]

    assert reason("lbfgs", _problem()) is None
    assert "no smoothed surrogate" in reason("lbfgs", _problem(KinkedLoss()))
    assert reason("adam", _problem(KinkedLoss())) is None  # subgradients
    assert reason("proximal", _problem("quantile")) is None  # smoothed by continuation
    assert "linear models only" in reason("needs_hessian",
                                          _problem(_WithHessian(), model_is_linear=False))
    assert "gradient_hessian()" in reason("needs_hessian", _problem(_NO_HESSIAN))
    assert reason("needs_hessian", _problem(_WithHessian())) is None
    assert "L1 part" in reason("smooth_penalty_only", _problem(l1_ratio=0.5))
    assert "minibatch" in reason("lbfgs", _problem(early_stopping=True))


def test_auto_takes_the_first_compatible_solver_by_rank(extra_solvers):
    # The new row has the best rank: taken when its contract holds ...
    assert auto_solver_name(_problem(_WithHessian())) == "needs_hessian"
    # ... and skipped, with no error, when it does not.
    assert auto_solver_name(_problem(_NO_HESSIAN)) == "lbfgs"
    assert auto_solver_name(_problem(KinkedLoss())) == "adam"
    built = resolve_solver("needs_hessian", _WithHessian(), resolve_penalty(0.1, 0.0),
                           max_iter=10, tol=1e-4, verbose=0)
    assert isinstance(built, _NeedsHessian)


def test_bad_explicit_choice_is_refused_before_any_work():
    X = np.random.default_rng(0).standard_normal((20, 2))
    y = X[:, 0]
    KinkedLoss.calls = 0
    with pytest.raises(ValueError) as info:
        LossRegressor(loss=KinkedLoss(), solver="lbfgs").fit(X, y)
    message = str(info.value)
    assert message.startswith("solver='lbfgs' cannot fit loss KinkedLoss(): the loss is not "
                              "smooth and declares no smoothed surrogate")
    assert "Use solver='sgd' or 'adam' ('auto' chooses among them)" in message
    assert "has_smoothed_surrogate = True" in message
    assert KinkedLoss.calls == 0  # refused before the loss was ever evaluated
    # "auto" picks a solver that can, and fits
    est = LossRegressor(loss=KinkedLoss(), max_iter=3, random_state=0)
    with pytest.warns(ConvergenceWarning):
        est.fit(X, y)
    assert est._solver_state.rule == "adam"


def test_check_solver_compatible_early_stopping_wording():
    with pytest.raises(ValueError) as info:
        check_solver_compatible("proximal", _problem(early_stopping=True))
    assert str(info.value) == (
        "early_stopping=True needs solver='sgd' or 'adam' (or 'auto', which then uses "
        "adam), got solver='proximal': early stopping monitors a held-out validation loss "
        "after every epoch of a minibatch solver."
    )


def _rule_before_the_table(loss, penalty, *, early_stopping, hidden_layer_sizes, n_samples,
                           n_features):
    """The ``"auto"`` rule as it was written out by hand, the reference."""
    if early_stopping:
        return "adam"
    if len(hidden_layer_sizes) > 0:
        small = n_samples is not None and n_samples < 10_000
        return "lbfgs" if small else "adam"
    wide = n_samples is not None and n_features is not None and n_features > n_samples
    piecewise = callable(getattr(loss, "piecewise_linear", None)) and getattr(
        loss, "multiclass", "ovr") != "crammer_singer"
    few = n_features is None or n_features <= 1000
    if piecewise and few and (not wide or n_features <= 200):
        return "exact"
    if not penalty.is_smooth and getattr(loss, "has_constant_hessian", False):
        # Exact on the Gram matrix where small, else proximal (wide) or
        # L-BFGS, chosen at solve time (GramOrFallback, "auto" until then).
        return "auto"
    if not penalty.is_smooth and loss.is_smooth and wide:
        return "proximal"
    if loss.is_smooth and hasattr(loss, "gradient_hessian"):
        # Newton or L-BFGS, chosen at solve time (NewtonOrLBFGS, named "auto"
        # until then).
        return "auto"
    return "lbfgs"


@pytest.mark.parametrize("loss", ["squared_error", "quantile", "log_loss", "hinge"])
@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("hidden", [(), (4,)])
def test_auto_rule_equals_the_rule_before_the_table(loss, l1_ratio, early_stopping, hidden):
    loss, penalty = resolve_loss(loss), resolve_penalty(0.1, l1_ratio)
    for n_samples, n_features in [(None, None), (100, 10), (100, 1000), (50_000, 10),
                                  (50_000, 60_000), (None, 10)]:
        shape = dict(n_samples=n_samples, n_features=n_features)
        expected = _rule_before_the_table(loss, penalty, early_stopping=early_stopping,
                                          hidden_layer_sizes=hidden, **shape)
        built = resolve_solver("auto", loss, penalty, max_iter=5, tol=1e-4, verbose=0,
                               early_stopping=early_stopping, hidden_layer_sizes=hidden,
                               **shape)
        assert built.name == expected
        wrapped = isinstance(built, SmoothingContinuation)
        assert wrapped == (not loss.is_smooth and not built.is_minibatch
                           and built.name != "exact")
        if wrapped:
            assert built.inner.name == expected and not built.inner.is_minibatch


def test_every_contract_message_is_documented(extra_solvers):
    # The reachable case is in tests/test_reliability.py; these need solvers
    # that no built-in is, so their wording is checked here.
    from pathlib import Path

    doc = " ".join((Path(__file__).resolve().parents[1] / "docs" / "input_validation.rst")
                   .read_text(encoding="utf-8").split())
    problems = {
        "smooth_penalty_only": _problem(l1_ratio=0.5),
        "needs_hessian": _problem(_NO_HESSIAN),
    }
    for name, problem in problems.items():
        what, fix = solver_incompatibility(name, problem)
        assert what in doc and fix in doc
    what, fix = solver_incompatibility("needs_hessian",
                                       _problem(_WithHessian(), model_is_linear=False))
    assert what in doc and fix in doc
    assert "No solver can fit loss" in doc

"""AutoML settings: one frozen object instead of dozens of keywords.

Every value is checked where the settings are built, so a request or a file that names an
unknown metric or learner, or a number out of range, is refused before any work is queued.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from numbers import Integral, Real
from typing import Any

from shipyard.automl import metrics
from shipyard.automl.catalog import MAX_BUDGET_S, MAX_TRIALS, TASKS
from shipyard.automl.estimators.registry import all_learners, select_learners
from shipyard.core.errors import InvalidInputError

CLASS_BALANCING = ("auto", "on", "off")
# The engine's own ceilings (with MAX_BUDGET_S and MAX_TRIALS); a server caps budgets and
# trials lower (its job limits).
MAX_SEED = 2**32 - 1  # NumPy's and the learners' seeds are unsigned 32-bit integers
MAX_CORES = 1024
MAX_ENSEMBLE_SIZE = 100
MAX_ENSEMBLE_LATENCY_MS = 60_000.0
_SHOWN_CHARS = 60


@dataclass(frozen=True)
class AutoMLSettings:
    """What to learn, how to judge it, and when to stop.

    Args:
        target: the column to predict.
        task: "classification" or "regression"; None infers it from the target.
        primary_metric: the metric the search optimizes (see `metrics.metric_names`);
            None means accuracy for classification and r2 for regression.
        budget_s: wall-clock budget for the whole run; it ends within budget + 10%.
        max_trials: stop after this many trials (ensembles not counted).
        exit_score: stop as soon as a trial reaches this primary-metric value.
        n_folds: k of the k-fold cross-validation (the default validation).
        holdout_fraction: validate on one random holdout of this fraction instead.
        allowed_learners / blocked_learners: learner names to use or to skip.
        enable_voting_ensemble / enable_stacking_ensemble: build the ensembles.
        class_balancing: "auto" searches class weights when classes are imbalanced,
            "on" always weighs classes equally, "off" never reweighs.
        max_concurrent_trials: trials run at once; the cores are shared among them.
        n_jobs: cores to use (None: all).
        seed: random seed of folds, samplers and learners.
        ensemble_size: most distinct models in an ensemble.
        max_ensemble_latency_ms: an ensemble's members must together score one row
            within this time, measured while training, so that ensembles stay lean.
    """

    target: str
    task: str | None = None
    primary_metric: str | None = None
    budget_s: float = 300.0
    max_trials: int | None = None
    exit_score: float | None = None
    n_folds: int = 5
    holdout_fraction: float | None = None
    allowed_learners: tuple[str, ...] | None = None
    blocked_learners: tuple[str, ...] = ()
    enable_voting_ensemble: bool = True
    enable_stacking_ensemble: bool = True
    class_balancing: str = "auto"
    max_concurrent_trials: int = 1
    n_jobs: int | None = None
    seed: int = 42
    ensemble_size: int = 5
    max_ensemble_latency_ms: float = 2.0

    def __post_init__(self) -> None:
        _check(isinstance(self.target, str) and bool(self.target), "target must name a column")
        _choice("task", self.task, TASKS, optional=True)
        _number("budget_s", self.budget_s, 0.0, MAX_BUDGET_S, above_low=True)
        _whole("max_trials", self.max_trials, 1, MAX_TRIALS, optional=True)
        _number("exit_score", self.exit_score, -math.inf, math.inf, optional=True)
        _whole("n_folds", self.n_folds, 2, 20)
        _number("holdout_fraction", self.holdout_fraction, 0.05, 0.5, optional=True)
        for name in ("enable_voting_ensemble", "enable_stacking_ensemble"):
            _check(isinstance(getattr(self, name), bool), f"{name} must be true or false")
        _choice("class_balancing", self.class_balancing, CLASS_BALANCING)
        _whole("max_concurrent_trials", self.max_concurrent_trials, 1, MAX_CORES)
        _whole("n_jobs", self.n_jobs, 1, MAX_CORES, optional=True)
        _whole("seed", self.seed, 0, MAX_SEED)
        _whole("ensemble_size", self.ensemble_size, 1, MAX_ENSEMBLE_SIZE)
        _number(
            "max_ensemble_latency_ms",
            self.max_ensemble_latency_ms,
            0.0,
            MAX_ENSEMBLE_LATENCY_MS,
            above_low=True,
        )
        # JSON gives lists; the frozen settings keep tuples (hashable, compare equal)
        object.__setattr__(
            self, "allowed_learners", _names("allowed_learners", self.allowed_learners)
        )
        object.__setattr__(
            self, "blocked_learners", _names("blocked_learners", self.blocked_learners) or ()
        )
        self._check_learners()
        self._check_metric()

    def _check_learners(self) -> None:
        """Every name is a learner, and the lists leave one for the task (or for one task)."""
        problems = []
        for task in (self.task,) if self.task else TASKS:
            try:
                select_learners(task, self.allowed_learners, self.blocked_learners)
                return
            except InvalidInputError as exc:
                problems.append(str(exc))
        raise InvalidInputError(f"allowed_learners / blocked_learners: {problems[0]}")

    def _check_metric(self) -> None:
        """The primary metric exists (for the task, when one is named)."""
        if self.primary_metric is None:
            return
        _check(
            isinstance(self.primary_metric, str) and len(self.primary_metric) <= _SHOWN_CHARS,
            f"primary_metric must be a metric name, got {shown(self.primary_metric)}",
        )
        problems = []
        for task in (self.task,) if self.task else TASKS:
            try:
                metrics.get_metric(self.primary_metric, task)
                return
            except InvalidInputError as exc:
                problems.append(str(exc))
        if self.task:
            raise InvalidInputError(f"primary_metric: {problems[0]}")
        known = [f"{', '.join(metrics.metric_names(task))} ({task})" for task in TASKS]
        raise InvalidInputError(
            f"primary_metric {shown(self.primary_metric)} is not a metric; "
            f"choose from {'; '.join(known)}"
        )

    @property
    def cores(self) -> int:
        """Cores the run may use."""
        return self.n_jobs or os.cpu_count() or 1

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form."""
        out = asdict(self)
        for key in ("allowed_learners", "blocked_learners"):
            if out[key] is not None:
                out[key] = list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AutoMLSettings:
        """Rebuild settings written by `to_dict`; unknown keys are an error."""
        if not isinstance(data, dict):
            raise InvalidInputError("AutoML settings must be an object of setting: value")
        names = {f.name for f in fields(cls)}
        unknown = sorted(map(str, set(data) - names))
        if unknown:
            raise InvalidInputError(f"unknown AutoML setting(s): {', '.join(unknown)}")
        try:
            return cls(**data)
        except TypeError as exc:  # a missing required setting
            raise InvalidInputError(f"invalid AutoML settings: {exc}") from exc


def learner_names() -> list[str]:
    """Names of every learner the search may use."""
    return list(all_learners())


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidInputError(message)


def shown(value: Any) -> str:
    """`value` as an error message shows it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 3] + "..."


def _whole(name: str, value: Any, low: int, high: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    is_int = isinstance(value, Integral) and not isinstance(value, bool)
    _check(
        is_int and low <= value <= high,
        f"{name} must be a whole number between {low} and {high}, got {shown(value)}",
    )


def _number(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    optional: bool = False,
    above_low: bool = False,
) -> None:
    if value is None and optional:
        return
    is_real = isinstance(value, Real) and not isinstance(value, bool)
    ok = is_real and math.isfinite(value) and (low < value if above_low else low <= value)
    if math.isinf(low) and math.isinf(high):
        what = "a finite number"
    elif above_low:
        what = f"a number above {_plain(low)} and at most {_plain(high)}"
    else:
        what = f"a number between {_plain(low)} and {_plain(high)}"
    _check(ok and value <= high, f"{name} must be {what}, got {shown(value)}")


def _plain(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:g}"


def _choice(name: str, value: Any, choices: Iterable[str], *, optional: bool = False) -> None:
    if value is None and optional:
        return
    options = tuple(choices)
    _check(
        isinstance(value, str) and value in options,
        f"{name} must be one of {', '.join(options)}, got {shown(value)}",
    )


def _names(name: str, value: Any) -> tuple[str, ...] | None:
    """A list of learner names as a tuple; a lone string is refused, not split into letters."""
    if value is None:
        return None
    _check(
        isinstance(value, list | tuple) and all(isinstance(v, str) for v in value),
        f'{name} must be a list of learner names such as ["lightgbm"], got {shown(value)}',
    )
    return tuple(value)

"""AutoML settings: one frozen object instead of dozens of keywords."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, fields
from typing import Any

from shipyard.core.errors import InvalidInputError

TASKS = ("classification", "regression")
CLASS_BALANCING = ("auto", "on", "off")


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
        try:
            self._validate()
        except TypeError as exc:  # a value of the wrong type met a comparison
            raise InvalidInputError(f"invalid AutoML settings: {exc}") from exc

    def _validate(self) -> None:
        _check(isinstance(self.target, str) and bool(self.target), "target must name a column")
        _check(self.task is None or self.task in TASKS, f"task must be one of {', '.join(TASKS)}")
        _check(self.budget_s > 0, "budget_s must be positive")
        _check(self.max_trials is None or self.max_trials >= 1, "max_trials must be at least 1")
        _check(2 <= self.n_folds <= 20, "n_folds must be between 2 and 20")
        _check(
            self.holdout_fraction is None or 0.05 <= self.holdout_fraction <= 0.5,
            "holdout_fraction must be between 0.05 and 0.5",
        )
        _check(
            self.class_balancing in CLASS_BALANCING,
            f"class_balancing must be one of {', '.join(CLASS_BALANCING)}",
        )
        _check(self.max_concurrent_trials >= 1, "max_concurrent_trials must be at least 1")
        _check(self.n_jobs is None or self.n_jobs >= 1, "n_jobs must be at least 1")
        _check(self.ensemble_size >= 1, "ensemble_size must be at least 1")
        _check(self.max_ensemble_latency_ms > 0, "max_ensemble_latency_ms must be positive")

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
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InvalidInputError(f"unknown AutoML setting(s): {', '.join(unknown)}")
        values = dict(data)
        for key in ("allowed_learners", "blocked_learners"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        try:
            return cls(**values)
        except TypeError as exc:  # a missing required setting
            raise InvalidInputError(f"invalid AutoML settings: {exc}") from exc


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidInputError(message)

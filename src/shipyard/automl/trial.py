"""Trials and the progress callbacks that report them to the layers above."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from shipyard.automl.guardrails import Guardrail

STATUSES = ("running", "completed", "pruned", "timeout", "failed")


@dataclass
class Trial:
    """One model configuration evaluated by cross-validation (or an ensemble of them)."""

    number: int
    learner: str
    params: dict[str, Any]
    status: str = "running"
    score: float | None = None
    loss: float = math.inf
    fold_scores: list[float] = field(default_factory=list)
    fold_losses: list[float] = field(default_factory=list, repr=False)  # search objective
    fit_time_s: float = 0.0
    duration_s: float = 0.0
    latency_ms: float | None = None
    error: str | None = None
    members: dict[int, float] | None = None  # ensemble: trial number -> weight
    oof: np.ndarray | None = field(default=None, repr=False)

    @property
    def is_ensemble(self) -> bool:
        return self.members is not None

    def to_dict(self) -> dict[str, Any]:
        """One leaderboard row, JSON-ready (out-of-fold predictions left out)."""
        return {
            "number": self.number,
            "learner": self.learner,
            "params": _plain(self.params),
            "status": self.status,
            "score": self.score,
            "loss": self.loss if math.isfinite(self.loss) else None,
            "fold_scores": list(self.fold_scores),
            "fit_time_s": round(self.fit_time_s, 4),
            "duration_s": round(self.duration_s, 4),
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 4),
            "error": self.error,
            "members": None
            if self.members is None
            else {str(k): v for k, v in self.members.items()},
        }


class ProgressCallback:
    """Receives the run's progress; override what you need (every method is a no-op)."""

    def on_guardrails(self, guardrails: list[Guardrail]) -> None:
        """The data guardrails, before any training."""

    def on_setup(self, task: str, metric: str) -> None:
        """The data was checked: the task and the primary metric trials are scored by."""

    def on_trial_start(self, trial: Trial) -> None:
        """A trial was started."""

    def on_trial_end(self, trial: Trial) -> None:
        """A trial ended: completed, pruned, timed out or failed."""

    def on_phase(self, phase: str, message: str) -> None:
        """The run moved on: "search", "ensemble", "refit", "explain", "done"."""


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    import numpy as np  # not at import: the workspace and the CLI import this module to list

    return {k: v.item() if isinstance(v, np.generic) else v for k, v in params.items()}

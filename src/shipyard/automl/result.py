"""The outcome of an AutoML run: leaderboard, best model, report, explanation, guardrails."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from shipyard.automl.catalog import RESULT_FILE
from shipyard.automl.model import TabularModel, load_model
from shipyard.automl.settings import AutoMLSettings
from shipyard.automl.trial import Trial
from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    from shipyard.automl.guardrails import Guardrail


@dataclass
class AutoMLResult:
    """Everything a run produced. `model` is the best model, ready to predict."""

    settings: AutoMLSettings
    task: str
    metric: str
    validation: str
    trials: list[Trial]
    best: Trial
    model: TabularModel
    report: dict[str, Any]
    importance: list[dict[str, Any]]
    guardrails: list[Guardrail] | list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    duration_s: float = 0.0
    timings_s: dict[str, float] = field(default_factory=dict)
    ranked_by: str = ""  # the loss trials are ordered by (see metrics.search_objective)

    def __post_init__(self) -> None:
        self.ranked_by = self.ranked_by or self.metric

    @property
    def best_score(self) -> float:
        """The best model's primary-metric value on out-of-fold predictions."""
        return float(self.best.score if self.best.score is not None else "nan")

    def leaderboard(self) -> pd.DataFrame:
        """One row per trial and ensemble, best first."""
        rows = [t.to_dict() for t in self.trials]
        frame = pd.DataFrame(rows)
        return frame.rename(columns={"score": self.metric, "loss": f"{self.ranked_by} loss"})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form (the model itself left out)."""
        return {
            "settings": self.settings.to_dict(),
            "task": self.task,
            "metric": self.metric,
            "ranked_by": self.ranked_by,
            "validation": self.validation,
            "best": self.best.to_dict(),
            "report": self.report,
            "importance": self.importance,
            "guardrails": [g if isinstance(g, dict) else g.to_dict() for g in self.guardrails],
            "notes": self.notes,
            "duration_s": round(self.duration_s, 3),
            "timings_s": self.timings_s,
            "leaderboard": [t.to_dict() for t in self.trials],
        }

    def descriptor(self) -> dict[str, Any]:
        """What the saved model's descriptor says about how it was made."""
        return {
            "target": self.settings.target,
            "primary_metric": self.metric,
            "score": self.best.score,
            "validation": self.validation,
            "learner": self.best.learner,
            "members": self.best.params.get("members"),
            "metrics": self.report.get("metrics", {}),
            "importance": self.importance[:20],
        }

    def save(self, path: str | Path) -> Path:
        """Write the model folder plus the run's leaderboard and report next to it."""
        folder = self.model.save(path)
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False, default=str)
        (folder / RESULT_FILE).write_text(text)
        return folder

    @classmethod
    def load(cls, path: str | Path) -> AutoMLResult:
        """Read back a folder written by `save`."""
        folder = Path(path)
        model = load_model(folder)
        try:
            data = json.loads((folder / RESULT_FILE).read_text())
        except FileNotFoundError as exc:
            raise InvalidInputError(f"{folder} holds a model but no {RESULT_FILE}") from exc
        trials = [_trial(d) for d in data["leaderboard"]]
        best = next(t for t in trials if t.number == data["best"]["number"])
        return cls(
            settings=AutoMLSettings.from_dict(data["settings"]),
            task=data["task"],
            metric=data["metric"],
            validation=data["validation"],
            trials=trials,
            best=best,
            model=model,
            report=data["report"],
            importance=data["importance"],
            guardrails=data["guardrails"],
            notes=data["notes"],
            duration_s=data["duration_s"],
            timings_s=data.get("timings_s", {}),
            ranked_by=data.get("ranked_by", data["metric"]),
        )


def _trial(row: dict[str, Any]) -> Trial:
    members = row.get("members")
    return Trial(
        number=row["number"],
        learner=row["learner"],
        params=row["params"],
        status=row["status"],
        score=row["score"],
        loss=math.inf if row.get("loss") is None else row["loss"],
        fold_scores=row["fold_scores"],
        fit_time_s=row["fit_time_s"],
        duration_s=row["duration_s"],
        latency_ms=row["latency_ms"],
        error=row["error"],
        members=None if members is None else {int(k): v for k, v in members.items()},
    )

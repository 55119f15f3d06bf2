"""Experiments and runs: what was tried, with which parameters, and how it went."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shipyard.core.statuses import TERMINAL_STATUSES, RunStatus


class Experiment(BaseModel):
    """A named group of runs."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    description: str | None = None
    created_at: datetime


class Run(BaseModel):
    """One execution: an AutoML run, one of its trials, or anything logged by hand."""

    model_config = ConfigDict(frozen=True)

    id: str
    experiment_id: str
    experiment: str
    parent_id: str | None = None
    name: str | None = None
    kind: str = "run"  # automl, trial, run
    status: RunStatus
    params: dict[str, Any] = {}
    metrics: dict[str, float] = {}  # the latest value of each metric
    tags: dict[str, str] = {}
    dataset: str | None = None  # NAME:VERSION of the dataset it trained on
    has_model: bool = False
    failure_reason: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    heartbeat_at: datetime | None = None

    @property
    def is_finished(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def duration_s(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class MetricPoint(BaseModel):
    """One value of a metric series."""

    model_config = ConfigDict(frozen=True)

    key: str
    value: float
    step: int = 0
    timestamp: datetime


class RunLog(BaseModel):
    """One line of a run's log."""

    model_config = ConfigDict(frozen=True)

    timestamp: datetime
    level: str
    message: str

"""Jobs: work submitted through the API and done by worker processes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

MAX_EVENTS = 1000  # events one read of a job's events returns at most
MAX_EVENT_WAIT_S = 30.0  # the longest a read waits for a job's next event
EVENT_POLL_S = 0.1  # how often a waiting read looks again


class JobStatus(StrEnum):
    """queued -> running -> completed | failed | canceled (a lost worker re-queues it)."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"


class Job(BaseModel):
    """One unit of background work and where it stands."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: str
    status: JobStatus
    payload: dict[str, Any]
    run_id: str | None = None
    attempts: int
    max_attempts: int
    worker: str | None = None
    cancel_requested: bool = False
    error: str | None = None
    created_by: str | None = None
    created_at: datetime
    claimed_at: datetime | None = None
    heartbeat_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED)


class JobEventKind(StrEnum):
    """What a job event tells; its payload's fields depend on it."""

    STATUS = "status"  # status: the job's new status; attempt, run_id when a worker starts it
    PHASE = "phase"  # phase, message
    GUARDRAILS = "guardrails"  # guardrails: [{name, status, message, details}]
    SETUP = "setup"  # task, metric
    TRIAL_STARTED = "trial_started"  # number, learner, params
    TRIAL_FINISHED = "trial_finished"  # number, learner, status, score, loss, fit_time_s, ...
    ERROR = "error"  # the exception's class name (type) and message


class JobEvent(BaseModel):
    """One thing a job did, numbered 1, 2, ... within its job (`seq`), in the order it did."""

    model_config = ConfigDict(frozen=True)

    job_id: str
    seq: int
    kind: JobEventKind
    payload: dict[str, Any]
    created_at: datetime

"""Jobs: work submitted through the API and done by worker processes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


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

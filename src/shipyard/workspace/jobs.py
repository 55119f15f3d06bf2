"""Jobs: AutoML runs submitted to be done in the background by worker processes.

Submitting records a queued parent run and a queued job pointing at it. A worker claims
the job atomically, heartbeats while it runs it, and finishes it. A job whose worker is
gone (its process ended on this host, or its heartbeat is older than the timeout) is put
back in the queue with a fresh run while attempts remain, else failed with the reason.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.core.schemas import (
    Dataset,
    DatasetProfile,
    Job,
    JobEvent,
    JobEventKind,
    JobStatus,
    Page,
    RunStatus,
)
from shipyard.core.schemas.jobs import EVENT_POLL_S, MAX_EVENT_WAIT_S, MAX_EVENTS
from shipyard.core.settings import MAX_BUDGET_ENV, MAX_TRIALS_ENV
from shipyard.store import Session
from shipyard.store import jobs as q
from shipyard.store.tables import JobRow
from shipyard.workspace._base import WorkspaceBase
from shipyard.workspace._pages import next_token, page_bounds
from shipyard.workspace.liveness import dead_reason

if TYPE_CHECKING:
    from shipyard.automl.settings import AutoMLSettings
    from shipyard.workspace.local import LocalWorkspace

AUTOML = "automl"
MAX_ATTEMPTS = 10
JOB_TIMEOUT_S = 60.0
_SHOWN_COLUMNS = 30
_ENDED = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED})


@dataclass(frozen=True)
class JobLimits:
    """Ceilings on the AutoML jobs a workspace queues (a server sets them from its options)."""

    max_budget_s: float = 24 * 3600.0
    max_trials: int = 10_000

    def __post_init__(self) -> None:
        if not 0 < self.max_budget_s < float("inf"):
            raise InvalidInputError("the maximum job budget must be a positive number of seconds")
        if self.max_trials < 1:
            raise InvalidInputError("the maximum trials of a job must be at least 1")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> JobLimits:
        """Limits from SHIPYARD_MAX_BUDGET_S and SHIPYARD_MAX_TRIALS (defaults if unset)."""
        default = cls()
        try:
            budget = float(environ.get(MAX_BUDGET_ENV, default.max_budget_s))
            trials = int(environ.get(MAX_TRIALS_ENV, default.max_trials))
        except ValueError as exc:
            raise InvalidInputError(f"{MAX_BUDGET_ENV} / {MAX_TRIALS_ENV}: {exc}") from exc
        return cls(budget, trials)

    def to_env(self) -> dict[str, str]:
        """The environment that gives a child process these limits."""
        return {MAX_BUDGET_ENV: repr(self.max_budget_s), MAX_TRIALS_ENV: str(self.max_trials)}

    def check(self, settings: AutoMLSettings) -> None:
        """Refuse settings over these limits, naming the setting and the limit."""
        if settings.budget_s > self.max_budget_s:
            raise InvalidInputError(
                f"budget_s {settings.budget_s:g} is over this server's maximum of "
                f"{self.max_budget_s:g} seconds"
            )
        if settings.max_trials is not None and settings.max_trials > self.max_trials:
            raise InvalidInputError(
                f"max_trials {settings.max_trials} is over this server's maximum of "
                f"{self.max_trials}"
            )


class JobOperations(WorkspaceBase):
    """Submit, list, get and cancel jobs; what workers call to claim and finish them."""

    def submit_automl_job(
        self,
        dataset: str,
        settings: AutoMLSettings | Mapping[str, Any],
        *,
        experiment: str = "automl",
        max_attempts: int = 2,
        created_by: str | None = None,
        limits: JobLimits | None = None,
    ) -> Job:
        """Queue an AutoML run of `dataset` for a worker; its parent run is created queued.

        The settings are checked here, against `limits` and the dataset's columns (from its
        stored profile, without reading the rows), so a bad job is refused before it waits.
        """
        from shipyard.automl.settings import AutoMLSettings  # the engine's, for submissions

        ws: LocalWorkspace = self  # type: ignore[assignment]
        if not 1 <= max_attempts <= MAX_ATTEMPTS:
            raise InvalidInputError(f"max_attempts must be between 1 and {MAX_ATTEMPTS}")
        parsed = (
            settings
            if isinstance(settings, AutoMLSettings)
            else AutoMLSettings.from_dict(dict(settings))
        )
        (limits or JobLimits()).check(parsed)
        data = ws.get_dataset(dataset)
        check_target(data.ref, ws.profile_dataset(data.ref), parsed)
        payload = {"dataset": data.ref, "settings": parsed.to_dict(), "experiment": experiment}
        with self.store.write() as session:  # the job and its run land together, or neither
            row = JobRow(
                id=new_id("job"),
                kind=AUTOML,
                status=JobStatus.QUEUED.value,
                payload=payload,
                run_id=self._queued_run(ws, session, data, payload),
                attempts=0,
                max_attempts=max_attempts,
                cancel_requested=False,
                created_by=created_by,
                created_at=self.now(),
            )
            session.add(row)
            session.flush()
            self._event(session, row.id, JobEventKind.STATUS, {"status": JobStatus.QUEUED.value})
            return row.to_entity()

    def get_job(self, job_id: str) -> Job:
        """The job with id `job_id` (after noticing lost workers)."""
        self.recover_jobs()
        with self.store.read() as session:
            return self._job(session, job_id).to_entity()

    def list_jobs(
        self, *, status: str | None = None, max_results: int = 50, page_token: str | None = None
    ) -> Page[Job]:
        """Jobs, newest first, optionally of one status."""
        self.recover_jobs()
        if status is not None and status not in {s.value for s in JobStatus}:
            raise InvalidInputError(f"unknown job status {status!r}")
        offset, limit = page_bounds(page_token, max_results)
        with self.store.read() as session:
            rows, total = q.page(session, status, offset, limit)
            items = [r.to_entity() for r in rows]
        return Page[Job](items=items, total=total, next_page_token=next_token(offset, limit, total))

    def cancel_job(self, job_id: str) -> Job:
        """Cancel a queued job now, or ask the worker of a running one to stop."""
        ws: LocalWorkspace = self  # type: ignore[assignment]
        with self.store.write() as session:
            row = self._job(session, job_id)
            if row.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED):
                raise ConflictError(f"job {job_id} is {row.status}; it cannot be canceled")
            row.cancel_requested = True
            queued = row.status == JobStatus.QUEUED
            if queued:
                row.status, row.finished_at = JobStatus.CANCELED.value, self.now()
                row.error = "canceled before a worker took it"
                self._status_event(session, row)
            run_id = row.run_id
        if queued and run_id is not None:
            ws.set_run_status(run_id, RunStatus.CANCELED, "canceled before a worker took it")
        return self.get_job(job_id)

    # --- what workers call -------------------------------------------------------------

    def claim_job(self) -> Job | None:
        """Take the oldest queued job for this process, or None."""
        with self.store.write() as session:
            row = q.claim_next(session, self.owner, self.now())
            if row is None:
                return None
            self._status_event(session, row, attempt=row.attempts, run_id=row.run_id)
            return row.to_entity()

    def job_heartbeat(self, job_id: str) -> bool:
        """Record that this worker is alive; returns whether cancellation was requested."""
        with self.store.write() as session:
            row = self._job(session, job_id)
            row.heartbeat_at = self.now()
            return row.cancel_requested

    def finish_job(self, job_id: str, status: JobStatus, error: str | None = None) -> Job:
        """Record how a claimed job ended."""
        with self.store.write() as session:
            row = self._job(session, job_id)
            row.status, row.error, row.finished_at = JobStatus(status).value, error, self.now()
            self._status_event(session, row)
            return row.to_entity()

    def record_job_event(
        self, job_id: str, kind: JobEventKind, payload: dict[str, Any]
    ) -> JobEvent:
        """Add the job's next event (what its worker reports as it goes)."""
        with self.store.write() as session:
            return self._event(session, job_id, kind, payload)

    def job_events(
        self, job_id: str, *, after: int = 0, limit: int = 100, wait_s: float = 0.0
    ) -> list[JobEvent]:
        """The job's events numbered above `after`, oldest first, at most `limit`.

        With `wait_s`, waits up to that long (at most MAX_EVENT_WAIT_S) for one when there
        is none yet, unless the job has ended: its last event is then already there.
        """
        if after < 0:
            raise InvalidInputError("after must be 0 or more")
        if not 1 <= limit <= MAX_EVENTS:
            raise InvalidInputError(f"limit must be between 1 and {MAX_EVENTS}")
        if not 0 <= wait_s <= MAX_EVENT_WAIT_S:
            raise InvalidInputError(f"wait_s must be between 0 and {MAX_EVENT_WAIT_S:g}")
        deadline = time.monotonic() + wait_s
        while True:
            events, ended = self.read_job_events(job_id, after, limit)
            if events or ended or time.monotonic() >= deadline:
                return events
            time.sleep(min(EVENT_POLL_S, max(deadline - time.monotonic(), 0.0)))

    def read_job_events(self, job_id: str, after: int, limit: int) -> tuple[list[JobEvent], bool]:
        """One read, no wait: the events after `after`, and whether the job has ended."""
        with self.store.read() as session:
            events = q.events_after(session, job_id, after, limit)
            return events, self._job(session, job_id).status in _ENDED

    def recover_jobs(self, timeout_s: float = JOB_TIMEOUT_S) -> int:
        """Re-queue (or fail, out of attempts) running jobs whose worker is gone."""
        ws: LocalWorkspace = self  # type: ignore[assignment]
        now = self.now()
        with self.store.read() as session:
            suspects = [
                (r.id, reason)
                for r in q.running(session)
                if r.worker != self.owner
                and (reason := dead_reason(r.worker, r.heartbeat_at, now, timeout_s)) is not None
            ]
        recovered = 0
        for job_id, reason in suspects:
            recovered += self._recover(ws, job_id, f"worker lost: {reason}")
        return recovered

    def release_job(self, job_id: str, reason: str) -> Job:
        """Queue again a job this worker stops before its end (it is shutting down), with a
        fresh run; the stopped attempt is not counted against the job's attempts."""
        ws: LocalWorkspace = self  # type: ignore[assignment]
        data = self._job_dataset(ws, job_id)
        with self.store.write() as session:
            row = self._job(session, job_id)
            if row.status != JobStatus.RUNNING or row.worker != self.owner:
                raise ConflictError(f"job {job_id} is not running in this worker")
            self._requeue(ws, session, row, data, reason)
            row.attempts = max(row.attempts - 1, 0)
            return row.to_entity()

    def _recover(self, ws: LocalWorkspace, job_id: str, reason: str) -> int:
        ws.check_liveness()  # fails the lost attempt's run with its own reason
        data = self._job_dataset(ws, job_id)
        with self.store.write() as session:
            row = session.get(JobRow, job_id)
            if row is None or row.status != JobStatus.RUNNING:
                return 0  # another process recovered it first
            if row.attempts < row.max_attempts and not row.cancel_requested:
                self._requeue(ws, session, row, data, reason)
                return 1
            row.status, row.worker, row.finished_at = JobStatus.FAILED.value, None, self.now()
            row.error = f"{reason}; no attempts left ({row.attempts} of {row.max_attempts})"
            self._status_event(session, row)
        return 1

    def _job_dataset(self, ws: LocalWorkspace, job_id: str) -> Dataset:
        """The dataset version the job trains on."""
        with self.store.read() as session:
            payload = self._job(session, job_id).payload
        return ws.get_dataset(payload["dataset"])

    def _requeue(
        self, ws: LocalWorkspace, session: Session, row: JobRow, data: Dataset, reason: str
    ) -> None:
        """Put a running job back in the queue with a fresh queued run, in `session`: one
        transaction, so no worker claims it while it still points at the stopped run."""
        row.status, row.worker, row.error = JobStatus.QUEUED.value, None, reason
        row.run_id = self._queued_run(ws, session, data, row.payload)
        self._status_event(session, row, run_id=row.run_id)

    @staticmethod
    def _queued_run(
        ws: LocalWorkspace, session: Session, data: Dataset, payload: Mapping[str, Any]
    ) -> str:
        """A queued run for the job with `payload`, added in `session`; its id."""
        settings = payload["settings"]
        row = ws._add_run(
            session,
            payload["experiment"],
            name=f"automl {data.ref}",
            kind="automl",
            params=settings,
            tags={"dataset": data.ref, "target": str(settings.get("target"))},
            status=RunStatus.QUEUED,
            dataset_version_id=data.id,
        )
        return row.id

    def _event(
        self, session: Session, job_id: str, kind: JobEventKind, payload: dict[str, Any]
    ) -> JobEvent:
        event = q.append_event(session, job_id, kind.value, payload, self.now())
        if event is None:
            raise NotFoundError(f"no job with id {job_id!r}")
        return event

    def _status_event(self, session: Session, row: JobRow, **extra: Any) -> None:
        """Record the status `row` now has (and its error, if any) as the job's next event."""
        payload = {"status": row.status, **extra}
        if row.error is not None:
            payload["reason"] = row.error
        self._event(session, row.id, JobEventKind.STATUS, payload)

    def _job(self, session: Session, job_id: str) -> JobRow:
        row = session.get(JobRow, job_id)
        if row is None:
            raise NotFoundError(f"no job with id {job_id!r}")
        return row


def check_target(ref: str, profile: DatasetProfile, settings: AutoMLSettings) -> None:
    """The target is a column of dataset `ref` (as its stored `profile` says), and a task or
    metric named in `settings` fits a target of text labels."""
    from shipyard.automl.metrics import get_metric  # scikit-learn: for submissions only
    from shipyard.automl.settings import shown

    columns = {column.name: column for column in profile.columns}
    column = columns.get(settings.target)
    if column is None:
        listed = ", ".join(list(columns)[:_SHOWN_COLUMNS])
        more = (
            f" (and {len(columns) - _SHOWN_COLUMNS} more)" if len(columns) > _SHOWN_COLUMNS else ""
        )
        raise InvalidInputError(
            f"target: column {shown(settings.target)} is not in dataset {ref}; "
            f"its columns are {listed}{more}"
        )
    labels = _holds_labels(column.dtype)
    task = settings.task or ("classification" if labels else None)
    if labels and task == "regression":
        raise InvalidInputError(
            f"task: the target {shown(settings.target)} holds labels ({column.dtype}), "
            "not numbers; use task classification"
        )
    if task is not None and settings.primary_metric is not None:
        try:
            get_metric(settings.primary_metric, task)
        except InvalidInputError as exc:
            raise InvalidInputError(f"primary_metric: {exc}") from exc


def _holds_labels(dtype: str) -> bool:
    """Whether a column of `dtype` is always classified (as `automl.prepare.infer_task` does:
    text and booleans); False when the dtype does not say."""
    import pandas as pd  # for submissions only, not for listing jobs

    try:
        found = pd.api.types.pandas_dtype(dtype)
    except TypeError:
        return False
    return pd.api.types.is_bool_dtype(found) or not pd.api.types.is_numeric_dtype(found)

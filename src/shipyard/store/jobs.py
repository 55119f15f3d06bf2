"""Queries over jobs, including the atomic claim, and over their numbered events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shipyard.core.schemas import JobEvent
from shipyard.store.tables import JobEventRow, JobRow


def claim_next(session: Session, worker: str, now: datetime) -> JobRow | None:
    """Take the oldest queued job for `worker`, or None; two workers never get the same one.

    PostgreSQL: `FOR UPDATE SKIP LOCKED` lets concurrent workers pass over a row another
    is claiming. SQLite: the write transaction (BEGIN IMMEDIATE) already runs alone. The
    update is guarded by the status either way.
    """
    stmt = select(JobRow.id).where(JobRow.status == "queued").order_by(JobRow.created_at, JobRow.id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    job_id = session.scalar(stmt.limit(1))
    if job_id is None:
        return None
    claimed = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.status == "queued")
        .values(
            status="running",
            worker=worker,
            claimed_at=now,
            heartbeat_at=now,
            attempts=JobRow.attempts + 1,
        )
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(JobRow, job_id, populate_existing=True)


def running(session: Session) -> list[JobRow]:
    return list(session.scalars(select(JobRow).where(JobRow.status == "running")))


def page(session: Session, status: str | None, offset: int, limit: int) -> tuple[list[JobRow], int]:
    stmt = select(JobRow)
    if status is not None:
        stmt = stmt.where(JobRow.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(JobRow.created_at.desc(), JobRow.id.desc()).offset(offset).limit(limit)
    )
    return list(rows), total


def append_event(
    session: Session, job_id: str, kind: str, payload: dict[str, Any], now: datetime
) -> JobEvent | None:
    """Add the job's next event (seq = the last one's + 1); None when there is no such job.

    Two writers never take the same number: on PostgreSQL the job's row is locked
    (`FOR UPDATE`) until the transaction ends; on SQLite the write transaction (BEGIN
    IMMEDIATE) already runs alone. The (job_id, seq) primary key guards it either way.
    """
    lock = select(JobRow.id).where(JobRow.id == job_id)
    if session.get_bind().dialect.name == "postgresql":
        lock = lock.with_for_update()
    if session.scalar(lock) is None:
        return None
    last = select(func.max(JobEventRow.seq)).where(JobEventRow.job_id == job_id)
    row = JobEventRow(
        job_id=job_id,
        seq=(session.scalar(last) or 0) + 1,
        kind=kind,
        payload=payload,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.to_entity()


def events_after(session: Session, job_id: str, after: int, limit: int) -> list[JobEvent]:
    """The job's events numbered above `after`, oldest first, at most `limit` of them."""
    rows = session.scalars(
        select(JobEventRow)
        .where(JobEventRow.job_id == job_id, JobEventRow.seq > after)
        .order_by(JobEventRow.seq)
        .limit(limit)
    )
    return [row.to_entity() for row in rows]

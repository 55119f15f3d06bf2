"""Queries over jobs, including the atomic claim."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shipyard.store.tables import JobRow


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

"""Checksums of stored files: what the workspace computed as it wrote each artifact."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.store.tables import ArtifactFileRow


def record(
    session: Session, key: str, sha256: str, size: int, written_by: str, at: datetime
) -> None:
    """Record (or replace) the checksum of the file at `key`."""
    row = session.get(ArtifactFileRow, key)
    if row is None:
        session.add(
            ArtifactFileRow(key=key, sha256=sha256, size=size, written_by=written_by, created_at=at)
        )
        return
    row.sha256, row.size, row.written_by, row.created_at = sha256, size, written_by, at


def under(session: Session, prefix: str) -> dict[str, ArtifactFileRow]:
    """The recorded files under the folder `prefix`, by key."""
    escaped = prefix.rstrip("/").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = session.scalars(
        select(ArtifactFileRow).where(ArtifactFileRow.key.like(f"{escaped}/%", escape="\\"))
    )
    return {row.key: row for row in rows}

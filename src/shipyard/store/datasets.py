"""Queries over datasets and their versions.

Versions are read without their profile (a wide table's is megabytes, and listings and
gets do not show it); `find_profile` reads it alone.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from shipyard.store.tables import DatasetRow, DatasetVersionRow

_NO_PROFILE = defer(DatasetVersionRow.profile, raiseload=True)


def find_dataset(session: Session, name: str) -> DatasetRow | None:
    return session.scalar(select(DatasetRow).where(DatasetRow.name == name))


def find_version(session: Session, name: str, version: int | None) -> DatasetVersionRow | None:
    """Version `version` of `name`, or its latest version when `version` is None."""
    stmt = select(DatasetVersionRow).options(_NO_PROFILE).where(DatasetVersionRow.name == name)
    if version is None:
        stmt = stmt.order_by(DatasetVersionRow.version.desc()).limit(1)
    else:
        stmt = stmt.where(DatasetVersionRow.version == version)
    return session.scalar(stmt)


def find_by_hash(session: Session, dataset_id: str, content_hash: str) -> DatasetVersionRow | None:
    return session.scalar(
        select(DatasetVersionRow)
        .options(_NO_PROFILE)
        .where(
            DatasetVersionRow.dataset_id == dataset_id,
            DatasetVersionRow.content_hash == content_hash,
        )
        .order_by(DatasetVersionRow.version)
        .limit(1)
    )


def next_version(session: Session, dataset_id: str) -> int:
    """The number the next version of the dataset takes.

    Locks the dataset's row until the transaction ends (PostgreSQL; SQLite's write lock
    already covers it), so concurrent registrations take numbers, and write the files
    under them, one after another instead of clashing on the same number.
    """
    session.execute(select(DatasetRow.id).where(DatasetRow.id == dataset_id).with_for_update())
    current = session.scalar(
        select(func.max(DatasetVersionRow.version)).where(
            DatasetVersionRow.dataset_id == dataset_id
        )
    )
    return (current or 0) + 1


def versions(session: Session, name: str) -> list[DatasetVersionRow]:
    return list(
        session.scalars(
            select(DatasetVersionRow)
            .options(_NO_PROFILE)
            .where(DatasetVersionRow.name == name)
            .order_by(DatasetVersionRow.version)
        )
    )


def latest_versions(
    session: Session, offset: int, limit: int
) -> tuple[list[DatasetVersionRow], int]:
    """The latest version of each dataset, by name, one page, and the number of datasets."""
    newest = (
        select(DatasetVersionRow.dataset_id, func.max(DatasetVersionRow.version).label("v"))
        .group_by(DatasetVersionRow.dataset_id)
        .subquery()
    )
    stmt = (
        select(DatasetVersionRow)
        .options(_NO_PROFILE)
        .join(
            newest,
            (newest.c.dataset_id == DatasetVersionRow.dataset_id)
            & (newest.c.v == DatasetVersionRow.version),
        )
        .order_by(DatasetVersionRow.name)
    )
    total = session.scalar(select(func.count()).select_from(newest)) or 0
    return list(session.scalars(stmt.offset(offset).limit(limit))), total


def find_profile(session: Session, version_id: str) -> dict[str, Any] | None:
    """The stored profile of a dataset version (by its id), or None if there is none."""
    profile: dict[str, Any] | None = session.scalar(
        select(DatasetVersionRow.profile).where(DatasetVersionRow.id == version_id)
    )
    return profile

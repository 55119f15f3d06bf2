"""Queries over registered models and their versions."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipyard.store.tables import ModelVersionRow, RegisteredModelRow


def find_model(session: Session, name: str) -> RegisteredModelRow | None:
    return session.scalar(select(RegisteredModelRow).where(RegisteredModelRow.name == name))


def find_version(session: Session, name: str, version: int | None) -> ModelVersionRow | None:
    stmt = select(ModelVersionRow).where(ModelVersionRow.name == name)
    if version is None:
        stmt = stmt.order_by(ModelVersionRow.version.desc()).limit(1)
    else:
        stmt = stmt.where(ModelVersionRow.version == version)
    return session.scalar(stmt)


def next_version(session: Session, model_id: str) -> int:
    """The number the next version of the model takes; locks the model's row (see datasets)."""
    session.execute(
        select(RegisteredModelRow.id).where(RegisteredModelRow.id == model_id).with_for_update()
    )
    current = session.scalar(
        select(func.max(ModelVersionRow.version)).where(ModelVersionRow.model_id == model_id)
    )
    return (current or 0) + 1


def versions(session: Session, name: str) -> list[ModelVersionRow]:
    return list(
        session.scalars(
            select(ModelVersionRow)
            .where(ModelVersionRow.name == name)
            .order_by(ModelVersionRow.version)
        )
    )


def models_page(
    session: Session, offset: int, limit: int
) -> tuple[list[tuple[RegisteredModelRow, int, int]], int]:
    """Registered models by name with (latest version, number of versions), and the total."""
    counts = (
        select(
            ModelVersionRow.model_id,
            func.max(ModelVersionRow.version).label("latest"),
            func.count().label("n"),
        )
        .group_by(ModelVersionRow.model_id)
        .subquery()
    )
    stmt = (
        select(RegisteredModelRow, counts.c.latest, counts.c.n)
        .join(counts, counts.c.model_id == RegisteredModelRow.id)
        .order_by(RegisteredModelRow.name)
    )
    total = session.scalar(select(func.count()).select_from(counts)) or 0
    rows = [
        (m, int(latest), int(n))
        for m, latest, n in session.execute(stmt.offset(offset).limit(limit))
    ]
    return rows, total

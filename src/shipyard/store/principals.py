"""Queries over service principals."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shipyard.store.tables import PrincipalRow


def find_by_name(session: Session, name: str) -> PrincipalRow | None:
    return session.scalar(select(PrincipalRow).where(PrincipalRow.name == name))


def find_by_id(session: Session, principal_id: str) -> PrincipalRow | None:
    return session.get(PrincipalRow, principal_id)


def principals(session: Session) -> list[PrincipalRow]:
    return list(session.scalars(select(PrincipalRow).order_by(PrincipalRow.name)))


def count_role(session: Session, role: str) -> int:
    return session.scalar(select(func.count()).where(PrincipalRow.role == role)) or 0

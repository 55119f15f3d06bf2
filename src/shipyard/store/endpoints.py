"""Queries over endpoints."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shipyard.store.tables import EndpointRow


def find_endpoint(session: Session, name: str) -> EndpointRow | None:
    return session.scalar(select(EndpointRow).where(EndpointRow.name == name))


def endpoints(session: Session, *, include_deleted: bool = False) -> list[EndpointRow]:
    stmt = select(EndpointRow).order_by(EndpointRow.name)
    if not include_deleted:
        stmt = stmt.where(EndpointRow.state != "deleted")
    return list(session.scalars(stmt))


def port_holders(session: Session) -> dict[int, str]:
    """The port of every endpoint that holds one (running, failed or being deleted) and
    its name."""
    rows = session.execute(
        select(EndpointRow.port, EndpointRow.name).where(EndpointRow.state != "deleted")
    )
    return {int(port): str(name) for port, name in rows}

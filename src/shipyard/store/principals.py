"""Queries over service principals, the revocations of their tokens and the throttling of
their client-credential attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from shipyard.store.tables import AuthThrottleRow, PrincipalRow, TokenRevocationRow


def find_by_name(session: Session, name: str, *, lock: bool = False) -> PrincipalRow | None:
    """The principal called `name`; `lock` holds its row until the transaction ends
    (PostgreSQL; SQLite's write transactions are serialized anyway)."""
    query = select(PrincipalRow).where(PrincipalRow.name == name)
    return session.scalar(query.with_for_update() if lock else query)


def find_by_id(session: Session, principal_id: str, *, lock: bool = False) -> PrincipalRow | None:
    """The principal with `principal_id` (its client id); `lock` as in `find_by_name`."""
    return session.get(PrincipalRow, principal_id, with_for_update=lock)


def principals(session: Session) -> list[PrincipalRow]:
    return list(session.scalars(select(PrincipalRow).order_by(PrincipalRow.name)))


def count_role(session: Session, role: str) -> int:
    return session.scalar(select(func.count()).where(PrincipalRow.role == role)) or 0


def revoke(session: Session, principal_id: str, not_before: datetime, reason: str) -> None:
    """Refuse the principal's tokens issued before `not_before` (replaces an older entry)."""
    row = session.get(TokenRevocationRow, principal_id)
    if row is None:
        session.add(
            TokenRevocationRow(principal_id=principal_id, not_before=not_before, reason=reason)
        )
    else:
        row.not_before, row.reason = not_before, reason


def revocations(session: Session, since: datetime) -> dict[str, datetime]:
    """Principal id -> not-before, for revocations made after `since`."""
    query = select(TokenRevocationRow).where(TokenRevocationRow.not_before > since)
    return {r.principal_id: r.not_before for r in session.scalars(query)}


def forget_revocations(session: Session, before: datetime) -> None:
    """Drop revocations made before `before` (every token they refuse has expired)."""
    session.execute(delete(TokenRevocationRow).where(TokenRevocationRow.not_before < before))


def throttle(
    session: Session, client_id: str, address: str, *, lock: bool = False
) -> AuthThrottleRow | None:
    """The failed-attempt record of `client_id` (or `*`: any) from `address`."""
    return session.get(AuthThrottleRow, (client_id, address), with_for_update=lock)


def forget_throttles(session: Session, window_before: datetime, now: datetime) -> None:
    """Drop records whose window began before `window_before` and that lock nothing now."""
    unlocked = or_(AuthThrottleRow.locked_until.is_(None), AuthThrottleRow.locked_until <= now)
    session.execute(
        delete(AuthThrottleRow).where(and_(AuthThrottleRow.window_start < window_before, unlocked))
    )

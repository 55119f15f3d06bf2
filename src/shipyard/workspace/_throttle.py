"""Throttling of client-credential attempts, per (client id, source address) and per address.

Bad secrets from one address lock out that address for that client id, never the
principal: the owner calling from elsewhere still gets a token. An address that fails for
many client ids (walking them, or guessing unknown ones) is locked out for all of them.
The counts live in the store (`auth_throttles`), so several API processes share them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shipyard.core.errors import TooManyRequestsError
from shipyard.store import principals as q
from shipyard.store.tables import AuthThrottleRow

MAX_FAILED_ATTEMPTS = 5  # per client id and address, within WINDOW_S
LOCKOUT_S = 30
MAX_ADDRESS_FAILURES = 20  # per address, any client ids, within WINDOW_S
ADDRESS_LOCKOUT_S = 60
WINDOW_S = 300
ANY_CLIENT = "*"
MAX_ADDRESS_CHARS = 64


def check(session: Any, client_id: str, address: str, now: datetime) -> None:
    """`TooManyRequestsError` if `address` is locked out, for all clients or for this one."""
    for key, whom in ((ANY_CLIENT, "this address"), (client_id, "this client from this address")):
        row = q.throttle(session, key, address)
        if row is not None and row.locked_until is not None and row.locked_until > now:
            wait = int((row.locked_until - now).total_seconds()) + 1
            raise TooManyRequestsError(
                f"too many failed attempts for {whom}; retry in {wait} s", wait
            )


def record_failure(session: Any, client_id: str | None, address: str, now: datetime) -> None:
    """Count a bad secret from `address` (for `client_id` too when it names a principal)."""
    q.forget_throttles(session, now - timedelta(seconds=WINDOW_S), now)
    _count(session, ANY_CLIENT, address, now, MAX_ADDRESS_FAILURES, ADDRESS_LOCKOUT_S)
    if client_id is not None:
        _count(session, client_id, address, now, MAX_FAILED_ATTEMPTS, LOCKOUT_S)


def record_success(session: Any, client_id: str, address: str) -> None:
    """Clear this client's count from `address` (the address's own count stays)."""
    row = q.throttle(session, client_id, address)
    if row is not None:
        session.delete(row)


def source_key(address: str | None) -> str:
    """The stored form of a source address (`local` for calls from this process)."""
    return (address or "local")[:MAX_ADDRESS_CHARS]


def _count(session: Any, key: str, address: str, now: datetime, limit: int, lockout_s: int) -> None:
    row = q.throttle(session, key, address, lock=True)
    if row is None:
        row = AuthThrottleRow(client_id=key, address=address, failures=0, window_start=now)
        session.add(row)
    elif row.window_start < now - timedelta(seconds=WINDOW_S):
        row.failures, row.window_start = 0, now
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + timedelta(seconds=lockout_s)
        row.failures, row.window_start = 0, now

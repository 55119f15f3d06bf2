"""Service principals: create, list, rotate, delete; client credentials -> access tokens.

A principal's secret is shown once and stored as a hash. `issue_access_token` is the
OAuth2 client-credentials grant: a right id and secret give a short-lived signed token
naming the principal and its role. Repeated bad secrets lock out the (client id, source
address) they came from, and an address failing for many client ids, for a while
(`TooManyRequestsError`, see `_throttle`): secrets cannot be guessed at speed, and a
stranger cannot lock a principal out.

Rotating a secret revokes every token issued before it, deleting a principal all of its
tokens: here at once (`authenticate` compares the token's `iat` with `rotated_at`), at the
endpoints as soon as they re-read their config, which carries the recent revocations and
is rewritten for every endpoint on each rotation or deletion.

A token verified once is trusted for `TOKEN_CACHE_S` seconds by the workspace object that
verified it (never past its expiry): a server verifies the same token on every request,
and the signature check and principal lookup were a tenth of a listing's time. Every
revocation replaces a stamp file among the artifacts (`REVOCATION_STAMP`); a cache whose
stamp changed starts empty, so other API processes (one `os.stat` per request) refuse a
revoked token on their next request too, not `TOKEN_CACHE_S` later.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from shipyard.auth import Role, hash_secret, issue_token, new_secret, parse_role, verify_secret
from shipyard.auth.tokens import MAX_TOKEN_TTL_S, SERVER_AUDIENCE, verify_token
from shipyard.core.errors import AuthenticationError, ConflictError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.core.names import check_name
from shipyard.core.schemas import AccessToken, Caller, Principal, PrincipalCredentials
from shipyard.store import principals as q
from shipyard.store.tables import PrincipalRow
from shipyard.workspace import _throttle as throttle
from shipyard.workspace._base import WorkspaceBase
from shipyard.workspace._throttle import LOCKOUT_S, MAX_FAILED_ATTEMPTS

__all__ = ["LOCKOUT_S", "MAX_FAILED_ATTEMPTS", "PrincipalOperations", "TokenCache"]

ACCESS_TOKEN_TTL_S = 3600
AUDIENCE = SERVER_AUDIENCE
OWNER_NAME = "owner"
TOKEN_CACHE_S = 5.0  # a deleted principal's tokens work this long in other processes
TOKEN_CACHE_SIZE = 1024
REVOCATION_STAMP = "principals/revoked.stamp"


class TokenCache:
    """Callers of recently verified tokens, each kept `ttl_s` and never past its expiry."""

    def __init__(self, ttl_s: float = TOKEN_CACHE_S, size: int = TOKEN_CACHE_SIZE) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._entries: dict[str, tuple[Caller, float]] = {}  # token -> (caller, good until)
        self._lock = threading.Lock()
        self.stamp: tuple[int, int] | None = None  # the revocation stamp it was filled under

    def renew(self, stamp: tuple[int, int] | None) -> None:
        """Start empty if a revocation happened since (the stamp changed)."""
        if stamp != self.stamp:
            with self._lock:
                self._entries.clear()
                self.stamp = stamp

    def get(self, token: str, now_s: float) -> Caller | None:
        """The caller of `token` if it was verified less than `ttl_s` ago and has not expired."""
        entry = self._entries.get(token)
        if entry is None or now_s >= entry[1]:
            return None
        return entry[0]

    def put(self, token: str, caller: Caller, expires_at_s: float, now_s: float) -> None:
        """Remember a verified token until `ttl_s` from now or its expiry, if sooner."""
        with self._lock:
            if len(self._entries) >= self.size:
                self._entries = {t: e for t, e in self._entries.items() if now_s < e[1]}
                if len(self._entries) >= self.size:
                    self._entries.clear()
            self._entries[token] = (caller, min(now_s + self.ttl_s, expires_at_s))

    def forget(self, principal_id: str) -> None:
        """Drop the tokens of a principal (deleted: they must stop working at once)."""
        with self._lock:
            self._entries = {
                t: e for t, e in self._entries.items() if e[0].principal_id != principal_id
            }


class PrincipalOperations(WorkspaceBase):
    """Identities for automation and the tokens they use."""

    _token_cache: TokenCache | None = None
    _stamp_path: str = ""
    rewrite_endpoint_configs: Callable[[], int]  # endpoints.py: they learn of revocations

    @property
    def token_cache(self) -> TokenCache:
        """The tokens this workspace verified recently, none verified before the latest
        revocation by any process."""
        if self._token_cache is None:
            self._token_cache = TokenCache()
            self._stamp_path = str(self.artifacts.path(REVOCATION_STAMP))  # 20 us to build
        self._token_cache.renew(_stamp(self._stamp_path))
        return self._token_cache

    def create_principal(self, name: str, role: str) -> PrincipalCredentials:
        """A new principal with `role`; its secret is in the answer and nowhere else."""
        check_name(name, "principal name")
        parsed = parse_role(role)
        secret = new_secret("sps_")
        now = self.now()
        with self.store.write() as session:
            if q.find_by_name(session, name) is not None:
                raise ConflictError(f"a principal named {name!r} exists; rotate or delete it")
            row = PrincipalRow(
                id=new_id("principal"),
                name=name,
                role=parsed.value,
                secret_hash=hash_secret(secret),
                created_at=now,
            )
            session.add(row)
            session.flush()
            return _credentials(row, secret)

    def ensure_owner(self) -> PrincipalCredentials | None:
        """Create the first owner if the workspace has none; its credentials, or None."""
        with self.store.read() as session:
            if q.count_role(session, Role.OWNER.value):
                return None
        return self.create_principal(OWNER_NAME, Role.OWNER.value)

    def list_principals(self) -> list[Principal]:
        """Every principal, by name (no secrets)."""
        with self.store.read() as session:
            return [_entity(r) for r in q.principals(session)]

    def get_principal(self, name: str) -> Principal:
        with self.store.read() as session:
            return _entity(self._principal(session, name))

    def rotate_principal(self, name: str) -> PrincipalCredentials:
        """A new secret for `name`; the old one and every token issued before stop working."""
        secret = new_secret("sps_")
        with self.store.write() as session:
            row = self._principal(session, name, lock=True)
            now = self.now()  # after the lock: a grant that read the old secret is older
            row.secret_hash = hash_secret(secret)
            row.rotated_at = now
            _revoke(session, row.id, now, "rotated")
            credentials = _credentials(row, secret)
        self._revoked(credentials.client_id)
        return credentials

    def delete_principal(self, name: str) -> None:
        """Remove a principal; its tokens stop working at once here and at the endpoints,
        within `TOKEN_CACHE_S` in other API processes (when they are next verified)."""
        with self.store.write() as session:
            row = self._principal(session, name, lock=True)
            if row.role == Role.OWNER.value and q.count_role(session, Role.OWNER.value) == 1:
                raise ConflictError("this is the last owner; create another owner first")
            principal_id = row.id
            _revoke(session, principal_id, self.now(), "deleted")
            session.delete(row)
        self._revoked(principal_id)

    def token_revocations(self) -> dict[str, float]:
        """Principal id -> epoch before which its tokens are refused, for revocations
        recent enough that a token they refuse may still be unexpired."""
        since = self.now() - timedelta(seconds=MAX_TOKEN_TTL_S)
        with self.store.read() as session:
            return {p: t.timestamp() for p, t in q.revocations(session, since).items()}

    def issue_access_token(
        self, client_id: str, client_secret: str, *, address: str | None = None
    ) -> AccessToken:
        """The client-credentials grant: a signed bearer token for a valid id and secret.

        Args:
            address: the caller's source address, which bad secrets are counted against.
        """
        source = throttle.source_key(address)
        granted = self.retrying(lambda: self._grant(client_id, client_secret, source))
        if granted is None:  # the failure was committed first, then refused
            raise AuthenticationError("unknown client id or wrong secret")
        principal_id, role, issued_at = granted
        token = issue_token(
            self.secrets.token_private_key,
            principal_id,
            role=role,
            audience=AUDIENCE,
            ttl_s=ACCESS_TOKEN_TTL_S,
            issued_at=issued_at,
        )
        return AccessToken(access_token=token, expires_in=ACCESS_TOKEN_TTL_S)

    def find_recent_caller(self, token: str) -> Caller | None:
        """Who `token` speaks for if this workspace verified it in the last `TOKEN_CACHE_S`
        seconds (and it has not expired) and no revocation happened since; None otherwise.
        No I/O but one `os.stat` of the revocation stamp."""
        return self.token_cache.get(token, time.time())

    def authenticate(self, token: str) -> Caller:
        """Who a bearer token speaks for; the principal must still exist."""
        now_s = time.time()
        cache = self.token_cache
        stamp = cache.stamp
        cached = cache.get(token, now_s)
        if cached is not None:
            return cached
        claims = verify_token(self.secrets.token_public_key, token, audiences=[AUDIENCE])
        with self.store.read() as session:
            row = q.find_by_id(session, claims.subject)
            if row is None:
                raise AuthenticationError("the token was revoked: its principal no longer exists")
            if row.rotated_at is not None and claims.issued_at < row.rotated_at.timestamp():
                raise AuthenticationError(
                    "the token was revoked: its principal's secret was rotated after it was issued"
                )
            caller = Caller(principal_id=row.id, name=row.name, role=row.role)
        if self.token_cache.stamp == stamp:  # no revocation while it was looked up
            cache.put(token, caller, claims.expires_at, now_s)
        return caller

    def _grant(self, client_id: str, secret: str, source: str) -> tuple[str, str, float] | None:
        """(principal id, role, issued at) for a right secret; None (counted) for a wrong one."""
        with self.store.write() as session:
            row = q.find_by_id(session, client_id, lock=True)
            now = self.now()  # after the lock, as in `rotate_principal`
            throttle.check(session, client_id, source, now)
            if row is None or not verify_secret(secret, [row.secret_hash]):
                throttle.record_failure(session, row.id if row else None, source, now)
                return None
            throttle.record_success(session, row.id, source)
            return row.id, row.role, now.timestamp()

    def _revoked(self, principal_id: str) -> None:
        """After a revocation is committed: forget cached tokens here and in the other
        processes (a new stamp), tell the endpoints."""
        self.token_cache.forget(principal_id)
        path = self.artifacts.path(REVOCATION_STAMP)
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = path.with_name(f".{path.name}.{os.getpid()}")
        fresh.write_text(f"{time.time()}\n")
        fresh.replace(path)  # a new inode: seen even where file times are coarse
        self.rewrite_endpoint_configs()

    def _principal(self, session: Any, name: str, *, lock: bool = False) -> PrincipalRow:
        row = q.find_by_name(session, name, lock=lock)
        if row is None:
            raise NotFoundError(f"no principal named {name!r}")
        return row


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_ino, found.st_mtime_ns


def _revoke(session: Any, principal_id: str, now: datetime, reason: str) -> None:
    q.revoke(session, principal_id, now, reason)
    q.forget_revocations(session, now - timedelta(seconds=MAX_TOKEN_TTL_S))


def _entity(row: PrincipalRow) -> Principal:
    return Principal(
        id=row.id,
        name=row.name,
        role=row.role,
        client_id=row.id,
        created_at=row.created_at,
        rotated_at=row.rotated_at,
    )


def _credentials(row: PrincipalRow, secret: str) -> PrincipalCredentials:
    return PrincipalCredentials(
        name=row.name, role=row.role, client_id=row.id, client_secret=secret
    )

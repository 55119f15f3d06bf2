"""Service principals: create, list, rotate, delete; client credentials -> access tokens.

A principal's secret is shown once and stored as a hash. `issue_access_token` is the
OAuth2 client-credentials grant: a right id and secret give a short-lived signed token
naming the principal and its role. Repeated bad secrets for one client lock it for a
while (`TooManyRequestsError`), so secrets cannot be guessed at speed.

A token verified once is trusted for `TOKEN_CACHE_S` seconds by the workspace object that
verified it (never past its expiry): a server verifies the same token on every request,
and the signature check and principal lookup were a tenth of a listing's time.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from shipyard.auth import Role, hash_secret, issue_token, new_secret, parse_role, verify_secret
from shipyard.auth.tokens import verify_token
from shipyard.core.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    TooManyRequestsError,
)
from shipyard.core.ids import new_id
from shipyard.core.names import check_name
from shipyard.core.schemas import AccessToken, Caller, Principal, PrincipalCredentials
from shipyard.store import principals as q
from shipyard.store.tables import PrincipalRow
from shipyard.workspace._base import WorkspaceBase

ACCESS_TOKEN_TTL_S = 3600
AUDIENCE = "shipyard"
MAX_FAILED_ATTEMPTS = 5
LOCKOUT_S = 30
OWNER_NAME = "owner"
TOKEN_CACHE_S = 5.0  # a deleted principal's tokens work this long in other processes
TOKEN_CACHE_SIZE = 1024


class TokenCache:
    """Callers of recently verified tokens, each kept `ttl_s` and never past its expiry."""

    def __init__(self, ttl_s: float = TOKEN_CACHE_S, size: int = TOKEN_CACHE_SIZE) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._entries: dict[str, tuple[Caller, float]] = {}  # token -> (caller, good until)
        self._lock = threading.Lock()

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

    @property
    def token_cache(self) -> TokenCache:
        """The tokens this workspace verified recently."""
        if self._token_cache is None:
            self._token_cache = TokenCache()
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
                failed_attempts=0,
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
        """A new secret for `name`; the old one stops working at once."""
        secret = new_secret("sps_")
        with self.store.write() as session:
            row = self._principal(session, name)
            row.secret_hash = hash_secret(secret)
            row.rotated_at = self.now()
            row.failed_attempts, row.locked_until = 0, None
            return _credentials(row, secret)

    def delete_principal(self, name: str) -> None:
        """Remove a principal; its tokens stop working at once here, within
        `TOKEN_CACHE_S` in other processes (when they are next verified)."""
        with self.store.write() as session:
            row = self._principal(session, name)
            if row.role == Role.OWNER.value and q.count_role(session, Role.OWNER.value) == 1:
                raise ConflictError("this is the last owner; create another owner first")
            principal_id = row.id
            session.delete(row)
        self.token_cache.forget(principal_id)

    def issue_access_token(self, client_id: str, client_secret: str) -> AccessToken:
        """The client-credentials grant: a signed bearer token for a valid id and secret."""
        now = self.now()
        with self.store.write() as session:
            row = q.find_by_id(session, client_id)
            if row is None:
                raise AuthenticationError("unknown client id or wrong secret")
            if row.locked_until is not None and row.locked_until > now:
                wait = int((row.locked_until - now).total_seconds()) + 1
                raise TooManyRequestsError(
                    f"too many failed attempts for this client; retry in {wait} s", wait
                )
            if not verify_secret(client_secret, [row.secret_hash]):
                row.failed_attempts += 1
                if row.failed_attempts >= MAX_FAILED_ATTEMPTS:
                    row.locked_until = now + timedelta(seconds=LOCKOUT_S)
                    row.failed_attempts = 0
                failed = True
            else:
                row.failed_attempts, row.locked_until = 0, None
                failed = False
                role, principal_id = row.role, row.id
        if failed:  # committed the count first, then refuse
            raise AuthenticationError("unknown client id or wrong secret")
        token = issue_token(
            self.secrets.token_private_key,
            principal_id,
            role=role,
            audience=AUDIENCE,
            ttl_s=ACCESS_TOKEN_TTL_S,
        )
        return AccessToken(access_token=token, expires_in=ACCESS_TOKEN_TTL_S)

    def find_recent_caller(self, token: str) -> Caller | None:
        """Who `token` speaks for if this workspace verified it in the last `TOKEN_CACHE_S`
        seconds (and it has not expired); None otherwise. No I/O."""
        return self.token_cache.get(token, time.time())

    def authenticate(self, token: str) -> Caller:
        """Who a bearer token speaks for; the principal must still exist."""
        now_s = time.time()
        cached = self.token_cache.get(token, now_s)
        if cached is not None:
            return cached
        claims = verify_token(self.secrets.token_public_key, token, audiences=[AUDIENCE])
        with self.store.read() as session:
            row = q.find_by_id(session, claims.subject)
            if row is None:
                raise AuthenticationError("the token's principal no longer exists")
            caller = Caller(principal_id=row.id, name=row.name, role=row.role)
        self.token_cache.put(token, caller, claims.expires_at, now_s)
        return caller

    def _principal(self, session: object, name: str) -> PrincipalRow:
        row = q.find_by_name(session, name)  # type: ignore[arg-type]
        if row is None:
            raise NotFoundError(f"no principal named {name!r}")
        return row


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

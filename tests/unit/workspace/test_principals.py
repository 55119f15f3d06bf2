from __future__ import annotations

import pytest

from shipyard.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    TooManyRequestsError,
)
from shipyard.core.schemas import Caller
from shipyard.workspace import LocalWorkspace
from shipyard.workspace.principals import MAX_FAILED_ATTEMPTS, TokenCache


def test_a_principal_gets_a_token_for_its_role(workspace):
    created = workspace.create_principal("ci-bot", "contributor")
    assert created.client_secret.startswith("sps_")
    token = workspace.issue_access_token(created.client_id, created.client_secret)
    assert token.token_type == "bearer"
    assert token.expires_in == 3600
    caller = workspace.authenticate(token.access_token)
    assert (caller.name, caller.role, caller.principal_id) == (
        "ci-bot",
        "contributor",
        created.client_id,
    )
    (listed,) = workspace.list_principals()
    assert listed.name == "ci-bot"
    assert created.client_secret not in listed.model_dump_json()


def test_secrets_are_stored_hashed(workspace):
    created = workspace.create_principal("ci-bot", "reader")
    from shipyard.store.tables import PrincipalRow

    with workspace.store.read() as session:
        stored = session.get(PrincipalRow, created.client_id).secret_hash
    assert created.client_secret not in stored
    assert stored.startswith("sha256:")


def test_rotation_and_deletion_revoke(workspace):
    created = workspace.create_principal("ci-bot", "reader")
    token = workspace.issue_access_token(created.client_id, created.client_secret).access_token
    rotated = workspace.rotate_principal("ci-bot")
    with pytest.raises(AuthenticationError):
        workspace.issue_access_token(created.client_id, created.client_secret)
    workspace.issue_access_token(rotated.client_id, rotated.client_secret)
    workspace.delete_principal("ci-bot")
    with pytest.raises(AuthenticationError, match="no longer exists"):
        workspace.authenticate(token)
    with pytest.raises(NotFoundError):
        workspace.rotate_principal("ci-bot")


def test_repeated_bad_secrets_are_throttled(workspace):
    created = workspace.create_principal("ci-bot", "reader")
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(AuthenticationError):
            workspace.issue_access_token(created.client_id, "wrong")
    with pytest.raises(TooManyRequestsError, match="retry in"):
        workspace.issue_access_token(created.client_id, created.client_secret)


def test_bad_input(workspace):
    with pytest.raises(InvalidInputError, match="unknown role"):
        workspace.create_principal("x", "admin")
    workspace.create_principal("x", "reader")
    with pytest.raises(ConflictError, match="exists"):
        workspace.create_principal("x", "owner")
    with pytest.raises(AuthenticationError):
        workspace.issue_access_token("sp_unknown", "secret")
    with pytest.raises(AuthenticationError):
        workspace.authenticate("not-a-token")


def test_the_first_owner_is_created_once_and_cannot_be_deleted_alone(workspace):
    owner = workspace.ensure_owner()
    assert owner is not None
    assert owner.role == "owner"
    assert workspace.ensure_owner() is None
    with pytest.raises(ConflictError, match="last owner"):
        workspace.delete_principal(owner.name)


def test_a_verified_token_is_trusted_until_the_cache_lets_it_go(workspace):
    created = workspace.create_principal("ci-bot", "reader")
    token = workspace.issue_access_token(created.client_id, created.client_secret).access_token
    assert workspace.find_recent_caller(token) is None
    caller = workspace.authenticate(token)
    assert workspace.find_recent_caller(token) == caller
    # Another process (another workspace object) that verified the token keeps trusting it
    # for a few seconds after the principal is deleted here; this process stops at once.
    other = LocalWorkspace.open(workspace.folder, db_url=workspace.store.url)
    try:
        assert other.authenticate(token) == caller
        workspace.delete_principal("ci-bot")
        with pytest.raises(AuthenticationError, match="no longer exists"):
            workspace.authenticate(token)
        assert other.authenticate(token) == caller
        other._token_cache = TokenCache(ttl_s=0.0)  # the few seconds have passed
        with pytest.raises(AuthenticationError, match="no longer exists"):
            other.authenticate(token)
    finally:
        other.close()


def _caller(principal_id: str) -> Caller:
    return Caller(principal_id=principal_id, name=principal_id, role="reader")


def test_the_token_cache_keeps_a_caller_for_its_ttl_and_never_past_expiry():
    cache = TokenCache(ttl_s=5.0)
    cache.put("t1", _caller("sp_1"), expires_at_s=1000.0, now_s=100.0)
    assert cache.get("t1", 104.9) == _caller("sp_1")
    assert cache.get("t1", 105.0) is None
    cache.put("t2", _caller("sp_2"), expires_at_s=102.0, now_s=100.0)
    assert cache.get("t2", 101.9) == _caller("sp_2")
    assert cache.get("t2", 102.0) is None
    assert cache.get("never-seen", 100.0) is None


def test_the_token_cache_forgets_a_principal_and_stays_bounded():
    cache = TokenCache(ttl_s=5.0, size=3)
    cache.put("a", _caller("sp_1"), expires_at_s=1000.0, now_s=0.0)
    cache.put("b", _caller("sp_2"), expires_at_s=1000.0, now_s=0.0)
    cache.forget("sp_1")
    assert cache.get("a", 1.0) is None
    assert cache.get("b", 1.0) == _caller("sp_2")
    cache.put("c", _caller("sp_3"), expires_at_s=1000.0, now_s=10.0)  # "b" has expired
    cache.put("d", _caller("sp_4"), expires_at_s=1000.0, now_s=10.0)
    cache.put("e", _caller("sp_5"), expires_at_s=1000.0, now_s=10.0)  # full: "b" goes
    assert [cache.get(t, 11.0) is not None for t in "bcde"] == [False, True, True, True]
    cache.put("f", _caller("sp_6"), expires_at_s=1000.0, now_s=11.0)  # full of live ones
    assert [cache.get(t, 11.0) is not None for t in "cdef"] == [False, False, False, True]

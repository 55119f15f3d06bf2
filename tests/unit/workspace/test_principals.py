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
    other_token = workspace.issue_access_token(created.client_id, created.client_secret)
    workspace._token_cache = TokenCache(ttl_s=0.0)  # the few seconds have passed
    assert workspace.find_recent_caller(token) is None
    assert workspace.authenticate(other_token.access_token) == caller


def test_a_revocation_empties_the_token_cache_of_other_processes_at_once(workspace):
    created = workspace.create_principal("ci-bot", "reader")
    bystander = workspace.create_principal("bystander", "reader")
    token = workspace.issue_access_token(created.client_id, created.client_secret).access_token
    kept = workspace.issue_access_token(bystander.client_id, bystander.client_secret)
    # Another API process (another workspace object) verified and cached both tokens.
    other = LocalWorkspace.open(workspace.folder, db_url=workspace.store.url)
    try:
        assert other.authenticate(token).name == "ci-bot"
        assert other.authenticate(kept.access_token).name == "bystander"
        assert other.find_recent_caller(kept.access_token) is not None
        workspace.delete_principal("ci-bot")
        assert other.find_recent_caller(token) is None  # its next request looks again
        with pytest.raises(AuthenticationError, match="no longer exists"):
            other.authenticate(token)
        assert other.authenticate(kept.access_token).name == "bystander"  # verified anew
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


# --- issue 10, findings 4 and 6: revocation and throttling (the attack, then the refusal) ---


def test_a_rotated_secret_revokes_the_tokens_issued_before_it_here_at_once(workspace):
    created = workspace.create_principal("ci-bot", "contributor")
    old = workspace.issue_access_token(created.client_id, created.client_secret).access_token
    assert workspace.authenticate(old).principal_id == created.client_id  # now cached
    rotated = workspace.rotate_principal("ci-bot")
    assert workspace.find_recent_caller(old) is None  # the cache did not outlive it
    with pytest.raises(AuthenticationError, match="revoked: its principal's secret was rotated"):
        workspace.authenticate(old)
    new = workspace.issue_access_token(rotated.client_id, rotated.client_secret).access_token
    assert workspace.authenticate(new).principal_id == created.client_id  # issued right after
    assert set(workspace.token_revocations()) == {created.client_id}


def test_a_deleted_principal_is_listed_for_the_endpoints_until_its_tokens_expire(workspace):
    from datetime import timedelta

    from shipyard.auth.tokens import MAX_TOKEN_TTL_S
    from shipyard.store import principals as q

    gone = workspace.create_principal("gone", "reader")
    with workspace.store.write() as session:  # a revocation older than any live token
        long_ago = workspace.now() - timedelta(seconds=MAX_TOKEN_TTL_S + 60)
        q.revoke(session, "sp_long_ago", long_ago, "deleted")
    assert "sp_long_ago" not in workspace.token_revocations()
    before = workspace.now().timestamp()
    workspace.delete_principal("gone")
    revoked = workspace.token_revocations()
    assert set(revoked) == {gone.client_id}
    assert revoked[gone.client_id] >= before
    with workspace.store.read() as session:  # pruned when the new one was written
        everything = q.revocations(session, long_ago - timedelta(days=1))
    assert set(everything) == {gone.client_id}


def test_bad_secrets_from_one_address_do_not_lock_out_another(workspace):
    created = workspace.create_principal("ci-bot", "reader")
    for _ in range(MAX_FAILED_ATTEMPTS):
        with pytest.raises(AuthenticationError):
            workspace.issue_access_token(created.client_id, "wrong", address="127.0.0.2")
    with pytest.raises(TooManyRequestsError, match="this client from this address"):
        workspace.issue_access_token(created.client_id, created.client_secret, address="127.0.0.2")
    owner = workspace.issue_access_token(
        created.client_id, created.client_secret, address="127.0.0.1"
    )
    assert workspace.authenticate(owner.access_token).name == "ci-bot"
    local = workspace.issue_access_token(created.client_id, created.client_secret)
    assert local.access_token


def test_one_address_cannot_walk_many_client_ids(workspace):
    from shipyard.workspace._throttle import MAX_ADDRESS_FAILURES

    victims = [workspace.create_principal(f"bot-{i}", "reader") for i in range(4)]
    ids = [v.client_id for v in victims] + [f"sp_guess{i}" for i in range(4)]
    for attempt in range(MAX_ADDRESS_FAILURES):  # fewer than 5 per client id: under that limit
        with pytest.raises(AuthenticationError):
            workspace.issue_access_token(ids[attempt % len(ids)], "wrong", address="10.0.0.9")
    victim = victims[0]
    with pytest.raises(TooManyRequestsError, match="this address; retry in") as refused:
        workspace.issue_access_token(victim.client_id, victim.client_secret, address="10.0.0.9")
    assert refused.value.retry_after_s >= 1
    assert workspace.issue_access_token(victim.client_id, victim.client_secret, address="10.0.0.8")


def test_a_success_clears_its_own_count_and_a_lock_ends(workspace):
    from datetime import timedelta

    from shipyard.store.tables import AuthThrottleRow

    created = workspace.create_principal("ci-bot", "reader")
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        with pytest.raises(AuthenticationError):
            workspace.issue_access_token(created.client_id, "wrong", address="127.0.0.3")
    workspace.issue_access_token(created.client_id, created.client_secret, address="127.0.0.3")
    with pytest.raises(AuthenticationError):  # counting starts again: one is not a lockout
        workspace.issue_access_token(created.client_id, "wrong", address="127.0.0.3")
    for _ in range(MAX_FAILED_ATTEMPTS - 1):
        with pytest.raises(AuthenticationError):
            workspace.issue_access_token(created.client_id, "wrong", address="127.0.0.3")
    with pytest.raises(TooManyRequestsError):
        workspace.issue_access_token(created.client_id, created.client_secret, address="127.0.0.3")
    with workspace.store.write() as session:  # the lockout's time has passed
        row = session.get(AuthThrottleRow, (created.client_id, "127.0.0.3"))
        row.locked_until = workspace.now() - timedelta(seconds=1)
    assert workspace.issue_access_token(
        created.client_id, created.client_secret, address="127.0.0.3"
    )

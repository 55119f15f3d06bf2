from __future__ import annotations

import pytest

from shipyard.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    TooManyRequestsError,
)
from shipyard.workspace.principals import MAX_FAILED_ATTEMPTS


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

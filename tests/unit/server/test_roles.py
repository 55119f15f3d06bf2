"""The role matrix, generated from the route table, so a new route cannot skip auth.

For every operation under /api/v1 but the public ones: no token gets 401, the role just
below the one it needs gets 403, and the role it needs gets past authorization (any
answer but 401/403 and no 5xx: made-up names give the workspace's 404, missing bodies 422).
"""

from __future__ import annotations

import re

import pytest

from shipyard.auth import Role
from shipyard.server.app import PUBLIC_OPERATIONS, RouteEntry, check_guarded, route_table

PLACEHOLDERS = {
    "name": "placeholder",
    "run_id": "run_placeholder",
    "job_id": "job_placeholder",
    "version": "1",
    "key": "loss",
    "path": "notes/file.txt",
    "slot": "primary",
}
TABLE = route_table()
GUARDED = [e for e in TABLE if e.operation_id not in PUBLIC_OPERATIONS]
BELOW = {Role.CONTRIBUTOR: Role.READER, Role.OWNER: Role.CONTRIBUTOR}


def _url(entry: RouteEntry) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PLACEHOLDERS[m.group(1)], entry.path)


@pytest.mark.parametrize("entry", GUARDED, ids=[e.operation_id for e in GUARDED])
def test_every_route_checks_the_token_and_the_role(api, entry):
    assert entry.role is not None
    url = _url(entry)
    anonymous = api.call(entry.method, url, None)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["www-authenticate"] == "Bearer"
    if entry.role in BELOW:
        low = api.call(entry.method, url, BELOW[entry.role].value)
        assert low.status_code == 403, low.text
        assert entry.role.value in low.json()["error"]
        assert low.json()["error"].startswith(f"{entry.operation_id} ({entry.method} /api/v1/")
    allowed = api.call(entry.method, url, entry.role.value)
    assert allowed.status_code not in (401, 403), allowed.text
    assert allowed.status_code < 500, allowed.text


def test_the_roles_match_the_rules():
    roles = {e.operation_id: e.role for e in TABLE}
    assert roles["auth-token"] is None
    assert roles["health-get"] is None
    owner_only = {k for k, v in roles.items() if v is Role.OWNER}
    assert owner_only == {
        "endpoints-keys",
        "endpoints-regenerate-key",
        "principals-create",
        "principals-list",
        "principals-delete",
        "principals-rotate",
    }
    for entry in TABLE:  # readers read; writing anything needs a contributor at least
        if entry.role is not None and entry.method != "GET":
            assert entry.role.rank >= Role.CONTRIBUTOR.rank, entry.operation_id


def test_the_table_is_every_operation_the_app_documents(api):
    document = api.get("/openapi.json", None).json()
    documented = {
        (method.upper(), path, op["operationId"], op["x-shipyard-role"])
        for path, operations in document["paths"].items()
        for method, op in operations.items()
    }
    expected = {
        (e.method, e.path, e.operation_id, e.role.value if e.role else "public") for e in TABLE
    }
    assert documented == expected
    ids = [e.operation_id for e in TABLE]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+-[a-z-]+", i) for i in ids)


def test_an_app_with_an_unguarded_route_is_refused():
    entry = RouteEntry("GET", "/api/v1/secrets", "secrets-list", None)
    with pytest.raises(RuntimeError, match="GET /api/v1/secrets"):
        check_guarded([*TABLE, entry])

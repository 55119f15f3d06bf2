"""The token route (OAuth2 client credentials) and bearer authentication of the API."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus

from shipyard.workspace.principals import MAX_FAILED_ATTEMPTS

TOKEN = "/api/v1/auth/token"


def _form(client_id: str, secret: str, grant: str = "client_credentials") -> dict[str, str]:
    return {"grant_type": grant, "client_id": client_id, "client_secret": secret}


def _basic(client_id: str, secret: str) -> dict[str, str]:
    pair = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def test_client_credentials_give_a_token_that_calls_the_api(api):
    created = api.ws.create_principal("auth-flow", "reader")
    answer = api.post(TOKEN, None, data=_form(created.client_id, created.client_secret))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert answer.headers["cache-control"] == "no-store"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    listed = api.get("/api/v1/datasets", None, headers=bearer)
    assert listed.status_code == 200
    assert (
        api.post("/api/v1/experiments", None, headers=bearer, json={"name": "x"}).status_code == 403
    )


def test_http_basic_client_authentication_works_too(api):
    created = api.ws.create_principal("auth-basic", "reader")
    headers = _basic(created.client_id, created.client_secret)
    answer = api.post(TOKEN, None, headers=headers, data={"grant_type": "client_credentials"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"]


def test_credentials_sent_two_ways_at_once_are_refused(api):
    created = api.ws.create_principal("auth-both", "reader")
    answer = api.post(
        TOKEN,
        None,
        headers=_basic(created.client_id, created.client_secret),
        data=_form(created.client_id, created.client_secret),
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_a_wrong_secret_is_invalid_client(api):
    created = api.ws.create_principal("auth-wrong", "reader")
    answer = api.post(TOKEN, None, data=_form(created.client_id, "sps_wrong"))
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert "www-authenticate" not in answer.headers  # no Basic challenge for form credentials
    basic = api.post(
        TOKEN,
        None,
        headers=_basic(created.client_id, "sps_wrong"),
        data={"grant_type": "client_credentials"},
    )
    assert basic.status_code == 401
    assert basic.headers["www-authenticate"].startswith("Basic")
    unknown = api.post(TOKEN, None, data=_form("sp_unknown", "sps_wrong"))
    assert unknown.status_code == 401


def test_repeated_bad_secrets_lock_the_client_out(api):
    created = api.ws.create_principal("auth-locked", "reader")
    for _ in range(MAX_FAILED_ATTEMPTS):
        assert api.post(TOKEN, None, data=_form(created.client_id, "bad")).status_code == 401
    locked = api.post(TOKEN, None, data=_form(created.client_id, created.client_secret))
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    assert locked.json()["error"] == "slow_down"
    assert "retry in" in locked.json()["error_description"]


def test_grant_types_other_than_client_credentials_are_unsupported(api):
    answer = api.post(TOKEN, None, data=_form("sp_x", "y", grant="password"))
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"
    missing = api.post(TOKEN, None, data={"client_id": "sp_x", "client_secret": "y"})
    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"


def test_missing_or_malformed_client_credentials_are_invalid_client(api):
    bare = api.post(TOKEN, None, data={"grant_type": "client_credentials"})
    assert bare.status_code == 401
    assert bare.json()["error"] == "invalid_client"
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()):
        answer = api.post(
            TOKEN,
            None,
            headers={"Authorization": header},
            data={"grant_type": "client_credentials"},
        )
        assert answer.status_code == 401
        assert answer.json()["error"] == "invalid_client"


def test_requests_without_a_valid_bearer_token_get_401_with_a_challenge(api):
    for headers in ({}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Token abc"}):
        answer = api.get("/api/v1/runs", None, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.json()["error"]


def test_a_deleted_principals_token_stops_working(api):
    created = api.ws.create_principal("auth-deleted", "reader")
    token = api.ws.issue_access_token(created.client_id, created.client_secret).access_token
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/datasets", None, headers=bearer).status_code == 200
    api.ws.delete_principal("auth-deleted")
    answer = api.get("/api/v1/datasets", None, headers=bearer)
    assert answer.status_code == 401
    assert "no longer exists" in answer.json()["error"]


def test_health_is_public(api):
    answer = api.get("/api/v1/health", None)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}  # issue 10: no version or process id

"""Service principals over HTTP (owner only): create, list, rotate, delete."""

from __future__ import annotations

TOKEN = "/api/v1/auth/token"


def _token(api, client_id: str, secret: str) -> int:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return int(api.post(TOKEN, None, data=form).status_code)


def test_principals_are_managed_by_owners(api):
    created = api.post("/api/v1/principals", json={"name": "http-bot", "role": "contributor"})
    assert created.status_code == 201, created.text
    credentials = created.json()
    assert credentials["client_secret"].startswith("sps_")
    assert _token(api, credentials["client_id"], credentials["client_secret"]) == 200

    listed = api.get("/api/v1/principals")
    assert listed.status_code == 200
    assert "http-bot" in [p["name"] for p in listed.json()]
    assert credentials["client_secret"] not in listed.text

    rotated = api.post("/api/v1/principals/http-bot/rotate").json()
    assert rotated["client_id"] == credentials["client_id"]
    assert _token(api, credentials["client_id"], credentials["client_secret"]) == 401
    assert _token(api, rotated["client_id"], rotated["client_secret"]) == 200

    assert api.call("DELETE", "/api/v1/principals/http-bot").status_code == 204
    assert api.call("DELETE", "/api/v1/principals/http-bot").status_code == 404
    assert _token(api, rotated["client_id"], rotated["client_secret"]) == 401


def test_bad_principal_requests(api):
    duplicate = api.post("/api/v1/principals", json={"name": "test-reader", "role": "reader"})
    assert duplicate.status_code == 409
    bad_role = api.post("/api/v1/principals", json={"name": "p-x", "role": "admin"})
    assert bad_role.status_code == 422
    assert "unknown role" in bad_role.json()["error"]
    assert api.post("/api/v1/principals/never/rotate").status_code == 404


def test_the_last_owner_cannot_be_deleted(api):
    owners = [p["name"] for p in api.get("/api/v1/principals").json() if p["role"] == "owner"]
    assert owners == ["test-owner"]
    answer = api.call("DELETE", "/api/v1/principals/test-owner")
    assert answer.status_code == 409
    assert "last owner" in answer.json()["error"]

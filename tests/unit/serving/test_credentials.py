"""Key and token authentication: who may call, who is named in the log, and 401s."""

from __future__ import annotations

import time

import httpx
import pytest

from shipyard.auth import issue_token, new_signing_keys
from shipyard.core.errors import AuthenticationError
from shipyard.serving.credentials import Authenticator
from tests.unit.serving._support import BEARER, PRIMARY, SECONDARY, Endpoint

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing credentials"),
        ({"Authorization": "Bearer not-a-key"}, "invalid key"),
        ({"Authorization": f"Basic {PRIMARY}"}, "expected Authorization: Bearer"),
        ({"Authorization": "Bearer "}, "expected Authorization: Bearer"),
        ({"Authorization": PRIMARY}, "expected Authorization: Bearer"),
    ],
)
async def test_missing_or_wrong_keys_are_401_with_a_bearer_challenge(
    client, rows, headers, message
):
    answer = await client.post("/score", json={"data": rows}, headers=headers)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert message in answer.json()["error"]


async def test_both_keys_work_and_the_scheme_is_case_insensitive(client, rows):
    for key in (f"Bearer {PRIMARY}", f"bearer {SECONDARY}"):
        answer = await client.post("/score", json={"data": rows}, headers={"Authorization": key})
        assert answer.status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/invocations"),
        ("POST", "/v2/models/bank/infer"),
        ("GET", "/v2/models/bank"),
        ("GET", "/swagger.json"),
        ("GET", "/metrics"),
    ],
)
async def test_every_route_but_health_needs_credentials(client, method, path):
    answer = await client.request(method, path, json={})
    assert answer.status_code == 401
    for public in ("/health", "/v2/health/live", "/v2/health/ready", "/v2/models/bank/ready"):
        assert (await client.get(public)).status_code == 200


async def test_tokens_name_their_subject_and_expired_ones_are_401(
    endpoint: Endpoint, signing_keys, rows
):
    endpoint.write(auth_mode="token")
    app = endpoint.create_app()
    valid = issue_token(signing_keys.private_pem, "sp_ci", role="reader", audience="endpoint:bank")
    expired = issue_token(
        signing_keys.private_pem, "sp_ci", role="reader", audience="endpoint:bank", ttl_s=-5
    )
    elsewhere = issue_token(
        signing_keys.private_pem, "sp_ci", role="reader", audience="endpoint:other"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://endpoint") as client:

        async def call(token: str) -> httpx.Response:
            headers = {"Authorization": f"Bearer {token}"}
            return await client.post("/score", json={"data": rows}, headers=headers)

        assert (await call(valid)).status_code == 200
        assert (await call(valid)).status_code == 200  # from the cache
        refused = [await call(t) for t in (expired, elsewhere, PRIMARY)]
    app.close()
    assert [r.status_code for r in refused] == [401, 401, 401]
    assert "expired" in refused[0].json()["error"]
    assert "invalid token" in refused[1].json()["error"]


async def test_open_endpoints_need_no_credentials(endpoint: Endpoint, rows):
    endpoint.write(auth_mode="none")
    app = endpoint.create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://endpoint") as client:
        scored = await client.post("/score", json={"data": rows})
        swagger = (await client.get("/swagger.json")).json()
    app.close()
    assert scored.status_code == 200
    assert "securitySchemes" not in swagger["components"]


def test_verified_tokens_are_cached_until_they_expire(endpoint: Endpoint, signing_keys):
    auth = Authenticator(endpoint.write(auth_mode="token"))
    token = issue_token(signing_keys.private_pem, "sp_1", role="reader", audience="endpoint:bank")
    header = f"Bearer {token}".encode()
    assert auth.caller(header) == "sp_1"
    auth.public_key = new_signing_keys().public_pem  # a cached token is not verified again
    assert auth.caller(header) == "sp_1"
    auth._tokens[token] = ("sp_1", int(time.time()) - 1)
    with pytest.raises(AuthenticationError, match="expired"):
        auth.caller(header)
    with pytest.raises(AuthenticationError, match="invalid token"):
        auth.caller(header)  # dropped from the cache, and the key above cannot verify it


def test_key_callers_are_named_after_their_slot(endpoint: Endpoint):
    auth = Authenticator(endpoint.config)
    assert auth.caller(BEARER["Authorization"].encode()) == "primary"
    assert auth.caller(f"Bearer {SECONDARY}".encode()) == "secondary"
    assert Authenticator(endpoint.write(auth_mode="none")).caller(None) is None


def test_an_unusable_public_key_refuses_tokens_instead_of_failing(endpoint: Endpoint, signing_keys):
    auth = Authenticator(endpoint.write(auth_mode="token", token_public_key="not a key"))
    token = issue_token(signing_keys.private_pem, "sp_1", role="reader", audience="endpoint:bank")
    with pytest.raises(AuthenticationError, match="cannot verify tokens"):
        auth.caller(f"Bearer {token}".encode())

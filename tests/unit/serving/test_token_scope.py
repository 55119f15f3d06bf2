"""Issue 10, finding 4 at the endpoint: only tokens for this endpoint score, and revoked
ones stop as soon as the config says so (each test: the attack, then the refusal)."""

from __future__ import annotations

import time

import httpx
import pytest

from shipyard.auth import issue_token
from shipyard.core.errors import AuthenticationError, InvalidInputError
from shipyard.serving.config import EndpointConfig
from shipyard.serving.credentials import Authenticator
from tests.unit.serving._support import Endpoint

pytestmark = pytest.mark.anyio


def _bearer(token: str) -> bytes:
    return f"Bearer {token}".encode()


@pytest.mark.parametrize("role", ["reader", "contributor", "owner"])
def test_a_server_token_does_not_score_even_if_an_old_config_lists_its_audience(
    endpoint: Endpoint, signing_keys, role
):
    config = endpoint.write(auth_mode="token")
    assert "shipyard" in config.token_audiences  # an older workspace wrote it so
    server_token = issue_token(signing_keys.private_pem, "sp_1", role=role, audience="shipyard")
    with pytest.raises(AuthenticationError, match="Audience doesn't match"):
        Authenticator(config).caller(_bearer(server_token))


def test_a_token_for_another_endpoint_does_not_score(endpoint: Endpoint, signing_keys):
    auth = Authenticator(endpoint.write(auth_mode="token", token_audiences=("endpoint:ep_a",)))
    other = issue_token(signing_keys.private_pem, "sp_1", role="scorer", audience="endpoint:ep_b")
    with pytest.raises(AuthenticationError, match="Audience doesn't match"):
        auth.caller(_bearer(other))
    own = issue_token(signing_keys.private_pem, "sp_1", role="scorer", audience="endpoint:ep_a")
    assert auth.caller(_bearer(own)) == "sp_1"


def test_a_config_without_an_endpoint_audience_refuses_every_token(
    endpoint: Endpoint, signing_keys
):
    auth = Authenticator(endpoint.write(auth_mode="token", token_audiences=("shipyard",)))
    token = issue_token(signing_keys.private_pem, "sp_1", role="scorer", audience="shipyard")
    with pytest.raises(AuthenticationError, match="cannot verify tokens"):
        auth.caller(_bearer(token))


def test_tokens_issued_before_a_revocation_are_refused_later_ones_pass(
    endpoint: Endpoint, signing_keys
):
    keys = signing_keys.private_pem
    before = issue_token(keys, "sp_1", role="scorer", audience="endpoint:bank")
    cut = time.time()
    after = issue_token(
        keys, "sp_1", role="scorer", audience="endpoint:bank", issued_at=cut + 0.001
    )
    bystander = issue_token(keys, "sp_2", role="scorer", audience="endpoint:bank")
    auth = Authenticator(endpoint.write(auth_mode="token", revoked={"sp_1": cut}))
    with pytest.raises(AuthenticationError, match="revoked"):
        auth.caller(_bearer(before))
    assert auth.caller(_bearer(after)) == "sp_1"
    assert auth.caller(_bearer(bystander)) == "sp_2"


async def test_a_revocation_written_to_the_config_stops_a_cached_token_at_once(
    endpoint: Endpoint, signing_keys, rows
):
    endpoint.write(auth_mode="token")
    app = endpoint.create_app()
    token = issue_token(signing_keys.private_pem, "sp_1", role="scorer", audience="endpoint:bank")
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://endpoint") as client:
        assert (await client.post("/score", json={"data": rows}, headers=headers)).is_success
        endpoint.write(revoked={"sp_1": time.time()})  # as the workspace does on rotate
        refused = await client.post("/score", json={"data": rows}, headers=headers)
    app.close()
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]


@pytest.mark.parametrize("revoked", ['["sp_1"]', '{"sp_1": "yesterday"}', '{"1": null}'])
def test_a_config_with_a_malformed_revocation_list_is_refused(endpoint: Endpoint, revoked):
    text = endpoint.config.to_json().replace('"revoked": {}', f'"revoked": {revoked}')
    with pytest.raises(InvalidInputError, match="revoked must map"):
        EndpointConfig.from_json(text)

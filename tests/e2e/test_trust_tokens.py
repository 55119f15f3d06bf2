"""Issue 10, findings 4 and 6, against real processes: `shipyard server start` and the
endpoint processes its supervisor runs. Each test is the attack, then the refusal.

4: token endpoints took any server token (audience `shipyard`), and rotating or deleting a
principal revoked nothing already issued. 6: five anonymous bad secrets for a client id
locked its principal out for everyone. Callers are told apart by their source address:
on Linux the whole of 127/8 is local, so a client binds 127.0.0.2 to be "another host".
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shipyard.workspace import LocalWorkspace
from shipyard.workspace._throttle import MAX_ADDRESS_FAILURES, MAX_FAILED_ATTEMPTS
from tests.fixtures.automl import fast_settings, make_frame
from tests.fixtures.servers import Server, credentials, running

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]
TOKEN = "/api/v1/auth/token"
REVOCATION_DEADLINE_S = 5.0  # "within seconds" at the endpoint


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over a workspace with model `toy-model:1`."""
    root = tmp_path_factory.mktemp("trust-tokens")
    with LocalWorkspace.open(root / "ws") as ws:
        ws.register_dataset("toy", make_frame("binary", seed=0))
        run = ws.automl("toy", fast_settings(allowed_learners=("linear",), seed=0))
        ws.register_model("toy-model", run.id)
    with running(root / "ws", root / "server.log") as started:
        yield started


@pytest.fixture(scope="module")
def owner(server: Server) -> dict[str, str]:
    return server.login(**credentials(server.folder))


@pytest.fixture(scope="module")
def endpoints(server: Server, owner: dict[str, str]) -> Iterator[dict[str, str]]:
    """Two token-auth endpoints: name -> scoring URI."""
    uris = {}
    for name in ("trust-a", "trust-b"):
        body = {"name": name, "model": "toy-model:1", "auth_mode": "token"}
        answer = server.http.post("/api/v1/endpoints", headers=owner, json=body)
        assert answer.status_code == 201, answer.text
        uris[name] = answer.json()["scoring_uri"]
    yield uris
    for name in uris:
        server.http.delete(f"/api/v1/endpoints/{name}", headers=owner)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    frame = make_frame("binary", seed=1, rows=2).drop(columns="y")
    records: list[dict[str, Any]] = json.loads(frame.to_json(orient="records"))
    return records


def _principal(server: Server, owner: dict[str, str], name: str, role: str) -> dict[str, str]:
    answer = server.http.post(
        "/api/v1/principals", headers=owner, json={"name": name, "role": role}
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    return {"client_id": created["client_id"], "secret": created["client_secret"]}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _endpoint_token(server: Server, caller: dict[str, str], endpoint: str) -> str:
    answer = server.http.post(f"/api/v1/endpoints/{endpoint}/token", headers=caller, json={})
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _score(uri: str, token: str, rows: list[dict[str, Any]]) -> httpx.Response:
    return httpx.post(uri, json={"data": rows}, headers=_bearer(token), timeout=30)


def _grant(client: httpx.Client, url: str, client_id: str, secret: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    return client.post(f"{url}{TOKEN}", data=form)


def _from(address: str) -> httpx.Client:
    """A client whose connections come from `address` (a loopback address other than .1)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def test_only_a_token_for_this_endpoint_scores_there(server, owner, endpoints, rows):
    reader = server.login(**_principal(server, owner, "tt-reader", "reader"))
    contributor = server.login(**_principal(server, owner, "tt-contributor", "contributor"))
    a, b = endpoints["trust-a"], endpoints["trust-b"]
    for caller in (reader, contributor, owner):  # server tokens, of every role
        refused = _score(a, caller["Authorization"].removeprefix("Bearer "), rows)
        assert refused.status_code == 401, refused.text
        assert "Audience" in refused.json()["error"]
    for_a = _endpoint_token(server, contributor, "trust-a")
    assert _score(a, for_a, rows).status_code == 200
    elsewhere = _score(b, for_a, rows)
    assert elsewhere.status_code == 401
    assert "Audience" in elsewhere.json()["error"]
    # Who may get an endpoint token is unchanged: contributors, not readers.
    assert server.http.post("/api/v1/endpoints/trust-a/token", headers=reader).status_code == 403


def _revoked_within(uri: str, token: str, rows: list[dict[str, Any]], since: float) -> float:
    """Seconds from `since` until the endpoint refuses `token` as revoked."""
    while True:
        answer = _score(uri, token, rows)
        if answer.status_code == 401:
            assert "revoked" in answer.json()["error"]
            return time.monotonic() - since
        assert answer.status_code == 200, answer.text
        assert time.monotonic() - since < REVOCATION_DEADLINE_S, "the endpoint kept accepting it"
        time.sleep(0.05)


@pytest.mark.parametrize("revocation", ["rotate", "delete"])
def test_rotating_or_deleting_revokes_every_token_issued_before(
    server, owner, endpoints, rows, revocation, record_property
):
    name = f"tt-{revocation}"
    creds = _principal(server, owner, name, "contributor")
    server_token = server.login(**creds)
    endpoint_token = _endpoint_token(server, server_token, "trust-a")
    assert server.http.get("/api/v1/models", headers=server_token).status_code == 200
    assert _score(endpoints["trust-a"], endpoint_token, rows).status_code == 200
    if revocation == "rotate":
        answer = server.http.post(f"/api/v1/principals/{name}/rotate", headers=owner)
        assert answer.status_code == 200
    else:
        answer = server.http.delete(f"/api/v1/principals/{name}", headers=owner)
        assert answer.status_code == 204
    done = time.monotonic()
    on_server = server.http.get("/api/v1/models", headers=server_token)
    assert on_server.status_code == 401
    assert "revoked" in on_server.json()["error"]
    seconds = _revoked_within(endpoints["trust-a"], endpoint_token, rows, done)
    record_property(f"{revocation}_refused_at_endpoint_after_ms", round(seconds * 1000))
    assert _score(endpoints["trust-b"], endpoint_token, rows).status_code == 401
    if revocation == "rotate":  # the new secret's tokens work, at once
        fresh = server.login(creds["client_id"], answer.json()["client_secret"])
        assert server.http.get("/api/v1/models", headers=fresh).status_code == 200
        assert _score(
            endpoints["trust-a"], _endpoint_token(server, fresh, "trust-a"), rows
        ).is_success


def test_bad_secrets_from_one_address_do_not_lock_out_another(server, owner):
    victim = _principal(server, owner, "tt-victim", "reader")
    with _from("127.0.0.2") as stranger:
        for _ in range(MAX_FAILED_ATTEMPTS):
            wrong = _grant(stranger, server.url, victim["client_id"], "sps_wrong")
            assert wrong.status_code == 401
        locked = _grant(stranger, server.url, victim["client_id"], victim["secret"])
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) >= 1
    with _from("127.0.0.1") as rightful:
        assert _grant(rightful, server.url, victim["client_id"], victim["secret"]).is_success


def test_one_address_cannot_walk_many_client_ids(server, owner):
    victim = _principal(server, owner, "tt-walked", "reader")
    with _from("127.0.0.3") as walker:
        for i in range(MAX_ADDRESS_FAILURES):
            assert _grant(walker, server.url, f"sp_guess{i}", "sps_wrong").status_code == 401
        locked = _grant(walker, server.url, victim["client_id"], victim["secret"])
        assert locked.status_code == 429
        assert "this address" in locked.json()["error_description"]
    with _from("127.0.0.1") as rightful:
        assert _grant(rightful, server.url, victim["client_id"], victim["secret"]).is_success


def test_x_forwarded_for_does_not_choose_the_counted_address(server, owner):
    target = _principal(server, owner, "tt-spoofed", "reader")
    # uvicorn would trust X-Forwarded-For from 127.0.0.1 by default; the server must not.
    with _from("127.0.0.1") as spoofer:
        for i in range(MAX_FAILED_ATTEMPTS):  # each claiming to come from elsewhere
            spoofer.headers["X-Forwarded-For"] = f"198.51.100.{i}"
            assert _grant(spoofer, server.url, target["client_id"], "bad").status_code == 401
        locked = _grant(spoofer, server.url, target["client_id"], target["secret"])
        assert locked.status_code == 429  # all five were counted against 127.0.0.1


def test_with_two_api_processes_counts_and_revocations_are_shared(tmp_path):
    """Connections spread over both processes: the throttle counts and the revocation
    live in the store and the stamp file, not in one process's memory."""
    folder, log = tmp_path / "ws", tmp_path / "server.log"
    with running(folder, log, "--api-processes", "2") as server:
        owner = server.login(**credentials(folder))
        victim = _principal(server, owner, "tt-two", "reader")
        fresh = httpx.Limits(max_keepalive_connections=0)  # a new connection per request
        with httpx.Client(
            transport=httpx.HTTPTransport(local_address="127.0.0.2", limits=fresh), timeout=30
        ) as stranger:
            for _ in range(MAX_FAILED_ATTEMPTS):
                assert _grant(stranger, server.url, victim["client_id"], "bad").status_code == 401
            locked = _grant(stranger, server.url, victim["client_id"], victim["secret"])
            assert locked.status_code == 429
        token = server.login(**victim)
        with httpx.Client(base_url=server.url, limits=fresh, timeout=30) as client:
            for _ in range(20):  # both processes verify and cache the token
                assert client.get("/api/v1/models", headers=token).status_code == 200
            assert client.delete("/api/v1/principals/tt-two", headers=owner).status_code == 204
            after = [client.get("/api/v1/models", headers=token).status_code for _ in range(20)]
        assert after == [401] * 20

"""The HTTP SDK's plumbing: answers turned back into Shipyard errors, tokens, unreachable
servers, and archives unpacked safely. The server is an `httpx.MockTransport` here; the
contract suite (tests/contract) runs the client against the real app."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable

import httpx
import pytest

from shipyard.client import RemoteWorkspace, ServicePrincipalAuthentication
from shipyard.client.http import raise_for_error
from shipyard.client.remote import unpack
from shipyard.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    ModelError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServerError,
    ServiceUnavailableError,
    ShipyardError,
    TooManyRequestsError,
    answer_error,
)
from tests.fixtures.servers import free_port

SERVER = "http://shipyard.test"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, InvalidInputError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (422, InvalidInputError),
        (503, ServiceUnavailableError),
    ],
)
def test_each_error_status_is_its_shipyard_error_with_the_message(status, error):
    with pytest.raises(error) as caught:
        raise_for_error(httpx.Response(status, json={"error": "what went wrong"}))
    assert type(caught.value) is error
    assert str(caught.value) == "what went wrong"


def test_other_answers():
    raise_for_error(httpx.Response(204))
    with pytest.raises(TooManyRequestsError) as slow:
        raise_for_error(
            httpx.Response(429, json={"error": "slow_down"}, headers={"Retry-After": "7"})
        )
    assert slow.value.retry_after_s == 7
    with pytest.raises(ServerError, match=r"the server failed \(500\): boom"):
        raise_for_error(httpx.Response(500, text="boom"))
    with pytest.raises(ShipyardError, match="unexpected answer 418"):
        raise_for_error(httpx.Response(418, json={"detail": ["short and stout"]}))
    oauth = {"error": "invalid_client", "error_description": "wrong secret"}
    with pytest.raises(AuthenticationError, match="invalid_client: wrong secret"):
        raise_for_error(httpx.Response(401, json=oauth))


def test_scoring_answers_are_the_errors_a_local_invoke_raises():
    assert type(answer_error(401, "m")) is AuthenticationError
    assert type(answer_error(403, "m")) is PermissionDeniedError
    assert type(answer_error(422, "m")) is InvalidInputError
    assert type(answer_error(503, "m")) is ServiceUnavailableError
    assert type(answer_error(500, "m", b'{"error": "m", "type": "ModelError"}')) is ModelError
    server = answer_error(500, "m", b'{"error": "m", "type": "ServerError", "request_id": "r1"}')
    assert type(server) is ServerError
    assert server.request_id == "r1"
    assert type(answer_error(500, "m", b"not json")) is ServerError


def _server(handler: Callable[[httpx.Request], httpx.Response]) -> httpx.Client:
    """An httpx client whose server is `handler`, behind a token route that always agrees."""

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/token":
            return httpx.Response(200, json={"access_token": "t", "expires_in": 3600})
        return handler(request)

    return httpx.Client(transport=httpx.MockTransport(route))


def test_the_token_is_fetched_once_and_sent_with_each_call():
    seen = []

    def handler(request):
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json=[])

    http = _server(handler)
    auth = ServicePrincipalAuthentication("sp_1", "secret", SERVER, http=http)
    with RemoteWorkspace(SERVER, auth, http=http) as ws:
        assert ws.list_endpoints() == []
        assert ws.list_experiments() == []
    assert seen == ["Bearer t", "Bearer t"]
    assert "secret" not in repr(auth)
    assert repr(ws) == f"RemoteWorkspace('{SERVER}', client_id='sp_1')"


def test_a_server_that_does_not_answer_is_service_unavailable():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServiceUnavailableError, match=f"cannot reach the Shipyard server at {url}"):
        ServicePrincipalAuthentication("sp_1", "s", url).get_authentication_header()

    def refuse(request):
        raise httpx.ConnectError("connection refused", request=request)

    http = _server(refuse)
    ws = RemoteWorkspace(
        SERVER, ServicePrincipalAuthentication("sp_1", "s", SERVER, http=http), http=http
    )
    with pytest.raises(ServiceUnavailableError, match="connection refused"):
        ws.list_datasets()


def test_a_missing_file_is_refused_before_any_upload(tmp_path):
    http = _server(lambda request: pytest.fail(f"unexpected {request.url}"))
    ws = RemoteWorkspace(
        SERVER, ServicePrincipalAuthentication("a", "b", SERVER, http=http), http=http
    )
    with pytest.raises(InvalidInputError, match="no such file"):
        ws.register_dataset("toy", tmp_path / "absent.csv")


def test_archives_never_unpack_outside_their_folder(tmp_path):
    for bad in ("../escape.txt", "/etc/escape.txt", "model/../../escape.txt"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(bad, "x")
        with zipfile.ZipFile(buffer) as archive, pytest.raises(InvalidInputError, match="unsafe"):
            unpack(archive, tmp_path / "model")
    assert not (tmp_path / "escape.txt").exists()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("descriptor.json", json.dumps({"ok": True}))
    with zipfile.ZipFile(buffer) as archive:
        unpack(archive, tmp_path / "model")
    assert json.loads((tmp_path / "model" / "descriptor.json").read_text()) == {"ok": True}

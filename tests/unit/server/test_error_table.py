"""One error table: each class's status, as the server answers it and the client reads it
back; a bug in a route is a `ServerError` naming the request id, in the answer and the log."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import typer
from fastapi import FastAPI
from typer.testing import CliRunner

from shipyard.cli.main import ShipyardGroup
from shipyard.client.http import raise_for_error
from shipyard.core.errors import (
    ServerError,
    ShipyardError,
    TooManyRequestsError,
    error_class,
    error_classes,
)
from shipyard.server.errors import install_error_handlers
from shipyard.server.limits import DEFAULT_BODY_BYTES
from tests.unit.server._support import ApiClient

CLASSES = error_classes()


def _raise(cls: type[ShipyardError], message: str) -> ShipyardError:
    return TooManyRequestsError(message, 9) if cls is TooManyRequestsError else cls(message)


@pytest.fixture(scope="module")
def raising() -> Iterator[ApiClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{name}")
    def fail(name: str) -> None:
        cls = next(c for c in CLASSES if c.__name__ == name)
        raise _raise(cls, f"{name} happened")

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("secret detail of a bug")

    @app.get("/ok")
    def ok() -> dict[str, bool]:
        return {"ok": True}

    client = ApiClient(app, raise_app_exceptions=False)
    yield client
    client.close()


def test_the_table_names_every_class_once_with_a_status_and_an_exit_code():
    assert ShipyardError in CLASSES
    assert ServerError in CLASSES
    assert len({c.__name__ for c in CLASSES}) == len(CLASSES)
    for cls in CLASSES:
        assert 400 <= cls.status < 600
        assert cls.exit_code in (1, 2)
    assert ServerError.exit_code == 1
    assert ServerError.status == 500


@pytest.mark.parametrize("cls", CLASSES, ids=[c.__name__ for c in CLASSES])
def test_an_error_raised_in_a_route_is_the_same_class_and_message_in_the_client(raising, cls):
    answer = raising.request("GET", f"/raise/{cls.__name__}")
    assert answer.status_code == cls.status
    assert answer.json()["type"] == cls.__name__
    with pytest.raises(ShipyardError) as caught:
        raise_for_error(answer)
    assert type(caught.value) is cls
    assert str(caught.value).endswith(f"{cls.__name__} happened")
    if cls is TooManyRequestsError:
        assert caught.value.retry_after_s == 9


@pytest.mark.parametrize("cls", CLASSES, ids=[c.__name__ for c in CLASSES])
def test_without_a_type_the_status_alone_gives_a_class_of_that_status(cls):
    assert error_class(cls.status).status == cls.status
    assert issubclass(cls, error_class(cls.status)) or cls.status >= 500


def test_a_body_naming_a_class_of_another_status_is_not_believed():
    assert error_class(404, "ModelError").__name__ == "NotFoundError"
    assert error_class(500, "NotFoundError") is ServerError
    assert error_class(502) is ServerError
    assert error_class(400).__name__ == "InvalidInputError"


def test_a_bug_is_a_server_error_naming_the_request_id_in_answer_and_log(raising, caplog):
    with caplog.at_level(logging.ERROR, logger="shipyard.server"):
        answer = raising.request("GET", "/bug")
    assert answer.status_code == 500
    rid = answer.headers["x-request-id"]
    body = answer.json()
    assert body == {
        "error": f"internal server error; request id {rid} (see the server log)",
        "type": "ServerError",
        "request_id": rid,
    }
    assert "secret detail" not in answer.text
    logged = [r for r in caplog.records if rid in r.getMessage()]
    assert logged
    assert logged[0].exc_info is not None
    assert "secret detail of a bug" in caplog.text
    with pytest.raises(ServerError) as caught:
        raise_for_error(answer)
    assert caught.value.request_id == rid
    assert rid in str(caught.value)


def test_every_answer_has_a_request_id_and_a_sane_incoming_one_is_kept(raising):
    first = raising.request("GET", "/ok").headers["x-request-id"]
    second = raising.request("GET", "/ok").headers["x-request-id"]
    assert first
    assert second
    assert first != second
    kept = raising.request("GET", "/bug", headers={"X-Request-ID": "trace-42.a:b"})
    assert kept.headers["x-request-id"] == "trace-42.a:b"
    assert kept.json()["request_id"] == "trace-42.a:b"
    assert raising.request("GET", "/raise/NotFoundError").headers["x-request-id"]
    for bad in ("x" * 129, "two words", "<script>", "a\\b"):
        answer = raising.request("GET", "/ok", headers={"X-Request-ID": bad})
        assert answer.headers["x-request-id"] != bad
        assert len(answer.headers["x-request-id"]) <= 128


def test_the_real_app_answers_with_request_ids_and_typed_errors(api):
    missing = api.get("/api/v1/datasets/no-such-dataset")
    assert missing.status_code == 404
    assert missing.json()["type"] == "NotFoundError"
    assert missing.headers["x-request-id"]
    body = b'{"name": "' + b"x" * DEFAULT_BODY_BYTES + b'"}'
    too_big = api.post(
        "/api/v1/experiments", content=body, headers={"content-type": "application/json"}
    )
    assert too_big.status_code == 413  # answered by the body-limit middleware, inside
    assert too_big.headers["x-request-id"]


def test_the_cli_prints_a_server_failure_as_one_line_naming_the_request_id(raising):
    answer = raising.request("GET", "/bug", headers={"X-Request-ID": "req-7"})
    app = typer.Typer(cls=ShipyardGroup)

    @app.command()
    def call() -> None:
        raise_for_error(answer)

    @app.command()
    def other() -> None:
        """Keeps `call` a subcommand."""

    result = CliRunner().invoke(app, ["call"])
    assert result.exit_code == ServerError.exit_code
    assert result.stderr.splitlines() == [
        "error: the server failed (500): internal server error; request id req-7 "
        "(see the server log)"
    ]

"""Errors as answers: one status per error class, one body shape, never a 500 for bad input."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI

from shipyard.core.errors import (
    AuthenticationError,
    ConflictError,
    DataError,
    InvalidInputError,
    ModelError,
    NotFoundError,
    PermissionDeniedError,
    SchemaError,
    ShipyardError,
    TooManyRequestsError,
)
from shipyard.server.errors import install_error_handlers, status_of, validation_message
from tests.unit.server._support import ApiClient


class UnmappedError(ShipyardError):
    """A subclass the table does not name."""


CASES = [
    (InvalidInputError("bad"), 422),
    (DataError("one class"), 422),
    (SchemaError("no column x"), 422),
    (NotFoundError("none"), 404),
    (ConflictError("exists"), 409),
    (AuthenticationError("who"), 401),
    (PermissionDeniedError("no"), 403),
    (TooManyRequestsError("wait", 7), 429),
    (ModelError("broke"), 500),
    (UnmappedError("odd"), 500),
]


@pytest.fixture(scope="module")
def raising() -> Iterator[ApiClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/raise/{index}")
    def fail(index: int) -> None:
        raise CASES[index][0]

    @app.get("/bug")
    def bug() -> None:
        raise RuntimeError("a bug")

    client = ApiClient(app, raise_app_exceptions=False)
    yield client
    client.close()


@pytest.mark.parametrize(
    ("index", "case"), list(enumerate(CASES)), ids=[type(c[0]).__name__ for c in CASES]
)
def test_each_error_class_has_one_status_and_the_same_body(raising, index, case):
    error, expected = case
    assert status_of(error) == expected
    answer = raising.request("GET", f"/raise/{index}")
    assert answer.status_code == expected
    body = answer.json()
    assert body["error"] == str(error)
    assert body["type"] == type(error).__name__
    assert ("request_id" in body) == (expected >= 500)


def test_401_carries_a_challenge_and_429_says_when_to_retry(raising):
    assert raising.request("GET", "/raise/5").headers["www-authenticate"] == "Bearer"
    assert raising.request("GET", "/raise/7").headers["retry-after"] == "7"


def test_a_bug_is_a_500_without_its_traceback(raising):
    answer = raising.request("GET", "/bug")
    assert answer.status_code == 500
    assert "a bug" not in answer.text
    assert answer.json()["error"].startswith("internal server error")


def test_request_validation_errors_are_422_naming_the_fields(raising, api):
    answer = raising.request("GET", "/raise/not-a-number")
    assert answer.status_code == 422
    body = answer.json()
    assert body["error"].startswith("invalid request: path.index")
    assert body["detail"][0]["loc"] == ["path", "index"]
    unknown = api.post("/api/v1/experiments", json={"name": "x", "colour": "red"})
    assert unknown.status_code == 422
    assert "body.colour" in unknown.json()["error"]
    broken = api.post(
        "/api/v1/experiments", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422


def test_unknown_routes_and_methods_answer_in_the_same_shape(api):
    missing = api.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"] == "Not Found"
    wrong = api.call("DELETE", "/api/v1/datasets")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "Method Not Allowed"


def test_the_validation_message_stays_one_short_line():
    errors = [{"loc": ["body", f"f{i}"], "msg": "Field required"} for i in range(7)]
    message = validation_message(errors)
    assert message.count("Field required") == 5
    assert message.endswith("(and 2 more)")

"""Errors as HTTP answers: the status of each error class, one JSON shape, request ids.

The status of a Shipyard error is its class's `status` (the one table, in `core/errors.py`).
Every error answer is `{"error": "<what went wrong>"}`; a Shipyard error adds `"type"` (its
class name, so the HTTP client re-raises the same class) and a 5xx adds `"request_id"`.
Request validation errors also keep FastAPI's `detail` list. The token route answers OAuth2
errors (RFC 6749 section 5.2) through `OAuthError` instead. Bad input is a 4xx, never a
500: only a model failing on valid input (`ModelError`) or a bug (`ServerError`) is.

Every answer carries `X-Request-ID`: the caller's if it is 1 to 128 characters of
`A-Za-z0-9._:-`, else a new one. A bug's traceback is logged under that id.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.core.errors import (
    AuthenticationError,
    ServerError,
    ShipyardError,
    TooManyRequestsError,
)
from shipyard.core.ids import is_request_id

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = "shipyard.request_id"

log = logging.getLogger("shipyard.server")


class OAuthError(Exception):
    """An OAuth2 token-endpoint error: `{"error": code, "error_description": ...}`."""

    def __init__(
        self, status: int, code: str, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.code = code
        self.description = description
        self.headers = headers or {}


def status_of(exc: ShipyardError) -> int:
    """The HTTP status of `exc`: its class's."""
    return exc.status


def error_headers(exc: ShipyardError) -> dict[str, str]:
    """Headers an error needs: a challenge with 401, when to retry with 429."""
    if isinstance(exc, AuthenticationError):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, TooManyRequestsError):
        return {"Retry-After": str(max(1, exc.retry_after_s))}
    return {}


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error raised by a route in the shape above, each with a request id."""
    app.add_middleware(RequestIdMiddleware)
    app.add_exception_handler(ShipyardError, _shipyard_error)
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _shipyard_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShipyardError)  # registered for this class only
    body: dict[str, Any] = {"error": str(exc) or type(exc).__name__, "type": type(exc).__name__}
    if exc.status >= 500:
        body["request_id"] = request_id(request)
        log.error("request %s: %s: %s", body["request_id"], type(exc).__name__, exc)
    return JSONResponse(body, exc.status, headers=error_headers(exc))


async def _oauth_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OAuthError)
    body = {"error": exc.code, "error_description": exc.description}
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache", **exc.headers}
    return JSONResponse(body, exc.status, headers=headers)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = jsonable_encoder(exc.errors())
    return JSONResponse({"error": validation_message(errors), "detail": errors}, 422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    body = {"error": str(exc.detail), "detail": exc.detail}
    return JSONResponse(body, exc.status_code, headers=exc.headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    rid = request_id(request)
    log.error("request %s: %s %s failed", rid, request.method, request.url.path, exc_info=exc)
    body = {
        "error": f"internal server error; request id {rid} (see the server log)",
        "type": ServerError.__name__,
        "request_id": rid,
    }
    return JSONResponse(body, ServerError.status, headers={REQUEST_ID_HEADER: rid})


def request_id(request: Request) -> str:
    """The id of `request` (set by `RequestIdMiddleware`; a new one outside it)."""
    rid = request.scope.get(_REQUEST_ID_KEY)
    return rid if isinstance(rid, str) else uuid.uuid4().hex


class RequestIdMiddleware:
    """Give each HTTP request an id (a sane incoming `X-Request-ID` or a new one) and send
    it back on the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope) or uuid.uuid4().hex
        scope[_REQUEST_ID_KEY] = rid
        header = (REQUEST_ID_HEADER.lower().encode(), rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if all(name.lower() != header[0] for name, _ in headers):
                    headers.append(header)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-request-id":
            text = value.decode("latin-1")
            return text if is_request_id(text) else None
    return None


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """One line naming each invalid field: `body.name: Field required; query.tail: ...`."""
    parts = []
    for error in errors[:5]:
        location = ".".join(str(p) for p in error.get("loc") or ())
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more

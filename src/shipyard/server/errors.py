"""Errors as HTTP answers: one table from error class to status, one JSON shape.

Every error answer is `{"error": "<what went wrong>"}`; request validation errors also
keep FastAPI's `detail` list. The token route answers OAuth2 errors (RFC 6749 section 5.2)
through `OAuthError` instead. Bad input is a 4xx, never a 500: only a model failing on
valid input (`ModelError`) or a bug is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shipyard.core.errors import (
    AuthenticationError,
    ConflictError,
    DataError,
    InvalidInputError,
    ModelError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    SchemaError,
    ServiceUnavailableError,
    ShipyardError,
    TooManyRequestsError,
)

log = logging.getLogger("shipyard.server")

STATUS: dict[type[ShipyardError], int] = {
    InvalidInputError: 422,
    DataError: 422,
    SchemaError: 422,
    PayloadTooLargeError: 413,
    NotFoundError: 404,
    ConflictError: 409,
    AuthenticationError: 401,
    PermissionDeniedError: 403,
    TooManyRequestsError: 429,
    ServiceUnavailableError: 503,
    ModelError: 500,
    ShipyardError: 500,  # a class the table does not name yet: a bug to fix here
}


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
    """The status of the most specific class of `exc` that the table names."""
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500  # pragma: no cover - ShipyardError is in the table


def error_headers(exc: ShipyardError) -> dict[str, str]:
    """Headers an error needs: a challenge with 401, when to retry with 429."""
    if isinstance(exc, AuthenticationError):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, TooManyRequestsError):
        return {"Retry-After": str(max(1, exc.retry_after_s))}
    return {}


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error raised by a route in the shape above."""
    app.add_exception_handler(ShipyardError, _shipyard_error)
    app.add_exception_handler(OAuthError, _oauth_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _shipyard_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ShipyardError)  # registered for this class only
    status = status_of(exc)
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc)
    message = str(exc) or type(exc).__name__
    return JSONResponse({"error": message}, status, headers=error_headers(exc))


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
    log.exception("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": "internal server error; see the server log"}, 500)


def validation_message(errors: Sequence[Mapping[str, Any]]) -> str:
    """One line naming each invalid field: `body.name: Field required; query.tail: ...`."""
    parts = []
    for error in errors[:5]:
        location = ".".join(str(p) for p in error.get("loc") or ())
        parts.append(f"{location}: {error.get('msg', 'invalid')}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid request: " + "; ".join(parts) + more

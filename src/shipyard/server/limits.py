"""Request body limits: every route has one, dataset uploads and artifacts a larger one.

A pure ASGI middleware, so a body over its limit is refused before any route parses it:
at once when `Content-Length` says so, otherwise as soon as the streamed bytes pass the
limit (a chunked body has no length). The answer is a 413 in the server's error shape,
naming the limit. Starlette's own `RequestBodyLimitMiddleware` answers a plain-text
"Content Too Large" without the limit and takes its per-route limits at import time;
the upload limit here is the server's setting.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.workspace.files import describe_size as describe

MIB = 1024 * 1024
DEFAULT_BODY_BYTES = 4 * MIB  # JSON bodies: runs, tags, metrics, settings
# Uploaded tables read at once per API process: reading one takes a few times its size,
# and on one thread the allocator reuses that memory (threads of a pool each keep an arena).
REGISTRATIONS_AT_ONCE = 1
# Routes whose bodies are files: dataset and model uploads, run artifacts.
UPLOAD_ROUTES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("POST", re.compile(r"^/api/v1/datasets/?$")),
    ("POST", re.compile(r"^/api/v1/models/[^/]+/versions/?$")),
    ("PUT", re.compile(r"^/api/v1/runs/[^/]+/artifacts/.+$")),
)


class BodyTooLargeError(HTTPException):
    """A request body over its limit (413); FastAPI passes HTTP exceptions through as is."""

    def __init__(self, limit_bytes: int, what: str) -> None:
        super().__init__(413, f"{what} is larger than the limit of {describe(limit_bytes)}")


@dataclass(frozen=True)
class BodyLimits:
    """The largest body of an ordinary request, and of an upload (see `UPLOAD_ROUTES`)."""

    default_bytes: int = DEFAULT_BODY_BYTES
    upload_bytes: int = 64 * MIB
    upload_routes: Sequence[tuple[str, re.Pattern[str]]] = UPLOAD_ROUTES

    def for_request(self, method: str, path: str) -> int:
        """The limit of a request to `method path`."""
        for route_method, pattern in self.upload_routes:
            if method == route_method and pattern.match(path):
                return self.upload_bytes
        return self.default_bytes


class BodyLimitMiddleware:
    """Answer 413 to a request whose body is over its limit, before the app reads it all."""

    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits.for_request(scope["method"], scope["path"])
        length = _content_length(scope)
        if length is not None and length > limit:
            await _refuse(send, BodyTooLargeError(limit, f"the request body ({describe(length)})"))
            return
        await _Counted(self.app, limit)(scope, receive, send)


class _Counted:
    """One request whose received bytes are counted against `limit`."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.received = 0
        self.exceeded: BodyTooLargeError | None = None
        self.started = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
                if self.received > self.limit:
                    self.exceeded = BodyTooLargeError(self.limit, "the request body")
                    raise self.exceeded
            return message

        async def guarded_send(message: Message) -> None:
            # Whatever the app made of the interrupted body (a 400 "cannot parse"), the
            # answer is the 413.
            if self.exceeded is not None and not self.started:
                self.started = True
                await _refuse(send, self.exceeded)
                return
            if self.exceeded is None or message["type"] != "http.response.body":
                self.started = True
                await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLargeError as exc:
            if self.started:
                raise
            await _refuse(send, exc)


async def _refuse(send: Send, error: BodyTooLargeError) -> None:
    body = orjson.dumps({"error": error.detail})
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

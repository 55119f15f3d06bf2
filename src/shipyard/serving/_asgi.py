"""The ASGI plumbing the scoring app needs: message types, reading a body, the query.

Small on purpose: the app talks to the server in raw ASGI messages rather than through a
framework, and these are the only pieces of HTTP it has to handle itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import orjson

from shipyard.serving.payloads import PayloadError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodyTooLargeError(PayloadError):
    """A body over the endpoint's `max_body_bytes` (answered 413)."""

    status = 413


class ClientGoneError(Exception):
    """The client disconnected before its body arrived."""


async def read_body(receive: Receive, length: bytes | None, limit: int) -> bytes:
    """The whole body, refused as soon as it is known to be over `limit` bytes."""
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise PayloadError("Content-Length is not a number") from None
        if declared > limit:
            raise BodyTooLargeError(f"the body is {declared} bytes; at most {limit} accepted")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGoneError
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise BodyTooLargeError(f"the body is over {limit} bytes, the most accepted")
            chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode_json(body: bytes) -> Any:
    """The JSON document of a body; `PayloadError` naming what is wrong with it."""
    if not body or body.isspace():
        raise PayloadError('the body is empty; send JSON such as {"data": [{...}]}')
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"the body is not JSON: {exc}") from None


def query_param(scope: Scope, name: str) -> str | None:
    """The last value of a query parameter, if the request has one."""
    query = scope.get("query_string")
    if not query:
        return None
    values = parse_qs(query.decode("latin-1")).get(name)
    return values[-1] if values else None

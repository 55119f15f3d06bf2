"""What the control-plane server and endpoint processes share to speak HTTP on uvicorn.

Their sockets are in `sockets.py` (no uvicorn there, for the callers that only bind).

- `TimedHttpToolsProtocol`: uvicorn's httptools protocol with the timeouts uvicorn lacks:
  headers that do not arrive within `SHIPYARD_HEADER_TIMEOUT_S` (default 10 s) and a body
  that stalls for `SHIPYARD_BODY_TIMEOUT_S` (default 30 s) get a 408 and the connection
  is closed (finding 7).
  Where the descriptor limit is low (`sockets.raise_descriptor_limit`), a process near it
  closes its oldest connection still waiting for headers to make room for a new one,
  rather than running out of descriptors (libuv then accepts and drops every new
  connection, legitimate ones included).
"""

from __future__ import annotations

import asyncio
import os
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shipyard.core.errors import InvalidInputError

HEADER_TIMEOUT_ENV = "SHIPYARD_HEADER_TIMEOUT_S"
BODY_TIMEOUT_ENV = "SHIPYARD_BODY_TIMEOUT_S"
DEFAULT_HEADER_TIMEOUT_S = 10.0
DEFAULT_BODY_TIMEOUT_S = 30.0
_TIMEOUT_BODY = b"request timed out: headers or body did not arrive in time\n"
_TIMEOUT_ANSWER = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: " + str(len(_TIMEOUT_BODY)).encode() + b"\r\n"
    b"connection: close\r\n\r\n" + _TIMEOUT_BODY
)


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be a number of seconds, not {raw!r}") from None
    if not 0 < value <= 3600:
        raise InvalidInputError(f"{name} must be between 0 and 3600 seconds, not {raw!r}")
    return value


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with deadlines for headers and for a stalled body.

    The header clock starts when the connection opens (or a kept-alive one starts its next
    request) and stops when the headers are complete: a client that never finishes them
    (slowloris) gets a 408 after `header_timeout_s`. While a body is read, each chunk
    restarts the body clock: a body that stalls for `body_timeout_s` gets a 408 too (or a
    plain close once the app has started its answer). Time the app spends not reading
    (reading paused by flow control) does not count. Beyond `max_connections` open
    connections, a new one closes the one that has waited longest for its headers.
    """

    header_timeout_s = DEFAULT_HEADER_TIMEOUT_S
    body_timeout_s = DEFAULT_BODY_TIMEOUT_S
    max_connections = 1_000_000

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._reading_body = False
        self._waiting_since: float | None = None  # for headers (or a kept-alive request)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._waiting_since = self.loop.time()
        self._arm(self.header_timeout_s)
        if len(self.connections) > self.max_connections:
            self._shed()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._waiting_since is None:
            self._waiting_since = self.loop.time()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading_body = False
        if self._deadline is None:
            self._arm(self.header_timeout_s)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._waiting_since = None
        super().on_headers_complete()
        self._reading_body = True
        self._arm(self.body_timeout_s)

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm(self.body_timeout_s)

    def on_message_complete(self) -> None:
        self._disarm()
        self._reading_body = False
        super().on_message_complete()

    def _shed(self) -> None:
        """Close the connection that has waited longest for headers (not this one)."""
        waiting = [
            c
            for c in self.connections
            if isinstance(c, TimedHttpToolsProtocol)
            and c is not self
            and c._waiting_since is not None
        ]
        if waiting:
            min(waiting, key=lambda c: c._waiting_since or 0.0)._expired()

    def _arm(self, delay_s: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(delay_s, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.flow.read_paused:  # the app (or a pipelined answer) is not reading yet
            self._arm(self.body_timeout_s if self._reading_body else self.header_timeout_s)
            return
        cycle = self.cycle
        if self._reading_body:
            # The request's own cycle: the app sees a disconnect, a late answer goes nowhere.
            cycle.disconnected = True
            cycle.message_event.set()
            answering = cycle.response_started
        else:  # headers: a 408 unless an earlier answer is still being written
            answering = cycle is not None and not cycle.response_complete
        if not answering:
            self.transport.write(_TIMEOUT_ANSWER)
        self.transport.close()


def timed_protocol() -> type[TimedHttpToolsProtocol]:
    """The protocol class with the timeouts this process's environment asks for, and room
    for as many connections as its descriptor limit leaves (call `raise_descriptor_limit`
    first)."""
    header_s = _seconds(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT_S)
    body_s = _seconds(BODY_TIMEOUT_ENV, DEFAULT_BODY_TIMEOUT_S)
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        soft = 1_000_000
    attributes = {
        "header_timeout_s": header_s,
        "body_timeout_s": body_s,
        # What the process itself holds open (database, logs, pipes, the event loop) stays
        # well inside the rest.
        "max_connections": max(16, soft - max(64, soft // 8)),
    }
    return type("TimedHttpToolsProtocol", (TimedHttpToolsProtocol,), attributes)

"""A load generator for scoring endpoints: Apache Benchmark's figures, in pure asyncio.

`run_bench(target, BenchLoad(requests=1000, concurrency=8))` sends the same request
`requests` times from `concurrency` clients, each one raw HTTP/1.1 connection (kept
alive unless `keep_alive=False`, then one connection per request, like `ab` without
`-k`), and returns what `ab` reports: requests per second, time taken, complete and
failed requests, latency mean and percentiles, bytes transferred. A request fails when the
answer is not 2xx or the exchange breaks (refused, reset, timed out, unreadable).

No HTTP library on purpose: a client library's per-request cost (tens of microseconds
to a millisecond) would be measured instead of the server. A connection here is an
`asyncio.Protocol` that writes prebuilt request bytes and parses just the status line
and the body's length. `ab_command` and `write_ab_files` give the same measurement as
an `ab` command line.
"""

from __future__ import annotations

import asyncio
import math
import os
import shlex
import statistics
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from shipyard.core.errors import InvalidInputError

PERCENTILES = (50, 66, 75, 80, 90, 95, 98, 99, 100)
DEFAULT_TIMEOUT_S = 30.0
_MAX_HEADER_BYTES = 64 * 1024


class _ExchangeError(Exception):
    """The connection broke or the answer could not be read."""


@dataclass(frozen=True)
class BenchTarget:
    """One request to send again and again: where, with which headers and body."""

    url: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    method: str = "POST"

    def address(self) -> tuple[str, int, str]:
        """(host, port, path with query) of the URL; only `http://` is supported."""
        parts = urlsplit(self.url)
        if parts.scheme != "http" or not parts.hostname:
            raise InvalidInputError(f"bench needs an http:// URL, got {self.url!r}")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return parts.hostname, parts.port or 80, path

    def request_bytes(self, *, keep_alive: bool) -> bytes:
        """The whole HTTP/1.1 request, built once and sent as is."""
        host, port, path = self.address()
        lines = [
            f"{self.method} {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "User-Agent: shipyard-bench",
            "Accept: */*",
            f"Connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        if self.body or self.method == "POST":
            lines += [f"Content-Type: {self.content_type}", f"Content-Length: {len(self.body)}"]
        lines += [f"{name}: {value}" for name, value in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass(frozen=True)
class BenchResult:
    """What one run measured, in Apache Benchmark's terms."""

    url: str
    requests: int
    concurrency: int
    keep_alive: bool
    time_taken_s: float
    complete: int  # exchanges that got a whole answer, whatever its status
    non_2xx: int
    errors: int  # exchanges that broke: refused, reset, timed out, unreadable
    statuses: dict[int, int]
    latencies_ms: tuple[float, ...]  # of complete exchanges, connect time included
    bytes_sent: int
    bytes_received: int  # status line, headers and bodies
    body_bytes_received: int
    first_error: str | None = None

    @property
    def failed(self) -> int:
        """Requests that did not succeed: a non-2xx answer or a broken exchange."""
        return self.non_2xx + self.errors

    @property
    def requests_per_s(self) -> float:
        """Complete exchanges per second of wall time (ab's "Requests per second")."""
        return self.complete / self.time_taken_s if self.time_taken_s > 0 else 0.0

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies_ms) if self.latencies_ms else math.nan

    @property
    def time_per_request_ms(self) -> float:
        """ab's "Time per request (mean)": concurrency x wall time / complete requests."""
        if not self.complete:
            return math.nan
        return self.concurrency * self.time_taken_s * 1000 / self.complete

    @property
    def time_per_request_all_ms(self) -> float:
        """ab's "Time per request (mean, across all concurrent requests)"."""
        return self.time_taken_s * 1000 / self.complete if self.complete else math.nan

    def percentiles_ms(self) -> dict[int, float]:
        """The latency within which each share of requests completed (nearest rank)."""
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return dict.fromkeys(PERCENTILES, math.nan)
        return {p: ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] for p in PERCENTILES}

    def transfer_kb_s(self) -> tuple[float, float]:
        """Kilobytes per second received and sent (ab's "Transfer rate")."""
        if self.time_taken_s <= 0:
            return 0.0, 0.0
        return (
            self.bytes_received / 1024 / self.time_taken_s,
            self.bytes_sent / 1024 / self.time_taken_s,
        )

    def to_dict(self) -> dict[str, Any]:
        """The figures as JSON values (latencies summarized, not listed)."""
        received, sent = self.transfer_kb_s()
        return {
            "url": self.url,
            "requests": self.requests,
            "concurrency": self.concurrency,
            "keep_alive": self.keep_alive,
            "time_taken_s": self.time_taken_s,
            "complete": self.complete,
            "failed": self.failed,
            "non_2xx": self.non_2xx,
            "errors": self.errors,
            "first_error": self.first_error,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "requests_per_s": self.requests_per_s,
            "time_per_request_ms": _finite(self.time_per_request_ms),
            "time_per_request_all_ms": _finite(self.time_per_request_all_ms),
            "latency_ms": {
                "mean": _finite(self.mean_ms),
                "min": min(self.latencies_ms, default=None),
                **{f"p{p}": _finite(v) for p, v in self.percentiles_ms().items()},
            },
            "transfer": {
                "bytes_received": self.bytes_received,
                "body_bytes_received": self.body_bytes_received,
                "bytes_sent": self.bytes_sent,
                "received_kb_s": received,
                "sent_kb_s": sent,
            },
        }


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else value


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 client connection: send a request, read one answer, repeat."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self._buffer = bytearray()
        self._answer: asyncio.Future[tuple[int, int, int, bool]] | None = None
        self._head: tuple[int, int, int, bool, bool] | None = None  # status, sizes, close, chunked

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._answer is not None and not self._answer.done():
            if self._head is not None and self._head[2] < 0:  # body runs to the close
                status, head_size, _, _, _ = self._head
                body = len(self._buffer)
                self._answer.set_result((status, head_size + body, body, True))
            else:
                reason = exc or ConnectionResetError("the server closed the connection")
                self._answer.set_exception(_ExchangeError(str(reason) or type(reason).__name__))

    def exchange(self, request: bytes) -> asyncio.Future[tuple[int, int, int, bool]]:
        """Send `request`; the future gives (status, bytes read, body bytes, server closes)."""
        assert self.transport is not None
        self._answer = asyncio.get_running_loop().create_future()
        self._buffer.clear()
        self._head = None
        self.transport.write(request)
        return self._answer

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        answer = self._answer
        if answer is None or answer.done():
            return
        try:
            if self._head is None:
                self._head = self._read_head()
                if self._head is None:
                    return
            done = self._body_done()
        except _ExchangeError as exc:
            answer.set_exception(exc)
            return
        if done is not None:
            answer.set_result(done)

    def _read_head(self) -> tuple[int, int, int, bool, bool] | None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > _MAX_HEADER_BYTES:
                raise _ExchangeError("the answer's headers are too long")
            return None
        head = bytes(self._buffer[:end]).decode("latin-1").split("\r\n")
        try:
            status = int(head[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            raise _ExchangeError(f"not an HTTP answer: {head[0][:80]!r}") from None
        length, close, chunked = -1, False, False
        for line in head[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "connection":
                close = value == "close"
            elif name == "transfer-encoding":
                chunked = "chunked" in value
        if status in (204, 304) or 100 <= status < 200:
            length = 0
        del self._buffer[: end + 4]
        return status, end + 4, length, close, chunked

    def _body_done(self) -> tuple[int, int, int, bool] | None:
        assert self._head is not None
        status, head_size, length, close, chunked = self._head
        if chunked:
            body = _chunked_size(self._buffer)
            if body is None:
                return None
            return status, head_size + len(self._buffer), body, close
        if length < 0:
            return None  # no length: the body ends when the server closes
        if len(self._buffer) < length:
            return None
        return status, head_size + length, length, close


def _chunked_size(buffer: bytearray) -> int | None:
    """The body size of a complete chunked body in `buffer`, or None while incomplete."""
    position, total = 0, 0
    while True:
        end = buffer.find(b"\r\n", position)
        if end < 0:
            return None
        try:
            size = int(bytes(buffer[position:end]).split(b";")[0], 16)
        except ValueError:
            raise _ExchangeError("a chunked body with an unreadable chunk size") from None
        position = end + 2
        if size == 0:
            return total if buffer.find(b"\r\n\r\n", position - 2) >= 0 else None
        if len(buffer) < position + size + 2:
            return None
        total += size
        position += size + 2


@dataclass
class _Tally:
    """What the clients counted, shared (one event loop: no locks)."""

    to_send: int
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    bytes_sent: int = 0
    bytes_received: int = 0
    body_bytes: int = 0

    def take(self) -> bool:
        if self.to_send <= 0:
            return False
        self.to_send -= 1
        return True

    def error(self, message: str) -> None:
        self.errors += 1
        if self.first_error is None:
            self.first_error = message


async def _client(
    host: str, port: int, request: bytes, keep_alive: bool, timeout_s: float, tally: _Tally
) -> None:
    loop = asyncio.get_running_loop()
    connection: _Connection | None = None
    try:
        while tally.take():
            started = time.perf_counter()
            try:
                if connection is None or connection.closed:
                    _, opened = await asyncio.wait_for(
                        loop.create_connection(_Connection, host, port), timeout_s
                    )
                    connection = opened
                status, received, body, close = await asyncio.wait_for(
                    connection.exchange(request), timeout_s
                )
            except (OSError, TimeoutError, _ExchangeError) as exc:
                tally.error(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
                _drop(connection)
                connection = None
                continue
            tally.latencies.append((time.perf_counter() - started) * 1000)
            tally.statuses[status] += 1
            tally.bytes_sent += len(request)
            tally.bytes_received += received
            tally.body_bytes += body
            if close or not keep_alive:
                _drop(connection)
                connection = None
    finally:
        _drop(connection)


def _drop(connection: _Connection | None) -> None:
    if connection is not None and connection.transport is not None:
        connection.transport.close()


@dataclass(frozen=True)
class BenchLoad:
    """How much load: `requests` in all, from `concurrency` clients."""

    requests: int = 1000
    concurrency: int = 8
    keep_alive: bool = True  # one connection per client; else one per request
    timeout_s: float = DEFAULT_TIMEOUT_S  # per request; a late answer is an error

    def __post_init__(self) -> None:
        if self.requests < 1 or self.concurrency < 1:
            raise InvalidInputError("requests and concurrency must be at least 1")


async def bench(target: BenchTarget, load: BenchLoad) -> BenchResult:
    """Send `target` `load.requests` times from `load.concurrency` clients; the figures."""
    concurrency = min(load.concurrency, load.requests)
    host, port, _ = target.address()
    request = target.request_bytes(keep_alive=load.keep_alive)
    tally = _Tally(to_send=load.requests)
    started = time.perf_counter()
    await asyncio.gather(
        *(
            _client(host, port, request, load.keep_alive, load.timeout_s, tally)
            for _ in range(concurrency)
        )
    )
    taken = time.perf_counter() - started
    non_2xx = sum(n for status, n in tally.statuses.items() if not 200 <= status < 300)
    return BenchResult(
        url=target.url,
        requests=load.requests,
        concurrency=concurrency,
        keep_alive=load.keep_alive,
        time_taken_s=taken,
        complete=len(tally.latencies),
        non_2xx=non_2xx,
        errors=tally.errors,
        statuses=dict(tally.statuses),
        latencies_ms=tuple(tally.latencies),
        bytes_sent=tally.bytes_sent,
        bytes_received=tally.bytes_received,
        body_bytes_received=tally.body_bytes,
        first_error=tally.first_error,
    )


def run_bench(target: BenchTarget, load: BenchLoad) -> BenchResult:
    """`bench` from synchronous code, on uvloop when it is installed (as the servers are)."""
    try:
        import uvloop  # the client's own cost is part of what a load generator must keep low
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        return asyncio.run(bench(target, load))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(bench(target, load))


def ab_command(target: BenchTarget, load: BenchLoad, *, payload: str) -> str:
    """The Apache Benchmark command line that measures what `bench` does."""
    parts = ["ab", "-n", str(load.requests), "-c", str(load.concurrency)]
    parts += ["-k"] if load.keep_alive else []
    if target.method == "POST":
        parts += ["-p", payload, "-T", target.content_type]
    for name, value in target.headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts.append(target.url)
    return shlex.join(parts)


def write_ab_files(target: BenchTarget, load: BenchLoad, directory: str | Path) -> tuple[Path, str]:
    """Write `payload.json` and `ab.sh` (mode 600: it may hold a key) to `directory`.

    Returns the script's path and the command it runs (from inside `directory`).
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    payload = folder / "payload.json"
    payload.write_bytes(target.body)
    command = ab_command(target, load, payload=payload.name)
    script = folder / "ab.sh"
    text = (
        "#!/bin/sh\n# The Authorization header below is a secret: keep this file private.\n"
        f'cd "$(dirname "$0")"\n{command}\n'
    )
    descriptor = os.open(script, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    script.chmod(0o600)  # an existing file keeps its mode through O_CREAT
    return script, command

"""`serving._http`: the shared listening socket, the timed HTTP protocol, the descriptor limit.

A real uvicorn server runs in a thread on 127.0.0.1 with `TimedHttpToolsProtocol` and
timeouts of a fraction of a second; clients are plain sockets that stall on purpose.
"""

from __future__ import annotations

import contextlib
import errno
import resource
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from shipyard.core.errors import ConflictError, InvalidInputError
from shipyard.serving._http import TimedHttpToolsProtocol, timed_protocol
from shipyard.serving.sockets import inherited_socket, listen_socket, raise_descriptor_limit

TIMEOUT_S = 0.3


async def echo_app(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    """Answers 200 with the size of the request body it read to the end."""
    if scope["type"] != "http":
        return
    size, more = 0, True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    body = str(size).encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _protocol(
    max_connections: int = 1000, header_timeout_s: float = TIMEOUT_S
) -> type[TimedHttpToolsProtocol]:
    attributes = {
        "header_timeout_s": header_timeout_s,
        "body_timeout_s": TIMEOUT_S,
        "max_connections": max_connections,
    }
    return type("Timed", (TimedHttpToolsProtocol,), attributes)


def _serve(protocol: type[TimedHttpToolsProtocol]) -> Iterator[int]:
    sock = listen_socket("127.0.0.1", 0)
    config = uvicorn.Config(echo_app, http=protocol, lifespan="off", log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.01)
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def port() -> Iterator[int]:
    yield from _serve(_protocol())


@pytest.fixture
def small_port() -> Iterator[int]:
    """A server that keeps at most 3 connections, and waits 5 s for headers."""
    yield from _serve(_protocol(max_connections=3, header_timeout_s=5.0))


def _send(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(data)
    return sock


def _answer(sock: socket.socket) -> tuple[bytes, float]:
    started = time.monotonic()
    received = b""
    with sock:
        while chunk := sock.recv(65536):
            received += chunk
    return received, time.monotonic() - started


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: 1",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345",
    ],
    ids=["silent", "slow headers", "stalled body"],
)
def test_clients_that_stall_get_408_and_are_closed(port, data):
    received, waited_s = _answer(_send(port, data))
    assert received.startswith(b"HTTP/1.1 408 Request Timeout")
    assert b"connection: close" in received
    assert TIMEOUT_S * 0.8 < waited_s < TIMEOUT_S + 2


def test_a_body_that_keeps_coming_is_not_cut(port):
    sock = _send(
        port, b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 8\r\n\r\n"
    )
    for chunk in (b"12", b"34", b"56", b"78"):  # slower in all than the timeout, never stalled
        time.sleep(TIMEOUT_S / 2)
        sock.sendall(chunk)
    received, _ = _answer(sock)
    assert received.startswith(b"HTTP/1.1 200")
    assert received.endswith(b"\r\n\r\n8")


def test_a_kept_alive_connection_gets_the_header_timeout_for_its_next_request(port):
    sock = _send(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert sock.recv(65536).startswith(b"HTTP/1.1 200")
    sock.sendall(b"GET / HTTP/1.1\r\n")  # and then nothing
    received, _ = _answer(sock)
    assert received.startswith(b"HTTP/1.1 408")


def test_beyond_its_connections_a_server_closes_the_longest_waiting_one(small_port):
    stalled = [_send(small_port, b"GET / HTTP/1.1\r\n") for _ in range(3)]
    try:
        time.sleep(0.2)  # all three accepted, each waiting for the rest of its headers
        legit = _send(small_port, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answer, _ = _answer(legit)
        assert answer.startswith(b"HTTP/1.1 200")
        # One of the three made room, long before its 5 s; the others still wait. (Which
        # one is not fixed: connections accepted in one turn of the loop share its time.)
        shed = []
        for sock in stalled:
            sock.settimeout(1.0)
            with contextlib.suppress(TimeoutError):
                shed.append(sock.recv(65536))
        assert len(shed) == 1
        assert shed[0].startswith(b"HTTP/1.1 408")
    finally:
        for sock in stalled:
            sock.close()


def test_the_listening_socket_is_the_processs_alone():
    with listen_socket("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP  # asyncio sets TCP_NODELAY only then
        port = sock.getsockname()[1]
        intruder = socket.socket()
        intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        with intruder, pytest.raises(OSError, match="in use") as refused:
            intruder.bind(("127.0.0.1", port))
        assert refused.value.errno == errno.EADDRINUSE
        with pytest.raises(ConflictError, match=f"cannot listen on 127.0.0.1:{port}"):
            listen_socket("127.0.0.1", port)
        with inherited_socket(sock.dup().detach()) as copy:
            assert (copy.getsockname(), copy.proto) == (sock.getsockname(), socket.IPPROTO_TCP)
    with pytest.raises(InvalidInputError, match=r"cannot listen on 256\.1\.1\.1"):
        listen_socket("256.1.1.1", 0)


def test_the_descriptor_limit_is_raised_to_the_hard_one():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard <= 256:
        pytest.skip("needs a finite hard limit above 256")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        assert raise_descriptor_limit() == hard
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
        assert timed_protocol().max_connections > 256
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_timeouts_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("SHIPYARD_HEADER_TIMEOUT_S", "2.5")
    monkeypatch.setenv("SHIPYARD_BODY_TIMEOUT_S", "7")
    protocol = timed_protocol()
    assert (protocol.header_timeout_s, protocol.body_timeout_s) == (2.5, 7.0)
    monkeypatch.setenv("SHIPYARD_HEADER_TIMEOUT_S", "never")
    with pytest.raises(InvalidInputError, match="SHIPYARD_HEADER_TIMEOUT_S must be a number"):
        timed_protocol()
    monkeypatch.setenv("SHIPYARD_HEADER_TIMEOUT_S", "0")
    with pytest.raises(InvalidInputError, match="between 0 and 3600"):
        timed_protocol()

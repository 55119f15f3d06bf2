"""The load generator against real uvicorn servers on 127.0.0.1 (threads of this process)."""

from __future__ import annotations

import socket
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn

from shipyard.core.errors import InvalidInputError
from shipyard.serving.app import ScoringApp
from shipyard.serving.bench import (
    PERCENTILES,
    BenchLoad,
    BenchResult,
    BenchTarget,
    ab_command,
    run_bench,
    write_ab_files,
)
from tests.unit.serving._support import BEARER

TINY_BODY = b'{"ok":true}'


async def tiny_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """200 on /ok, 503 on /busy, a chunked answer on /chunked, a closing one on /close."""
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    path = scope["path"]
    headers = [(b"content-type", b"application/json")]
    if path != "/chunked":
        headers.append((b"content-length", str(len(TINY_BODY)).encode()))
    if path == "/close":
        headers.append((b"connection", b"close"))
    status = 503 if path == "/busy" else 200
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if path == "/chunked":
        await send({"type": "http.response.body", "body": TINY_BODY[:4], "more_body": True})
    body = TINY_BODY[4:] if path == "/chunked" else TINY_BODY
    await send({"type": "http.response.body", "body": body})


def _serve(app: Any) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, loop="uvloop", http="httptools", lifespan="off", log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="module")
def tiny_server() -> Iterator[str]:
    yield from _serve(tiny_app)


@pytest.fixture
def scoring_server(app: ScoringApp) -> Iterator[str]:
    yield from _serve(app)


def test_every_request_completes_and_is_timed(tiny_server):
    result = run_bench(BenchTarget(f"{tiny_server}/ok", b"{}"), BenchLoad(200, 4))
    assert (result.complete, result.failed, result.errors) == (200, 0, 0)
    assert result.statuses == {200: 200}
    assert len(result.latencies_ms) == 200
    assert result.requests_per_s > 0
    percentiles = result.percentiles_ms()
    assert list(percentiles) == list(PERCENTILES)
    assert list(percentiles.values()) == sorted(percentiles.values())
    assert percentiles[100] == max(result.latencies_ms)
    assert result.body_bytes_received == 200 * len(TINY_BODY)
    assert result.bytes_received > result.body_bytes_received
    assert result.bytes_sent == 200 * len(
        BenchTarget(f"{tiny_server}/ok", b"{}").request_bytes(keep_alive=True)
    )


def test_non_2xx_answers_are_complete_but_failed(tiny_server):
    result = run_bench(BenchTarget(f"{tiny_server}/busy", b"{}"), BenchLoad(30, 3))
    assert (result.complete, result.non_2xx, result.failed) == (30, 30, 30)
    assert result.statuses == {503: 30}


@pytest.mark.parametrize("path", ["/chunked", "/close"])
def test_chunked_and_closing_answers_are_read(tiny_server, path):
    result = run_bench(BenchTarget(f"{tiny_server}{path}", b"{}"), BenchLoad(20, 2))
    assert (result.complete, result.failed) == (20, 0)
    assert result.body_bytes_received == 20 * len(TINY_BODY)


def test_without_keep_alive_each_request_has_its_own_connection(tiny_server):
    target = BenchTarget(f"{tiny_server}/ok", b"{}")
    result = run_bench(target, BenchLoad(20, 2, keep_alive=False))
    assert (result.complete, result.failed, result.keep_alive) == (20, 0, False)
    assert b"Connection: close" in target.request_bytes(keep_alive=False)


def test_a_refused_connection_is_an_error_not_a_crash():
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_bench(BenchTarget(f"http://127.0.0.1:{port}/", b""), BenchLoad(5, 2))
    assert (result.complete, result.errors, result.failed) == (0, 5, 5)
    assert result.first_error
    assert result.to_dict()["latency_ms"]["p50"] is None


def test_the_scoring_app_is_measured_and_unauthenticated_calls_fail(scoring_server, rows):
    body = orjson.dumps({"data": rows[:1]})
    url = f"{scoring_server}/score"
    ok = run_bench(BenchTarget(url, body, BEARER), BenchLoad(100, 8))
    assert (ok.complete, ok.failed) == (100, 0)
    refused = run_bench(BenchTarget(url, body), BenchLoad(20, 2))
    assert (refused.non_2xx, refused.statuses) == (20, {401: 20})
    summary = ok.to_dict()
    assert summary["failed"] == 0
    assert set(summary["latency_ms"]) >= {f"p{p}" for p in PERCENTILES} | {"mean"}


def test_bad_settings_and_urls_are_refused():
    with pytest.raises(InvalidInputError, match="http://"):
        run_bench(BenchTarget("https://example.invalid/score", b""), BenchLoad(1, 1))
    with pytest.raises(InvalidInputError, match="at least 1"):
        run_bench(BenchTarget("http://127.0.0.1:1/", b""), BenchLoad(0, 1))


def test_figures_follow_apache_benchmark_definitions():
    result = BenchResult(
        url="http://h/score",
        requests=4,
        concurrency=2,
        keep_alive=True,
        time_taken_s=2.0,
        complete=4,
        non_2xx=1,
        errors=0,
        statuses={200: 3, 500: 1},
        latencies_ms=(4.0, 1.0, 3.0, 2.0),
        bytes_sent=400,
        bytes_received=2048,
        body_bytes_received=1024,
    )
    assert result.requests_per_s == 2.0
    assert result.time_per_request_ms == 1000.0  # concurrency x time / requests
    assert result.time_per_request_all_ms == 500.0
    assert result.mean_ms == 2.5
    assert result.percentiles_ms()[50] == 2.0
    assert result.percentiles_ms()[75] == 3.0
    assert result.percentiles_ms()[100] == 4.0
    assert result.transfer_kb_s() == (1.0, 400 / 1024 / 2)
    assert result.failed == 1


def test_the_ab_files_hold_the_same_request(tmp_path: Path):
    target = BenchTarget(
        "http://127.0.0.1:9/score", b'{"data": [{}]}', {"Authorization": "Bearer k"}
    )
    command = ab_command(target, BenchLoad(1000, 8), payload="payload.json")
    assert command == (
        "ab -n 1000 -c 8 -k -p payload.json -T application/json "
        "-H 'Authorization: Bearer k' http://127.0.0.1:9/score"
    )
    closing = ab_command(target, BenchLoad(10, 2, keep_alive=False), payload="p.json")
    assert closing.startswith("ab -n 10 -c 2 -p p.json ")
    script, written = write_ab_files(target, BenchLoad(1000, 8), tmp_path / "ab")
    assert written == command
    assert (tmp_path / "ab" / "payload.json").read_bytes() == target.body
    assert command in script.read_text()
    assert stat.S_IMODE(script.stat().st_mode) == 0o600

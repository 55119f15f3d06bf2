"""Hot reload: keys, logging and the model change with the config file, with no failed request."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import httpx
import pytest

from shipyard.auth import hash_secret
from shipyard.serving.app import ScoringApp
from tests.unit.serving._support import BEARER, PRIMARY, SECONDARY, Endpoint, log_lines

pytestmark = pytest.mark.anyio

DEADLINE_S = 20.0


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class _Traffic:
    """Clients scoring the same rows in a loop until stopped, every answer kept."""

    def __init__(self, client: httpx.AsyncClient, rows: list[dict[str, Any]], clients: int = 4):
        self.client, self.rows = client, rows
        self.answers: list[tuple[int, Any]] = []
        self._stop = asyncio.Event()
        self._tasks = [asyncio.create_task(self._run(i)) for i in range(clients)]

    async def _run(self, client_id: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            headers = {**BEARER, "x-request-id": f"bg-{client_id}-{n}"}
            answer = await self.client.post("/score", json={"data": self.rows}, headers=headers)
            self.answers.append((answer.status_code, answer.json()))

    async def stop(self) -> list[tuple[int, Any]]:
        self._stop.set()
        await asyncio.gather(*self._tasks)
        return self.answers


async def test_a_rotated_key_fails_on_the_very_next_request(client, endpoint: Endpoint, rows):
    assert (await client.post("/score", json={"data": rows}, headers=BEARER)).status_code == 200
    endpoint.write(key_hashes=(hash_secret("sk-new"), hash_secret(SECONDARY)))
    calls = {key: _bearer(key) for key in (PRIMARY, "sk-new", SECONDARY)}
    statuses = {
        key: (await client.post("/score", json={"data": rows}, headers=headers)).status_code
        for key, headers in calls.items()
    }
    assert statuses == {PRIMARY: 401, "sk-new": 200, SECONDARY: 200}


async def test_logging_switches_on_and_off_while_requests_flow(
    app: ScoringApp, client: httpx.AsyncClient, endpoint: Endpoint, rows
):
    async def tagged(tag: str) -> int:
        headers = {**BEARER, "x-request-id": tag}
        answer = await client.post("/score", json={"data": rows}, headers=headers)
        return answer.status_code

    traffic = _Traffic(client, rows)
    before = [await tagged(f"off-{i}") for i in range(3)]
    endpoint.write(logging=True, sample_rate=1.0)
    during = [await tagged(f"on-{i}") for i in range(5)]
    endpoint.write(logging=False)
    after = [await tagged(f"after-{i}") for i in range(3)]
    answers = await traffic.stop()
    app.close()
    assert before + during + after == [200] * 11
    assert {status for status, _ in answers} == {200}
    records = log_lines(endpoint.config.log_dir or "")
    tags = [r["request_id"] for r in records if not r["request_id"].startswith("bg-")]
    assert tags == [f"on-{i}" for i in range(5)]
    first = next(r for r in records if r["request_id"] == "on-0")
    assert first["route"] == "/score"
    assert (first["status"], first["caller"], first["rows"], first["model"]) == (
        200,
        "primary",
        len(rows),
        "bank:1",
    )
    assert first["payload"] == {"data": rows}
    assert first["output"]["result"]
    assert first["latency_ms"] > 0
    assert first["time"].startswith(time.strftime("%Y-", time.gmtime(first["ts"])))


async def test_a_new_model_is_swapped_in_with_no_failed_request(
    client, endpoint: Endpoint, models, model_a, model_b, rows
):
    old, new = model_a.predict(rows).tolist(), model_b.predict(rows).tolist()
    assert old != new
    traffic = _Traffic(client, rows)
    await asyncio.sleep(0.02)
    endpoint.write(model="bank:2", model_path=str(models.b))
    loading = (await client.get("/health", headers=BEARER)).json()
    deadline = time.monotonic() + DEADLINE_S
    while (health := (await client.get("/health", headers=BEARER)).json())["model"] != "bank:2":
        assert time.monotonic() < deadline, health
        await asyncio.sleep(0.005)
    swapped_at = len(traffic.answers)
    await asyncio.sleep(0.02)
    answers = await traffic.stop()
    assert loading["loading"] == "bank:2"
    assert health["loading"] is None
    assert {status for status, _ in answers} == {200}
    results = [body["result"] for _, body in answers]
    assert results[0] == old
    assert set(map(tuple, results)) <= {tuple(old), tuple(new)}
    assert all(r == new for r in results[swapped_at + 4 :])
    answer = await client.post("/score", json={"data": rows}, headers=BEARER)
    assert answer.json() == {"result": new}
    metadata = (await client.get("/v2/models/bank", headers=BEARER)).json()
    assert metadata["versions"] == ["2"]


async def test_an_unusable_config_keeps_the_current_one(client, endpoint: Endpoint, rows, caplog):
    endpoint.path.write_text("{ half a config")
    kept = await client.post("/score", json={"data": rows}, headers=BEARER)
    assert kept.status_code == 200
    assert "keeping the current one" in caplog.text
    endpoint.write(key_hashes=(hash_secret("sk-next"),))
    fixed = await client.post("/score", json={"data": rows}, headers=_bearer("sk-next"))
    assert fixed.status_code == 200


async def test_a_model_that_does_not_load_is_not_swapped_in(
    client, endpoint: Endpoint, tmp_path, rows, caplog
):
    endpoint.write(model="bank:9", model_path=str(tmp_path / "nothing"))
    deadline = time.monotonic() + DEADLINE_S
    while (health := (await client.get("/health", headers=BEARER)).json())["loading"] is not None:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.005)
    assert health["model"] == "bank:1"
    assert health["load_error"].startswith("model bank:9 not loaded: ")
    assert "model bank:9 not loaded; still serving bank:1" in caplog.text
    assert (await client.post("/score", json={"data": rows}, headers=BEARER)).status_code == 200


def test_a_deep_refresh_sees_a_rewrite_that_kept_size_and_times(app: ScoringApp, endpoint):
    before = os.stat(endpoint.path)
    text = endpoint.path.read_text()
    same_size = text.replace('"logging": false', '"logging": true ')
    assert len(same_size) == len(text)
    with endpoint.path.open("r+") as handle:  # in place: same inode
        handle.write(same_size)
    os.utime(endpoint.path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert not app.runtime.refresh()
    assert app.runtime.refresh(deep=True)
    assert app.runtime.config.logging


async def test_lifespan_watches_the_config_and_flushes_the_log_on_shutdown(
    endpoint: Endpoint, rows
):
    endpoint.write(logging=True)
    app = endpoint.create_app()
    events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    lifespan = asyncio.create_task(app({"type": "lifespan"}, events.get, send))
    await events.put({"type": "lifespan.startup"})
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://endpoint") as client:
        await client.post("/score", json={"data": rows}, headers=BEARER)
    endpoint.write(logging=False, auth_mode="none")  # no request: the watcher notices
    deadline = time.monotonic() + DEADLINE_S
    while app.runtime.config.auth_mode != "none":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    await events.put({"type": "lifespan.shutdown"})
    await lifespan
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert len(log_lines(endpoint.config.log_dir or "")) == 1

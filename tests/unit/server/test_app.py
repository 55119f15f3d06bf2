"""The app's life: the workspace opened (and a newer schema refused), the supervisor lock
taken, job workers started, restarted and stopped."""

from __future__ import annotations

import gc
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from shipyard.core.errors import ConflictError, InvalidInputError
from shipyard.server import ServerSettings, create_app
from shipyard.server import background as bg
from shipyard.workspace import DB_URL_ENV, LocalWorkspace
from shipyard.workspace.liveness import PARENT_PID_ENV
from shipyard.workspace.supervisor import try_lock
from tests.unit.server._support import ApiClient, future_workspace

DEADLINE_S = 10.0


def _wait_until(condition, timeout_s: float = DEADLINE_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def test_the_server_supervises_its_workspace_while_it_runs(tmp_path):
    settings = ServerSettings(workspace=tmp_path / "ws")
    client = ApiClient(create_app(settings))
    try:
        supervisor = client.app.state.background.supervisor
        _wait_until(supervisor.holds_lock.is_set)
        assert try_lock(settings.workspace) is None  # a deploy starts no other supervisor
        assert client.request("GET", "/api/v1/health").status_code == 200
    finally:
        client.close()
    lock = try_lock(settings.workspace)
    assert lock is not None
    lock.close()


def test_the_supervisor_thread_takes_over_when_another_supervisor_exits(tmp_path, monkeypatch):
    monkeypatch.setattr(bg, "LOCK_RETRY_S", 0.05)
    ws = LocalWorkspace.open(tmp_path / "ws")
    other = try_lock(ws.folder)
    assert other is not None
    thread = bg.SupervisorThread(ws)
    thread.start()
    try:
        time.sleep(0.2)
        assert not thread.holds_lock.is_set()
        other.close()
        _wait_until(thread.holds_lock.is_set)
    finally:
        thread.stop()
        ws.close()
    assert not thread.holds_lock.is_set()


def test_a_stopped_server_that_never_got_the_lock_stops_waiting(tmp_path):
    ws = LocalWorkspace.open(tmp_path / "ws")
    other = try_lock(ws.folder)
    thread = bg.SupervisorThread(ws)
    thread.start()
    thread.stop()
    assert not thread._thread.is_alive()
    assert other is not None
    other.close()
    ws.close()


def test_a_database_from_a_newer_shipyard_is_refused_at_start(tmp_path):
    folder = future_workspace(tmp_path / "ws")
    app = create_app(ServerSettings(workspace=folder, supervise=False))
    with pytest.raises(ConflictError, match="newer Shipyard"):
        ApiClient(app)


def test_worker_processes_are_restarted_when_they_die_and_stopped_with_the_server(monkeypatch):
    monkeypatch.setattr(bg, "WORKER_CHECK_S", 0.05)
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    workers = bg.ChildProcesses("sleeper", sleeper, 2)
    workers.start()
    try:
        first = workers.processes[0]
        os.kill(first.pid, signal.SIGKILL)
        _wait_until(lambda: workers.restarts == 1)
        assert workers.processes[0].pid != first.pid
        assert all(p.poll() is None for p in workers.processes)
    finally:
        workers.stop()
    assert all(p.poll() is not None for p in workers.processes)


def test_no_workers_start_no_processes():
    workers = bg.ChildProcesses("nothing", ["false"], 0)
    workers.start()
    workers.stop()
    assert workers.processes == []


def test_children_work_on_the_servers_workspace_and_get_the_database_url_by_environment(
    monkeypatch,
):
    url = "postgresql+psycopg://user:pw@db/x"
    settings = ServerSettings(
        workspace=Path("/srv/ws"), db_url=url, artifacts=Path("/srv/art"), port=9000
    )
    worker = bg.worker_command(settings)
    assert worker[1:] == [
        "-m", "shipyard.workspace.worker", "--workspace", "/srv/ws", "--artifacts", "/srv/art"
    ]  # fmt: skip
    api = bg.api_command(settings)
    assert api[1:3] == ["-m", "shipyard.server.serve"]
    assert api[3:7] == ["--host", "127.0.0.1", "--port", "9000"]
    assert not any("pw" in part for part in worker + api)  # a password stays off argv
    assert settings.child_env()[DB_URL_ENV] == url
    assert settings.child_env()[PARENT_PID_ENV] == str(os.getpid())  # they stop with us
    monkeypatch.setenv(DB_URL_ENV, "sqlite:////elsewhere.db")
    assert DB_URL_ENV not in ServerSettings().child_env()  # not the caller's database
    assert "--artifacts" not in bg.worker_command(ServerSettings())


def test_settings_refuse_impossible_counts():
    with pytest.raises(InvalidInputError, match="0 or more"):
        ServerSettings(workers=-1)
    with pytest.raises(InvalidInputError, match="1 or more"):
        ServerSettings(api_processes=0)


def test_the_client_address_of_a_wildcard_host_is_loopback():
    assert ServerSettings(host="0.0.0.0", port=9).url == "http://127.0.0.1:9"
    assert ServerSettings(host="::1", port=9).url == "http://[::1]:9"
    assert ServerSettings().config_file == Path(".shipyard/config.json")


def test_while_serving_the_collector_skips_what_was_loaded_at_start(tmp_path):
    client = ApiClient(create_app(ServerSettings(workspace=tmp_path / "ws", supervise=False)))
    try:
        assert gc.get_freeze_count() > 0
    finally:
        client.close()
    assert gc.get_freeze_count() == 0

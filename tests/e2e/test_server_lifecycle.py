"""A server's processes over time: several API processes on one port, and a server that
stops (or is killed) while a job runs and comes back without losing it."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from shipyard.core.schemas import RunStatus
from shipyard.sdk import Workspace
from tests.fixtures.servers import Server, credentials, seed_workspace, wait_until

# Each test starts one or two servers and runs AutoML jobs through them: minutes, not seconds.
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(240)]
# Many quick trials of a linear model: long enough to stop mid-way, short enough to finish.
LONG_JOB = {
    "target": "y",
    "budget_s": 20,
    "max_trials": 400,
    "allowed_learners": ["linear"],
    "n_jobs": 1,
}


def children(pid: int) -> dict[int, str]:
    """The child processes of `pid` and their command lines (from /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # it ended meanwhile
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found[int(entry.name)] = cmdline
    return found


def child_running(server: Server, module: str) -> list[int]:
    return [pid for pid, cmd in children(server.process.pid).items() if module in cmd]


def test_several_api_processes_share_the_port_and_one_that_dies_is_replaced(tmp_path):
    folder = seed_workspace(tmp_path / "ws")
    server = Server(folder, tmp_path / "server.log", "--api-processes", "2")
    try:
        [api] = wait_until(lambda: child_running(server, "shipyard.server.serve"), 30, "API")
        owner = server.login(**credentials(folder))
        # Fresh connections are spread over both processes; each answers for the workspace.
        answers = set()
        for _ in range(40):
            listed = httpx.get(
                f"{server.url}/api/v1/runs?top_level=true", headers=owner, timeout=30
            )
            assert listed.status_code == 200, listed.text
            answers.add(listed.json()["total"])
        assert answers == {1}
        wait_until(lambda: f"Started server process [{api}]" in server.output(), 30, "its start")

        os.kill(api, signal.SIGKILL)
        replaced = wait_until(
            lambda: [p for p in child_running(server, "shipyard.server.serve") if p != api],
            30,
            "a new API process",
        )
        wait_until(
            lambda: f"Started server process [{replaced[0]}]" in server.output(), 60, "its start"
        )
        health = [httpx.get(f"{server.url}/api/v1/health", timeout=30) for _ in range(20)]
        assert {h.status_code for h in health} == {200}
    finally:
        assert server.stop(), server.output()
    assert not children(server.process.pid)
    with pytest.raises(ProcessLookupError):
        os.kill(replaced[0], 0)  # stopped with the server


def _submit(server: Server, owner: dict[str, str]) -> dict[str, Any]:
    body = {"dataset": "toy", "settings": LONG_JOB, "experiment": "restart"}
    submitted = server.http.post("/api/v1/jobs/automl", headers=owner, json=body)
    assert submitted.status_code == 201, submitted.text
    job: dict[str, Any] = submitted.json()
    return job


def _job(server: Server, owner: dict[str, str], job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = server.http.get(f"/api/v1/jobs/{job_id}", headers=owner).json()
    return job


def _trials(server: Server, owner: dict[str, str], run_id: str) -> int:
    listed = server.http.get("/api/v1/runs", headers=owner, params={"parent_id": run_id})
    return int(listed.json()["total"])


def _finished(server: Server, owner: dict[str, str], job_id: str) -> dict[str, Any] | None:
    job = _job(server, owner, job_id)
    return job if job["status"] in ("completed", "failed", "canceled") else None


def _start_mid_job(tmp_path: Path, log: str) -> tuple[Server, dict[str, str], dict[str, Any]]:
    """A server with one worker, a long job submitted and past its first trials."""
    folder = seed_workspace(tmp_path / "ws")
    server = Server(folder, tmp_path / log, "--workers", "1")
    owner = server.login(**credentials(folder))
    job = _submit(server, owner)
    wait_until(lambda: _job(server, owner, job["id"])["status"] == "running", 90, "job running")
    wait_until(lambda: _trials(server, owner, job["run_id"]) >= 3, 60, "first trials")
    return server, owner, job


def test_a_server_stopped_mid_job_queues_it_again_and_the_next_start_finishes_it(tmp_path):
    server, owner, job = _start_mid_job(tmp_path, "first.log")
    assert server.stop(), server.output()  # SIGTERM: the worker releases its job

    second = Server(server.folder, tmp_path / "second.log", "--workers", "1")
    try:
        owner = second.login(**credentials(server.folder))
        first_run = second.http.get(f"/api/v1/runs/{job['run_id']}", headers=owner).json()
        assert first_run["status"] == "canceled"
        assert "worker was stopped" in first_run["failure_reason"]
        done = wait_until(lambda: _finished(second, owner, job["id"]), 120, "the job")
        assert done["status"] == "completed", f"{done}\n{second.output()}"
        assert done["attempts"] == 1  # the stopped attempt is not counted
        assert done["run_id"] != job["run_id"]
        run = second.http.get(f"/api/v1/runs/{done['run_id']}", headers=owner).json()
        assert (run["status"], run["has_model"]) == ("completed", True)
        kept = second.http.get(
            "/api/v1/runs", headers=owner, params={"experiment": "restart", "top_level": True}
        )
        assert {r["id"] for r in kept.json()["items"]} == {job["run_id"], done["run_id"]}
    finally:
        assert second.stop(), second.output()


def test_a_server_killed_mid_job_gets_the_job_retried_after_restart(tmp_path):
    server, owner, job = _start_mid_job(tmp_path, "first.log")
    [worker] = child_running(server, "shipyard.workspace.worker")
    server.process.kill()  # SIGKILL: no shutdown at all, for the server or its worker
    os.kill(worker, signal.SIGKILL)
    server.process.wait(30)
    server.http.close()

    second = Server(server.folder, tmp_path / "second.log", "--workers", "1")
    try:
        owner = second.login(**credentials(server.folder))
        done = wait_until(lambda: _finished(second, owner, job["id"]), 150, "the job")
        assert done["status"] == "completed", f"{done}\n{second.output()}"
        assert done["attempts"] == 2
        first_run = second.http.get(f"/api/v1/runs/{job['run_id']}", headers=owner).json()
        assert first_run["status"] == "failed"
        assert "ended" in first_run["failure_reason"] or "heartbeat" in first_run["failure_reason"]
    finally:
        assert second.stop(), second.output()


def test_a_run_logged_through_the_sdk_outlives_a_server_restart(tmp_path):
    folder = seed_workspace(tmp_path / "ws")
    first = Server(folder, tmp_path / "first.log")
    with Workspace.from_config(first.config_file) as ws:
        run = ws.create_run("sdk-restart")
        ws.log_metrics(run.id, {"m": 1.0})
        assert first.stop(), first.output()

        second = Server(folder, tmp_path / "second.log", port=first.port)
        try:
            assert ws.get_run(run.id).status is RunStatus.RUNNING  # its client is alive
            ws.log_metrics(run.id, {"m": 2.0}, step=1)
            done = ws.set_run_status(run.id, RunStatus.COMPLETED)
            assert (done.status, done.metrics) == (RunStatus.COMPLETED, {"m": 2.0})
        finally:
            assert second.stop(), second.output()


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_the_children_of_a_killed_server_stop_with_it(tmp_path):
    folder = seed_workspace(tmp_path / "ws")
    server = Server(folder, tmp_path / "server.log", "--api-processes", "2", "--workers", "1")
    kids = wait_until(
        lambda: len(children(server.process.pid)) == 2 and children(server.process.pid),
        30,
        "children",
    )
    server.process.kill()  # SIGKILL: the server cannot stop them itself
    server.process.wait(30)
    server.http.close()
    for pid in kids:
        wait_until(lambda pid=pid: _gone(pid), 30, f"child {kids[pid]} to stop")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.url}/api/v1/health", timeout=5)  # nothing holds the port

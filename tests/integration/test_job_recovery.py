"""A worker killed with SIGKILL in the middle of a job: another worker takes it over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from shipyard.core.schemas import JobStatus, RunStatus
from shipyard.workspace import LocalWorkspace
from tests.fixtures.automl import FAST_SETTINGS, make_frame

pytestmark = pytest.mark.slow


def _worker(folder, store_url: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "shipyard.workspace.worker", "--workspace", str(folder)],
        env={**os.environ, "SHIPYARD_DB_URL": store_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _wait(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.timeout(240)
def test_a_killed_worker_s_job_is_retried_by_another(tmp_path, store_url):
    folder = tmp_path / "ws"
    ws = LocalWorkspace.open(folder, db_url=store_url)
    ws.register_dataset("toy", make_frame("binary", seed=0, rows=3000))
    settings = {
        "target": "y",
        **FAST_SETTINGS,
        "max_trials": 6,
        "allowed_learners": ["xgboost", "lightgbm"],
    }
    job = ws.submit_automl_job("toy", settings, max_attempts=2)
    first = _worker(folder, store_url)
    try:
        _wait(lambda: ws.list_runs(parent_id=job.run_id).total >= 1, 120, "the first trial")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        second = _worker(folder, store_url)
        try:
            _wait(lambda: ws.get_job(job.id).status is JobStatus.COMPLETED, 180, "the retry")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    done = ws.get_job(job.id)
    assert done.attempts == 2
    assert "worker lost" in (done.error or "") or done.error is None
    lost = ws.get_run(job.run_id)
    assert lost.status is RunStatus.FAILED
    assert "ended without finishing" in lost.failure_reason
    assert ws.get_run(done.run_id).status is RunStatus.COMPLETED
    assert not any(r.status is RunStatus.RUNNING for r in ws.list_runs(max_results=200).items)
    ws.close()

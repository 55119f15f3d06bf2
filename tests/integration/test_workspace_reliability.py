"""Reliability with real processes: concurrent writers, killed runs, crashed registrations.

Children (`tests/fixtures/processes.py`) open the same workspace as the test, a SQLite
file or a fresh PostgreSQL schema; the test writes alongside them, kills them with SIGKILL
and checks what the next reader sees. Waits poll with a deadline. One assert leans on
time: a run whose heartbeat beats every 0.05 s stays alive across 1.5 timeouts of 1 s.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from multiprocessing.context import ForkServerContext
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.core.schemas import RunStatus
from shipyard.workspace import LocalWorkspace
from shipyard.workspace._frames import frame_hash
from shipyard.workspace.liveness import dead_reason, process_start
from tests.fixtures.processes import (
    DEADLINE_S,
    Children,
    forkserver_context,
    open_beating,
    register,
    remote_run,
    run_automl,
    write_runs,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def forkserver() -> ForkServerContext:
    return forkserver_context()


@pytest.fixture
def children(forkserver: ForkServerContext) -> Iterator[Children]:
    """Start children with `children.start(write_runs, ...)`; all are killed at the end."""
    with Children(forkserver) as started:
        yield started


@pytest.fixture
def artifacts(workspace: LocalWorkspace) -> Path:
    """The artifact folder of the test's workspace, which children share with it."""
    return workspace.artifacts.root


def wait_for(condition: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {DEADLINE_S:.0f} s waiting for {what}")
        time.sleep(0.05)


def synthetic_frame(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["color"] = rng.choice(["red", "green", "blue"], size=rows)
    noise = rng.normal(scale=0.5, size=rows)
    frame["y"] = np.where(x[:, 0] + 0.5 * x[:, 1] + noise > 0, "yes", "no")
    return frame


# --- concurrent writers ---------------------------------------------------------------------


def test_processes_writing_runs_at_once_all_succeed(workspace, artifacts, store_url, children):
    writers, count, steps = 2, 20, 4
    started = [
        children.start(write_runs, artifacts, store_url, f"w{i}", count, steps)
        for i in range(writers)
    ]
    for child in started:
        assert child.receive() == "ready"
    for child in started:
        child.go()
    for child in started:
        assert child.receive() == "done"
        assert child.join() == 0

    page = workspace.list_runs(experiment="shared", max_results=1000)
    assert page.total == writers * count
    names = sorted(run.name or "" for run in page.items)
    assert names == sorted(f"w{w}-{i}" for w in range(writers) for i in range(count))
    for run in page.items:
        assert run.status is RunStatus.COMPLETED
        assert run.metrics == {"loss": 1 / steps, "step_seen": steps - 1}
        assert [p.step for p in workspace.get_metric_history(run.id, "loss")] == list(range(steps))
        assert len(workspace.get_run_logs(run.id)) == 1


def test_registrations_at_once_take_distinct_complete_versions(
    workspace, artifacts, store_url, children, tmp_path
):
    writers = 4
    sources = []
    for i in range(writers):
        path = tmp_path / f"part{i}.csv"
        synthetic_frame(5000, i).to_csv(path, index=False)
        sources.append(path)
    started = [children.start(register, artifacts, store_url, "shared", p) for p in sources]
    for child in started:
        assert child.receive() == "ready"
    for child in started:
        child.go()
    versions = sorted(child.receive() for child in started)

    assert versions == list(range(1, writers + 1))
    assert_versions_complete(workspace, "shared")


# --- killed runs ----------------------------------------------------------------------------


def test_a_run_killed_mid_trial_is_failed_on_the_next_access(
    workspace: LocalWorkspace, artifacts: Path, store_url: str, children: Children, seed: int
):
    workspace.register_dataset("synthetic", synthetic_frame(2000, seed))
    child = children.start(run_automl, artifacts, store_url, "synthetic")
    assert child.receive() == "ready"

    def trial_running() -> bool:
        if not child.process.is_alive():
            pytest.fail(f"the AutoML child ended early with {child.process.exitcode}")
        return workspace.list_runs(kind="trial", status="running").total > 0

    wait_for(trial_running, "a running trial")
    (automl,) = workspace.list_runs(kind="automl").items
    assert automl.status is RunStatus.RUNNING

    child.kill()
    failed = workspace.get_run(automl.id)
    assert failed.status is RunStatus.FAILED
    assert f"pid {child.pid}" in (failed.failure_reason or "")
    assert failed.ended_at is not None
    assert workspace.list_runs(status="running").total == 0
    trials = workspace.list_runs(parent_id=automl.id, max_results=1000).items
    cut_short = [t for t in trials if t.status is RunStatus.FAILED and not t.metrics]
    assert len(cut_short) == 1
    assert f"pid {child.pid}" in (cut_short[0].failure_reason or "")


def test_a_killed_process_not_yet_reaped_counts_as_dead():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        owner = f"{socket.gethostname()}:{proc.pid}:{process_start(proc.pid)}"
        now = datetime.now(UTC)
        assert dead_reason(owner, now, now, timeout_s=60) is None
        os.kill(proc.pid, signal.SIGKILL)  # and not reaped: it lingers as a zombie
        wait_for(lambda: dead_reason(owner, now, now, timeout_s=60) is not None, "a dead owner")
    finally:
        proc.kill()
        proc.wait(DEADLINE_S)


def test_a_silent_owner_elsewhere_is_failed_after_the_heartbeat_timeout(
    workspace, artifacts, store_url, children
):
    timeout_s = 1.0
    watcher = LocalWorkspace.open(
        artifacts.parent, db_url=store_url, artifacts=artifacts, heartbeat_timeout_s=timeout_s
    )
    try:
        child = children.start(remote_run, artifacts, store_url, 0.05)
        run_id = child.receive()
        first_beat = watcher.get_run(run_id).heartbeat_at
        until = time.monotonic() + 1.5 * timeout_s
        while time.monotonic() < until:  # beating: alive past the timeout
            assert watcher.get_run(run_id).status is RunStatus.RUNNING
            time.sleep(0.05)
        last_beat = watcher.get_run(run_id).heartbeat_at
        assert first_beat is not None
        assert last_beat is not None
        assert last_beat > first_beat

        child.kill()
        # Another host's pid cannot be checked: until the timeout passes it may be alive.
        assert workspace.get_run(run_id).status is RunStatus.RUNNING
        wait_for(
            lambda: watcher.get_run(run_id).status is RunStatus.FAILED, "the heartbeat timeout"
        )
        assert "no heartbeat" in (watcher.get_run(run_id).failure_reason or "")
    finally:
        watcher.close()


def test_a_queued_run_started_later_gets_heartbeats(artifacts, store_url):
    beating = open_beating(artifacts, store_url, heartbeat_interval_s=0.05)
    try:
        run = beating.create_run("exp", status=RunStatus.QUEUED)
        first_beat = beating.set_run_status(run.id, RunStatus.RUNNING).heartbeat_at
        assert first_beat is not None
        wait_for(lambda: beating.get_run(run.id).heartbeat_at != first_beat, "a heartbeat")
    finally:
        beating.close()


# --- crashed registrations ------------------------------------------------------------------


def write_variants(base: pd.DataFrame, folder: Path, count: int) -> list[Path]:
    """CSV files with the rows of `base` plus one distinct row each (copied, not rewritten)."""
    folder.mkdir()
    first = folder / "base.csv"
    base.to_csv(first, index=False)
    paths = []
    for i in range(count):
        path = folder / f"variant{i}.csv"
        shutil.copyfile(first, path)
        with path.open("a") as handle:
            handle.write(f"0.5,0.5,0.5,{i},red,yes\n")
        paths.append(path)
    return paths


def assert_versions_complete(workspace: LocalWorkspace, name: str) -> list[int]:
    """Versions are numbered 1..n and each reads back whole, with the hash it was stored under."""
    versions = workspace.list_dataset_versions(name)
    numbers = [v.version for v in versions]
    assert numbers == list(range(1, len(numbers) + 1))
    for version in versions:
        frame = version.to_pandas()
        assert len(frame) == version.rows
        assert frame_hash(frame) == version.content_hash
    return numbers


def test_a_crash_while_registering_leaves_no_half_version(
    workspace, artifacts, store_url, children, tmp_path, seed
):
    kills = 4
    base = synthetic_frame(120_000, seed)
    timed, *doomed, final = write_variants(base, tmp_path / "csv", kills + 2)
    assert workspace.register_dataset("big", base).version == 1
    first, *started = [
        children.start(register, artifacts, store_url, "big", path) for path in [timed, *doomed]
    ]
    for child in [first, *started]:
        assert child.receive() == "ready"

    began = time.monotonic()
    first.go()
    assert first.receive() == 2
    took_s = time.monotonic() - began
    rng = random.Random(seed)
    for quarter, child in enumerate(started):  # one kill in each quarter of a registration
        child.go()
        time.sleep((quarter + rng.random()) / kills * took_s)
        child.kill()
        assert_versions_complete(workspace, "big")

    numbers = assert_versions_complete(workspace, "big")
    assert all(v.rows == len(base) + 1 for v in workspace.list_dataset_versions("big")[1:])
    again = workspace.register_dataset("big", final)
    assert again.version == numbers[-1] + 1
    assert len(again.to_pandas()) == len(base) + 1

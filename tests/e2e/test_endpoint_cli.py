"""The endpoint CLI in real processes: deploy starts a background supervisor that outlives it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from shipyard.workspace import LocalWorkspace
from shipyard.workspace.supervisor import try_lock
from tests.fixtures.automl import fast_settings, make_frame

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SHIPYARD = [sys.executable, "-m", "shipyard.cli.main"]


def _shipyard(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SHIPYARD, *args, "--workspace", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "SHIPYARD_SUPERVISOR_IDLE_S": "1"},
    )


def _supervised(folder: Path) -> bool:
    """Whether a supervisor holds the workspace's lock."""
    handle = try_lock(folder)
    if handle is None:
        return True
    handle.close()
    return False


# Eight CLI processes, each importing the whole stack (~5 s apiece on a busy 2-core machine).
@pytest.mark.timeout(240)
def test_deploy_show_keys_invoke_delete_from_the_command_line(tmp_path):
    folder = tmp_path / "ws"
    with LocalWorkspace.open(folder) as ws:
        ws.register_dataset("toy", make_frame("binary", seed=0))
        run = ws.automl("toy", fast_settings(allowed_learners=("xgboost",), seed=0))
        ws.register_model("toy-model", run.id)
    rows = tmp_path / "rows.csv"
    make_frame("binary", seed=1, rows=3).drop(columns="y").to_csv(rows, index=False)

    deployed = _shipyard(folder, "endpoint", "deploy", "cli-ep", "--model", "toy-model", "--json")
    try:
        assert deployed.returncode == 0, deployed.stderr
        assert json.loads(deployed.stdout)["state"] == "healthy"
        assert _supervised(folder)  # a background supervisor holds the workspace
        shown = json.loads(_shipyard(folder, "endpoint", "show", "cli-ep", "--json").stdout)
        assert {
            "name",
            "state",
            "scoring_uri",
            "swagger_uri",
            "model",
            "auth_mode",
            "logging",
        } <= set(shown)
        keys = json.loads(_shipyard(folder, "endpoint", "keys", "cli-ep", "--json").stdout)
        answer = httpx.post(
            shown["scoring_uri"],
            json={"data": [{"x1": 0.5, "x2": 0.1, "count": 3, "color": "red", "flag": True}]},
            headers={"Authorization": f"Bearer {keys['primary_key']}"},
            timeout=10,
        )
        assert answer.json()["result"] in (["yes"], ["no"])
        invoked = _shipyard(folder, "endpoint", "invoke", "cli-ep", "--data", str(rows))
        assert invoked.returncode == 0, invoked.stderr
        assert len(json.loads(invoked.stdout)["result"]) == 3
        missing = _shipyard(folder, "endpoint", "show", "nope")
        assert missing.returncode == 2
        assert "error: no endpoint named 'nope'" in missing.stderr
    finally:
        deleted = _shipyard(folder, "endpoint", "delete", "cli-ep")
    assert deleted.returncode == 0, deleted.stderr
    listed = json.loads(_shipyard(folder, "endpoint", "list", "--json").stdout)
    assert listed["items"] == []
    deadline = time.monotonic() + 30  # the idle supervisor exits on its own
    while _supervised(folder):
        assert time.monotonic() < deadline, "the supervisor did not exit once idle"
        time.sleep(0.5)

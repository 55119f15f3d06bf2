"""`shipyard endpoint bench` against a real endpoint process, and the ab files it writes."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess

import pytest
from typer.testing import CliRunner

from shipyard.cli.main import app
from shipyard.workspace import LocalWorkspace

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
pytest_plugins = ["tests.fixtures.endpoints"]


@pytest.fixture(scope="module")
def benched(served_workspace: LocalWorkspace) -> str:
    served_workspace.deploy_endpoint("benched", "toy-model:1")
    return str(served_workspace.folder)


def _bench(folder: str, *args: str) -> str:
    result = CliRunner().invoke(app, ["endpoint", "bench", "benched", *args, "--workspace", folder])
    assert result.exit_code == 0, result.output
    return result.output


def test_bench_reports_abs_figures_as_json(benched):
    figures = json.loads(_bench(benched, "-n", "300", "-c", "4", "--rows", "3", "--json"))
    assert (figures["complete"], figures["failed"], figures["statuses"]) == (300, 0, {"200": 300})
    assert figures["concurrency"] == 4
    assert figures["requests_per_s"] > 0
    assert figures["latency_ms"]["p50"] <= figures["latency_ms"]["p99"]


def test_bench_prints_a_summary_and_percentiles(benched):
    output = _bench(benched, "-n", "100", "-c", "2", "--proba", "--no-keep-alive")
    assert "requests per second" in output
    assert re.search(r"complete requests\s+│?\s*100", output)
    assert "99%" in output
    assert "100%" in output


def test_emit_ab_writes_the_payload_and_a_private_script(benched, served_workspace, tmp_path):
    folder = tmp_path / "ab"
    output = _bench(benched, "-n", "50", "-c", "2", "--emit-ab", str(folder))
    key = served_workspace.endpoint_keys("benched").primary_key
    endpoint = served_workspace.get_endpoint("benched")
    command = (
        f"ab -n 50 -c 2 -k -p payload.json -T application/json "
        f"-H 'Authorization: Bearer {key}' {endpoint.scoring_uri}"
    )
    assert command in output
    assert "credentials" in output  # the warning that the script holds the key
    script = folder / "ab.sh"
    assert stat.S_IMODE(script.stat().st_mode) == 0o600
    assert command in script.read_text()
    payload = json.loads((folder / "payload.json").read_text())
    assert len(payload["data"]) == 1
    if shutil.which("ab") is None:
        return  # the file is checked; running it needs Apache Benchmark
    ran = subprocess.run(["sh", str(script)], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert re.search(r"Complete requests:\s+50", ran.stdout)
    assert re.search(r"Failed requests:\s+0", ran.stdout)
    assert "Non-2xx" not in ran.stdout

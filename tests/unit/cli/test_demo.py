"""`shipyard demo`: the story on the bundled Bank Marketing data, end to end."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from shipyard.cli.main import app
from shipyard.datasets import BANK_MARKETING_TARGET
from shipyard.workspace import LocalWorkspace


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_records_the_story_and_scores_held_back_rows(tmp_path):
    output = tmp_path / "demo-model"
    workspace = tmp_path / "ws"
    env = {"SHIPYARD_DEMO_EXIT": "1", "SHIPYARD_SUPERVISOR_IDLE_S": "1"}
    result = CliRunner(env=env).invoke(
        app,
        [
            "demo",
            "--budget",
            "120",
            "--max-trials",
            "2",
            "--output",
            str(output),
            "--workspace",
            str(workspace),
        ],
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    for part in (
        "Registered dataset bankmarketing:1",
        "Data guardrails",
        "Leaderboard",
        "AUC_weighted",
        "Top 10 features",
        "Confusion matrix",
        "The saved model on 6 held-back rows",
        "Moro",
    ):
        assert part in text, part
    held_back_rows = text.split("held-back rows")[1].split("Recorded in")[0]
    assert held_back_rows.count("│ no ") + held_back_rows.count("│ yes ") >= 6
    assert (output / "descriptor.json").is_file()
    assert (output / "automl_result.json").is_file()
    for part in (
        "Endpoint bankmarketing is healthy",
        "Request logging switched on",
        "Two records scored over",
        "requests per second",
        "Telemetry of endpoint bankmarketing",
        "Shipyard server on http://127.0.0.1:",
        "created service principal demo-automation (contributor)",
        "GET /api/v1/models -> 200: bankmarketing-model",
        "completed, done by the server's job worker",
        "Endpoint bankmarketing and the server stopped (--exit)",
    ):
        assert part in text, part
    server = json.loads((workspace / "config.json").read_text())["server"]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server}/api/v1/health", timeout=5)  # --exit stopped the server too
    automation = json.loads((workspace / "demo-automation.json").read_text())
    assert automation["server"] == server
    assert "keeps running" not in text  # SHIPYARD_DEMO_EXIT=1 acts as --exit

    with LocalWorkspace.open(workspace) as ws:
        dataset = ws.get_dataset("bankmarketing")
        profile = ws.profile_dataset(dataset.ref)
        runs = ws.list_runs(experiment="bankmarketing-automl", top_level=True).items
        model = ws.get_model("bankmarketing-model")
        assert ws.list_endpoints() == []  # --exit stopped it
        [job_run] = ws.list_runs(experiment="demo-jobs", top_level=True).items
        assert job_run.status.value == "completed"
        assert job_run.has_model
    assert dataset.rows == 32_950 - 6
    assert profile.target == BANK_MARKETING_TARGET
    assert len(runs) == 1
    run = runs[0]
    assert run.status.value == "completed"
    assert run.tags["primary_metric"] == "AUC_weighted"
    assert run.dataset == "bankmarketing:1"
    assert model.version == 1
    assert model.run_id == run.id
    for command in (
        f"shipyard run show {run.id} --workspace {workspace}",
        f"shipyard model show bankmarketing-model:1 --workspace {workspace}",
        f"shipyard dataset show bankmarketing:1 --workspace {workspace}",
    ):
        assert command in text, command

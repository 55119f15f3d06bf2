"""`shipyard demo`: the story on the bundled Bank Marketing data, end to end."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from shipyard.cli.main import app


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_demo_trains_saves_and_scores_held_back_rows(tmp_path):
    output = tmp_path / "demo-model"
    result = CliRunner(env={"SHIPYARD_DEMO_EXIT": "1"}).invoke(
        app, ["demo", "--budget", "120", "--max-trials", "2", "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    for part in (
        "Data guardrails",
        "Leaderboard",
        "AUC_weighted",
        "Top 10 features",
        "Confusion matrix",
        "The saved model on 6 held-back rows",
        "Moro",
    ):
        assert part in text, part
    held_back_rows = text.split("held-back rows")[1].split("Data:")[0]
    assert held_back_rows.count("│ no ") + held_back_rows.count("│ yes ") >= 6
    assert (output / "descriptor.json").is_file()
    assert (output / "automl_result.json").is_file()
    assert "Next:" not in text  # SHIPYARD_DEMO_EXIT=1 acts as --exit

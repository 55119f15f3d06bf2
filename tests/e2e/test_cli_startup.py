"""What the listing commands load, in a fresh interpreter: the store, not the engine.

`run list`, `dataset list`, `model list` and `endpoint list` on a local workspace with a
registered dataset need SQLAlchemy and the workspace's rows, not pandas, scikit-learn,
the learners or the web stack (registering the dataset, in this test's process, does).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from shipyard.workspace import LocalWorkspace

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
HEAVY = ("sklearn", "scipy", "pandas", "lightgbm", "xgboost", "optuna", "fastapi", "uvicorn")
_PROBE = """
import json, sys
from typer.testing import CliRunner
from shipyard.cli.main import app
heavy, folder = json.loads(sys.argv[1]), sys.argv[2]
outputs = {}
for area in ("run", "dataset", "model", "endpoint"):
    result = CliRunner().invoke(app, [area, "list", "--workspace", folder, "--json"])
    assert result.exit_code == 0, result.output
    outputs[area] = json.loads(result.output)
loaded = sorted(name for name in heavy if name in sys.modules)
print(json.dumps({"loaded": loaded, "outputs": outputs}))
"""


def test_listings_load_neither_the_engine_nor_the_web_stack(tmp_path: Path):
    folder = tmp_path / "ws"
    with LocalWorkspace.open(folder) as ws:
        ws.register_dataset("tiny", pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "a"]}))
        run = ws.create_run("exp", name="a run")
        ws.log_metrics(run.id, {"accuracy": 0.5})
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(HEAVY), str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["loaded"] == []
    assert "a run" in json.dumps(answer["outputs"]["run"])
    assert "tiny" in json.dumps(answer["outputs"]["dataset"])

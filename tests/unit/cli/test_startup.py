"""A command line that starts at once: what `shipyard` imports before a command needs it.

The engine (scikit-learn, LightGBM, XGBoost, Optuna, pandas) and the web stack (FastAPI,
Starlette, uvicorn) load inside the commands that use them; the help texts computed from
the engine come from its light catalog (`automl.catalog`), the one table the engine uses.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from shipyard.automl.catalog import LEARNERS, METRICS, TASKS
from shipyard.cli.main import app

SRC = Path(__file__).resolve().parents[3] / "src"
HEAVY = (
    "sklearn",
    "scipy",
    "pandas",
    "lightgbm",
    "xgboost",
    "optuna",
    "fastapi",
    "starlette",
    "uvicorn",
)
# A fresh interpreter: what importing the CLI loads, then what four listings load.
_PROBE = """
import json, sys
heavy = json.loads(sys.argv[1])
loaded = lambda: sorted(name for name in heavy if name in sys.modules)
import shipyard
after_package = loaded()
import shipyard.cli.main
after_cli = loaded()
print(json.dumps({"package": after_package, "cli": after_cli}))
"""


def test_importing_the_cli_loads_neither_the_engine_nor_the_web_stack():
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(SRC), "PATH": ""},
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"package": [], "cli": []}


def test_the_engine_uses_the_catalog_the_help_is_written_from():
    from shipyard.automl.estimators.registry import all_learners
    from shipyard.automl.metrics import get_metric, metric_names

    assert list(all_learners()) == list(LEARNERS)
    for task in TASKS:
        assert metric_names(task) == list(METRICS[task])
        assert all(get_metric(name, task).task == task for name in METRICS[task])


def test_automl_run_help_lists_every_metric_and_learner():
    result = CliRunner().invoke(app, ["automl", "run", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    for task in TASKS:
        assert f"Metrics for {task}: {', '.join(METRICS[task])}." in text
    assert f"(of {', '.join(LEARNERS)})" in text

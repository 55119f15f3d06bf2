"""CLI fixtures: an in-process runner, small synthetic tables, one model per session,
a workspace per test and one workspace per session holding a recorded AutoML run.

Every AutoML run caps its trials (`--max-trials 3`) and gives a generous budget that is
only a backstop: the engine's deadlines derive from the budget, and on a loaded two-core
machine a 20 s budget saw every trial of a 200-row run time out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner, Result

from shipyard.cli.main import app

FAST_RUN = ("--max-trials", "3", "--budget", "120")
ROWS = 200

Invoke = Callable[..., Result]


def make_frame(seed: int, rows: int = ROWS) -> pd.DataFrame:
    """Numeric and categorical features; `y` is "yes" when x1 (+0.8 for red) is positive."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    color = rng.choice(["red", "green", "blue"], size=rows)
    frame = pd.DataFrame(
        {
            "x1": x1,
            "x2": rng.normal(size=rows),
            "color": color,
            "size": rng.choice(["small", "large"], size=rows),
        }
    )
    frame["y"] = np.where(x1 + 0.8 * (color == "red") > 0, "yes", "no")
    return frame


def _invoke(*args: Any) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def invoke() -> Invoke:
    """Run the `shipyard` app in process: `invoke("automl", "run", ...)`.

    The result keeps stdout (`.stdout`) and stderr (`.stderr`) apart.
    """
    return _invoke


@pytest.fixture
def frame(seed: int) -> pd.DataFrame:
    """A 200-row classification table (see `make_frame`)."""
    return make_frame(seed)


@pytest.fixture
def csv_of(tmp_path: Path) -> Callable[[pd.DataFrame, str], Path]:
    """Write a frame as a CSV under tmp_path and return its path."""

    def write(table: pd.DataFrame, name: str = "data.csv") -> Path:
        path = tmp_path / name
        table.to_csv(path, index=False)
        return path

    return write


@pytest.fixture
def expect_user_error() -> Callable[..., None]:
    """Check a result: exit 2, one `error:` line on stderr holding `words`, no traceback."""

    def check(result: Result, *words: str) -> None:
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, result.stderr
        assert lines[0].startswith("error: ")
        for word in words:
            assert word in lines[0]
        assert "Traceback" not in result.output

    return check


@dataclass(frozen=True)
class TrainedModel:
    """A model folder made by the CLI, its `--json` document and its training frame."""

    folder: Path
    document: dict[str, Any]
    frame: pd.DataFrame


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    """A classification model trained once through `automl run --json` (seed 42)."""
    root = tmp_path_factory.mktemp("trained")
    table = make_frame(42)
    table.to_csv(root / "train.csv", index=False)
    result = _invoke(
        "automl",
        "run",
        "--data",
        root / "train.csv",
        "--target",
        "y",
        *FAST_RUN,
        "--output",
        root / "model",
        "--json",
    )
    assert result.exit_code == 0, result.output
    return TrainedModel(root / "model", json.loads(result.stdout), table)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The folder of a fresh workspace (created by the first command that opens it)."""
    return tmp_path / "ws"


@pytest.fixture
def in_workspace(workspace: Path) -> Invoke:
    """Run a command against the test's workspace: `in_workspace("dataset", "list")`."""

    def run(*args: Any) -> Result:
        return _invoke(*args, "--workspace", workspace)

    return run


@dataclass(frozen=True)
class RecordedRun:
    """A workspace with dataset `toy` (200 rows, target `y`) and one recorded AutoML run."""

    workspace: Path
    document: dict[str, Any]  # what `automl run --dataset toy --json` printed
    frame: pd.DataFrame

    @property
    def run_id(self) -> str:
        return str(self.document["run_id"])

    def invoke(self, *args: Any) -> Result:
        return _invoke(*args, "--workspace", self.workspace)


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> RecordedRun:
    """Registered through `dataset register`, trained through `automl run --dataset` (seed 42).

    Shared by the session: tests that add to it use names of their own.
    """
    root = tmp_path_factory.mktemp("recorded")
    table = make_frame(42)
    table.to_csv(root / "toy.csv", index=False)
    workspace = root / "ws"
    registered = _invoke(
        "dataset", "register", "toy", "--file", root / "toy.csv", "--workspace", workspace
    )
    assert registered.exit_code == 0, registered.output
    result = _invoke(
        "automl",
        "run",
        "--dataset",
        "toy",
        "--target",
        "y",
        *FAST_RUN,
        "--experiment",
        "toy-automl",
        "--workspace",
        workspace,
        "--json",
    )
    assert result.exit_code == 0, result.output
    return RecordedRun(workspace, json.loads(result.stdout), table)

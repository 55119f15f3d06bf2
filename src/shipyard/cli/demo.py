"""`shipyard demo`: the Shipyard story end to end on the bundled Bank Marketing data.

The command and its options; the story itself is in `_demo_story.py`, loaded when the demo
runs. The endpoint and the server are left running unless `--exit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli._workspace import DbOption, WorkspaceOption


@dataclass(frozen=True)
class DemoOptions:
    """What `shipyard demo` was asked for."""

    budget: float
    output: Path
    max_trials: int | None
    exit_when_done: bool
    workspace: Path | None
    db: str | None


def demo(
    budget: Annotated[float, typer.Option(help="Time budget of the AutoML run, seconds.")] = 60.0,
    output: Annotated[Path, typer.Option(help="Folder to save the model in.")] = Path(
        "shipyard-demo"
    ),
    max_trials: Annotated[
        int | None, typer.Option(help="Stop the search after this many trials.")
    ] = None,
    exit_when_done: Annotated[
        bool,
        typer.Option(
            "--exit/--no-exit",
            envvar="SHIPYARD_DEMO_EXIT",
            help="Stop the demo's endpoint and server and return when done (for scripts); "
            "by default both are left running.",
        ),
    ] = False,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
) -> None:
    """Register, train, record, register the model and use it, on the bundled Bank Marketing data.

    Registers the data as dataset `bankmarketing` in the workspace, shows the data
    guardrails and the live AutoML leaderboard of a run recorded in experiment
    `bankmarketing-automl`, registers the best model as `bankmarketing-model`, shows its
    metrics and explanation, then scores a few rows held back from training with it.
    The demo works on the workspace folder in this process, even where a config.json
    names a server.
    """
    from shipyard.cli import _demo_story  # the engine, the workspace and the server's client

    options = DemoOptions(budget, output, max_trials, exit_when_done, workspace, db)
    _demo_story.tell(options)

"""`shipyard demo`: the Shipyard story end to end on the bundled Bank Marketing data.

A small composition of the steps other commands offer (register a dataset, run AutoML
recorded in the workspace, register the best model, load it and predict), so each new
area of the story adds one step here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from shipyard.automl import AutoMLResult, AutoMLSettings
from shipyard.cli import render
from shipyard.cli._workspace import (
    DbOption,
    WorkspaceOption,
    open_workspace,
    workspace_dir,
    workspace_flags,
)
from shipyard.cli.automl import live_progress, save_result, show_result
from shipyard.cli.dataset import balance_table
from shipyard.cli.predict import load_quietly, model_input, predictions
from shipyard.core.schemas import Dataset, ModelVersion
from shipyard.datasets import BANK_MARKETING_CITATION, BANK_MARKETING_TARGET, load_bank_marketing
from shipyard.workspace import LocalWorkspace
from shipyard.workspace.automl import AutoMLRun

HELD_BACK_PER_CLASS = 3
DEMO_METRIC = "AUC_weighted"  # about 11% "yes": accuracy would praise always saying "no"
DATASET_NAME = "bankmarketing"
EXPERIMENT_NAME = "bankmarketing-automl"
MODEL_NAME = "bankmarketing-model"
_SHOWN_FEATURES = 2


@dataclass(frozen=True)
class Recorded:
    """What the demo leaves in the workspace."""

    dataset: Dataset
    automl: AutoMLRun
    model: ModelVersion


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
            help="Return as soon as the demo is done, without the closing hints "
            "(nothing is left running yet either way).",
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
    """
    console, err = render.consoles()
    training, held_back = hold_back(load_bank_marketing())
    console.rule("Shipyard demo: Bank Marketing (will the client subscribe a term deposit?)")
    console.print(
        f"{len(training):,} rows to train on, {len(held_back)} held back to score; "
        f"budget {budget:.0f}s, primary metric {DEMO_METRIC}",
        highlight=False,
    )
    settings = AutoMLSettings(
        target=BANK_MARKETING_TARGET,
        primary_metric=DEMO_METRIC,
        budget_s=budget,
        max_trials=max_trials,
    )
    with open_workspace(workspace, db) as ws:
        recorded = record_story(ws, console, training, settings)
    result = recorded.automl.result
    show_result(console, result)
    folder = save_result(console, result, output)
    score_held_back(console, err, folder, held_back, result)
    flags = workspace_flags(workspace, db)
    show_recorded(console, recorded, workspace_dir(workspace), flags)
    console.print(f"Data: {BANK_MARKETING_CITATION}", soft_wrap=True, highlight=False)
    if not exit_when_done:
        console.print(
            f"Next: shipyard predict --model {folder} --data FILE --output predictions.csv --proba",
            soft_wrap=True,
            highlight=False,
        )


def record_story(
    ws: LocalWorkspace, console: Console, training: pd.DataFrame, settings: AutoMLSettings
) -> Recorded:
    """Register the data, run AutoML on it with the live view, register the best model."""
    dataset = ws.register_dataset(
        DATASET_NAME,
        training,
        description="Bank Marketing (UCI), without the rows the demo holds back to score",
        target=BANK_MARKETING_TARGET,
    )
    render.say(
        console,
        f"Registered dataset {dataset.ref}: {dataset.rows:,} rows, {dataset.columns} columns",
    )
    if dataset.profile.class_balance:
        console.print(balance_table(BANK_MARKETING_TARGET, dataset.profile.class_balance))
    with live_progress(console, settings) as progress:
        automl = ws.automl(dataset.ref, settings, experiment=EXPERIMENT_NAME, callback=progress)
    model = ws.register_model(
        MODEL_NAME, automl.id, description="Will the client subscribe a term deposit?"
    )
    return Recorded(dataset=dataset, automl=automl, model=model)


def show_recorded(console: Console, recorded: Recorded, folder: Path, flags: str) -> None:
    """What the demo recorded in the workspace, and the commands that show each (one a line)."""
    run, model, dataset = recorded.automl.run, recorded.model, recorded.dataset
    render.say(
        console,
        f"Recorded in the workspace {folder}: dataset {dataset.ref}, AutoML run {run.id} "
        f"(experiment {run.experiment}), model {model.ref}. Look at them with:",
        f"  shipyard dataset show {dataset.ref}{flags}",
        f"  shipyard run show {run.id}{flags}",
        f"  shipyard model show {model.ref}{flags}",
    )


def hold_back(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows to train on, and a few of each class kept aside to score at the end."""
    held_back = frame.groupby(BANK_MARKETING_TARGET, group_keys=False).sample(
        HELD_BACK_PER_CLASS, random_state=0
    )
    return frame.drop(index=held_back.index), held_back


def score_held_back(
    console: Console, err: Console, folder: Path, rows: pd.DataFrame, result: AutoMLResult
) -> None:
    """Load the saved model back and show its predictions next to the true outcomes."""
    model = load_quietly(folder, err)
    scored = predictions(model, model_input(model, rows, err), proba=True)
    shown = [str(row["column"]) for row in result.importance[:_SHOWN_FEATURES]]
    table = Table(title=f"The saved model on {len(rows)} held-back rows", title_justify="left")
    for name in [*shown, "actual", *scored.columns]:
        table.add_column(name)
    target = result.settings.target
    for (_, row), (_, out) in zip(rows.iterrows(), scored.iterrows(), strict=True):
        cells = [str(row[c]) for c in shown] + [str(row[target])]
        cells += [f"{v:.3f}" if isinstance(v, float) else str(v) for v in out.tolist()]
        table.add_row(*cells)
    console.print(table)

"""`shipyard demo`: the Shipyard story end to end on the bundled Bank Marketing data.

A small composition of the steps other commands offer (train with progress, save, load
the saved model and predict), so each new area of the story adds one step here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from shipyard.automl import AutoMLResult, AutoMLSettings
from shipyard.cli import render
from shipyard.cli.automl import save_result, show_result, train_with_progress
from shipyard.cli.predict import load_quietly, model_input, predictions
from shipyard.datasets import BANK_MARKETING_CITATION, BANK_MARKETING_TARGET, load_bank_marketing

HELD_BACK_PER_CLASS = 3
DEMO_METRIC = "AUC_weighted"  # about 11% "yes": accuracy would praise always saying "no"
_SHOWN_FEATURES = 2


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
) -> None:
    """Train, save and use a model on the bundled Bank Marketing data, in one go.

    Shows the data guardrails, the live AutoML leaderboard, the best model's metrics and
    explanation, then scores a few rows held back from training with the saved model.
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
    result = train_with_progress(training, settings, console)
    show_result(console, result)
    folder = save_result(console, result, output)
    score_held_back(console, err, folder, held_back, result)
    console.print(f"Data: {BANK_MARKETING_CITATION}", soft_wrap=True, highlight=False)
    if not exit_when_done:
        console.print(
            f"Next: shipyard predict --model {folder} --data FILE --output predictions.csv --proba",
            soft_wrap=True,
            highlight=False,
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

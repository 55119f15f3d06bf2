"""`shipyard automl`: search for the best model on a table, show how it went, save it."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from shipyard.automl import AutoMLResult, AutoMLSettings, ProgressCallback, Trial, run_automl
from shipyard.automl.estimators.registry import all_learners
from shipyard.automl.guardrails import Guardrail
from shipyard.automl.metrics import metric_names
from shipyard.cli import render
from shipyard.cli._io import read_table

app = typer.Typer(
    name="automl",
    help="Automated machine learning: search learners and settings, build ensembles.",
    no_args_is_help=True,
)


class Task(StrEnum):
    """The kind of target."""

    CLASSIFICATION = "classification"
    REGRESSION = "regression"


_METRIC_HELP = "Primary metric the search optimizes (names below; default accuracy or r2)."
_METRICS_EPILOG = (
    f"Metrics for classification: {', '.join(metric_names('classification'))}. "
    f"Metrics for regression: {', '.join(metric_names('regression'))}."
)
_LEARNERS_HELP = f"Comma-separated learners to use (of {', '.join(all_learners())})."


class LiveProgress(ProgressCallback):
    """Shows the guardrails, then a live progress bar and leaderboard until `close`.

    The view starts only once the data passed its checks, so a data error prints nothing
    but its one line. Off a terminal (a log, a pipe) the view is printed once, at the end.
    """

    def __init__(self, console: Console, budget_s: float, metric: str) -> None:
        self.console = console
        self.display = render.RunDisplay(metric, budget_s)
        self.live = (
            Live(self.display, console=console, refresh_per_second=4)
            if console.is_terminal
            else None
        )
        self.started = False

    def on_guardrails(self, guardrails: list[Guardrail]) -> None:
        self.console.print(render.guardrails_table([g.to_dict() for g in guardrails]))
        self.started = True
        if self.live is not None:
            self.live.start()

    def on_trial_start(self, trial: Trial) -> None:
        self.display.update_trial(trial, running=True)

    def on_trial_end(self, trial: Trial) -> None:
        self.display.update_trial(trial, running=False)

    def on_phase(self, phase: str, message: str) -> None:
        self.display.set_phase(phase)
        self.console.print(Text.assemble((f"{phase}: ", "bold cyan"), message), soft_wrap=True)

    def close(self, metric: str | None = None) -> None:
        """End the view, leaving its last frame on screen (or in the log)."""
        self.display.metric = metric or self.display.metric
        if self.live is not None:
            self.live.stop()
        elif self.started:
            self.console.print(self.display)


def train_with_progress(
    frame: pd.DataFrame,
    settings: AutoMLSettings,
    console: Console,
    validation: pd.DataFrame | None = None,
) -> AutoMLResult:
    """Run AutoML with the live view on `console`."""
    progress = LiveProgress(console, settings.budget_s, settings.primary_metric or "score")
    try:
        result = run_automl(frame, settings, validation_data=validation, callback=progress)
    except BaseException:
        progress.close()
        raise
    progress.close(result.metric)
    return result


def show_result(console: Console, result: AutoMLResult) -> None:
    """The best model: its score, metrics, top features, confusion matrix and notes."""
    best = result.best
    console.print(
        Text.assemble(
            "Best model: ",
            (best.learner, "bold green"),
            f" (trial {best.number}), ",
            f"{result.metric} {render.fmt(best.score)} on {result.validation}, ",
            f"found in {result.duration_s:.0f}s",
        ),
        soft_wrap=True,
    )
    if result.ranked_by != result.metric:
        console.print(
            f"Trials and ensembles were ranked by {result.ranked_by}, which picks models that "
            f"keep their {result.metric} on new rows better than ranking by {result.metric} "
            "itself.",
            soft_wrap=True,
            style="dim",
        )
    console.print(render.metrics_table(result.report.get("metrics", {})))
    if result.importance:
        console.print(render.importance_table(result.importance))
    confusion = result.report.get("confusion_matrix")
    if confusion:
        console.print(render.confusion_table(confusion))
    for note in result.notes:
        console.print(Text(f"note: {note}", style="yellow"), soft_wrap=True)


def save_result(console: Console, result: AutoMLResult, output: Path) -> Path:
    """Save the model folder and say where it is and how to use it."""
    folder = result.save(output)
    console.print(
        f"Saved the model to {folder}/ (descriptor.json, automl_result.json)",
        soft_wrap=True,
        highlight=False,
    )
    return folder


@app.command("run", epilog=_METRICS_EPILOG)
def run_command(
    data: Annotated[Path, typer.Option("--data", help="Training table (CSV or Parquet).")],
    target: Annotated[str, typer.Option("--target", help="Column to predict.")],
    task: Annotated[
        Task | None,
        typer.Option(metavar="TASK", help="classification or regression (inferred if omitted)."),
    ] = None,
    metric: Annotated[str | None, typer.Option(help=_METRIC_HELP)] = None,
    budget: Annotated[float, typer.Option(help="Time budget in seconds.")] = 60.0,
    max_trials: Annotated[int | None, typer.Option(help="Stop after this many trials.")] = None,
    output: Annotated[Path, typer.Option(help="Folder to save the model in.")] = Path(
        "shipyard-model"
    ),
    validation_data: Annotated[
        Path | None, typer.Option(help="Validate on this table instead of cross-validation.")
    ] = None,
    holdout: Annotated[
        float | None, typer.Option(help="Validate on a random holdout of this fraction (0.05-0.5).")
    ] = None,
    folds: Annotated[int, typer.Option(help="Folds of the cross-validation.")] = 5,
    learners: Annotated[str | None, typer.Option(help=_LEARNERS_HELP)] = None,
    block: Annotated[str | None, typer.Option(help="Comma-separated learners to skip.")] = None,
    voting: Annotated[bool, typer.Option(help="Build a voting ensemble.")] = True,
    stacking: Annotated[bool, typer.Option(help="Build a stacking ensemble.")] = True,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document only.")] = False,
) -> None:
    """Find the best model for the --target column of a table and save it to a folder.

    Shows the data guardrails, a live leaderboard, then the best model's metrics,
    its most important features and (for classification) its confusion matrix.
    """
    settings = AutoMLSettings(
        target=target,
        task=task.value if task else None,
        primary_metric=metric,
        budget_s=budget,
        max_trials=max_trials,
        n_folds=folds,
        holdout_fraction=holdout,
        allowed_learners=_names(learners),
        blocked_learners=_names(block) or (),
        enable_voting_ensemble=voting,
        enable_stacking_ensemble=stacking,
        seed=seed,
    )
    frame = read_table(data)
    validation = read_table(validation_data) if validation_data else None
    if as_json:
        _run_quietly(frame, settings, validation, output)
        return
    console, _ = render.consoles()
    result = train_with_progress(frame, settings, console, validation)
    show_result(console, result)
    folder = save_result(console, result, output)
    console.print(
        f"Predict with: shipyard predict --model {folder} --data FILE --output predictions.csv",
        soft_wrap=True,
        highlight=False,
    )


def _run_quietly(
    frame: pd.DataFrame, settings: AutoMLSettings, validation: pd.DataFrame | None, output: Path
) -> None:
    """Train and save with no progress; print the result and its folder as one JSON document."""
    result = run_automl(frame, settings, validation_data=validation)
    folder = result.save(output)
    document = {**result.to_dict(), "output": str(folder)}
    typer.echo(json.dumps(document, indent=2, allow_nan=False, default=str))


def _names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(name.strip() for name in text.split(",") if name.strip())

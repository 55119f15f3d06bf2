"""`shipyard automl`: search for the best model on a table, show how it went, save it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
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
from shipyard.cli._workspace import (
    AnyWorkspace,
    ConfigOption,
    DbOption,
    ServerOption,
    WorkspaceOption,
    open_workspace,
    workspace_flags,
)
from shipyard.core.errors import InvalidInputError
from shipyard.workspace.automl import AutoMLRun
from shipyard.workspace.files import read_table

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
DEFAULT_OUTPUT = Path("shipyard-model")
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

    def on_setup(self, task: str, metric: str) -> None:  # noqa: ARG002 - the task shows elsewhere
        self.display.metric = metric

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


@contextmanager
def live_progress(console: Console, settings: AutoMLSettings) -> Iterator[LiveProgress]:
    """The live view of one run on `console`, closed however the run ends."""
    progress = LiveProgress(console, settings.budget_s, settings.primary_metric or "score")
    try:
        yield progress
    finally:
        progress.close()


def train_with_progress(
    frame: pd.DataFrame,
    settings: AutoMLSettings,
    console: Console,
    validation: pd.DataFrame | None = None,
) -> AutoMLResult:
    """Run AutoML with the live view on `console`."""
    with live_progress(console, settings) as progress:
        return run_automl(frame, settings, validation_data=validation, callback=progress)


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
    target: Annotated[str, typer.Option("--target", help="Column to predict.")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Training table (CSV or Parquet); the model goes to --output."),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset",
            metavar="NAME[:VERSION]",
            help="A registered dataset; the run is recorded in the workspace.",
        ),
    ] = None,
    experiment: Annotated[
        str, typer.Option(help="With --dataset: the experiment to record the run in.")
    ] = "automl",
    task: Annotated[
        Task | None,
        typer.Option(metavar="TASK", help="classification or regression (inferred if omitted)."),
    ] = None,
    metric: Annotated[str | None, typer.Option(help=_METRIC_HELP)] = None,
    budget: Annotated[float, typer.Option(help="Time budget in seconds.")] = 60.0,
    max_trials: Annotated[int | None, typer.Option(help="Stop after this many trials.")] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            help="Folder to save the model in (with --data: ./shipyard-model if omitted).",
            show_default=False,
        ),
    ] = None,
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
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document only.")] = False,
) -> None:
    """Find the best model for the --target column of a table or a registered dataset.

    Give exactly one of --data FILE (the model is saved to a folder) or --dataset
    NAME[:VERSION] (the run, one child run per trial and the model are recorded in the
    workspace, and the run id is printed). Shows the data guardrails, a live leaderboard,
    then the best model's metrics, its most important features and (for classification)
    its confusion matrix.
    """
    source = _source(data, dataset, validation_data)
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
    if isinstance(source, Path):
        _train_on_file(source, settings, validation_data, output or DEFAULT_OUTPUT, as_json=as_json)
        return
    flags = workspace_flags(workspace, db, server, config)
    with open_workspace(workspace, db, server, config) as ws:
        recorded = _record_run(ws, source, settings, experiment, quiet=as_json)
        # in the block: a server's run reads its result (model included) when first shown
        _report_recorded(recorded, output, flags, as_json=as_json)


def _source(data: Path | None, dataset: str | None, validation_data: Path | None) -> Path | str:
    """The table file or the dataset reference, whichever of the two was given."""
    if data is not None and dataset is None:
        return data
    if data is not None or dataset is None:
        raise InvalidInputError(
            "give exactly one of --data FILE (a table) or --dataset NAME[:VERSION] "
            "(a registered dataset)"
        )
    if validation_data is not None:
        raise InvalidInputError(
            "--validation-data works with --data only; with --dataset use --holdout or --folds"
        )
    return dataset


def _train_on_file(
    data: Path,
    settings: AutoMLSettings,
    validation_data: Path | None,
    output: Path,
    *,
    as_json: bool,
) -> None:
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


def _record_run(
    ws: AnyWorkspace, dataset: str, settings: AutoMLSettings, experiment: str, *, quiet: bool
) -> AutoMLRun:
    """Run AutoML through the workspace, which records the run; show progress unless quiet.

    A server's workspace runs it as a job of its workers, and the progress shown is what
    the server records (polled); Ctrl-C cancels the job as it stops a local run.
    """
    if quiet:
        return ws.automl(dataset, settings, experiment=experiment)
    with live_progress(Console(), settings) as progress:
        return ws.automl(dataset, settings, experiment=experiment, callback=progress)


def _report_recorded(
    recorded: AutoMLRun, output: Path | None, flags: str, *, as_json: bool
) -> None:
    run, result = recorded.run, recorded.result
    folder = result.save(output) if output is not None else None
    if as_json:
        document = {
            "run_id": run.id,
            "status": run.status.value,
            "experiment": run.experiment,
            "dataset": run.dataset,
            "primary_metric": result.metric,
            "best_score": result.best_score,
            "best_learner": result.best.learner,
            "best_run_id": run.tags.get("best_run_id") or None,
            "metrics": run.metrics,
            "output": None if folder is None else str(folder),
        }
        render.echo_json(document)
        return
    console = Console()
    show_result(console, result)
    if folder is not None:
        render.say(console, f"Saved a copy of the model to {folder}/")
    render.say(
        console,
        f"Recorded run {run.id} in experiment {run.experiment}",
        f"Look at it: shipyard run show {run.id}{flags}",
        f"Register its model: shipyard model register NAME --run {run.id}{flags}",
    )


def _names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(name.strip() for name in text.split(",") if name.strip())

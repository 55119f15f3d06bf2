"""What `shipyard automl run` does once its options are parsed: train, show, save.

Kept apart from `automl.py`, which only declares the command, so that the AutoML engine
(pandas, scikit-learn, LightGBM, XGBoost, Optuna) loads only when a command trains.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import typer
from rich.console import Console
from rich.live import Live
from rich.text import Text

from shipyard.automl import AutoMLResult, AutoMLSettings, ProgressCallback, Trial, run_automl
from shipyard.automl.guardrails import Guardrail
from shipyard.cli import render
from shipyard.core.errors import NotFoundError
from shipyard.workspace.automl import AutoMLRun
from shipyard.workspace.files import read_table

if TYPE_CHECKING:
    from shipyard.cli._workspace import AnyWorkspace
    from shipyard.core.schemas import Run


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


def _show_stored(console: Console, ws: AnyWorkspace, run: Run) -> None:
    """The best model as the run stored it: learner, trial, metrics, and the top features
    and confusion matrix from its JSON artifacts (the model itself is not needed)."""
    metric = run.tags.get("primary_metric", "")
    console.print(
        Text.assemble(
            "Best model: ",
            (run.tags.get("best_learner", "?"), "bold green"),
            f" (trial {run.tags.get('best_trial', '?')}), ",
            f"{metric} {render.fmt(run.metrics.get(metric))}",
        ),
        soft_wrap=True,
    )
    console.print(render.metrics_table(run.metrics))
    importance = _stored_json(ws, run.id, "importance.json")
    if importance:
        console.print(render.importance_table(importance))
    report = _stored_json(ws, run.id, "report.json")
    if isinstance(report, dict) and report.get("confusion_matrix"):
        console.print(render.confusion_table(report["confusion_matrix"]))


def _stored_json(ws: AnyWorkspace, run_id: str, path: str) -> Any:
    """A JSON artifact of the run, or None when it has none (an older or failed run)."""
    try:
        return json.loads(ws.read_artifact(run_id, path))
    except (NotFoundError, ValueError):
        return None


def save_result(console: Console, result: AutoMLResult, output: Path) -> Path:
    """Save the model folder and say where it is and how to use it."""
    folder = result.save(output)
    console.print(
        f"Saved the model to {folder}/ (descriptor.json, automl_result.json)",
        soft_wrap=True,
        highlight=False,
    )
    return folder


def train_on_file(
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


def record_run(
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


def report_recorded(
    ws: AnyWorkspace, recorded: AutoMLRun, output: Path | None, flags: str, *, as_json: bool
) -> None:
    """Say how a recorded run went. A server's run is told from its stored metrics and
    tags; its model is downloaded only to save a copy (`--output`)."""
    run = recorded.run
    folder = recorded.result.save(output) if output is not None else None
    metric, best_learner = run.tags.get("primary_metric", ""), run.tags.get("best_learner")
    best_score = run.metrics.get(metric)
    if recorded.has_result:
        result = recorded.result
        metric, best_learner, best_score = result.metric, result.best.learner, result.best_score
    if as_json:
        document = {
            "run_id": run.id,
            "status": run.status.value,
            "experiment": run.experiment,
            "dataset": run.dataset,
            "primary_metric": metric,
            "best_score": best_score,
            "best_learner": best_learner,
            "best_run_id": run.tags.get("best_run_id") or None,
            "metrics": run.metrics,
            "output": None if folder is None else str(folder),
        }
        render.echo_json(document)
        return
    console = Console()
    if recorded.has_result:
        show_result(console, recorded.result)
    else:
        _show_stored(console, ws, run)
    if folder is not None:
        render.say(console, f"Saved a copy of the model to {folder}/")
    render.say(
        console,
        f"Recorded run {run.id} in experiment {run.experiment}",
        f"Look at it: shipyard run show {run.id}{flags}",
        f"Register its model: shipyard model register NAME --run {run.id}{flags}",
    )

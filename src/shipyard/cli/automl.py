"""`shipyard automl`: search for the best model on a table, show how it went, save it."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from shipyard.automl.catalog import LEARNERS, METRICS
from shipyard.cli._workspace import (
    ConfigOption,
    DbOption,
    ServerOption,
    WorkspaceOption,
    open_workspace,
    workspace_flags,
)
from shipyard.core.errors import InvalidInputError

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
    f"Metrics for classification: {', '.join(METRICS['classification'])}. "
    f"Metrics for regression: {', '.join(METRICS['regression'])}."
)
DEFAULT_OUTPUT = Path("shipyard-model")
_LEARNERS_HELP = f"Comma-separated learners to use (of {', '.join(LEARNERS)})."


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
    # The engine loads here, for the one command that trains.
    from shipyard.automl.settings import AutoMLSettings
    from shipyard.cli import _automl_run

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
        _automl_run.train_on_file(
            source, settings, validation_data, output or DEFAULT_OUTPUT, as_json=as_json
        )
        return
    flags = workspace_flags(workspace, db, server, config)
    with open_workspace(workspace, db, server, config) as ws:
        recorded = _automl_run.record_run(ws, source, settings, experiment, quiet=as_json)
        # in the block: a server's run is told from what it stored (artifacts included)
        _automl_run.report_recorded(ws, recorded, output, flags, as_json=as_json)


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


def _names(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    return tuple(name.strip() for name in text.split(",") if name.strip())

"""`shipyard run`: list and query runs, and show one with its children, metrics and logs."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from shipyard.cli import render
from shipyard.cli._options import JsonOption, LimitOption, PageTokenOption
from shipyard.cli._workspace import (
    ConfigOption,
    DbOption,
    ServerOption,
    WorkspaceOption,
    open_workspace,
    workspace_flags,
)
from shipyard.core.statuses import RunStatus

if TYPE_CHECKING:
    from shipyard.core.interface import WorkspaceAPI
    from shipyard.core.schemas import Run, RunLog

app = typer.Typer(
    name="run",
    help="Runs: AutoML runs, their trials (child runs) and their metrics, logs and artifacts.",
    no_args_is_help=True,
)

SHOWN_CHILDREN = 10
_CHILD_ORDER = "metrics.loss asc"  # trials record the loss the engine ranked them by

RunIdArgument = Annotated[str, typer.Argument(metavar="RUN_ID", help="The run's id (run_...).")]


@dataclass(frozen=True)
class Children:
    """What `run show` says about a run's child runs."""

    total: int
    by_status: dict[str, int]
    top: list[Run]
    best: Run | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "by_status": self.by_status,
            "top": [r.model_dump(mode="json") for r in self.top],
            "best": None if self.best is None else self.best.model_dump(mode="json"),
        }


@app.command("list")
def list_command(
    experiment: Annotated[str | None, typer.Option(help="Only runs of this experiment.")] = None,
    parent: Annotated[
        str | None, typer.Option(metavar="RUN_ID", help="Only the child runs of this run.")
    ] = None,
    status: Annotated[RunStatus | None, typer.Option(help="Only runs in this state.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only runs of this kind: automl, trial.")] = None,
    top_level: Annotated[
        bool, typer.Option("--top-level", help="Only runs without a parent.")
    ] = False,
    where: Annotated[
        str | None,
        typer.Option(
            metavar="EXPR",
            help="Conditions joined by 'and', e.g. \"metrics.accuracy > 0.9 and kind = trial\".",
        ),
    ] = None,
    order_by: Annotated[
        str | None,
        typer.Option(
            metavar="EXPR",
            help="created_at, name, status, ... or metrics.NAME, then asc or desc "
            "(default: newest first).",
        ),
    ] = None,
    limit: LimitOption = 50,
    page_token: PageTokenOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Runs matching the filters, newest first unless --order-by says otherwise."""
    with open_workspace(workspace, db, server, config) as ws:
        page = ws.list_runs(
            experiment=experiment,
            parent_id=parent,
            top_level=top_level,
            status=status.value if status else None,
            kind=kind,
            where=where,
            order_by=order_by,
            max_results=limit,
            page_token=page_token,
        )
        metric = _ordering_metric(order_by) or _primary_metric(ws, parent)
    if as_json:
        render.echo_json(page)
        return
    same_experiment = ("experiment",) if experiment or parent else ()
    table = runs_table("Runs", page.items, metric, leave_out=same_experiment)
    render.print_page(Console(), table, page.total, page.next_page_token)


@app.command("show")
def show(
    run_id: RunIdArgument,
    logs: Annotated[int, typer.Option(metavar="N", help="How many last log lines to show.")] = 10,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """One run: its state, child runs, best model, metrics, tags, params, artifacts and log."""
    with open_workspace(workspace, db, server, config) as ws:
        run = ws.get_run(run_id)
        children = _children(ws, run)
        artifacts = ws.list_artifacts(run.id)
        lines = ws.get_run_logs(run.id, tail=logs) if logs > 0 else []
    if as_json:
        document = {
            **run.model_dump(mode="json"),
            "duration_s": run.duration_s,
            "children": children.to_dict(),
            "artifacts": artifacts,
            "logs": [line.model_dump(mode="json") for line in lines],
        }
        render.echo_json(document)
        return
    console = Console()
    console.print(render.fields_table(f"Run {run.id}", _run_fields(run)))
    _show_children(console, run, children)
    if run.has_model:
        _show_best_model(
            console, run, children.best, workspace_flags(workspace, db, server, config)
        )
    if run.metrics:
        console.print(render.metrics_table(run.metrics))
    for title, values in (("Tags", run.tags), ("Params", _param_texts(run.params))):
        if values:
            console.print(render.fields_table(title, values))
    if artifacts:
        console.print(render.rows_table("Artifacts", ["path"], [[p] for p in artifacts]))
    if lines:
        console.print(log_table(lines))


def runs_table(
    title: str, runs: list[Run], metric: str | None, *, leave_out: Collection[str] = ()
) -> Table:
    """One run per row, with one metric: `metric`, else each run's primary metric.

    `leave_out` names columns every row would repeat (the experiment of a filtered list).
    """
    base = ["id", "experiment", "name", "status", "created", "duration"]
    shown = f"metrics.{metric}" if metric in base else metric or "metric"
    columns = [c for c in [*base[:4], shown, *base[4:]] if c not in leave_out]
    rows = []
    for run in runs:
        cells: dict[str, str | Text] = {
            "id": run.id,
            "experiment": run.experiment,
            "name": run.name or "",
            "status": render.status_text(run.status.value),
            shown: _metric_text(run, metric),
            "created": render.when(run.created_at, seconds=False),
            "duration": _duration(run),
        }
        rows.append([cells[c] for c in columns])
    right = {"duration", shown} if metric else {"duration"}
    no_wrap = {"id", "status", shown, "duration"}
    return render.rows_table(title, columns, rows, right=right, no_wrap=no_wrap)


def log_table(lines: list[RunLog]) -> Table:
    """The last lines of a run's log."""
    rows: list[list[str | Text]] = [
        [
            render.when(line.timestamp),
            Text(line.level, style={"error": "red", "warning": "yellow"}.get(line.level, "")),
            line.message,
        ]
        for line in lines
    ]
    title = f"Last {len(lines)} log lines"
    return render.rows_table(title, ["time", "level", "message"], rows, no_wrap={"time"})


def _children(ws: WorkspaceAPI, run: Run) -> Children:
    total = ws.list_runs(parent_id=run.id, max_results=1).total
    if total == 0:
        return Children(total=0, by_status={}, top=[], best=None)
    by_status = {}
    for status in RunStatus:
        count = ws.list_runs(parent_id=run.id, status=status.value, max_results=1).total
        if count:
            by_status[status.value] = count
    top = ws.list_runs(parent_id=run.id, order_by=_CHILD_ORDER, max_results=SHOWN_CHILDREN).items
    best_id = run.tags.get("best_run_id")
    best = ws.get_run(best_id) if best_id else None
    return Children(total=total, by_status=by_status, top=top, best=best)


def _show_children(console: Console, run: Run, children: Children) -> None:
    if children.total == 0:
        return
    counts = ", ".join(f"{n} {status}" for status, n in children.by_status.items())
    title = f"Child runs ({children.total}: {counts}), best first"
    if children.total > len(children.top):
        title += f"; all: shipyard run list --parent {run.id}"
    metric = run.tags.get("primary_metric")
    # children share the parent's experiment and start moments apart
    leave_out = ("experiment", "created")
    console.print(runs_table(title, children.top, metric, leave_out=leave_out))


def _show_best_model(console: Console, run: Run, best: Run | None, flags: str) -> None:
    metric = run.tags.get("primary_metric")
    score = run.metrics.get(metric) if metric else None
    fields = {
        "learner": run.tags.get("best_learner"),
        metric or "score": None if score is None else render.fmt(score),
        "best child run": None if best is None else f"{best.id} ({best.name})",
    }
    console.print(render.fields_table("Best model", fields))
    render.say(console, f"Register it: shipyard model register NAME --run {run.id}{flags}")


def _run_fields(run: Run) -> dict[str, Any]:
    return {
        "name": run.name,
        "kind": run.kind,
        "status": render.status_text(run.status.value),
        "experiment": run.experiment,
        "parent": run.parent_id,
        "dataset": run.dataset,
        "model": "yes" if run.has_model else None,
        "failure": run.failure_reason,
        "created": render.when(run.created_at),
        "started": render.when(run.started_at) if run.started_at else None,
        "ended": render.when(run.ended_at) if run.ended_at else None,
        "duration": _duration(run) or None,
    }


def _param_texts(params: dict[str, Any]) -> dict[str, str]:
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}


def _metric_text(run: Run, preferred: str | None) -> str:
    """The preferred metric's value, else the run's primary (or first) metric and its name."""
    if preferred is not None:
        return render.fmt(run.metrics.get(preferred), 4)
    key = run.tags.get("primary_metric") or min(run.metrics, default=None)
    if key is None or key not in run.metrics:
        return ""
    return f"{key} {render.fmt(run.metrics[key], 4)}"


def _duration(run: Run) -> str:
    seconds = run.duration_s
    return "" if seconds is None else f"{seconds:.1f}s"


def _ordering_metric(order_by: str | None) -> str | None:
    field = (order_by or "").strip().split(" ")[0]
    return field.removeprefix("metrics.") if field.startswith("metrics.") else None


def _primary_metric(ws: WorkspaceAPI, parent_id: str | None) -> str | None:
    """The metric a parent run ranked its children by (trials do not tag it themselves)."""
    return ws.get_run(parent_id).tags.get("primary_metric") if parent_id else None

"""Rich renderables shared by the commands: guardrails, leaderboards, metrics, charts.

Everything here turns engine output (plain dicts and `Trial`s) into tables; nothing
computes a figure of its own. Renderables work the same on a terminal and in a log file.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from pydantic import BaseModel

    from shipyard.automl.trial import Trial

STATUS_STYLES = {
    "passed": "green",
    "fixed": "cyan",
    "alerted": "yellow",
    "completed": "green",
    "running": "cyan",
    "pruned": "yellow",
    "timeout": "magenta",
    "failed": "red",
    "queued": "blue",
    "canceled": "magenta",
}
LEADERBOARD_ROWS = 10
TOP_FEATURES = 10
MAX_MATRIX_CLASSES = 20
_BAR_WIDTH = 30


def consoles() -> tuple[Console, Console]:
    """The standard output console and the (stderr) console for warnings and errors."""
    return Console(), Console(stderr=True)


def status_text(status: str) -> Text:
    """A status word in its colour."""
    return Text(status, style=STATUS_STYLES.get(status, ""))


def warn(console: Console, message: str) -> None:
    """One yellow warning line (never wrapped)."""
    console.print(Text(f"warning: {message}", style="yellow"), soft_wrap=True)


def fmt(value: float | None, digits: int = 5) -> str:
    """A number for a table cell; missing values are a dash."""
    return "—" if value is None else f"{value:.{digits}f}"


def when(moment: datetime | None, *, seconds: bool = True) -> str:
    """A timestamp in local time, to the second (or the minute); missing is a dash."""
    if moment is None:
        return "—"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def echo_json(document: BaseModel | Mapping[str, Any] | Sequence[Any]) -> None:
    """Print one JSON document on stdout (an entity or page as its `model_dump(mode="json")`)."""
    value = _plain(document)
    typer.echo(json.dumps(value, indent=2, allow_nan=False, default=str))


def _plain(value: Any) -> Any:
    """An entity as its JSON-ready dict; anything else as it is."""
    from pydantic import BaseModel  # loaded already when `value` is an entity

    return value.model_dump(mode="json") if isinstance(value, BaseModel) else value


def listing(
    items: Sequence[Any], total: int | None = None, token: str | None = None
) -> dict[str, Any]:
    """The JSON shape of every listing: `{"items": [...], "total": N, "next_page_token": ...}`."""
    dumped = [_plain(item) for item in items]
    return {
        "items": dumped,
        "total": len(items) if total is None else total,
        "next_page_token": token,
    }


def fields_table(title: str, fields: Mapping[str, Any]) -> Table:
    """Name/value rows; fields whose value is None are left out."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in fields.items():
        if value is not None:
            table.add_row(name, value if isinstance(value, Text) else str(value))
    return table


def say(console: Console, *lines: str) -> None:
    """Print each line as it is: never wrapped (commands stay copyable), never highlighted."""
    for line in lines:
        console.print(line, soft_wrap=True, highlight=False)


def rows_table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[RenderableType]],
    *,
    right: Collection[str] = (),
    no_wrap: Collection[str] = (),
) -> Table:
    """A titled table; columns named in `right` are right-aligned, in `no_wrap` never wrap."""
    table = Table(title=title, title_justify="left")
    for name in columns:
        table.add_column(
            name,
            justify="right" if name in right else "left",
            no_wrap=name in no_wrap,
            overflow="fold",
        )
    for row in rows:
        table.add_row(*row)
    return table


def print_page(console: Console, table: Table, total: int, token: str | None) -> None:
    """A listing's table, then how much of it is shown and how to get the next page."""
    console.print(table)
    more = f"; next page: --page-token {token}" if token else ""
    console.print(Text(f"{table.row_count} of {total} shown{more}", style="dim"))


def guardrails_table(guardrails: Sequence[Mapping[str, Any]]) -> Table:
    """The data guardrails, one row each, status coloured."""
    table = Table(title="Data guardrails", title_justify="left", expand=False)
    table.add_column("check")
    table.add_column("status")
    table.add_column("finding", overflow="fold")
    for guardrail in guardrails:
        status = str(guardrail.get("status", ""))
        table.add_row(
            str(guardrail.get("name", "")), status_text(status), str(guardrail.get("message", ""))
        )
    return table


def leaderboard_table(
    trials: Iterable[Trial], metric: str, limit: int = LEADERBOARD_ROWS, title: str = "Leaderboard"
) -> Table:
    """The best `limit` trials (completed first, lowest loss first)."""
    ranked = sorted(trials, key=lambda t: (t.status != "completed", t.loss, t.number))
    table = Table(title=title, title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("learner")
    table.add_column(metric, justify="right")
    table.add_column("status")
    table.add_column("fit time", justify="right")
    for trial in ranked[:limit]:
        table.add_row(
            str(trial.number),
            trial.learner,
            fmt(trial.score),
            status_text(trial.status),
            f"{trial.fit_time_s:.2f}s",
        )
    return table


def metrics_table(metrics: Mapping[str, float | None], title: str = "Metrics") -> Table:
    """Metric names and values."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, fmt(value))
    return table


def importance_table(importance: Sequence[Mapping[str, Any]], top: int = TOP_FEATURES) -> Table:
    """The most important input columns as horizontal bars (share of the total)."""
    table = Table(title=f"Top {top} features (permutation importance)", title_justify="left")
    table.add_column("column")
    table.add_column("share", justify="right")
    table.add_column("", no_wrap=True)
    shown = list(importance[:top])
    largest = max((float(row["importance"]) for row in shown), default=0.0) or 1.0
    for row in shown:
        share = float(row["importance"])
        bar = "█" * max(round(share / largest * _BAR_WIDTH), 0)
        table.add_row(str(row["column"]), f"{share:.1%}", Text(bar, style="blue"))
    return table


def confusion_table(confusion: Mapping[str, Any]) -> RenderableType:
    """Counts of true (rows) against predicted (columns) classes."""
    labels = [str(label) for label in confusion["labels"]]
    if len(labels) > MAX_MATRIX_CLASSES:
        return Text(f"confusion matrix: {len(labels)} classes, see automl_result.json")
    table = Table(title="Confusion matrix", title_justify="left")
    table.add_column("true \\ predicted")
    for label in labels:
        table.add_column(label, justify="right")
    for label, row in zip(labels, confusion["matrix"], strict=True):
        table.add_row(label, *(str(count) for count in row))
    return table


class RunDisplay:
    """The live view of a run: time used against the budget, and the leaderboard so far.

    Callbacks may arrive from worker threads while Rich renders from its refresh thread,
    so the state is read and written under one lock.
    """

    def __init__(self, metric: str, budget_s: float) -> None:
        self.metric = metric
        self.budget_s = budget_s
        self.started = time.monotonic()
        self.phase = "starting"
        self.current = ""
        self.trials: dict[int, Trial] = {}
        self.finished_s: float | None = None
        self._lock = threading.Lock()

    def update_trial(self, trial: Trial, *, running: bool) -> None:
        """Record a trial that started or ended."""
        with self._lock:
            self.trials[trial.number] = trial
            self.current = f"trial {trial.number}: {trial.learner}" if running else ""

    def set_phase(self, phase: str, metric: str | None = None) -> None:
        """Record the run's phase; "done" stops the clock."""
        with self._lock:
            self.phase = phase
            self.metric = metric or self.metric
            if phase == "done":
                self.finished_s = time.monotonic() - self.started

    def __rich__(self) -> RenderableType:
        with self._lock:
            finished = self.finished_s
            elapsed = time.monotonic() - self.started if finished is None else finished
            trials = list(self.trials.values())
            status = f"{self.phase}  {self.current}".rstrip()
        bar = Table.grid(padding=(0, 1))
        bar.add_row(
            ProgressBar(total=self.budget_s, completed=min(elapsed, self.budget_s), width=40),
            f"{elapsed:5.0f}s / {self.budget_s:.0f}s",
            Text(status, style="cyan"),
        )
        counts = _status_counts(trials)
        title = f"Leaderboard ({len(trials)} trials{counts})"
        return Group(bar, leaderboard_table(trials, self.metric, title=title))


def _status_counts(trials: Sequence[Trial]) -> str:
    by_status: dict[str, int] = {}
    for trial in trials:
        by_status[trial.status] = by_status.get(trial.status, 0) + 1
    return "".join(f", {n} {status}" for status, n in sorted(by_status.items()))

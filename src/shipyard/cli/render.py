"""Rich renderables shared by the commands: guardrails, leaderboards, metrics, charts.

Everything here turns engine output (plain dicts and `Trial`s) into tables; nothing
computes a figure of its own. Renderables work the same on a terminal and in a log file.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from shipyard.automl import Trial

STATUS_STYLES = {
    "passed": "green",
    "fixed": "cyan",
    "alerted": "yellow",
    "completed": "green",
    "running": "cyan",
    "pruned": "yellow",
    "timeout": "magenta",
    "failed": "red",
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

"""Queries over experiments, runs, metrics and run logs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, aliased

from shipyard.core.errors import InvalidInputError
from shipyard.core.schemas import MetricPoint, Run, RunLog, RunStatus
from shipyard.store.tables import (
    DatasetVersionRow,
    ExperimentRow,
    LatestMetricRow,
    MetricRow,
    RunLogRow,
    RunRow,
)

_COLUMNS = {"created_at", "started_at", "ended_at", "name", "status", "kind"}
_OPS = {"=", "!=", ">", ">=", "<", "<="}


@dataclass(frozen=True)
class Condition:
    """One `FIELD OP VALUE` condition: a metric (`metrics.auc`), a column or a param."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class RunQuery:
    """What `list_runs` selects, in which order, and which page."""

    experiment_id: str | None = None
    parent_id: str | None = None
    top_level: bool = False  # only runs without a parent
    statuses: tuple[str, ...] = ()
    kind: str | None = None
    conditions: tuple[Condition, ...] = ()
    order_by: str = "created_at"
    descending: bool = True
    offset: int = 0
    limit: int = 50


def find_experiment(session: Session, name: str) -> ExperimentRow | None:
    return session.scalar(select(ExperimentRow).where(ExperimentRow.name == name))


def add_experiment(session: Session, row: ExperimentRow) -> ExperimentRow:
    """Add `row` unless an experiment of that name exists; either way, return the stored one.

    A concurrent writer may add the same name first (PostgreSQL does not serialize writers
    the way SQLite's write lock does): then its row is returned, with no error.
    """
    values = {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "created_at": row.created_at,
    }
    session.execute(
        _dialect_insert(session, ExperimentRow)
        .values(values)
        .on_conflict_do_nothing(index_elements=[ExperimentRow.name])
    )
    return session.scalars(select(ExperimentRow).where(ExperimentRow.name == row.name)).one()


def experiments(session: Session) -> list[ExperimentRow]:
    return list(session.scalars(select(ExperimentRow).order_by(ExperimentRow.name)))


def add_run(session: Session, row: RunRow) -> None:
    session.add(row)
    session.flush()


def find_run_row(session: Session, run_id: str) -> RunRow | None:
    return session.get(RunRow, run_id)


def to_runs(session: Session, rows: Sequence[RunRow]) -> list[Run]:
    """Entities for `rows`, with their latest metrics, experiment names and datasets."""
    if not rows:
        return []
    ids = [r.id for r in rows]
    metrics: dict[str, dict[str, float]] = {i: {} for i in ids}
    for run_id, key, value in session.execute(
        select(LatestMetricRow.run_id, LatestMetricRow.key, LatestMetricRow.value).where(
            LatestMetricRow.run_id.in_(ids)
        )
    ):
        metrics[run_id][key] = value
    experiments = {
        row.id: row.name
        for row in session.execute(
            select(ExperimentRow.id, ExperimentRow.name).where(
                ExperimentRow.id.in_({r.experiment_id for r in rows})
            )
        )
    }
    dataset_ids = {r.dataset_version_id for r in rows if r.dataset_version_id}
    datasets: dict[str, str] = {}
    if dataset_ids:
        for vid, name, version in session.execute(
            select(DatasetVersionRow.id, DatasetVersionRow.name, DatasetVersionRow.version).where(
                DatasetVersionRow.id.in_(dataset_ids)
            )
        ):
            datasets[vid] = f"{name}:{version}"
    return [
        Run(
            id=r.id,
            experiment_id=r.experiment_id,
            experiment=experiments.get(r.experiment_id, ""),
            parent_id=r.parent_id,
            name=r.name,
            kind=r.kind,
            status=RunStatus(r.status),
            params=r.params,
            metrics=metrics[r.id],
            tags=r.tags,
            dataset=datasets.get(r.dataset_version_id or ""),
            has_model=r.model_path is not None,
            failure_reason=r.failure_reason,
            created_at=r.created_at,
            started_at=r.started_at,
            ended_at=r.ended_at,
            heartbeat_at=r.heartbeat_at,
        )
        for r in rows
    ]


def query_runs(session: Session, query: RunQuery) -> tuple[list[RunRow], int]:
    """One page of runs matching `query`, and how many match in all."""
    base = _filtered(select(RunRow), query)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    ordered = _ordered(base, query).offset(query.offset).limit(query.limit)
    return list(session.scalars(ordered)), total


def _filtered(stmt: Select[tuple[RunRow]], query: RunQuery) -> Select[tuple[RunRow]]:
    if query.experiment_id is not None:
        stmt = stmt.where(RunRow.experiment_id == query.experiment_id)
    if query.parent_id is not None:
        stmt = stmt.where(RunRow.parent_id == query.parent_id)
    if query.top_level:
        stmt = stmt.where(RunRow.parent_id.is_(None))
    if query.statuses:
        stmt = stmt.where(RunRow.status.in_(query.statuses))
    if query.kind is not None:
        stmt = stmt.where(RunRow.kind == query.kind)
    for condition in query.conditions:
        stmt = _apply(stmt, condition)
    return stmt


def _apply(stmt: Select[tuple[RunRow]], condition: Condition) -> Select[tuple[RunRow]]:
    if condition.op not in _OPS:
        raise InvalidInputError(f"unknown operator {condition.op!r}; use one of {sorted(_OPS)}")
    if condition.field.startswith("metrics."):
        metric = aliased(LatestMetricRow)
        key = condition.field.removeprefix("metrics.")
        try:
            value = float(condition.value)
        except (TypeError, ValueError):
            raise InvalidInputError(
                f"{condition.field} is compared with a number, not {condition.value!r}"
            ) from None
        return stmt.join(
            metric,
            and_(
                metric.run_id == RunRow.id,
                metric.key == key,
                _compare(metric.value, condition.op, value),
            ),
        )
    if condition.field in _COLUMNS:
        return stmt.where(_compare(getattr(RunRow, condition.field), condition.op, condition.value))
    raise InvalidInputError(
        f"cannot filter on {condition.field!r}: use metrics.<name> or one of {sorted(_COLUMNS)}"
    )


def _compare(column: Any, op: str, value: Any) -> Any:
    return {
        "=": column == value,
        "!=": column != value,
        ">": column > value,
        ">=": column >= value,
        "<": column < value,
        "<=": column <= value,
    }[op]


def _ordered(stmt: Select[tuple[RunRow]], query: RunQuery) -> Select[tuple[RunRow]]:
    if query.order_by.startswith("metrics."):
        metric = aliased(LatestMetricRow)
        key = query.order_by.removeprefix("metrics.")
        stmt = stmt.outerjoin(metric, and_(metric.run_id == RunRow.id, metric.key == key))
        value = metric.value.desc() if query.descending else metric.value.asc()
        # Runs without the metric go last in either direction (portable NULLS LAST).
        return stmt.order_by(metric.value.is_(None), value, RunRow.id)
    if query.order_by not in _COLUMNS:
        raise InvalidInputError(
            f"cannot order by {query.order_by!r}: use metrics.<name> or one of {sorted(_COLUMNS)}"
        )
    column = getattr(RunRow, query.order_by)
    tie = RunRow.id.desc() if query.descending else RunRow.id.asc()
    return stmt.order_by(column.desc() if query.descending else column.asc(), tie)


def insert_metrics(
    session: Session, run_id: str, points: Iterable[tuple[str, float, int, datetime]]
) -> int:
    """Append metric values and keep each key's latest (highest step) value current."""
    rows: list[dict[str, Any]] = [
        {"run_id": run_id, "key": k, "value": float(v), "step": s, "timestamp": t}
        for k, v, s, t in points
    ]
    for row in rows:
        if not math.isfinite(row["value"]):
            raise InvalidInputError(f"metric {row['key']!r} is {row['value']}: not a finite number")
    if not rows:
        return 0
    session.execute(insert(MetricRow), rows)
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        kept = latest.get(row["key"])
        if kept is None or row["step"] >= kept["step"]:
            latest[row["key"]] = {k: row[k] for k in ("run_id", "key", "value", "step")}
    _upsert_latest(session, list(latest.values()))
    return len(rows)


def _upsert_latest(session: Session, rows: list[dict[str, Any]]) -> None:
    stmt = _dialect_insert(session, LatestMetricRow)
    excluded = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=[LatestMetricRow.run_id, LatestMetricRow.key],
        set_={"value": excluded.value, "step": excluded.step},
        where=excluded.step >= LatestMetricRow.step,
    )
    # One statement run over many rows (compiled once and cached), not one statement of
    # many rows: a 1,000-row VALUES clause took longer to compile than to run.
    session.execute(stmt, rows)


def _dialect_insert(session: Session, table: type[Any]) -> postgresql.Insert | sqlite.Insert:
    """An INSERT that knows this backend's `ON CONFLICT` clauses."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def metric_history(session: Session, run_id: str, key: str) -> list[MetricPoint]:
    rows = session.execute(
        select(MetricRow.key, MetricRow.value, MetricRow.step, MetricRow.timestamp)
        .where(MetricRow.run_id == run_id, MetricRow.key == key)
        .order_by(MetricRow.step, MetricRow.id)
    )
    return [MetricPoint(key=k, value=v, step=s, timestamp=t) for k, v, s, t in rows]


def add_log(session: Session, run_id: str, level: str, message: str, at: datetime) -> None:
    session.add(RunLogRow(run_id=run_id, level=level, message=message, timestamp=at))


def run_logs(session: Session, run_id: str, tail: int | None) -> list[RunLog]:
    stmt = select(RunLogRow).where(RunLogRow.run_id == run_id).order_by(RunLogRow.id.desc())
    if tail is not None:
        stmt = stmt.limit(tail)
    rows = list(session.scalars(stmt))[::-1]
    return [RunLog(timestamp=r.timestamp, level=r.level, message=r.message) for r in rows]


def live_owners(session: Session) -> list[tuple[str | None, datetime | None]]:
    """The distinct (owner, oldest heartbeat) of running runs, for the liveness check."""
    rows = session.execute(
        select(RunRow.owner, func.min(RunRow.heartbeat_at))
        .where(RunRow.status == RunStatus.RUNNING.value)
        .group_by(RunRow.owner)
    )
    return [(owner, beat) for owner, beat in rows]


def fail_running(
    session: Session, *, owner: str | None, stale_before: datetime | None, reason: str, at: datetime
) -> int:
    """Mark the running runs of `owner` failed (`None`: the runs without one, not every run).

    With `stale_before`, only those whose heartbeat is older than it.
    """
    stmt = update(RunRow).where(
        RunRow.status == RunStatus.RUNNING.value,
        RunRow.owner.is_(None) if owner is None else RunRow.owner == owner,
    )
    if stale_before is not None:
        stmt = stmt.where(RunRow.heartbeat_at < stale_before)
    result = session.execute(
        stmt.values(status=RunStatus.FAILED.value, failure_reason=reason, ended_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def touch(session: Session, owner: str, at: datetime) -> int:
    """Record that `owner` is alive: a heartbeat on every run it is running."""
    result = session.execute(
        update(RunRow)
        .where(RunRow.owner == owner, RunRow.status == RunStatus.RUNNING.value)
        .values(heartbeat_at=at)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]

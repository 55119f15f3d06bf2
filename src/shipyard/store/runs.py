"""Queries over experiments, runs, metrics and run logs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    Row,
    RowMapping,
    Select,
    String,
    Text,
    and_,
    cast,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shipyard.core.errors import InvalidInputError
from shipyard.core.schemas import MetricPoint, Run, RunLog, RunStatus
from shipyard.store.tables import (
    ChangeCounterRow,
    DatasetVersionRow,
    ExperimentRow,
    LatestMetricRow,
    MetricRow,
    RunLogRow,
    RunRow,
)

_RUNS = RunRow.__table__
_LATEST = LatestMetricRow.__table__
_EXPERIMENTS = ExperimentRow.__table__
_VERSIONS = DatasetVersionRow.__table__
_COUNTERS = ChangeCounterRow.__table__
_TIMES = {"created_at", "started_at", "ended_at"}
_COLUMNS = {*_TIMES, "name", "status", "kind"}
_OPS = {"=", "!=", ">", ">=", "<", "<="}
# Each metric condition joins the latest-metrics table once more; SQLite joins at most 64
# tables in one statement, and a listing's own joins take a few.
MAX_METRIC_CONDITIONS = 20
MAX_TAIL = 100_000


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


def to_runs(session: Session, rows: Sequence[RunRow] | Sequence[Row[Any]]) -> list[Run]:
    """Entities for `rows` (ORM rows or rows of the runs table), with their latest metrics,
    experiment names and datasets."""
    if not rows:
        return []
    records = [_columns(r) for r in rows]
    if "metrics" in records[0]:  # a page from `query_runs` carries them
        metrics = {r["id"]: _decode_metrics(r["metrics"]) for r in records}
    else:
        metrics = _latest_metrics(session, [r["id"] for r in records])
    experiments = _experiment_names(session, records)
    datasets = _dataset_refs(session, records)
    return [
        Run(
            id=r["id"],
            experiment_id=r["experiment_id"],
            experiment=experiments.get(r["experiment_id"], ""),
            parent_id=r["parent_id"],
            name=r["name"],
            kind=r["kind"],
            status=RunStatus(r["status"]),
            params=r["params"],
            metrics=metrics[r["id"]],
            tags=r["tags"],
            dataset=datasets.get(r["dataset_version_id"] or ""),
            has_model=r["model_path"] is not None,
            failure_reason=r["failure_reason"],
            created_at=r["created_at"],
            started_at=r["started_at"],
            ended_at=r["ended_at"],
            heartbeat_at=r["heartbeat_at"],
        )
        for r in records
    ]


def _latest_metrics(session: Session, ids: list[str]) -> dict[str, dict[str, float]]:
    metrics: dict[str, dict[str, float]] = {i: {} for i in ids}
    latest = _LATEST.c
    # `.all()` fetches the rows in one call, not one by one: a sixth of this query's time.
    for run_id, key, value in session.execute(
        select(latest.run_id, latest.key, latest.value).where(latest.run_id.in_(ids))
    ).all():
        metrics[run_id][key] = value
    return metrics


def _metrics_column(dialect: str) -> Any:
    """Each run's latest metrics as one JSON object, computed by the database.

    On SQLite the values go as text printed with 21 significant digits, which read back
    to the very same doubles: its JSON functions print 15, and `%!.17g` loses the last
    bit of some (1.7976931348623157e308 among them).
    """
    latest = _LATEST.alias("latest")
    if dialect == "postgresql":
        combined: Any = cast(func.json_object_agg(latest.c.key, latest.c.value), Text)
    else:
        combined = func.json_group_object(latest.c.key, func.printf("%!.20e", latest.c.value))
    return select(combined).where(latest.c.run_id == _RUNS.c.id).scalar_subquery()


def _decode_metrics(encoded: str | None) -> dict[str, float]:
    """What `_metrics_column` made of a run's metrics (None: the run has none)."""
    return {k: float(v) for k, v in orjson.loads(encoded).items()} if encoded else {}


def _experiment_names(
    session: Session, records: Sequence[RowMapping | dict[str, Any]]
) -> dict[str, str]:
    """Experiment id -> name for `records`: read off a page (`query_runs` selects them),
    else looked up."""
    names = {r["experiment_id"]: r["experiment"] for r in records if "experiment" in r}
    missing = {r["experiment_id"] for r in records} - names.keys()
    if missing:
        table = _EXPERIMENTS.c
        names |= dict(
            session.execute(select(table.id, table.name).where(table.id.in_(missing))).all()
        )
    return names


def _dataset_refs(
    session: Session, records: Sequence[RowMapping | dict[str, Any]]
) -> dict[str, str | None]:
    """Dataset version id -> `NAME:VERSION` for `records`: read off a page (`query_runs`
    selects them), else looked up."""
    refs = {
        r["dataset_version_id"]: r["dataset"]
        for r in records
        if "dataset" in r and r["dataset_version_id"]
    }
    missing = {r["dataset_version_id"] for r in records if r["dataset_version_id"]} - refs.keys()
    if missing:
        versions = _VERSIONS.c
        found = select(versions.id, versions.name, versions.version)
        for vid, name, version in session.execute(found.where(versions.id.in_(missing))).all():
            refs[vid] = f"{name}:{version}"
    return refs


def _columns(row: RunRow | Row[Any]) -> RowMapping | dict[str, Any]:
    """A run's columns by name (a table row's mapping is quicker to read than attributes)."""
    if isinstance(row, RunRow):
        return {column.key: getattr(row, column.key) for column in RunRow.__table__.columns}
    return row._mapping


def query_runs(session: Session, query: RunQuery) -> tuple[list[Row[Any]], int]:
    """One page of runs matching `query`, and how many match in all.

    The page comes as rows of the runs table with each run's experiment name, dataset
    and latest metrics, in one statement (on PostgreSQL each statement is a round trip),
    not ORM objects: it is only read, and a Core query skips the ORM's work per row and
    per statement (a third of a listing).
    """
    counted = _filtered(select(func.count()).select_from(_RUNS), query)
    total = session.scalar(counted) or 0
    base = _filtered(select(*_RUNS.columns), query)
    ordered = _ordered(base, query).offset(query.offset).limit(query.limit)
    experiment = select(_EXPERIMENTS.c.name).where(_EXPERIMENTS.c.id == _RUNS.c.experiment_id)
    versions = _VERSIONS.c
    dataset = select(versions.name.concat(":").concat(cast(versions.version, String))).where(
        versions.id == _RUNS.c.dataset_version_id
    )
    named = ordered.add_columns(
        experiment.scalar_subquery().label("experiment"),
        dataset.scalar_subquery().label("dataset"),
        _metrics_column(session.get_bind().dialect.name).label("metrics"),
    )
    return list(session.execute(named).all()), total


def _filtered(stmt: Select[Any], query: RunQuery) -> Select[Any]:
    runs = _RUNS.c
    if query.experiment_id is not None:
        stmt = stmt.where(runs.experiment_id == query.experiment_id)
    if query.parent_id is not None:
        stmt = stmt.where(runs.parent_id == query.parent_id)
    if query.top_level:
        stmt = stmt.where(runs.parent_id.is_(None))
    if query.statuses:
        stmt = stmt.where(runs.status.in_(query.statuses))
    if query.kind is not None:
        stmt = stmt.where(runs.kind == query.kind)
    metric_conditions = sum(c.field.startswith("metrics.") for c in query.conditions)
    if metric_conditions > MAX_METRIC_CONDITIONS:
        raise InvalidInputError(
            f"too many metric conditions ({metric_conditions}); at most "
            f"{MAX_METRIC_CONDITIONS} metrics.<name> conditions may be combined"
        )
    for condition in query.conditions:
        stmt = _apply(stmt, condition)
    return stmt


def _apply(stmt: Select[Any], condition: Condition) -> Select[Any]:
    if condition.op not in _OPS:
        raise InvalidInputError(f"unknown operator {condition.op!r}; use one of {sorted(_OPS)}")
    if condition.field.startswith("metrics."):
        metric = _LATEST.alias()
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
                metric.c.run_id == _RUNS.c.id,
                metric.c.key == key,
                _compare(metric.c.value, condition.op, value),
            ),
        )
    if condition.field in _TIMES:
        moment = _moment(condition.field, condition.value)
        return stmt.where(_compare(_RUNS.c[condition.field], condition.op, moment))
    if condition.field in _COLUMNS:
        return stmt.where(_compare(_RUNS.c[condition.field], condition.op, condition.value))
    raise InvalidInputError(
        f"cannot filter on {condition.field!r}: use metrics.<name> or one of {sorted(_COLUMNS)}"
    )


def _moment(field: str, value: Any) -> datetime:
    """An ISO 8601 date or time (UTC unless it names a zone) to compare `field` with."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInputError(
            f"{field} is compared with a date or time such as 2024-01-31 or "
            f"2024-01-31T12:00:00Z, not {value!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _compare(column: Any, op: str, value: Any) -> Any:
    return {
        "=": column == value,
        "!=": column != value,
        ">": column > value,
        ">=": column >= value,
        "<": column < value,
        "<=": column <= value,
    }[op]


def _ordered(stmt: Select[Any], query: RunQuery) -> Select[Any]:
    runs = _RUNS.c
    if query.order_by.startswith("metrics."):
        metric = _LATEST.alias()
        key = query.order_by.removeprefix("metrics.")
        stmt = stmt.outerjoin(metric, and_(metric.c.run_id == runs.id, metric.c.key == key))
        value = metric.c.value.desc() if query.descending else metric.c.value.asc()
        # Runs without the metric go last in either direction (portable NULLS LAST).
        return stmt.order_by(metric.c.value.is_(None), value, runs.id)
    if query.order_by not in _COLUMNS:
        raise InvalidInputError(
            f"cannot order by {query.order_by!r}: use metrics.<name> or one of {sorted(_COLUMNS)}"
        )
    column = runs[query.order_by]
    tie = runs.id.desc() if query.descending else runs.id.asc()
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
        if not 0 <= tail <= MAX_TAIL:
            raise InvalidInputError(f"tail must be from 0 to {MAX_TAIL:,}, not {tail}")
        stmt = stmt.limit(tail)
    rows = list(session.scalars(stmt))[::-1]
    return [RunLog(timestamp=r.timestamp, level=r.level, message=r.message) for r in rows]


def change_token(session: Session) -> str:
    """A token that differs whenever what a run listing shows may have changed since.

    Read it before the listing: an answer read afterwards is at least as new as the token.
    SQLite: the counter its triggers move on in every writing transaction (migration
    0005). PostgreSQL: the transaction snapshot (`xmin:xmax:in-progress xids`), which
    moves on with every transaction that writes anything and every commit; it costs no
    write of its own, so writers do not queue on a counter row.
    """
    if session.get_bind().dialect.name == "postgresql":
        return "pg:" + str(session.scalar(select(func.pg_current_snapshot())))
    counter = select(_COUNTERS.c.value).where(_COUNTERS.c.name == "runs")
    return f"sqlite:{session.scalar(counter)}"


def live_owners(session: Session) -> list[tuple[str | None, datetime | None]]:
    """The distinct (owner, oldest heartbeat) of running runs, for the liveness check."""
    runs = _RUNS.c  # a Core query: this runs before every read
    rows = session.execute(
        select(runs.owner, func.min(runs.heartbeat_at))
        .where(runs.status == RunStatus.RUNNING.value)
        .group_by(runs.owner)
    ).all()
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

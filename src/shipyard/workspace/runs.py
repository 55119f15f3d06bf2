"""Experiments and runs: create, log, finish, list and query, and the liveness check."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.ids import new_id
from shipyard.core.names import check_name
from shipyard.core.schemas import (
    TERMINAL_STATUSES,
    Experiment,
    MetricPoint,
    Page,
    Run,
    RunLog,
    RunStatus,
)
from shipyard.store import Session, checksums
from shipyard.store import runs as q
from shipyard.store.tables import ExperimentRow, RunRow
from shipyard.workspace._base import WorkspaceBase
from shipyard.workspace._integrity import LOGGED, MAX_KEY_CHARS
from shipyard.workspace._pages import next_token, page_bounds
from shipyard.workspace.liveness import dead_reason

MAX_PARAM_CHARS = 8000
# Bounds on what a run carries (issue 10: 5 MB tags made a page of runs 52 MB).
MAX_PARAMS = 200
MAX_TAGS = 100
MAX_TAG_CHARS = 5000
# In all, per run: a page of 1,000 runs stays under ~80 MB even at the bounds.
MAX_TOTAL_CHARS = {"params": 65_536, "tags": 16_384}
MAX_CONDITIONS = 20
MAX_WHERE_CHARS = 4000
MAX_LOG_CHARS = 65_536
MAX_RUN_NAME_CHARS = 255  # the widths of runs.name and runs.kind
MAX_KIND_CHARS = 32
MAX_STEP = 2**31 - 1  # metric steps are SQL integers
_TRANSITIONS = {
    RunStatus.QUEUED: {RunStatus.RUNNING, RunStatus.CANCELED, RunStatus.FAILED},
    RunStatus.RUNNING: TERMINAL_STATUSES,
}


class RunOperations(WorkspaceBase):
    """Experiments, runs, metrics, params, tags, logs and run artifacts."""

    # --- experiments -------------------------------------------------------------------

    def create_experiment(self, name: str, description: str | None = None) -> Experiment:
        """Create an experiment; an existing one of that name is returned unchanged."""
        check_name(name, "experiment name")
        with self.store.write() as session:
            return self._experiment_row(session, name, description).to_entity()

    def get_experiment(self, name: str) -> Experiment:
        """The experiment called `name` (NotFoundError if there is none)."""
        with self.store.read() as session:
            row = q.find_experiment(session, name)
            if row is None:
                raise NotFoundError(f"no experiment named {name!r}")
            return row.to_entity()

    def list_experiments(self) -> list[Experiment]:
        """Every experiment, by name."""
        with self.store.read() as session:
            rows = q.experiments(session)
            return [r.to_entity() for r in rows]

    def _experiment_row(
        self, session: Session, name: str, description: str | None = None
    ) -> ExperimentRow:
        row = q.find_experiment(session, name)
        if row is None:
            row = q.add_experiment(
                session,
                ExperimentRow(
                    id=new_id("experiment"),
                    name=name,
                    description=description,
                    created_at=self.now(),
                ),
            )
        return row

    # --- runs ----------------------------------------------------------------------------

    def create_run(
        self,
        experiment: str,
        *,
        name: str | None = None,
        kind: str = "run",
        parent_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        status: RunStatus = RunStatus.RUNNING,
        dataset_version_id: str | None = None,
        owner: str | None = None,
    ) -> Run:
        """Start a run (or queue it) in `experiment`, created if needed.

        Args:
            owner: who keeps a running run alive, if not this process: a server passes
                its remote client's `remote:...` stamp, and the client beats for it
                (`heartbeat_runs`).
        """
        with self.store.write() as session:
            row = self._add_run(
                session,
                experiment,
                name=name,
                kind=kind,
                parent_id=parent_id,
                params=params,
                tags=tags,
                status=status,
                dataset_version_id=dataset_version_id,
                owner=owner,
            )
            run = q.to_runs(session, [row])[0]
        if status is RunStatus.RUNNING and owner is None:
            self.heartbeat.start()
        return run

    def _add_run(
        self,
        session: Session,
        experiment: str,
        *,
        name: str | None,
        kind: str,
        parent_id: str | None = None,
        params: Mapping[str, Any] | None,
        tags: Mapping[str, str] | None,
        status: RunStatus,
        dataset_version_id: str | None,
        owner: str | None = None,
    ) -> RunRow:
        """A new run's row, added in `session` (so that it lands with the caller's writes)."""
        check_name(experiment, "experiment name")
        _check_length(name, MAX_RUN_NAME_CHARS, "a run name")
        _check_length(kind, MAX_KIND_CHARS, "a run kind")
        if status not in (RunStatus.RUNNING, RunStatus.QUEUED):
            raise InvalidInputError("a new run is either running or queued")
        clean_params = _params(params or {})
        now = self.now()
        exp = self._experiment_row(session, experiment)
        if parent_id is not None and q.find_run_row(session, parent_id) is None:
            raise NotFoundError(f"no run with id {parent_id!r} to be the parent")
        row = RunRow(
            id=new_id("run"),
            experiment_id=exp.id,
            parent_id=parent_id,
            name=name,
            kind=kind,
            status=status.value,
            params=clean_params,
            tags=_tags(tags or {}),
            dataset_version_id=dataset_version_id,
            owner=(owner or self.owner) if status is RunStatus.RUNNING else None,
            created_at=now,
            started_at=now if status is RunStatus.RUNNING else None,
            heartbeat_at=now if status is RunStatus.RUNNING else None,
        )
        q.add_run(session, row)
        return row

    def get_run(self, run_id: str) -> Run:
        """The run with id `run_id`, its latest metrics included."""
        with self._live_read() as session:
            row = q.find_run_row(session, run_id)
            if row is None:
                raise NotFoundError(f"no run with id {run_id!r}")
            return q.to_runs(session, [row])[0]

    def list_runs(
        self,
        *,
        experiment: str | None = None,
        parent_id: str | None = None,
        top_level: bool = False,
        status: str | None = None,
        kind: str | None = None,
        where: str | None = None,
        order_by: str | None = None,
        max_results: int = 50,
        page_token: str | None = None,
    ) -> Page[Run]:
        """Runs matching the filters, newest first unless `order_by` says otherwise.

        Args:
            where: conditions joined by `and`, e.g. `metrics.AUC_weighted > 0.9 and kind = trial`.
            order_by: `created_at`, `name`, `status`, ... or `metrics.<name>`, then `asc`
                or `desc` (default `desc`), e.g. `metrics.accuracy desc`.
        """
        offset, limit = page_bounds(page_token, max_results)
        field, descending = _order(order_by)
        with self._live_read() as session:
            experiment_id = None
            if experiment is not None:
                experiment_id = self._experiment_id(session, experiment)
            query = q.RunQuery(
                experiment_id=experiment_id,
                parent_id=parent_id,
                top_level=top_level,
                statuses=(_status(status).value,) if status else (),
                kind=kind,
                conditions=parse_where(where),
                order_by=field,
                descending=descending,
                offset=offset,
                limit=limit,
            )
            rows, total = q.query_runs(session, query)
            items = q.to_runs(session, rows)
        return Page[Run](items=items, total=total, next_page_token=next_token(offset, limit, total))

    def runs_change_token(self) -> str:
        """A token that differs whenever `list_runs` may answer differently than before
        (after the liveness check, which may fail a dead process's runs): a listing read
        after it, cached under it, may be served for as long as the token stays the same."""
        with self._live_read() as session:
            return q.change_token(session)

    def best_child(self, parent_id: str, metric: str, *, higher_is_better: bool = True) -> Run:
        """The completed child of `parent_id` with the best `metric`."""
        page = self.list_runs(
            parent_id=parent_id,
            status=RunStatus.COMPLETED.value,
            where=f"metrics.{metric} > -1e308",
            order_by=f"metrics.{metric} {'desc' if higher_is_better else 'asc'}",
            max_results=1,
        )
        if not page.items:
            raise NotFoundError(f"run {parent_id!r} has no completed child with metric {metric!r}")
        return page.items[0]

    def _experiment_id(self, session: Session, name: str) -> str:
        row = q.find_experiment(session, name)
        if row is None:
            raise NotFoundError(f"no experiment named {name!r}")
        return row.id

    def finish_run(
        self, run_id: str, status: RunStatus = RunStatus.COMPLETED, reason: str | None = None
    ) -> Run:
        """Move a run to `status` (completed, failed or canceled), with a reason if it failed."""
        return self.set_run_status(run_id, status, reason)

    def set_run_status(
        self,
        run_id: str,
        status: RunStatus,
        reason: str | None = None,
        *,
        owner: str | None = None,
    ) -> Run:
        """Move a run along its lifecycle; a finished run cannot change any more.

        A queued run that starts belongs to `owner` (as in `create_run`), else to this
        process.
        """
        status = RunStatus(status)
        now = self.now()
        with self.store.write() as session:
            row = self._row(session, run_id)
            current = RunStatus(row.status)
            if status not in _TRANSITIONS.get(current, set()):
                raise ConflictError(
                    f"run {run_id} is {current.value}; it cannot become {status.value}"
                )
            row.status = status.value
            if status is RunStatus.RUNNING:
                row.started_at, row.heartbeat_at, row.owner = now, now, owner or self.owner
            if status in TERMINAL_STATUSES:
                row.ended_at = now
                row.failure_reason = reason
            session.flush()
            run = q.to_runs(session, [row])[0]
        if status is RunStatus.RUNNING and owner is None:  # started here: our heartbeat
            self.heartbeat.start()
        return run

    # --- what a run records ----------------------------------------------------------------

    def log_metrics(self, run_id: str, metrics: Mapping[str, float], *, step: int = 0) -> int:
        """Record metric values (one step of each series); returns how many were written."""
        if not 0 <= step <= MAX_STEP:
            raise InvalidInputError(f"step must be from 0 to {MAX_STEP:,}, not {step}")
        at = self.now()
        points = [(check_name(k, "metric name"), v, step, at) for k, v in metrics.items()]
        with self.store.write() as session:
            self._writable(session, run_id)
            return q.insert_metrics(session, run_id, points)

    def log_metric_series(self, run_id: str, key: str, values: list[float]) -> int:
        """Record a whole series at once (steps 0, 1, 2, ...)."""
        check_name(key, "metric name")
        at = self.now()
        with self.store.write() as session:
            self._writable(session, run_id)
            return q.insert_metrics(
                session, run_id, ((key, v, i, at) for i, v in enumerate(values))
            )

    def log_params(self, run_id: str, params: Mapping[str, Any]) -> None:
        """Add parameters; a parameter already set cannot be changed to another value."""
        clean = _params(params)
        with self.store.write() as session:
            row = self._writable(session, run_id)
            _check_count(row.params, clean, MAX_PARAMS, "params")
            for key, value in clean.items():
                if key in row.params and row.params[key] != value:
                    raise ConflictError(
                        f"param {key!r} of run {run_id} is already {row.params[key]!r}"
                    )
            row.params = {**row.params, **clean}

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Add or replace tags (tags, unlike params, may change)."""
        clean = _tags(tags)
        with self.store.write() as session:
            row = self._row(session, run_id)
            _check_count(row.tags, clean, MAX_TAGS, "tags")
            row.tags = {**row.tags, **clean}

    def log_text(self, run_id: str, message: str, level: str = "info") -> None:
        """Append a line to the run's log."""
        if len(message) > MAX_LOG_CHARS:
            raise InvalidInputError(
                f"a log line is at most {MAX_LOG_CHARS:,} characters, not {len(message):,}"
            )
        with self.store.write() as session:
            self._row(session, run_id)
            q.add_log(session, run_id, level, message, self.now())

    def get_metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every value logged for `key`, by step."""
        with self.store.read() as session:
            self._row(session, run_id)
            return q.metric_history(session, run_id, key)

    def get_run_logs(self, run_id: str, *, tail: int | None = None) -> list[RunLog]:
        """The run's log lines, oldest first (only the last `tail` if given)."""
        with self.store.read() as session:
            self._row(session, run_id)
            return q.run_logs(session, run_id, tail)

    def log_artifact(self, run_id: str, path: str, data: bytes | str) -> str:
        """Store `data` as the run's artifact `path` (a finished run's artifacts are fixed);
        its checksum is recorded as written here. Returns its key."""
        payload = data.encode() if isinstance(data, str) else data
        key = f"runs/{run_id}/{path}"
        self.artifacts.path(key)  # a bad path is refused before anything is written
        if len(key) > MAX_KEY_CHARS:
            raise InvalidInputError(f"artifact path {path[:40]!r}... is too long")
        with self.store.write() as session:
            self._writable(session, run_id)
            self.artifacts.write_bytes(key, payload)
            digest = hashlib.sha256(payload).hexdigest()
            checksums.record(session, key, digest, len(payload), LOGGED, self.now())
        return key

    def log_json(self, run_id: str, path: str, value: Any) -> str:
        """Store `value` as a JSON artifact of the run."""
        return self.log_artifact(run_id, path, json.dumps(value, indent=2, default=str))

    def list_artifacts(self, run_id: str) -> list[str]:
        """The run's artifact paths, relative to the run."""
        self.get_run(run_id)
        prefix = f"runs/{run_id}"
        return [key.removeprefix(prefix + "/") for key in self.artifacts.list(prefix)]

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of one of the run's artifacts."""
        self.get_run(run_id)
        return self.artifacts.read_bytes(f"runs/{run_id}/{path}")

    # --- liveness --------------------------------------------------------------------------

    def check_liveness(self) -> int:
        """Fail running runs whose process is gone or silent; returns how many were failed."""
        now = self.now()
        with self.store.read() as session:
            dead = self._dead_owners(session, now)
        return self._fail_dead(dead, now)

    @contextmanager
    def _live_read(self) -> Iterator[Session]:
        """A read session after the liveness check, on every read: a dead process's runs
        are failed on the very next access (issue 3; rate-limiting the check lost that).

        The check's query runs in the read's own session rather than one of its own; only
        when it finds a dead process are its runs failed, and the read starts afresh.
        """
        now = self.now()
        with self.store.read() as session:
            dead = self._dead_owners(session, now)
            if not dead:
                yield session
                return
        self._fail_dead(dead, now)
        with self.store.read() as session:
            yield session

    def _dead_owners(self, session: Session, now: datetime) -> list[tuple[str | None, str]]:
        """(owner, why it is dead) for each other process whose runs cannot be running."""
        dead = []
        for owner, oldest_beat in q.live_owners(session):
            if owner == self.owner:
                continue
            reason = dead_reason(owner, oldest_beat, now, self.heartbeat_timeout_s)
            if reason is not None:
                dead.append((owner, reason))
        return dead

    def _fail_dead(self, dead: list[tuple[str | None, str]], now: datetime) -> int:
        failed = 0
        for owner, reason in dead:
            with self.store.write() as session:
                failed += q.fail_running(
                    session, owner=owner, stale_before=None, reason=reason, at=now
                )
        return failed

    def heartbeat_runs(self, owner: str) -> int:
        """Record that `owner` (a remote client) is alive: a heartbeat on each of its
        running runs; returns how many."""
        if owner == self.owner:
            raise InvalidInputError("this process beats for its own runs")
        with self.store.write() as session:
            return q.touch(session, owner, self.now())

    def beat(self) -> int:
        """Refresh the heartbeat of every run this process is running."""
        with self.store.write() as session:
            return q.touch(session, self.owner, self.now())

    def _row(self, session: Session, run_id: str) -> RunRow:
        row = q.find_run_row(session, run_id)
        if row is None:
            raise NotFoundError(f"no run with id {run_id!r}")
        return row

    def _writable(self, session: Session, run_id: str) -> RunRow:
        """The row of a run that may still change; a write to a run is a heartbeat too."""
        row = self._row(session, run_id)
        if RunStatus(row.status) in TERMINAL_STATUSES:
            raise ConflictError(f"run {run_id} is {row.status}; a finished run cannot change")
        if row.status == RunStatus.RUNNING:
            row.heartbeat_at = self.now()
        return row


def parse_where(where: str | None) -> tuple[q.Condition, ...]:
    """`metrics.auc > 0.9 and status = completed` -> conditions."""
    if not where or not where.strip():
        return ()
    if len(where) > MAX_WHERE_CHARS:
        raise InvalidInputError(f"where is longer than {MAX_WHERE_CHARS:,} characters")
    parts = _split_and(where)
    if len(parts) > MAX_CONDITIONS:
        raise InvalidInputError(
            f"where has {len(parts)} conditions; at most {MAX_CONDITIONS} may be combined"
        )
    conditions = []
    for part in parts:
        tokens = part.split(None, 2)
        if len(tokens) != 3:
            raise InvalidInputError(
                f"cannot read condition {part.strip()!r}: "
                "write FIELD OP VALUE, e.g. metrics.auc > 0.9"
            )
        field, op, value = tokens
        conditions.append(q.Condition(field, op, value.strip().strip("'\"")))
    return tuple(conditions)


def _split_and(where: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    for word in where.split(" "):
        if word.lower() == "and":
            parts.append(" ".join(current))
            current = []
        else:
            current.append(word)
    parts.append(" ".join(current))
    return [p for p in parts if p.strip()] or [where]


def _status(status: str) -> RunStatus:
    try:
        return RunStatus(status)
    except ValueError:
        names = ", ".join(s.value for s in RunStatus)
        raise InvalidInputError(f"unknown run status {status!r}; use one of {names}") from None


def _order(order_by: str | None) -> tuple[str, bool]:
    if not order_by:
        return "created_at", True
    field, _, direction = order_by.strip().partition(" ")
    direction = direction.strip().lower() or "desc"
    if direction not in ("asc", "desc"):
        raise InvalidInputError(f"order direction must be asc or desc, not {direction!r}")
    return field, direction == "desc"


def _params(params: Mapping[str, Any]) -> dict[str, Any]:
    _check_count(params, {}, MAX_PARAMS, "params")
    clean = {}
    for key, value in params.items():
        check_name(str(key), "param name")
        text = json.dumps(value, default=str)
        if len(text) > MAX_PARAM_CHARS:
            raise InvalidInputError(f"param {key!r} is longer than {MAX_PARAM_CHARS} characters")
        clean[str(key)] = json.loads(text)
    return clean


def _tags(tags: Mapping[str, str]) -> dict[str, str]:
    _check_count(tags, {}, MAX_TAGS, "tags")
    clean = {check_name(str(k), "tag name"): str(v) for k, v in tags.items()}
    for key, value in clean.items():
        if len(value) > MAX_TAG_CHARS:
            raise InvalidInputError(
                f"tag {key!r} is {len(value):,} characters long; at most {MAX_TAG_CHARS:,} "
                "are allowed"
            )
    return clean


def _check_length(text: str | None, most: int, what: str) -> None:
    if text is not None and len(text) > most:
        raise InvalidInputError(f"{what} is at most {most} characters, not {len(text):,}")


def _check_count(old: Mapping[str, Any], new: Mapping[str, Any], most: int, what: str) -> None:
    """Refuse more than `most` keys in `old` and `new` together, or more than
    `MAX_TOTAL_CHARS[what]` characters of them (every listing of runs carries them)."""
    count = len(old.keys() | new.keys())
    if count > most:
        raise InvalidInputError(f"a run may have at most {most} {what}, not {count}")
    size = len(json.dumps({**old, **new}, default=str))
    if size > MAX_TOTAL_CHARS[what]:
        raise InvalidInputError(
            f"a run's {what} may take at most {MAX_TOTAL_CHARS[what]:,} characters in all, "
            f"not {size:,}"
        )

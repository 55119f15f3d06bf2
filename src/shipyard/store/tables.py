"""ORM rows. Each converts to its entity at the store boundary (`to_entity`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shipyard.core.schemas import (
    Dataset,
    Experiment,
    Job,
    JobEvent,
    JobEventKind,
    JobStatus,
    ModelVersion,
    RunStatus,
)

ID = String(40)
NAME = String(255)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class ExperimentRow(Base):
    __tablename__ = "experiments"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

    def to_entity(self) -> Experiment:
        return Experiment(
            id=self.id, name=self.name, description=self.description, created_at=self.created_at
        )


class DatasetRow(Base):
    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    created_at: Mapped[datetime]


class DatasetVersionRow(Base):
    __tablename__ = "dataset_versions"
    __table_args__ = (
        UniqueConstraint("dataset_id", "version"),
        Index("ix_dataset_versions_hash", "dataset_id", "content_hash"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id"))
    name: Mapped[str] = mapped_column(NAME)
    version: Mapped[int]
    description: Mapped[str | None] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(Text)
    storage_path: Mapped[str] = mapped_column(Text)
    rows: Mapped[int]
    columns: Mapped[int]
    profile: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]

    def to_entity(self) -> Dataset:
        return Dataset(
            id=self.id,
            name=self.name,
            version=self.version,
            description=self.description,
            content_hash=self.content_hash,
            source=self.source,
            rows=self.rows,
            columns=self.columns,
            created_at=self.created_at,
        )


class RunRow(Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_experiment_created", "experiment_id", "created_at"),
        # The default listing (newest first) reads a page off this index instead of sorting
        # every run.
        Index("ix_runs_created", "created_at", "id"),
        Index("ix_runs_parent", "parent_id"),
        Index("ix_runs_status", "status"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    experiment_id: Mapped[str] = mapped_column(ForeignKey("experiments.id"))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"))
    name: Mapped[str | None] = mapped_column(NAME)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]]
    tags: Mapped[dict[str, Any]]
    dataset_version_id: Mapped[str | None] = mapped_column(ForeignKey("dataset_versions.id"))
    model_path: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(255))  # host:pid:start of the writer
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]

    @property
    def run_status(self) -> RunStatus:
        return RunStatus(self.status)


class MetricRow(Base):
    """Every logged value: the history of each metric (series)."""

    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_run_key_step", "run_id", "key", "step"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"))
    key: Mapped[str] = mapped_column(NAME)
    value: Mapped[float] = mapped_column(Float)
    step: Mapped[int]
    timestamp: Mapped[datetime]


class LatestMetricRow(Base):
    """The latest value of each metric of each run: what listings show and sort by."""

    __tablename__ = "latest_metrics"
    __table_args__ = (Index("ix_latest_metrics_key_value", "key", "value"),)

    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    key: Mapped[str] = mapped_column(NAME, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    step: Mapped[int]


class ChangeCounterRow(Base):
    """A number that moves on with every change to what a run listing shows (SQLite: kept
    by triggers, see migration 0005), so a listing can be answered from a cache."""

    __tablename__ = "change_counters"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)


class RunLogRow(Base):
    __tablename__ = "run_logs"
    __table_args__ = (Index("ix_run_logs_run", "run_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id"))
    timestamp: Mapped[datetime]
    level: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)


class RegisteredModelRow(Base):
    __tablename__ = "registered_models"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ModelVersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    model_id: Mapped[str] = mapped_column(ForeignKey("registered_models.id"))
    name: Mapped[str] = mapped_column(NAME)
    version: Mapped[int]
    description: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[dict[str, Any]]
    metrics: Mapped[dict[str, Any]]
    descriptor: Mapped[dict[str, Any]]
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"))
    dataset: Mapped[str | None] = mapped_column(String(300))
    task: Mapped[str | None] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(NAME)
    learner: Mapped[str | None] = mapped_column(String(64))
    storage_path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    def to_entity(self) -> ModelVersion:
        return ModelVersion(
            id=self.id,
            name=self.name,
            version=self.version,
            description=self.description,
            tags=self.tags,
            metrics=self.metrics,
            run_id=self.run_id,
            dataset=self.dataset,
            task=self.task,
            target=self.target,
            learner=self.learner,
            descriptor=self.descriptor,
            created_at=self.created_at,
        )


class ArtifactFileRow(Base):
    """A file the workspace stored: its checksum and size, computed as the workspace wrote
    it (never taken from the uploader), and which path wrote it (engine, log_artifact,
    registry or upload)."""

    __tablename__ = "artifact_files"

    key: Mapped[str] = mapped_column(String(1024), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    written_by: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class EndpointRow(Base):
    """A real-time endpoint: what should run (desired) and what the supervisor saw (state)."""

    __tablename__ = "endpoints"
    # One live endpoint per port (issue 10): a partial unique index, on SQLite and PostgreSQL.
    __table_args__ = (
        Index(
            "ux_endpoints_live_port",
            "port",
            unique=True,
            sqlite_where=text("desired = 'running'"),
            postgresql_where=text("desired = 'running'"),
        ),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    model_name: Mapped[str] = mapped_column(NAME)
    model_version: Mapped[int]
    state: Mapped[str] = mapped_column(String(16))
    desired: Mapped[str] = mapped_column(String(16))  # running or deleted
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int]
    workers: Mapped[int]
    auth_mode: Mapped[str] = mapped_column(String(8))
    key_hashes: Mapped[dict[str, Any]]  # {"primary": "sha256:...", "secondary": "..."}
    key_generations: Mapped[dict[str, Any]]  # {"primary": 1, "secondary": 1}
    logging: Mapped[bool]
    sample_rate: Mapped[float] = mapped_column(Float)
    pids: Mapped[dict[str, Any]]  # {"pids": [...]} as seen by the supervisor
    restarts: Mapped[int]
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    healthy_at: Mapped[datetime | None]


class PrincipalRow(Base):
    """A service principal: a role and the hash of its client secret."""

    __tablename__ = "principals"

    id: Mapped[str] = mapped_column(ID, primary_key=True)  # also the client id
    name: Mapped[str] = mapped_column(NAME, unique=True)
    role: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]
    rotated_at: Mapped[datetime | None]  # tokens issued before it are revoked


class TokenRevocationRow(Base):
    """Tokens of a principal issued before `not_before` are refused (secret rotated or
    principal deleted); kept while such tokens could still be unexpired."""

    __tablename__ = "token_revocations"

    principal_id: Mapped[str] = mapped_column(ID, primary_key=True)  # no FK: may be deleted
    not_before: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(16))  # rotated | deleted


class AuthThrottleRow(Base):
    """Failed client-credential attempts from one source address, for one client id or
    (client id `*`) for any: a stranger locks out only their own address."""

    __tablename__ = "auth_throttles"

    client_id: Mapped[str] = mapped_column(ID, primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int]
    window_start: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class JobRow(Base):
    """Work for a worker process: queued until claimed, then heartbeating until done."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_created", "status", "created_at"),)

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]]
    run_id: Mapped[str | None] = mapped_column(ForeignKey("runs.id"))
    attempts: Mapped[int]
    max_attempts: Mapped[int]
    worker: Mapped[str | None] = mapped_column(String(255))
    cancel_requested: Mapped[bool]
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    def to_entity(self) -> Job:
        return Job(
            id=self.id,
            kind=self.kind,
            status=JobStatus(self.status),
            payload=self.payload,
            run_id=self.run_id,
            attempts=self.attempts,
            max_attempts=self.max_attempts,
            worker=self.worker,
            cancel_requested=self.cancel_requested,
            error=self.error,
            created_by=self.created_by,
            created_at=self.created_at,
            claimed_at=self.claimed_at,
            heartbeat_at=self.heartbeat_at,
            finished_at=self.finished_at,
        )


class JobEventRow(Base):
    """One event of a job; `seq` counts 1, 2, ... within the job (see `store.jobs`)."""

    __tablename__ = "job_events"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]

    def to_entity(self) -> JobEvent:
        return JobEvent(
            job_id=self.job_id,
            seq=self.seq,
            kind=JobEventKind(self.kind),
            payload=self.payload,
            created_at=self.created_at,
        )

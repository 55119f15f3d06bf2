"""Request bodies of the REST API, and the few answers that are not core entities.

Bodies are named for the entity and the action (`RunCreate`, `EndpointUpdate`); unknown
fields are refused (422) so a misspelt option is never silently ignored.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shipyard.core.schemas import RunStatus


class Body(BaseModel):
    """Base of every request body: unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class Health(BaseModel):
    """Public: up or not, nothing more (no version or process details; issue 10)."""

    status: str = "ok"


class ExperimentCreate(Body):
    name: str
    description: str | None = None


class RunCreate(Body):
    experiment: str
    name: str | None = None
    kind: str = "run"
    parent_id: str | None = None
    params: dict[str, Any] = {}
    tags: dict[str, str] = {}
    status: RunStatus = RunStatus.RUNNING
    dataset_version_id: str | None = None


class RunStatusUpdate(Body):
    status: RunStatus
    reason: str | None = None


class MetricsLog(Body):
    metrics: dict[str, float]
    step: int = 0


class MetricSeriesLog(Body):
    key: str
    values: list[float]


class ParamsLog(Body):
    params: dict[str, Any]


class TagsSet(Body):
    tags: dict[str, str]


class RunLogCreate(Body):
    message: str
    level: str = "info"


class Written(BaseModel):
    """How many values a logging call stored."""

    written: int


class Refreshed(BaseModel):
    """How many running runs of the calling client a heartbeat kept alive."""

    refreshed: int


class ArtifactWritten(BaseModel):
    path: str


class ModelCreate(Body):
    name: str
    run_id: str
    description: str | None = None
    tags: dict[str, str] = {}


class EndpointCreate(Body):
    name: str
    model: str = Field(description="NAME or NAME:VERSION of a registered model")
    auth_mode: str = "key"
    workers: int = 1
    logging: bool = False
    sample_rate: float = 0.0
    host: str = "127.0.0.1"
    port: int | None = None


class EndpointUpdate(Body):
    model: str | None = None
    workers: int | None = None
    logging: bool | None = None
    sample_rate: float | None = None


class EndpointTokenCreate(Body):
    ttl_s: int = 3600


class EndpointLogs(BaseModel):
    name: str
    lines: list[str]


class PrincipalCreate(Body):
    name: str
    role: str = Field(description="owner, contributor or reader")


class AutoMLJobCreate(Body):
    dataset: str = Field(description="NAME or NAME:VERSION of a registered dataset")
    settings: dict[str, Any] = Field(description="AutoML settings, e.g. target and budget_s")
    experiment: str = "automl"
    max_attempts: int = 2

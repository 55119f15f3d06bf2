"""Real-time endpoints: a registered model served over REST on its own port."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict


class EndpointState(StrEnum):
    """creating -> healthy -> unhealthy (answers no health check) / failed -> deleted."""

    CREATING = "creating"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"
    FAILED = "failed"
    DELETING = "deleting"
    DELETED = "deleted"


class Endpoint(BaseModel):
    """What `shipyard endpoint show` reports."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    state: EndpointState
    model: str  # NAME:VERSION
    scoring_uri: str
    swagger_uri: str
    health_uri: str
    host: str
    port: int
    workers: int
    auth_mode: str
    logging: bool
    sample_rate: float
    restarts: int
    failure_reason: str | None = None
    created_at: datetime
    updated_at: datetime
    healthy_at: datetime | None = None


class EndpointKeys(BaseModel):
    """The two keys of a key-auth endpoint (either one works)."""

    model_config = ConfigDict(frozen=True)

    name: str
    primary_key: str
    secondary_key: str

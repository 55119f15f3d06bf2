"""The model registry: named models with numbered, immutable versions and their lineage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class ModelVersion(BaseModel):
    """One registered version of a model, with where it came from."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    version: int
    description: str | None = None
    tags: dict[str, str] = {}
    metrics: dict[str, float] = {}
    run_id: str | None = None
    dataset: str | None = None  # NAME:VERSION it was trained on
    task: str | None = None
    target: str | None = None
    learner: str | None = None
    descriptor: dict[str, Any] = {}  # input schema, example row, classes, library versions
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"


class RegisteredModel(BaseModel):
    """A model name and its latest version."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    description: str | None = None
    latest_version: int
    versions: int
    created_at: datetime
    updated_at: datetime

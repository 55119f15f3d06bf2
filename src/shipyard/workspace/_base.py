"""What every group of workspace operations shares: the store, the artifacts, the clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from shipyard.store import ArtifactStore, ConstraintError, Store
from shipyard.workspace.liveness import HEARTBEAT_TIMEOUT_S, Heartbeat
from shipyard.workspace.secrets import WorkspaceSecrets, load_or_create

T = TypeVar("T")


class WorkspaceBase:
    """The state behind a workspace; the operation mixins read it, only `open` builds it."""

    folder: Path  # holds secrets.json and the supervisor lock
    store: Store
    artifacts: ArtifactStore
    owner: str
    heartbeat: Heartbeat
    heartbeat_timeout_s: float = HEARTBEAT_TIMEOUT_S

    @property
    def secrets(self) -> WorkspaceSecrets:
        """The workspace's master key and token key pair (created on first use, then kept)."""
        cached: WorkspaceSecrets | None = self.__dict__.get("_secrets")
        if cached is None:
            cached = self.__dict__["_secrets"] = load_or_create(self.folder)
        return cached

    @staticmethod
    def retrying(write: Callable[[], T], attempts: int = 3) -> T:
        """Run `write`, again if another writer took the same name or number first."""
        for attempt in range(attempts):
            try:
                return write()
            except ConstraintError:
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

"""What every group of workspace operations shares: the store, the artifacts, the clock."""

from __future__ import annotations

from datetime import UTC, datetime

from shipyard.store import ArtifactStore, Store
from shipyard.workspace.liveness import HEARTBEAT_TIMEOUT_S, Heartbeat


class WorkspaceBase:
    """The state behind a workspace; the operation mixins read it, only `open` builds it."""

    store: Store
    artifacts: ArtifactStore
    owner: str
    heartbeat: Heartbeat
    heartbeat_timeout_s: float = HEARTBEAT_TIMEOUT_S

    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

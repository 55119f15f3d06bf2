"""`LocalWorkspace`: every workspace operation, in this process, over a store and artifacts.

A workspace folder holds `shipyard.db` (SQLite) and `artifacts/`. A team points the same
code at PostgreSQL with `db_url`, keeping artifacts in a shared folder.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import TracebackType

from shipyard.store import ArtifactStore, open_store
from shipyard.workspace._privileges import make_private
from shipyard.workspace.automl import AutoMLOperations
from shipyard.workspace.datasets import DatasetOperations
from shipyard.workspace.endpoints import EndpointOperations
from shipyard.workspace.jobs import JobOperations
from shipyard.workspace.liveness import (
    HEARTBEAT_INTERVAL_S,
    HEARTBEAT_TIMEOUT_S,
    Heartbeat,
    current_owner,
)
from shipyard.workspace.models import ModelOperations
from shipyard.workspace.principals import PrincipalOperations
from shipyard.workspace.runs import RunOperations
from shipyard.workspace.secrets import SECRETS_FILE
from shipyard.workspace.supervisor import LOCK_FILE, LOG_FILE, ensure_running

DB_FILE = "shipyard.db"
ARTIFACTS_DIR = "artifacts"
# Files of the workspace folder only the server's user may read: keys, the owner's
# client secret, the database (its journal files too), and logs that may quote anything.
PRIVATE_FILES = (
    SECRETS_FILE,
    "config.json",
    DB_FILE,
    f"{DB_FILE}-wal",
    f"{DB_FILE}-shm",
    LOG_FILE,
    LOCK_FILE,
    "server.log",
)


class LocalWorkspace(
    DatasetOperations,
    RunOperations,
    AutoMLOperations,
    ModelOperations,
    EndpointOperations,
    PrincipalOperations,
    JobOperations,
):
    """Datasets, experiments and runs, AutoML, the model registry and endpoints."""

    def __init__(
        self,
        folder: Path,
        store_url: str,
        artifacts: ArtifactStore,
        *,
        heartbeat_interval_s: float = HEARTBEAT_INTERVAL_S,
        heartbeat_timeout_s: float = HEARTBEAT_TIMEOUT_S,
    ) -> None:
        self.folder = folder
        self.store = open_store(store_url)
        self.artifacts = artifacts
        self.owner = current_owner()
        self.heartbeat = Heartbeat(self.beat, heartbeat_interval_s)
        self.heartbeat_timeout_s = heartbeat_timeout_s

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        db_url: str | None = None,
        artifacts: str | Path | None = None,
        heartbeat_timeout_s: float = HEARTBEAT_TIMEOUT_S,
    ) -> LocalWorkspace:
        """Open (creating if needed) the workspace in folder `path`.

        Args:
            db_url: a database URL instead of `path/shipyard.db` (e.g. PostgreSQL).
            artifacts: the artifact folder instead of `path/artifacts`.
        """
        folder = Path(path)
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        _make_folder_private(folder)
        url = db_url or f"sqlite:///{(folder / DB_FILE).resolve()}"
        store = ArtifactStore(Path(artifacts) if artifacts else folder / ARTIFACTS_DIR)
        return cls(folder.resolve(), url, store, heartbeat_timeout_s=heartbeat_timeout_s)

    def ensure_supervisor(self) -> None:
        """Start the background endpoint supervisor of this workspace if none runs."""
        ensure_running(self.folder, self.store.url, self.artifacts.root.resolve())

    def close(self) -> None:
        """Stop the heartbeat and release database connections."""
        self.heartbeat.stop()
        self.store.dispose()

    def __enter__(self) -> LocalWorkspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalWorkspace({self.store.url!r}, artifacts={str(self.artifacts.root)!r})"


def _make_folder_private(folder: Path) -> None:
    """Nobody else may list the workspace folder or read its secret files.

    Group and others lose read and write on the folder but keep search (x): 0755 becomes
    0711. When the server runs as root, the supervisor narrows it to 0710 with the
    runner's group (see `_privileges`): the runner passes through to `artifacts/` (models,
    its endpoint folder) by name, cannot list the folder, and cannot open the files below,
    which are 0600 (workspaces made before this rule are fixed here, on open).
    """
    info = folder.stat()
    if info.st_uid != os.geteuid():
        return  # someone else's folder (a team's): theirs to set
    if stat.S_IMODE(info.st_mode) & 0o066:
        folder.chmod(stat.S_IMODE(info.st_mode) & ~0o066)
    make_private(*(folder / name for name in PRIVATE_FILES))

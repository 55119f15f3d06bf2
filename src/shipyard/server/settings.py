"""What a server is started with: where it listens and which workspace it serves."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shipyard.core.errors import InvalidInputError
from shipyard.workspace import LocalWorkspace

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8470
CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class ServerSettings:
    """Listening address, workspace location and the background work the server runs.

    `workspace` holds the token keys and the supervisor lock even when `db_url` and
    `artifacts` put the database and the files elsewhere (a team's PostgreSQL and share).
    """

    workspace: Path = Path(".shipyard")
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    db_url: str | None = None
    artifacts: Path | None = None
    workers: int = 0  # job worker processes started with the server
    config_path: Path | None = None  # where the first owner's credentials go
    supervise: bool = True  # run the endpoint supervisor in the server process

    def __post_init__(self) -> None:
        if self.workers < 0:
            raise InvalidInputError("workers must be 0 or more")
        if self.workers and self.artifacts is not None:
            # `shipyard worker` finds artifacts in its workspace folder only, so its models
            # would land where this server does not look.
            raise InvalidInputError(
                "--workers cannot be combined with --artifacts yet; start the server without "
                "--workers and run workers whose workspace folder holds the artifacts"
            )

    @property
    def url(self) -> str:
        """The address clients use (a wildcard host is reached through loopback)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.config_path or self.workspace / CONFIG_FILE

    def open_workspace(self) -> LocalWorkspace:
        """Open the workspace, bringing its database schema up to date (or refusing it)."""
        return LocalWorkspace.open(self.workspace, db_url=self.db_url, artifacts=self.artifacts)

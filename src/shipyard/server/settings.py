"""What a server is started with: where it listens and which workspace it serves."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.core.errors import InvalidInputError
from shipyard.core.settings import DB_URL_ENV, DEFAULT_HOST, DEFAULT_PORT
from shipyard.workspace.jobs import JobLimits
from shipyard.workspace.liveness import PARENT_PID_ENV

if TYPE_CHECKING:
    from shipyard.workspace.local import LocalWorkspace

CONFIG_FILE = "config.json"
ANSWER_CACHE_ENV = "SHIPYARD_ANSWER_CACHE"
# Upload bounds (issue 10): the largest dataset upload (as sent, and as CSV text once
# decompressed) and the most columns a dataset may have.
MAX_UPLOAD_ENV = "SHIPYARD_MAX_UPLOAD_MB"
MAX_COLUMNS_ENV = "SHIPYARD_MAX_COLUMNS"
DEFAULT_MAX_UPLOAD_MB = 64
DEFAULT_MAX_COLUMNS = 2_000


def env_int(name: str, default: int) -> int:
    """An integer setting from the environment (`default` when unset)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInputError(f"{name} must be a whole number, not {raw!r}") from None


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
    api_processes: int = 1  # processes answering requests on the port (this one included)
    join_port: bool = False  # this process is one more API process of a running server
    listen_fd: int | None = None  # the listening socket, inherited by further API processes
    # Interfaces endpoints may listen on besides loopback (`--endpoint-host`, repeatable).
    endpoint_hosts: tuple[str, ...] = ()
    # Repeated listings answered from memory while the data is unchanged; off with
    # SHIPYARD_ANSWER_CACHE=off (to measure or rule it out).
    answer_cache: bool = field(
        default_factory=lambda: (
            os.environ.get(ANSWER_CACHE_ENV, "on").lower() not in ("0", "off", "false", "no")
        )
    )
    max_upload_mb: int = field(
        default_factory=lambda: env_int(MAX_UPLOAD_ENV, DEFAULT_MAX_UPLOAD_MB)
    )
    max_columns: int = field(default_factory=lambda: env_int(MAX_COLUMNS_ENV, DEFAULT_MAX_COLUMNS))
    # Ceilings on queued AutoML jobs (`--max-budget`, `--max-trials`; issue 10 finding 9).
    job_limits: JobLimits = field(default_factory=JobLimits.from_env)

    def __post_init__(self) -> None:
        if not 1 <= self.max_upload_mb <= 1_048_576:
            raise InvalidInputError("max upload must be from 1 MiB to 1 TiB (1048576 MiB)")
        if not 1 <= self.max_columns <= 1_000_000:
            raise InvalidInputError("max columns must be from 1 to 1,000,000")
        if self.workers < 0:
            raise InvalidInputError("workers must be 0 or more")
        if self.api_processes < 1:
            raise InvalidInputError("api processes must be 1 or more")

    def child_argv(self) -> list[str]:
        """The workspace arguments of a child process (`--workspace`, `--artifacts`)."""
        argv = ["--workspace", str(self.workspace)]
        return argv + (["--artifacts", str(self.artifacts)] if self.artifacts else [])

    def child_env(self) -> dict[str, str]:
        """A child process's environment: this one's, with the server's database URL (if
        any) and pid (the child stops when this process is gone)."""
        env = {k: v for k, v in os.environ.items() if k != DB_URL_ENV}
        env[PARENT_PID_ENV] = str(os.getpid())
        env[MAX_UPLOAD_ENV] = str(self.max_upload_mb)
        env[MAX_COLUMNS_ENV] = str(self.max_columns)
        env.update(self.job_limits.to_env())
        return env | ({DB_URL_ENV: self.db_url} if self.db_url else {})

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
        from shipyard.workspace.local import LocalWorkspace  # the service layer, on start

        ws = LocalWorkspace.open(self.workspace, db_url=self.db_url, artifacts=self.artifacts)
        # Over REST, endpoints listen on loopback or an interface the owner allowed, and
        # never on the server's own port.
        ws.endpoint_hosts = frozenset(self.endpoint_hosts)
        ws.reserved_ports = {self.port: "the Shipyard server"}
        return ws

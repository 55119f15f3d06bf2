"""Which workspace a command works on: a folder in this process, or a server over HTTP.

The folder is `--workspace DIR`, else `$SHIPYARD_WORKSPACE`, else `./.shipyard`; `--db URL`
replaces its SQLite file by another database (PostgreSQL for a team), the artifacts
staying in the folder.

A command talks to a server instead when it is given `--server URL`, or finds a config
file naming one (keys `server`, `client_id`, `client_secret`, as `shipyard server start`
writes it): `--config PATH`, else `$SHIPYARD_CONFIG` (unless `--workspace` names a
folder), else `config.json` in the workspace folder. `--server` takes its credentials
from that same file. `--db` always means the folder's workspace, in this process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeAlias

import typer

from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    from shipyard.core.schemas import PrincipalCredentials
    from shipyard.sdk import ServerWorkspace
    from shipyard.workspace import LocalWorkspace

    AnyWorkspace: TypeAlias = LocalWorkspace | ServerWorkspace

WORKSPACE_ENV = "SHIPYARD_WORKSPACE"
CONFIG_ENV = "SHIPYARD_CONFIG"
DEFAULT_WORKSPACE = Path(".shipyard")
CONFIG_FILE = "config.json"


WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        metavar="DIR",
        help=f"Workspace folder (default: ${WORKSPACE_ENV}, else ./.shipyard).",
        show_default=False,
    ),
]
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database URL instead of the workspace's SQLite file, e.g. "
        "postgresql+psycopg://user@host/db (artifacts stay in the workspace folder).",
        show_default=False,
    ),
]
ArtifactsOption = Annotated[
    Path | None,
    typer.Option(
        "--artifacts",
        metavar="DIR",
        help="Artifact folder instead of the workspace's (a team's shared folder; a worker "
        "takes the one its server was started with).",
        show_default=False,
    ),
]
ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        metavar="URL",
        help="Work on the workspace this Shipyard server serves, e.g. http://127.0.0.1:8470 "
        "(credentials from the config file, see --config).",
        show_default=False,
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="PATH",
        help=f"Server and credentials file (default: ${CONFIG_ENV}, else config.json in the "
        "workspace folder, if there is one).",
        show_default=False,
    ),
]


@dataclass(frozen=True)
class Target:
    """Where a command works: a workspace folder (with a database), or a server."""

    folder: Path
    db: str | None = None
    config: Path | None = None  # set: the server this file names (or `server`)
    server: str | None = None

    @property
    def is_remote(self) -> bool:
        return self.config is not None


def workspace_dir(option: Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """The workspace folder: the option if given, else `$SHIPYARD_WORKSPACE`, else `./.shipyard`."""
    if option is not None:
        return option
    env = os.environ if environ is None else environ
    value = env.get(WORKSPACE_ENV, "").strip()
    return Path(value) if value else DEFAULT_WORKSPACE


def choose_target(
    workspace: Path | None,
    db: str | None = None,
    server: str | None = None,
    config: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """The workspace the options (and environment) point at; see the module docstring."""
    env = os.environ if environ is None else environ
    folder = workspace_dir(workspace, env)
    if db and (server or config):
        raise InvalidInputError(
            "--db opens a database from this process, --server and --config talk to a "
            "server: give one or the other"
        )
    if db:
        return Target(folder, db=db)
    found = _config_file(config, workspace, folder, env)
    if server and found is None:
        raise InvalidInputError(
            f"--server {server} needs credentials: a config file with client_id and "
            f"client_secret (--config PATH, ${CONFIG_ENV}, or {folder / CONFIG_FILE}); "
            "an owner makes them with `shipyard sp create NAME --role contributor --json`"
        )
    return Target(folder, config=found, server=server or None)


def open_workspace(
    workspace: Path | None,
    db: str | None = None,
    server: str | None = None,
    config: Path | None = None,
) -> AnyWorkspace:
    """Open the workspace a command was pointed at (a folder is created if needed).

    Both kinds close with `with`.
    """
    # The service layer loads when a command opens a workspace, not when the CLI starts.
    target = choose_target(workspace, db, server, config)
    if target.config is not None:
        from shipyard.sdk import Workspace

        return Workspace.from_config(target.config, server=target.server)
    from shipyard.workspace import LocalWorkspace

    return LocalWorkspace.open(target.folder, db_url=target.db)


def open_local_workspace(
    workspace: Path | None,
    db: str | None = None,
    *,
    artifacts: Path | None = None,
    server: str | None = None,
    why: str = "",
) -> LocalWorkspace:
    """The folder's workspace in this process, for commands that cannot work through a server.

    A config file naming a server is not looked for; `--server` is refused, saying `why`.
    """
    from shipyard.workspace import LocalWorkspace  # loaded by the command, as above

    if server:
        raise InvalidInputError(f"--server does not work here: {why}")
    return LocalWorkspace.open(workspace_dir(workspace), db_url=db or None, artifacts=artifacts)


def workspace_flags(
    workspace: Path | None,
    db: str | None = None,
    server: str | None = None,
    config: Path | None = None,
) -> str:
    """The flags that point another command at the same workspace (empty for the default)."""
    flags = f" --workspace {workspace}" if workspace is not None else ""
    flags += f" --db '{db}'" if db else ""
    flags += f" --server {server}" if server else ""
    return flags + (f" --config {config}" if config is not None else "")


def write_config(path: Path, server: str, credentials: PrincipalCredentials) -> None:
    """Write the client configuration (`server`, `client_id`, `client_secret`), mode 600."""
    document = {
        "server": server,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as out:
        json.dump(document, out, indent=2)
        out.write("\n")


def refresh_config(
    workspace: Path | None,
    db: str | None,
    server: str | None,
    config: Path | None,
    credentials: PrincipalCredentials,
) -> Path | None:
    """After a rotation: put the new secret into the config file the command used (or the
    workspace folder's) if that file holds the rotated principal; the file, or None."""
    target = choose_target(workspace, db, server, config)
    path = target.config or target.folder / CONFIG_FILE
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("client_id") != credentials.client_id:
        return None
    write_config(path, str(document.get("server", "")), credentials)
    return path


def _config_file(
    option: Path | None, workspace: Path | None, folder: Path, env: Mapping[str, str]
) -> Path | None:
    """The config file to use: the option, else the variable, else the folder's if present."""
    if option is not None:
        return _existing(option, "--config")
    named = env.get(CONFIG_ENV, "").strip()
    if named and workspace is None:  # an explicit --workspace is a folder, not the variable
        return _existing(Path(named), f"${CONFIG_ENV}")
    candidate = folder / CONFIG_FILE
    return candidate if candidate.is_file() else None


def _existing(path: Path, source: str) -> Path:
    if not path.is_file():
        raise InvalidInputError(f"no config file at {path} (from {source})")
    return path

"""Which workspace a command works on: `--workspace`, then `SHIPYARD_WORKSPACE`, then `./.shipyard`.

`--db URL` replaces the workspace's SQLite file by another database (PostgreSQL for a
team); the artifacts stay in the workspace folder either way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import typer

from shipyard.workspace import LocalWorkspace

WORKSPACE_ENV = "SHIPYARD_WORKSPACE"
DEFAULT_WORKSPACE = Path(".shipyard")

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


def workspace_dir(option: Path | None, environ: Mapping[str, str] | None = None) -> Path:
    """The workspace folder: the option if given, else `$SHIPYARD_WORKSPACE`, else `./.shipyard`."""
    if option is not None:
        return option
    env = os.environ if environ is None else environ
    value = env.get(WORKSPACE_ENV, "").strip()
    return Path(value) if value else DEFAULT_WORKSPACE


def open_workspace(option: Path | None, db: str | None = None) -> LocalWorkspace:
    """Open (creating if needed) the workspace a command was pointed at; close it when done."""
    return LocalWorkspace.open(workspace_dir(option), db_url=db or None)


def workspace_flags(option: Path | None, db: str | None = None) -> str:
    """The flags that point another command at the same workspace (empty for the default)."""
    flags = f" --workspace {option}" if option is not None else ""
    return flags + (f" --db '{db}'" if db else "")

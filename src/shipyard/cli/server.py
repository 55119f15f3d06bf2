"""`shipyard server start`: the control-plane server over a workspace (REST API and docs).

The first start creates the workspace's owner principal, shows its secret once and
writes it with the server's address to `config.json` (mode 600), the file that the CLI
and SDK read to reach the server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from shipyard.cli import render
from shipyard.cli._workspace import DbOption, WorkspaceOption, workspace_dir
from shipyard.core.schemas import PrincipalCredentials
from shipyard.server import ServerSettings, create_app
from shipyard.server.settings import DEFAULT_HOST, DEFAULT_PORT

app = typer.Typer(
    name="server",
    help="The control-plane server: the workspace over REST, for teams and automation.",
    no_args_is_help=True,
)


@app.command("start")
def start(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    artifacts: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Artifact folder instead of the workspace's (a team's shared folder).",
            show_default=False,
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=0, max=64, help="Job worker processes to run with the server.")
    ] = 0,
    config: Annotated[
        Path | None,
        typer.Option(
            metavar="PATH",
            help="Where the first owner's credentials go (default: DIR/config.json).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Serve the workspace at http://HOST:PORT (REST under /api/v1, Swagger UI at /docs).

    Runs the database migrations first and refuses a database written by a newer
    Shipyard. The server supervises the workspace's endpoints while it runs. Stop it
    with Ctrl+C.
    """
    settings = ServerSettings(
        workspace=workspace_dir(workspace),
        host=host,
        port=port,
        db_url=db or None,
        artifacts=artifacts,
        workers=workers,
        config_path=config,
    )
    with settings.open_workspace() as ws:
        credentials = ws.ensure_owner()
    console = Console()
    if credentials is not None:
        write_config(settings.config_file, settings.url, credentials)
        show_owner(console, credentials, settings.config_file)
    elif not settings.config_file.exists():
        render.say(
            console,
            f"No {settings.config_file}: the owner's secret was shown at the first start. "
            "A new one: shipyard sp rotate owner (the old one stops working).",
        )
    render.say(console, f"Shipyard server on {settings.url} (docs: {settings.url}/docs)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


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


def show_owner(console: Console, credentials: PrincipalCredentials, config: Path) -> None:
    """The owner's credentials, shown this once."""
    render.say(
        console,
        "Created the workspace owner (shown once; the secret is stored only as a hash):",
        f"  client id:     {credentials.client_id}",
        f"  client secret: {credentials.client_secret}",
        f"Saved to {config} (mode 600); the CLI and SDK read it to reach this server.",
    )

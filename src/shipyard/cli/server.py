"""`shipyard server start`: the control-plane server over a workspace (REST API and docs).

The first start creates the workspace's owner principal and writes its client id and
secret with the server's address to `config.json` (mode 600), the file that the CLI and
SDK read to reach the server. The secret is never printed: a server's output often ends
up in a log file or a terminal scrollback that others can read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from shipyard.automl.catalog import MAX_BUDGET_S, MAX_TRIALS
from shipyard.cli import render
from shipyard.cli._workspace import (
    ArtifactsOption,
    DbOption,
    WorkspaceOption,
    workspace_dir,
    write_config,
)

if TYPE_CHECKING:
    from shipyard.core.schemas import PrincipalCredentials
    from shipyard.workspace.jobs import JobLimits
from shipyard.core.settings import DEFAULT_HOST, DEFAULT_PORT, MAX_BUDGET_ENV, MAX_TRIALS_ENV

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
    artifacts: ArtifactsOption = None,
    workers: Annotated[
        int, typer.Option(min=0, max=64, help="Job worker processes to run with the server.")
    ] = 0,
    api_processes: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Processes answering API requests on the port (the kernel spreads "
            "connections across them). One per core suits many concurrent clients.",
        ),
    ] = 1,
    endpoint_host: Annotated[
        list[str] | None,
        typer.Option(
            metavar="ADDR",
            help="An interface endpoints deployed over REST may listen on besides loopback "
            "(e.g. 0.0.0.0 for every one); repeat the option for several.",
            show_default=False,
        ),
    ] = None,
    max_budget: Annotated[
        float | None,
        typer.Option(
            min=1,
            max=MAX_BUDGET_S,
            envvar=MAX_BUDGET_ENV,
            metavar="SECONDS",
            help="Longest budget_s an AutoML job may ask for.  [default: 86400 (24 h)]",
            show_default=False,
        ),
    ] = None,
    max_trials: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=MAX_TRIALS,
            envvar=MAX_TRIALS_ENV,
            help="Most max_trials an AutoML job may ask for.  [default: 10000]",
            show_default=False,
        ),
    ] = None,
    max_upload_mb: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1_048_576,
            envvar="SHIPYARD_MAX_UPLOAD_MB",
            help="Largest upload (dataset, model or artifact), in MiB, as sent and, for a "
            "dataset, as CSV text once decompressed (other requests: 4 MiB). Reading a "
            "dataset takes memory a few times this size.  [default: 64]",
            show_default=False,
        ),
    ] = None,
    max_columns: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1_000_000,
            envvar="SHIPYARD_MAX_COLUMNS",
            help="Most columns a dataset may have.  [default: 2000]",
            show_default=False,
        ),
    ] = None,
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
    Shipyard. The server supervises the workspace's endpoints and runs the job workers
    while it runs. Stop it with Ctrl+C.
    """
    # The server, its web stack and the workspace load for this command only.
    from shipyard.server.serve import serve
    from shipyard.server.settings import ServerSettings
    from shipyard.serving.sockets import listen_socket

    bounds = {"max_upload_mb": max_upload_mb, "max_columns": max_columns}
    settings = ServerSettings(
        workspace=workspace_dir(workspace),
        host=host,
        port=port,
        db_url=db or None,
        artifacts=artifacts,
        workers=workers,
        api_processes=api_processes,
        config_path=config,
        endpoint_hosts=tuple(endpoint_host or ()),
        job_limits=job_limits(max_budget, max_trials),
        **{k: v for k, v in bounds.items() if v is not None},  # type: ignore[arg-type]
    )
    # The port first: a busy one fails the start before anything is created or said.
    sock = listen_socket(settings.host, settings.port)
    with settings.open_workspace() as ws:
        credentials = ws.ensure_owner()
    console = Console()
    if credentials is not None:
        write_config(settings.config_file, settings.url, credentials)
        show_owner(console, credentials, settings.config_file)
    elif not settings.config_file.exists():
        render.say(
            console,
            f"No {settings.config_file}: the owner's secret was saved only there. "
            "A new one: shipyard sp rotate owner (the old one stops working).",
        )
    render.say(console, f"Shipyard server on {settings.url} (docs: {settings.url}/docs)")
    serve(settings, sock)


def job_limits(max_budget_s: float | None, max_trials: int | None) -> JobLimits:
    """The job limits of `--max-budget` and `--max-trials` (defaults where not given)."""
    from shipyard.workspace.jobs import JobLimits

    default = JobLimits()
    return JobLimits(
        max_budget_s=default.max_budget_s if max_budget_s is None else max_budget_s,
        max_trials=default.max_trials if max_trials is None else max_trials,
    )


def show_owner(console: Console, credentials: PrincipalCredentials, config: Path) -> None:
    """Where the new owner's credentials went (never the secret itself)."""
    render.say(
        console,
        f"Created the workspace owner, client id {credentials.client_id}.",
        f"Its client secret is in {config} (mode 600; the workspace keeps only a hash);",
        "the CLI and SDK read that file to reach this server.",
    )

"""`shipyard sp`: service principals, the identities automation logs in with.

A principal has a role (owner, contributor or reader) and a client id and secret; the
secret is shown once, by `create` and `rotate`, and stored only as a hash.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from shipyard.cli import render
from shipyard.cli._options import JsonOption
from shipyard.cli._workspace import (
    ConfigOption,
    DbOption,
    ServerOption,
    WorkspaceOption,
    open_workspace,
    refresh_config,
)

if TYPE_CHECKING:
    from shipyard.core.schemas import PrincipalCredentials

app = typer.Typer(
    name="sp",
    help="Service principals: client ids and secrets with a role, for automation.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(metavar="NAME", help="Principal name.")]


@app.command("create")
def create(
    name: NameArgument,
    role: Annotated[
        str, typer.Option("--role", metavar="owner|contributor|reader", help="What it may do.")
    ],
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create principal NAME with ROLE; prints its client id and secret (shown once)."""
    with open_workspace(workspace, db, server, config) as ws:
        credentials = ws.create_principal(name, role)
    _show(credentials, as_json, "Created")


@app.command("list")
def list_command(
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every principal, by name (secrets are never shown again)."""
    with open_workspace(workspace, db, server, config) as ws:
        principals = ws.list_principals()
    if as_json:
        render.echo_json(render.listing(principals))
        return
    rows = [
        [p.name, p.role, p.client_id, render.when(p.created_at), render.when(p.rotated_at)]
        for p in principals
    ]
    names = ["name", "role", "client id", "created", "rotated"]
    Console().print(render.rows_table("Service principals", names, rows, no_wrap={"client id"}))


@app.command("delete")
def delete(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete principal NAME; its tokens stop working."""
    with open_workspace(workspace, db, server, config) as ws:
        ws.delete_principal(name)
    if as_json:
        render.echo_json({"name": name, "deleted": True})
        return
    render.say(Console(), f"Deleted principal {name}")


@app.command("rotate")
def rotate(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Give principal NAME a new secret (shown once); the old one stops working.

    A config file that holds NAME's credentials (the one used to reach the server, or the
    workspace's config.json) gets the new secret, so the CLI keeps working.
    """
    with open_workspace(workspace, db, server, config) as ws:
        credentials = ws.rotate_principal(name)
    updated = refresh_config(workspace, db, server, config, credentials)
    _show(credentials, as_json, "Rotated")
    if updated is not None:  # on stderr under --json, which stays one JSON document
        render.say(Console(stderr=as_json), f"Updated {updated} with the new secret.")


def _show(credentials: PrincipalCredentials, as_json: bool, verb: str) -> None:
    if as_json:
        render.echo_json(credentials)
        return
    render.say(
        Console(),
        f"{verb} principal {credentials.name} ({credentials.role})",
        f"  client id:     {credentials.client_id}",
        f"  client secret: {credentials.client_secret}",
        "The secret is shown this once; keep it somewhere safe.",
    )

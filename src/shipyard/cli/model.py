"""`shipyard model`: the model registry; register a run's model or upload one, list, show and
download."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from shipyard.cli import render
from shipyard.cli._options import JsonOption, LimitOption, PageTokenOption
from shipyard.cli._workspace import (
    ConfigOption,
    DbOption,
    ServerOption,
    WorkspaceOption,
    open_workspace,
    workspace_flags,
)
from shipyard.core.errors import InvalidInputError

if TYPE_CHECKING:
    from shipyard.core.schemas import ModelVersion

app = typer.Typer(
    name="model",
    help="The model registry: models registered from runs, as numbered versions.",
    no_args_is_help=True,
)

RefArgument = Annotated[
    str, typer.Argument(metavar="NAME[:VERSION]", help="Model name, with a version or latest.")
]


DescriptionOption = Annotated[str | None, typer.Option(help="What the model is for.")]
TagOption = Annotated[
    list[str] | None, typer.Option(metavar="KEY=VALUE", help="A tag; repeat for more.")
]


@app.command("register")
def register(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    run: Annotated[str, typer.Option("--run", metavar="RUN_ID", help="The completed AutoML run.")],
    description: DescriptionOption = None,
    tag: TagOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register the best model of run RUN_ID as the next version of model NAME."""
    tags = parse_tags(tag or [])
    with open_workspace(workspace, db, server, config) as ws:
        version = ws.register_model(name, run, description=description, tags=tags)
    said = f"Registered {version.ref} from run {version.run_id} (id {version.id})"
    _show_new(version, said, workspace_flags(workspace, db, server, config), as_json)


@app.command("upload")
def upload(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Model name.")],
    source: Annotated[
        Path,
        typer.Option(
            "--from", metavar="DIR", help="The model folder (model.joblib, descriptor.json)."
        ),
    ],
    description: DescriptionOption = None,
    tag: TagOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Upload the model folder DIR as the next version of model NAME, recording who uploaded
    it (a model not trained by Shipyard's AutoML registers only this way)."""
    tags = parse_tags(tag or [])
    with open_workspace(workspace, db, server, config) as ws:
        version = ws.upload_model(name, source, description=description, tags=tags)
    said = f"Uploaded {version.ref} (by {version.tags.get('uploaded_by')}, id {version.id})"
    _show_new(version, said, workspace_flags(workspace, db, server, config), as_json)


def _show_new(version: ModelVersion, said: str, flags: str, as_json: bool) -> None:
    if as_json:
        render.echo_json(version)
        return
    render.say(Console(), said, f"Look at it: shipyard model show {version.ref}{flags}")


@app.command("list")
def list_command(
    limit: LimitOption = 100,
    page_token: PageTokenOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every registered model, by name, with its latest version."""
    with open_workspace(workspace, db, server, config) as ws:
        page = ws.list_models(max_results=limit, page_token=page_token)
    if as_json:
        render.echo_json(page)
        return
    rows = [
        [
            m.name,
            str(m.latest_version),
            str(m.versions),
            m.description or "",
            render.when(m.updated_at),
        ]
        for m in page.items
    ]
    names = ["name", "latest", "versions", "description", "updated"]
    table = render.rows_table("Models", names, rows, right={"latest", "versions"})
    render.print_page(Console(), table, page.total, page.next_page_token)


@app.command("show")
def show(
    ref: RefArgument,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """One model version: lineage, metrics, tags, input columns and top features."""
    with open_workspace(workspace, db, server, config) as ws:
        version = ws.get_model(ref)
        others = [v.version for v in ws.list_model_versions(version.name)]
    if as_json:
        render.echo_json({**version.model_dump(mode="json"), "versions": others})
        return
    console = Console()
    console.print(render.fields_table(f"Model {version.ref}", _fields(version, others)))
    if version.metrics:
        console.print(render.metrics_table(version.metrics))
    if version.tags:
        console.print(render.fields_table("Tags", version.tags))
    columns = version.descriptor.get("input_schema", {}).get("columns", [])
    if columns:
        console.print(inputs_table(columns))
    importance = version.descriptor.get("importance") or []
    if importance:
        console.print(render.importance_table(importance))


@app.command("download")
def download(
    ref: RefArgument,
    output: Annotated[
        Path, typer.Option("--output", metavar="DIR", help="Folder to copy the model to.")
    ],
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Copy a model version's folder (model file and descriptor) to DIR."""
    with open_workspace(workspace, db, server, config) as ws:
        version = ws.get_model(ref)
        folder = ws.download_model(version.ref, output)
    if as_json:
        render.echo_json({"name": version.name, "version": version.version, "path": str(folder)})
        return
    render.say(
        Console(),
        f"Downloaded {version.ref} to {folder}/",
        f"Predict with: shipyard predict --model {folder} --data FILE --output predictions.csv",
    )


def parse_tags(pairs: list[str]) -> dict[str, str]:
    """`["team=risk", "stage=test"]` -> `{"team": "risk", "stage": "test"}`."""
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(f"tag {pair!r} must be written KEY=VALUE")
        tags[key.strip()] = value
    return tags


def inputs_table(columns: list[dict[str, Any]]) -> Table:
    """The columns the model reads: kind, dtype and an example value."""
    rows = []
    for column in columns:
        kind = str(column.get("kind", ""))
        if column.get("drop_reason"):
            kind += f" ({column['drop_reason']})"
        name, dtype = str(column.get("name", "")), str(column.get("dtype", ""))
        rows.append([name, kind, dtype, str(column.get("example", ""))])
    return render.rows_table("Input columns", ["column", "kind", "dtype", "example"], rows)


def _fields(version: ModelVersion, others: list[int]) -> dict[str, Any]:
    classes = version.descriptor.get("classes")
    return {
        "name": version.name,
        "version": version.version,
        "id": version.id,
        "description": version.description,
        "task": version.task,
        "target": version.target,
        "classes": ", ".join(map(str, classes)) if classes else None,
        "learner": version.learner,
        "run": version.run_id,
        "uploaded by": version.tags.get("uploaded_by"),
        "dataset": version.dataset,
        "created": render.when(version.created_at),
        "all versions": ", ".join(map(str, others)),
    }

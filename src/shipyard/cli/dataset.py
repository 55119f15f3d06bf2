"""`shipyard dataset`: register tables as numbered, profiled versions and look at them."""

from __future__ import annotations

from collections.abc import Mapping
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

if TYPE_CHECKING:
    from shipyard.core.schemas import ColumnProfile, Dataset, DatasetProfile

app = typer.Typer(
    name="dataset",
    help="Datasets: tables registered as immutable, numbered and profiled versions.",
    no_args_is_help=True,
)

_TOP_SHOWN = 3

NameArgument = Annotated[
    str, typer.Argument(metavar="NAME", help="Dataset name (letters, digits, '.', '_', '-').")
]
RefArgument = Annotated[
    str, typer.Argument(metavar="NAME[:VERSION]", help="Dataset name, with a version or latest.")
]
TargetOption = Annotated[
    str | None,
    typer.Option("--target", metavar="COL", help="Also count the classes of this column."),
]


@app.command("register")
def register(
    name: NameArgument,
    file: Annotated[Path, typer.Option("--file", help="The table: CSV or Parquet.")],
    description: Annotated[str | None, typer.Option(help="What the data is.")] = None,
    target: TargetOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Register a CSV or Parquet file as the next version of dataset NAME, and profile it.

    Content identical to an existing version is not stored twice: that version is returned.
    """
    with open_workspace(workspace, db, server, config) as ws:
        dataset = ws.register_dataset(name, file, description=description, target=target)
        profile = ws.profile_dataset(dataset.ref, target)
    if as_json:
        render.echo_json(with_profile(dataset, profile))
        return
    console = Console()
    render.say(
        console,
        f"Registered {dataset.ref}: {dataset.rows:,} rows, {dataset.columns} columns "
        f"(id {dataset.id})",
    )
    show_profile(console, profile)
    flags = f"--target {target or 'COL'}{workspace_flags(workspace, db, server, config)}"
    render.say(console, f"Train on it: shipyard automl run --dataset {dataset.ref} {flags}")


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
    """The latest version of every dataset, by name."""
    with open_workspace(workspace, db, server, config) as ws:
        page = ws.list_datasets(max_results=limit, page_token=page_token)
    if as_json:
        items = [d.summary() for d in page.items]
        render.echo_json(render.listing(items, page.total, page.next_page_token))
        return
    table = versions_table("Datasets", page.items, latest=True)
    render.print_page(Console(), table, page.total, page.next_page_token)


@app.command("versions")
def versions(
    name: NameArgument,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every version of dataset NAME, oldest first."""
    with open_workspace(workspace, db, server, config) as ws:
        found = ws.list_dataset_versions(name)
    if as_json:
        render.echo_json(render.listing([d.summary() for d in found]))
        return
    Console().print(versions_table(f"Versions of {name}", found, latest=False))


@app.command("show")
def show(
    ref: RefArgument,
    target: TargetOption = None,
    workspace: WorkspaceOption = None,
    db: DbOption = None,
    server: ServerOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """One dataset version: where it came from and its profile (per column, class balance)."""
    with open_workspace(workspace, db, server, config) as ws:
        dataset = ws.get_dataset(ref)
        profile = ws.profile_dataset(dataset.ref, target)
    if as_json:
        render.echo_json(with_profile(dataset, profile))
        return
    console = Console()
    fields = {
        "name": dataset.name,
        "version": dataset.version,
        "id": dataset.id,
        "description": dataset.description,
        "source": dataset.source,
        "rows": f"{dataset.rows:,}",
        "columns": dataset.columns,
        "content hash": dataset.content_hash[:16],
        "created": render.when(dataset.created_at),
    }
    console.print(render.fields_table(f"Dataset {dataset.ref}", fields))
    show_profile(console, profile)


def with_profile(dataset: Dataset, profile: DatasetProfile) -> dict[str, Any]:
    """A dataset version and its profile, as one JSON document."""
    return {**dataset.model_dump(mode="json"), "profile": profile.model_dump(mode="json")}


def show_profile(console: Console, profile: DatasetProfile) -> None:
    """The column table, then the class balance when the profile has one."""
    console.print(columns_table(profile.columns))
    if profile.class_balance is not None and profile.target is not None:
        console.print(balance_table(profile.target, profile.class_balance))


def versions_table(title: str, datasets: list[Dataset], *, latest: bool) -> Table:
    """One dataset version per row."""
    number = "latest" if latest else "version"
    columns = ["name", number, "rows", "columns", "source", "description", "created"]
    rows = [
        [
            d.name,
            str(d.version),
            f"{d.rows:,}",
            str(d.columns),
            d.source or "",
            d.description or "",
            render.when(d.created_at),
        ]
        for d in datasets
    ]
    return render.rows_table(title, columns, rows, right={number, "rows", "columns"})


def columns_table(columns: list[ColumnProfile]) -> Table:
    """Per column: kind, dtype, missing and distinct counts and a short summary."""
    rows = [
        [c.name, c.kind, c.dtype, f"{c.missing:,}", f"{c.distinct:,}", _summary(c)] for c in columns
    ]
    names = ["column", "kind", "dtype", "missing", "distinct", "summary"]
    return render.rows_table("Columns", names, rows, right={"missing", "distinct"})


def balance_table(target: str, balance: Mapping[str, int]) -> Table:
    """Rows per class of the target, with their share."""
    total = sum(balance.values()) or 1
    rows = [[label, f"{n:,}", f"{n / total:.1%}"] for label, n in balance.items()]
    title = f"Class balance of {target}"
    return render.rows_table(title, ["class", "rows", "share"], rows, right={"rows", "share"})


def _summary(column: ColumnProfile) -> str:
    if column.drop_reason:
        return f"dropped: {column.drop_reason}"
    if column.summary:
        s = column.summary
        return (
            f"min {_num(s.get('min'))}, median {_num(s.get('median'))}, "
            f"max {_num(s.get('max'))}; mean {_num(s.get('mean'))}"
        )
    if column.top_values:
        top = list(column.top_values.items())
        shown = ", ".join(f"{value} ({count:,})" for value, count in top[:_TOP_SHOWN])
        return shown + (", ..." if column.distinct > _TOP_SHOWN else "")
    return ""


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.4g}"

"""The `shipyard` app: one sub-app or command per area, and errors mapped to exit codes.

Exit codes: 0 success; a `ShipyardError` exits with its class's `exit_code` (the table in
`core/errors.py`: 2 for what the user can fix, 1 when a model or the server failed on
valid input); a missing or unreadable file and usage errors exit 2. Each prints one red
line, `error: <message>`, on stderr and no traceback (a server failure names its request
id); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from shipyard.cli import automl, dataset, demo, endpoint, model, predict, run, server, sp, worker
from shipyard.core.errors import ShipyardError

USER_ERROR = 2


class ShipyardGroup(TyperGroup):
    """The root command group: turns Shipyard and file errors into one line and a code."""

    def invoke(self, ctx: Any) -> Any:  # Any: typer vendors click, its Context is private
        try:
            return super().invoke(ctx)
        except ShipyardError as exc:
            fail(str(exc), exc.exit_code)
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            fail(f"{exc.strerror or exc}{where}", USER_ERROR)


def fail(message: str, code: int) -> NoReturn:
    """Print `error: <message>` as one red line on stderr and exit with `code`."""
    line = " ".join(message.splitlines()) or "unknown error"
    Console(stderr=True).print(Text(f"error: {line}", style="red"), soft_wrap=True)
    raise typer.Exit(code)


def _show_version(value: bool) -> None:
    if value:
        from shipyard import __version__  # read from the package metadata when asked

        typer.echo(f"shipyard {__version__}")
        raise typer.Exit


app = typer.Typer(
    name="shipyard",
    cls=ShipyardGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)
app.add_typer(dataset.app, name="dataset")
app.add_typer(automl.app, name="automl")
app.add_typer(run.app, name="run")
app.add_typer(model.app, name="model")
app.add_typer(endpoint.app, name="endpoint")
app.add_typer(server.app, name="server")
app.add_typer(sp.app, name="sp")
app.command("worker")(worker.worker)
app.command("predict")(predict.predict)
app.command("demo")(demo.demo)


@app.callback()
def shipyard(
    _version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Shipyard: from a table to a trained, explained and registered model.

    Register data with `shipyard dataset register`, train with `shipyard automl run`,
    look at runs with `shipyard run`, keep models with `shipyard model`, score files with
    `shipyard predict`, or see it all on the bundled Bank Marketing data with
    `shipyard demo`. Commands work on the workspace in --workspace DIR, else
    $SHIPYARD_WORKSPACE, else ./.shipyard; or on the one a server serves, with --server
    URL or a config file naming it (--config PATH, else $SHIPYARD_CONFIG, else
    config.json in the workspace folder).
    """


def main() -> None:
    """Entry point of the `shipyard` console script."""
    app(prog_name="shipyard")


if __name__ == "__main__":
    main()

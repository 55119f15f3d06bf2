"""The `shipyard` app: help, version, and the one table from errors to exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from shipyard import __version__
from shipyard.cli.main import ShipyardGroup
from shipyard.core import errors

SRC = Path(__file__).resolve().parents[3] / "src"


def test_version(invoke):
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"shipyard {__version__}"


def test_no_arguments_show_the_areas(invoke):
    result = invoke()
    for area in ("dataset", "automl", "run", "model", "predict", "demo"):
        assert area in result.output


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.InvalidInputError("bad input"), 2),
        (errors.DataError("bad data"), 2),
        (errors.SchemaError("bad rows"), 2),
        (errors.NotFoundError("no such run"), 2),
        (errors.ConflictError("taken"), 2),
        (errors.AuthenticationError("who are you"), 2),
        (errors.PermissionDeniedError("not yours"), 2),
        (errors.ModelError("the model broke"), 1),
        (errors.ServerError("the server failed (500): internal error; request id r-1", "r-1"), 1),
        (errors.ServiceUnavailableError("cannot reach the server"), 2),
        (errors.TooManyRequestsError("slow down", 3), 2),
        (errors.PayloadTooLargeError("too big"), 2),
        (PermissionError(13, "Permission denied", "/x/y.csv"), 2),
    ],
)
def test_errors_become_one_red_line_and_an_exit_code(error, code):
    app = typer.Typer(cls=ShipyardGroup)

    @app.command()
    def boom() -> None:
        raise error

    @app.command()
    def other() -> None:
        """Keeps `boom` a subcommand."""

    result = CliRunner().invoke(app, ["boom"])
    assert result.exit_code == code
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ")
    expected = error.strerror if isinstance(error, OSError) else str(error)
    assert str(expected) in lines[0]


@pytest.mark.parametrize("cls", errors.error_classes(), ids=lambda c: c.__name__)
def test_each_error_class_exits_with_its_exit_code(cls):
    app = typer.Typer(cls=ShipyardGroup)

    @app.command()
    def boom() -> None:
        raise cls(f"{cls.__name__} here")

    @app.command()
    def other() -> None:
        """Keeps `boom` a subcommand."""

    result = CliRunner().invoke(app, ["boom"])
    assert result.exit_code == cls.exit_code
    assert result.stderr.splitlines() == [f"error: {cls.__name__} here"]


def test_a_long_message_stays_on_one_line():
    app = typer.Typer(cls=ShipyardGroup)

    @app.command()
    def boom() -> None:
        raise errors.DataError("word " * 60 + "\nsecond line")

    @app.command()
    def other() -> None:
        """Keeps `boom` a subcommand."""

    result = CliRunner().invoke(app, ["boom"])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.rstrip().endswith("second line")


def test_bugs_keep_their_traceback():
    app = typer.Typer(cls=ShipyardGroup)

    @app.command()
    def boom() -> None:
        raise KeyError("a bug")

    @app.command()
    def other() -> None:
        """Keeps `boom` a subcommand."""

    result = CliRunner().invoke(app, ["boom"])
    assert isinstance(result.exception, KeyError)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("area", "words"),
    [
        (["automl", "--help"], ["run", "Automated machine learning"]),
        (
            ["automl", "run", "--help"],
            ["--target", "--budget", "AUC_weighted", "--json", "--dataset", "--experiment"],
        ),
        (["predict", "--help"], ["--model", "--proba", "--output"]),
        (["demo", "--help"], ["--budget", "--exit", "SHIPYARD_DEMO_EXIT", "--workspace"]),
        (["dataset", "--help"], ["register", "list", "show", "versions"]),
        (["run", "--help"], ["list", "show"]),
        (["model", "--help"], ["register", "list", "show", "download"]),
        (["endpoint", "--help"], ["deploy", "list", "bench", "invoke"]),
        (["server", "--help"], ["start"]),
        (["server", "start", "--help"], ["--port", "SHIPYARD_MAX_BUDGET_S", "SHIPYARD_MAX_TRIALS"]),
        (["sp", "--help"], ["create", "list", "rotate"]),
        (["worker", "--help"], ["--workspace", "--db"]),
        (
            ["run", "list", "--help"],
            ["--where", "--order-by", "--page-token", "--workspace", "--db"],
        ),
    ],
)
def test_help_of_each_area_in_a_real_process(area, words):
    env = {**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "120"}
    done = subprocess.run(
        [sys.executable, "-m", "shipyard.cli.main", *area],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: shipyard" in done.stdout
    for word in words:
        assert word in done.stdout

"""Which workspace commands use: --workspace, then SHIPYARD_WORKSPACE, then ./.shipyard; --db."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shipyard.cli._workspace import WORKSPACE_ENV, workspace_dir, workspace_flags
from shipyard.cli.main import app


def test_the_option_wins_then_the_environment_then_the_default():
    env = {WORKSPACE_ENV: "/from/env"}
    assert workspace_dir(Path("given"), env) == Path("given")
    assert workspace_dir(None, env) == Path("/from/env")
    assert workspace_dir(None, {WORKSPACE_ENV: "  "}) == Path(".shipyard")
    assert workspace_dir(None, {}) == Path(".shipyard")


def test_flags_repeat_what_was_given():
    assert workspace_flags(None) == ""
    assert workspace_flags(Path("ws")) == " --workspace ws"
    assert workspace_flags(None, "sqlite:///x.db") == " --db 'sqlite:///x.db'"


def test_the_environment_names_the_workspace(tmp_path, frame, csv_of):
    runner = CliRunner(env={WORKSPACE_ENV: str(tmp_path / "env-ws")})
    result = runner.invoke(app, ["dataset", "register", "toy", "--file", str(csv_of(frame))])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env-ws" / "shipyard.db").is_file()
    assert (tmp_path / "env-ws" / "artifacts" / "datasets" / "toy").is_dir()


def test_the_default_is_dot_shipyard_in_the_current_folder(tmp_path, monkeypatch, frame, csv_of):
    monkeypatch.chdir(tmp_path)
    path = csv_of(frame)
    result = CliRunner(env={WORKSPACE_ENV: ""}).invoke(
        app, ["dataset", "register", "toy", "--file", str(path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / ".shipyard" / "shipyard.db").is_file()


def test_db_replaces_the_sqlite_file_and_artifacts_stay_in_the_folder(
    in_workspace, workspace, tmp_path, frame, csv_of
):
    url = f"sqlite:///{tmp_path / 'team.db'}"
    result = in_workspace("dataset", "register", "toy", "--file", csv_of(frame), "--db", url)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "team.db").is_file()
    assert not (workspace / "shipyard.db").exists()
    assert (workspace / "artifacts" / "datasets" / "toy" / "1" / "data.parquet").is_file()
    with_db = json.loads(in_workspace("dataset", "list", "--db", url, "--json").stdout)
    assert with_db["total"] == 1
    without = json.loads(in_workspace("dataset", "list", "--json").stdout)
    assert without["total"] == 0


def test_an_unusable_database_url_is_one_line(in_workspace, tmp_path, expect_user_error):
    expect_user_error(in_workspace("dataset", "list", "--db", "garbage"), "not a database URL")
    unreachable = f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.db'}"
    expect_user_error(in_workspace("dataset", "list", "--db", unreachable), "cannot open")


def test_an_unknown_database_driver_is_one_line(in_workspace, expect_user_error):
    expect_user_error(in_workspace("dataset", "list", "--db", "nosuchdb://x"), "nosuchdb")

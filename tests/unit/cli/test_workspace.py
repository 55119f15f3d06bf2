"""Which workspace commands use: --workspace, then SHIPYARD_WORKSPACE, then ./.shipyard; --db;
or a server: --server, --config, SHIPYARD_CONFIG, or config.json in the workspace folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shipyard.cli._workspace import (
    CONFIG_ENV,
    WORKSPACE_ENV,
    Target,
    choose_target,
    open_workspace,
    workspace_dir,
    workspace_flags,
)
from shipyard.cli.main import app
from shipyard.core.errors import InvalidInputError
from shipyard.sdk import ServerWorkspace
from shipyard.workspace import LocalWorkspace
from tests.fixtures.servers import free_port


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
    remote = workspace_flags(None, None, "http://h:1", Path("c.json"))
    assert remote == " --server http://h:1 --config c.json"


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


def _config(path: Path, server: str | None = "http://127.0.0.1:8470") -> Path:
    document = {"client_id": "sp_x", "client_secret": "sps_y"}
    if server is not None:
        document["server"] = server
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document))
    return path


def test_a_folder_without_config_json_is_local(tmp_path):
    assert choose_target(tmp_path / "ws", environ={}) == Target(tmp_path / "ws")
    assert not choose_target(None, environ={WORKSPACE_ENV: str(tmp_path)}).is_remote


def test_config_json_in_the_workspace_folder_names_the_server(tmp_path):
    config = _config(tmp_path / "ws" / "config.json")
    target = choose_target(tmp_path / "ws", environ={})
    assert (target.is_remote, target.config, target.server) == (True, config, None)
    with_server = choose_target(tmp_path / "ws", server="http://other:9", environ={})
    assert (with_server.config, with_server.server) == (config, "http://other:9")
    # --db means this folder's database, in this process, whatever config.json says
    assert not choose_target(tmp_path / "ws", db="sqlite:///x.db", environ={}).is_remote


def test_config_option_then_the_environment_then_the_folder(tmp_path):
    folder_config = _config(tmp_path / "ws" / "config.json")
    named = _config(tmp_path / "named.json")
    env = {CONFIG_ENV: str(named), WORKSPACE_ENV: str(tmp_path / "ws")}
    assert choose_target(None, environ=env).config == named
    given = _config(tmp_path / "given.json")
    assert choose_target(None, config=given, environ=env).config == given
    # an explicit --workspace names a folder: the variable does not send it elsewhere
    assert choose_target(tmp_path / "ws", environ=env).config == folder_config
    assert not choose_target(tmp_path / "empty", environ=env).is_remote


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"db": "sqlite:///x.db", "server": "http://h:1"}, "--db opens a database"),
        ({"db": "sqlite:///x.db", "config": Path("c.json")}, "give one or the other"),
        ({"server": "http://h:1"}, "--server http://h:1 needs credentials"),
        ({"config": Path("absent.json")}, "no config file at absent.json (from --config)"),
    ],
)
def test_contradictions_and_missing_credentials_are_clear(tmp_path, options, words):
    with pytest.raises(InvalidInputError) as caught:
        choose_target(tmp_path / "ws", **options, environ={})
    assert words in str(caught.value)
    with pytest.raises(InvalidInputError, match=r"no config file at .*\$SHIPYARD_CONFIG"):
        choose_target(None, environ={CONFIG_ENV: str(tmp_path / "gone.json")})


def test_open_workspace_gives_a_local_or_a_server_workspace(tmp_path):
    with open_workspace(tmp_path / "ws") as local:
        assert isinstance(local, LocalWorkspace)
    _config(tmp_path / "ws" / "config.json", server="http://127.0.0.1:9")
    with open_workspace(tmp_path / "ws") as remote:
        assert isinstance(remote, ServerWorkspace)
        assert remote.server == "http://127.0.0.1:9"
    with open_workspace(tmp_path / "ws", server="http://127.0.0.1:7/") as remote:
        assert isinstance(remote, ServerWorkspace)
        assert remote.server == "http://127.0.0.1:7"


def test_an_unreachable_server_is_one_line(tmp_path, expect_user_error):
    _config(tmp_path / "ws" / "config.json", server=f"http://127.0.0.1:{free_port()}")
    result = CliRunner().invoke(app, ["dataset", "list", "--workspace", str(tmp_path / "ws")])
    expect_user_error(result, "cannot reach the Shipyard server at http://127.0.0.1:")


def test_the_worker_refuses_a_server(expect_user_error):
    worker = CliRunner().invoke(app, ["worker", "--server", "http://127.0.0.1:9"])
    expect_user_error(worker, "--server does not work here", "database")

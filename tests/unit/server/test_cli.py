"""`shipyard server start` (up to handing the app to uvicorn) and `shipyard sp`, in process."""

from __future__ import annotations

import json
import socket
import stat
import subprocess
import sys

import pytest
from typer.testing import CliRunner, Result

import shipyard.server.serve as serve_module
from shipyard.cli.main import app
from shipyard.server import ServerSettings
from shipyard.serving import sockets
from shipyard.workspace import LocalWorkspace
from tests.unit.server._support import future_workspace


def _invoke(*args: object) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture
def served(monkeypatch):
    """The settings `server start` would serve, instead of serving them."""
    calls: list[ServerSettings] = []
    monkeypatch.setattr(sockets, "listen_socket", lambda *_, **__: None)
    monkeypatch.setattr(serve_module, "serve", lambda settings, _sock: calls.append(settings))
    return calls


def test_the_first_start_creates_the_owner_and_writes_config_json(tmp_path, served):
    folder = tmp_path / "ws"
    result = _invoke("server", "start", "--workspace", folder, "--port", 9123)
    assert result.exit_code == 0, result.output
    config_path = folder / "config.json"
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    config = json.loads(config_path.read_text())
    assert set(config) == {"server", "client_id", "client_secret"}
    assert config["server"] == "http://127.0.0.1:9123"
    assert config["client_secret"] not in result.stdout  # issue 10: only in config.json
    assert config["client_id"] in result.stdout
    assert str(config_path) in " ".join(result.stdout.split())
    (settings,) = served
    assert (settings.host, settings.port, settings.api_processes) == ("127.0.0.1", 9123, 1)
    with LocalWorkspace.open(folder) as ws:
        token = ws.issue_access_token(config["client_id"], config["client_secret"])
        assert ws.authenticate(token.access_token).role == "owner"

    again = _invoke("server", "start", "--workspace", folder, "--port", 9123)
    assert again.exit_code == 0, again.output
    assert config["client_secret"] not in again.stdout
    assert json.loads(config_path.read_text()) == config
    config_path.unlink()
    lost = _invoke("server", "start", "--workspace", folder)
    assert "shipyard sp rotate owner" in lost.stdout


def test_config_goes_where_config_says_and_an_old_file_becomes_private(tmp_path, served):
    target = tmp_path / "elsewhere" / "client.json"
    target.parent.mkdir()
    target.write_text("{}")
    target.chmod(0o644)
    result = _invoke(
        "server", "start", "--workspace", tmp_path / "ws", "--config", target, "--host", "0.0.0.0"
    )
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["server"] == "http://127.0.0.1:8470"
    assert not (tmp_path / "ws" / "config.json").exists()
    assert served[0].host == "0.0.0.0"


def test_a_database_from_a_newer_shipyard_is_refused_with_a_clear_message(tmp_path, served):
    folder = future_workspace(tmp_path / "ws")
    result = _invoke("server", "start", "--workspace", folder)
    assert result.exit_code == 2
    assert "newer Shipyard" in result.stderr
    assert "Traceback" not in result.output
    assert served == []


def test_sp_create_list_rotate_delete(tmp_path):
    folder = tmp_path / "ws"
    created = _invoke(
        "sp", "create", "ci", "--role", "contributor", "--json", "--workspace", folder
    )
    assert created.exit_code == 0, created.output
    credentials = json.loads(created.stdout)
    assert credentials["role"] == "contributor"
    assert credentials["client_secret"].startswith("sps_")

    listed = _invoke("sp", "list", "--json", "--workspace", folder)
    document = json.loads(listed.stdout)
    assert [p["name"] for p in document["items"]] == ["ci"]
    assert credentials["client_secret"] not in listed.stdout
    table = _invoke("sp", "list", "--workspace", folder)
    assert "ci" in table.stdout
    assert "contributor" in table.stdout

    rotated = _invoke("sp", "rotate", "ci", "--workspace", folder)
    assert rotated.exit_code == 0
    assert "client secret" in rotated.stdout
    assert credentials["client_secret"] not in rotated.stdout
    rotated_json = json.loads(_invoke("sp", "rotate", "ci", "--json", "--workspace", folder).stdout)
    assert rotated_json["client_id"] == credentials["client_id"]

    deleted = _invoke("sp", "delete", "ci", "--workspace", folder)
    assert deleted.exit_code == 0
    assert "Deleted principal ci" in deleted.stdout
    assert json.loads(_invoke("sp", "list", "--json", "--workspace", folder).stdout)["items"] == []


@pytest.mark.usefixtures("served")
def test_rotating_the_principal_of_a_config_file_updates_the_file(tmp_path):
    folder = tmp_path / "ws"
    assert _invoke("server", "start", "--workspace", folder).exit_code == 0
    config_path = folder / "config.json"
    before = json.loads(config_path.read_text())
    # With config.json in the folder the CLI would talk to the server; --db works here.
    local = ["--workspace", folder, "--db", f"sqlite:///{folder / 'shipyard.db'}"]
    assert _invoke("sp", "create", "other", "--role", "reader", *local).exit_code == 0
    other = _invoke("sp", "rotate", "other", *local)
    assert other.exit_code == 0, other.output
    assert "Updated" not in other.stdout
    assert json.loads(config_path.read_text()) == before

    rotated = _invoke("sp", "rotate", "owner", "--json", *local)
    assert rotated.exit_code == 0, rotated.output
    secret = json.loads(rotated.stdout)["client_secret"]
    assert f"Updated {config_path}" in rotated.stderr
    after = json.loads(config_path.read_text())
    assert after == {**before, "client_secret": secret}
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    with LocalWorkspace.open(folder) as ws:
        assert ws.issue_access_token(after["client_id"], secret).access_token


def test_sp_errors_are_one_line(tmp_path):
    folder = tmp_path / "ws"
    bad_role = _invoke("sp", "create", "x", "--role", "admin", "--workspace", folder)
    assert bad_role.exit_code == 2
    assert "unknown role" in bad_role.stderr
    plain = _invoke("sp", "create", "y", "--role", "reader", "--workspace", folder)
    assert "shown this once" in plain.stdout
    missing = _invoke("sp", "delete", "never", "--json", "--workspace", folder)
    assert missing.exit_code == 2
    gone = _invoke("sp", "delete", "y", "--json", "--workspace", folder)
    assert json.loads(gone.stdout) == {"name": "y", "deleted": True}


@pytest.mark.slow
@pytest.mark.parametrize("area", ["server", "sp"])
def test_help_in_a_subprocess(area):
    result = subprocess.run(
        [sys.executable, "-m", "shipyard.cli.main", area, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_a_busy_port_fails_the_start_before_anything_is_created(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = _invoke("server", "start", "--workspace", tmp_path / "ws", "--port", port)
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "client secret" not in result.stdout
    assert not (tmp_path / "ws" / "config.json").exists()

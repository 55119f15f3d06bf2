"""The CLI against a real server: the same commands, with --server and a config file.

`shipyard server start` runs in a child process (with one job worker) over a workspace
holding dataset `toy` and a completed AutoML run; the commands run in this process
through `CliRunner` and reach the server over HTTP only: the client's folders hold a
config file and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from shipyard.cli.main import app
from tests.fixtures.automl import make_frame
from tests.fixtures.servers import Server, running, seed_workspace, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
CLEAN_ENV = {"SHIPYARD_CONFIG": None, "SHIPYARD_WORKSPACE": None}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server (with one job worker) over dataset `toy` and a completed AutoML run."""
    root = tmp_path_factory.mktemp("cli-remote")
    with running(seed_workspace(root / "ws"), root / "server.log", "--workers", "1") as started:
        yield started


class Client:
    """`shipyard ...` in this process, pointed at the server with one config file."""

    def __init__(self, server: Server, config: Path) -> None:
        self.server = server
        self.config = config

    def __call__(self, *args: Any) -> Result:
        argv = [str(a) for a in args]
        argv += ["--server", self.server.url, "--config", str(self.config)]
        return CliRunner(env=CLEAN_ENV).invoke(app, argv)

    def json(self, *args: Any) -> Any:
        result = self(*args, "--json")
        assert result.exit_code == 0, f"{result.output}\n{self.server.output()}"
        return json.loads(result.stdout)


@pytest.fixture(scope="module")
def owner(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Client:
    """The owner, with a copy of the config.json the server's first start wrote."""
    config = tmp_path_factory.mktemp("owner") / "owner.json"
    config.write_text(server.config_file.read_text())
    return Client(server, config)


def test_data_runs_models_principals_and_endpoints_through_the_server(server, owner, tmp_path):
    csv = tmp_path / "upload.csv"
    make_frame("binary", seed=5).to_csv(csv, index=False)
    uploaded = owner.json("dataset", "register", "uploaded", "--file", csv, "--target", "y")
    assert (uploaded["name"], uploaded["version"], uploaded["rows"]) == ("uploaded", 1, 200)
    names = [d["name"] for d in owner.json("dataset", "list")["items"]]
    assert {"toy", "uploaded"} <= set(names)

    runs = owner.json("run", "list", "--kind", "automl", "--experiment", "toy")
    (run,) = runs["items"]
    assert run["status"] == "completed"
    registered = owner.json("model", "register", "cli-model", "--run", run["id"])
    assert registered["version"] == 1
    table = owner("model", "list")
    assert table.exit_code == 0, table.output
    assert "cli-model" in table.stdout
    assert owner.json("endpoint", "list") == {"items": [], "total": 0, "next_page_token": None}

    created = owner.json("sp", "create", "cli-ci", "--role", "contributor")
    assert created["role"] == "contributor"
    # a client's config may leave the server out when --server names it
    ci_config = tmp_path / "ci.json"
    ci_config.write_text(
        json.dumps({"client_id": created["client_id"], "client_secret": created["client_secret"]})
    )
    ci = Client(server, ci_config)
    assert "uploaded" in {d["name"] for d in ci.json("dataset", "list")["items"]}
    refused = ci("sp", "list")
    assert refused.exit_code == 2
    assert "owner role" in refused.stderr

    # a config.json in the workspace folder is enough: no --server, no --config
    folder = tmp_path / "client-ws"
    folder.mkdir()
    (folder / "config.json").write_text(server.config_file.read_text())
    found = CliRunner(env=CLEAN_ENV).invoke(app, ["run", "list", "--json", "--workspace", folder])
    assert found.exit_code == 0, found.output
    assert run["id"] in {r["id"] for r in json.loads(found.stdout)["items"]}
    assert sorted(p.name for p in folder.iterdir()) == ["config.json"]  # nothing local


def test_automl_and_an_endpoint_through_the_server(server, owner, tmp_path):
    trained = owner.json(
        "automl", "run", "--dataset", "toy", "--target", "y", "--experiment", "by-cli",
        "--max-trials", "2", "--learners", "linear", "--budget", "120",
        "--output", tmp_path / "copy",
    )  # fmt: skip
    assert (trained["status"], trained["experiment"]) == ("completed", "by-cli")
    assert trained["best_learner"] == "linear"
    assert (tmp_path / "copy" / "descriptor.json").is_file()
    shown = owner.json("run", "show", trained["run_id"])
    assert shown["children"]["total"] >= 1

    owner.json("model", "register", "served", "--run", trained["run_id"])
    endpoint = owner.json("endpoint", "deploy", "cli-ep", "--model", "served:1")
    assert endpoint["state"] == "healthy", server.output()
    try:
        rows = make_frame("binary", seed=1, rows=3).drop(columns="y")
        data = tmp_path / "rows.json"
        data.write_text(rows.to_json(orient="records"))
        invoked = owner("endpoint", "invoke", "cli-ep", "--data", data)
        assert invoked.exit_code == 0, invoked.output
        assert len(json.loads(invoked.stdout)["result"]) == 3
        assert owner.json("endpoint", "keys", "cli-ep")["primary_key"]
        assert owner.json("endpoint", "update", "cli-ep", "--logging", "on")["logging"] is True
        bench = owner.json("endpoint", "bench", "cli-ep", "-n", "20", "-c", "2")
        assert (bench["complete"], bench["failed"]) == (20, 0)

        def logged() -> bool:
            return int(owner.json("endpoint", "telemetry", "cli-ep")["total"]["requests"]) >= 1

        wait_until(logged, 30, "request telemetry")
        assert owner("endpoint", "logs", "cli-ep").stdout.strip()
    finally:
        deleted = owner("endpoint", "delete", "cli-ep")
    assert deleted.exit_code == 0, deleted.output
    assert owner.json("endpoint", "list")["items"] == []

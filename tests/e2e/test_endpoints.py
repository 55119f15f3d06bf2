"""Endpoints end to end: real supervised uvicorn processes on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time

import httpx
import pytest
from openapi_spec_validator import validate

from shipyard.auth import issue_token
from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.schemas import EndpointState
from shipyard.workspace import LocalWorkspace
from tests.fixtures.automl import make_frame

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
pytest_plugins = ["tests.fixtures.endpoints"]


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    frame = make_frame("binary", seed=0).drop(columns="y").head(5)
    return json.loads(frame.to_json(orient="records", double_precision=15))


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _wait_until(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


class Traffic:
    """Requests sent back to back from a thread; every status is kept."""

    def __init__(self, url: str, headers: dict[str, str], body: dict) -> None:
        self.statuses: list[int] = []
        self.answers: list[dict] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, headers, body), daemon=True)

    def _run(self, url: str, headers: dict[str, str], body: dict) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    response = client.post(url, json=body, headers=headers)
                    self.statuses.append(response.status_code)
                    self.answers.append(response.json())
                except httpx.HTTPError:
                    self.statuses.append(-1)

    def __enter__(self) -> Traffic:
        self._thread.start()
        _wait_until(lambda: len(self.statuses) >= 5)
        return self

    def __exit__(self, *_: object) -> None:
        time.sleep(0.3)
        self._stop.set()
        self._thread.join(timeout=10)


def test_a_key_endpoint_scores_every_protocol_and_refuses_strangers(served_workspace, rows):
    ws: LocalWorkspace = served_workspace
    endpoint = ws.deploy_endpoint("keyed", "toy-model:1")
    assert endpoint.state is EndpointState.HEALTHY
    keys = ws.endpoint_keys("keyed")
    expected = ws.load_model("toy-model:1").predict(rows).tolist()
    url = endpoint.scoring_uri
    with httpx.Client(timeout=10) as client:
        answer = client.post(url, json={"data": rows}, headers=_bearer(keys.primary_key))
        assert answer.status_code == 200
        assert answer.json() == {"result": expected}
        proba = client.post(
            url,
            json={"Inputs": {"data": rows}, "GlobalParameters": {"method": "predict_proba"}},
            headers=_bearer(keys.secondary_key),
        ).json()["result"]
        assert set(proba[0]) == {"no", "yes"}
        split = {"columns": list(rows[0]), "data": [list(r.values()) for r in rows]}
        mlflow = client.post(
            url.replace("/score", "/invocations"),
            json={"dataframe_split": split},
            headers=_bearer(keys.primary_key),
        )
        assert mlflow.json()["predictions"] == expected
        inputs = [
            {
                "name": column,
                "shape": [len(rows)],
                "datatype": "BYTES",
                "data": [r[column] for r in rows],
            }
            for column in rows[0]
        ]
        v2 = client.post(
            url.replace("/score", "/v2/models/keyed/infer"),
            json={"inputs": inputs},
            headers=_bearer(keys.primary_key),
        )
        assert v2.status_code == 200, v2.text
        assert v2.json()["outputs"][0]["data"] == expected
        assert client.get(url.replace("/score", "/v2/health/ready")).status_code == 200
        metrics = client.get(url.replace("/score", "/metrics"), headers=_bearer(keys.primary_key))
        assert metrics.status_code == 200
        assert "# TYPE" in metrics.text
        assert client.get(url.replace("/score", "/metrics")).status_code == 401
        assert client.post(url, json={"data": rows}).status_code == 401
        wrong = client.post(url, json={"data": rows}, headers=_bearer("sk_wrong"))
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].lower().startswith("bearer")
        bad = client.post(url, json={"data": [{"nope": 1}]}, headers=_bearer(keys.primary_key))
        assert 400 <= bad.status_code < 500
        assert "nope" in bad.json()["error"] or "missing" in bad.json()["error"]
        swagger = client.get(endpoint.swagger_uri, headers=_bearer(keys.primary_key)).json()
        validate(swagger)
    assert [e.name for e in ws.list_endpoints()] == ["keyed"]
    assert ws.invoke_endpoint("keyed", rows) == {"result": expected}


def test_regenerating_a_key_revokes_the_old_one_at_once(served_workspace, rows):
    ws: LocalWorkspace = served_workspace
    endpoint = ws.deploy_endpoint("rotating", "toy-model:1")
    old = ws.endpoint_keys("rotating")
    new = ws.regenerate_endpoint_key("rotating", "primary")
    assert new.primary_key != old.primary_key
    assert new.secondary_key == old.secondary_key
    with httpx.Client(timeout=10) as client:
        body = {"data": rows}
        assert (
            client.post(
                endpoint.scoring_uri, json=body, headers=_bearer(old.primary_key)
            ).status_code
            == 401
        )
        assert (
            client.post(
                endpoint.scoring_uri, json=body, headers=_bearer(new.primary_key)
            ).status_code
            == 200
        )
        assert (
            client.post(
                endpoint.scoring_uri, json=body, headers=_bearer(old.secondary_key)
            ).status_code
            == 200
        )
    with pytest.raises(InvalidInputError, match="primary or secondary"):
        ws.regenerate_endpoint_key("rotating", "tertiary")


def test_logging_switches_on_while_requests_flow(served_workspace, rows):
    ws: LocalWorkspace = served_workspace
    endpoint = ws.deploy_endpoint("logged", "toy-model:1")
    headers = _bearer(ws.endpoint_keys("logged").primary_key)
    with Traffic(endpoint.scoring_uri, headers, {"data": rows[:1]}) as traffic:
        before = len(traffic.statuses)
        assert ws.update_endpoint("logged", logging=True, sample_rate=0.5).logging
        _wait_until(lambda: len(traffic.statuses) > before + 20)
    assert set(traffic.statuses) == {200}
    _wait_until(lambda: ws.endpoint_telemetry("logged", since="5m").total.requests > 0)
    summary = ws.endpoint_telemetry("logged", since="5m")
    assert 0 < summary.total.requests <= len(traffic.statuses)
    assert summary.total.error_rate == 0.0
    assert summary.total.p50_ms is not None
    assert any("started process" in line for line in ws.endpoint_logs("logged"))


def test_a_model_update_rolls_over_without_a_failed_request(served_workspace, rows):
    ws: LocalWorkspace = served_workspace
    endpoint = ws.deploy_endpoint("rolling", "toy-model:1", workers=2)
    headers = _bearer(ws.endpoint_keys("rolling").primary_key)
    with Traffic(endpoint.scoring_uri, headers, {"data": rows}) as traffic:
        updated = ws.update_endpoint("rolling", model="toy-model:2")
    assert updated.model == "toy-model:2"
    assert set(traffic.statuses) == {200}, f"failed requests: {traffic.statuses.count(-1)}"
    health = httpx.get(updated.health_uri, timeout=5).json()
    assert health["model"] == "toy-model:2"


def test_a_killed_process_is_restarted(served_workspace, rows):
    ws: LocalWorkspace = served_workspace
    ws.deploy_endpoint("crashy", "toy-model:1")
    (pid,) = _pids(ws, "crashy")
    os.kill(pid, signal.SIGKILL)
    _wait_until(lambda: ws.get_endpoint("crashy").restarts >= 1, timeout_s=60)
    _wait_until(lambda: ws.get_endpoint("crashy").state is EndpointState.HEALTHY, timeout_s=60)
    assert _pids(ws, "crashy") != [pid]
    assert ws.invoke_endpoint("crashy", rows)["result"]
    assert any("process exited" in line for line in ws.endpoint_logs("crashy"))


def test_token_auth(served_workspace, rows):
    ws: LocalWorkspace = served_workspace
    endpoint = ws.deploy_endpoint("tokened", "toy-model:1", auth_mode="token")
    token = ws.endpoint_token("tokened", ttl_s=60)
    with httpx.Client(timeout=10) as client:
        ok = client.post(endpoint.scoring_uri, json={"data": rows}, headers=_bearer(token))
        assert ok.status_code == 200
        other = issue_token(  # signed by the workspace, but for another endpoint
            ws.secrets.token_private_key, "owner", role="scorer", audience="endpoint:keyed"
        )
        assert (
            client.post(
                endpoint.scoring_uri, json={"data": rows}, headers=_bearer(other)
            ).status_code
            == 401
        )
    with pytest.raises(ConflictError, match="token auth, not keys"):
        ws.endpoint_keys("tokened")
    with pytest.raises(ConflictError, match="key auth, not tokens"):
        ws.endpoint_token("keyed") if _exists(ws, "keyed") else ws.endpoint_token("rotating")


def test_delete_stops_the_processes_and_frees_the_port(served_workspace):
    ws: LocalWorkspace = served_workspace
    endpoint = ws.deploy_endpoint("doomed", "toy-model:1")
    pids = _pids(ws, "doomed")
    ws.delete_endpoint("doomed")
    with pytest.raises(NotFoundError):
        ws.get_endpoint("doomed")
    for pid in pids:
        _wait_until(lambda p=pid: not _running(p), timeout_s=10)
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((endpoint.host, endpoint.port))  # free again
    again = ws.deploy_endpoint("doomed", "toy-model:2")  # the name can be used again
    assert again.model == "toy-model:2"


def test_bad_deployments_change_nothing(served_workspace):
    ws: LocalWorkspace = served_workspace
    before = [e.name for e in ws.list_endpoints()]
    with pytest.raises(NotFoundError, match="no model named 'ghost'"):
        ws.deploy_endpoint("ghosted", "ghost:1")
    with pytest.raises(InvalidInputError, match="auth must be one of"):
        ws.deploy_endpoint("weird", "toy-model:1", auth_mode="password")
    with pytest.raises(InvalidInputError, match="slashes"):
        ws.deploy_endpoint("a/b", "toy-model:1")
    if before:
        with pytest.raises(ConflictError, match="exists"):
            ws.deploy_endpoint(before[0], "toy-model:1")
    assert [e.name for e in ws.list_endpoints()] == before


def _pids(ws: LocalWorkspace, name: str) -> list[int]:
    return next(r.pids.get("pids", []) for r in ws.endpoint_rows() if r.name == name)


def _exists(ws: LocalWorkspace, name: str) -> bool:
    return any(e.name == name for e in ws.list_endpoints())


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:
        return handle.read().rpartition(")")[2].split()[0] not in ("Z", "X")


def test_the_endpoint_commands(served_workspace, tmp_path, rows):
    from typer.testing import CliRunner

    from shipyard.cli.main import app

    ws: LocalWorkspace = served_workspace
    runner = CliRunner()

    def shipyard(*args: str) -> str:
        result = runner.invoke(app, [*args, "--workspace", str(ws.folder)])
        assert result.exit_code == 0, result.output
        return result.output

    deployed = json.loads(shipyard("endpoint", "deploy", "cli", "--model", "toy-model:1", "--json"))
    assert deployed["state"] == "healthy"
    listing = json.loads(shipyard("endpoint", "list", "--json"))
    assert "cli" in [e["name"] for e in listing["items"]]
    assert "cli" in shipyard("endpoint", "list")
    shown = shipyard("endpoint", "show", "cli")
    assert deployed["scoring_uri"] in shown
    assert "Authorization" in shown
    assert "curl" in shown
    keys = json.loads(shipyard("endpoint", "keys", "cli", "--json"))
    assert "sk_" in shipyard("endpoint", "keys", "cli")
    rotated = json.loads(shipyard("endpoint", "keys", "cli", "--regenerate", "secondary", "--json"))
    assert rotated["secondary_key"] != keys["secondary_key"]
    assert rotated["primary_key"] == keys["primary_key"]
    updated = json.loads(shipyard("endpoint", "update", "cli", "--logging", "on", "--json"))
    assert updated["logging"] is True
    assert "logging on" in shipyard("endpoint", "update", "cli", "--sample-rate", "0.5")
    rows_file = tmp_path / "rows.json"
    rows_file.write_text(json.dumps({"data": rows}))
    answer = json.loads(shipyard("endpoint", "invoke", "cli", "--data", str(rows_file)))
    assert len(answer["result"]) == len(rows)
    proba = json.loads(shipyard("endpoint", "invoke", "cli", "--data", str(rows_file), "--proba"))
    assert set(proba["result"][0]) == {"no", "yes"}
    _wait_until(lambda: ws.endpoint_telemetry("cli", since="5m").total.requests >= 2)
    telemetry = json.loads(shipyard("endpoint", "telemetry", "cli", "--since", "5m", "--json"))
    assert telemetry["total"]["requests"] >= 2
    assert "p99 ms" in shipyard("endpoint", "telemetry", "cli")
    assert "started process" in shipyard("endpoint", "logs", "cli", "--tail", "50")
    bad = runner.invoke(
        app, ["endpoint", "update", "cli", "--logging", "maybe", "--workspace", str(ws.folder)]
    )
    assert bad.exit_code == 2
    assert "on or off" in bad.output
    assert "Endpoint cli deleted" in shipyard("endpoint", "delete", "cli")

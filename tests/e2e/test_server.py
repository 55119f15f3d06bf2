"""The control-plane server in real processes: `shipyard server start` on a free port.

Each test starts the CLI's server (`tests.fixtures.servers.Server`), waits for
/api/v1/health with a deadline, talks to it over HTTP like any client, and stops it with
SIGTERM and a timeout. The workspace gets a trained AutoML run first (in this process),
so the REST calls have a model to register and deploy; the server supervises the
endpoint and runs a job worker.
"""

from __future__ import annotations

import io
import json
import stat
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from shipyard.workspace import LocalWorkspace
from shipyard.workspace.supervisor import try_lock
from tests.fixtures.automl import fast_settings, make_frame
from tests.fixtures.servers import Server, credentials, running, seed_workspace, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
JOB_SETTINGS = {"target": "y", "max_trials": 2, "allowed_learners": ["linear"], "n_jobs": 1}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over a workspace holding dataset `toy` and a completed AutoML run."""
    root = tmp_path_factory.mktemp("server")
    folder = seed_workspace(root / "ws")
    with running(folder, root / "server.log", "--workers", "1") as started:
        yield started
    lock = try_lock(folder)  # the supervisor stopped with the server
    assert lock is not None
    lock.close()


@pytest.fixture(scope="module")
def owner(server: Server) -> dict[str, str]:
    """The owner's bearer header, from the config.json written at first start."""
    config_path = server.folder / "config.json"
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    assert json.loads(config_path.read_text())["server"] == server.url
    return server.login(**credentials(server.folder))


def test_tokens_roles_and_docs(server, owner):
    http = server.http
    assert http.get("/api/v1/runs").status_code == 401
    reader = http.post(
        "/api/v1/principals", headers=owner, json={"name": "e2e-reader", "role": "reader"}
    )
    assert reader.status_code == 201, reader.text
    credentials = reader.json()
    basic = http.post(
        "/api/v1/auth/token",
        auth=(credentials["client_id"], credentials["client_secret"]),
        data={"grant_type": "client_credentials"},
    )
    assert basic.status_code == 200
    as_reader = {"Authorization": f"Bearer {basic.json()['access_token']}"}
    assert http.get("/api/v1/runs", headers=as_reader).status_code == 200
    assert (
        http.post("/api/v1/experiments", headers=as_reader, json={"name": "x"}).status_code == 403
    )
    assert http.get("/api/v1/principals", headers=as_reader).status_code == 403
    wrong = {"grant_type": "client_credentials", "client_id": credentials["client_id"]}
    assert http.post("/api/v1/auth/token", data={**wrong, "client_secret": "x"}).status_code == 401
    assert http.request("DELETE", "/api/v1/principals/e2e-reader", headers=owner).status_code == 204
    assert http.get("/api/v1/runs", headers=as_reader).status_code == 401

    page = http.get("/docs")
    assert page.status_code == 200
    assert "http://" not in page.text
    assert "https://" not in page.text
    assert http.get("/docs/static/swagger-ui-bundle.js").status_code == 200
    assert http.get("/openapi.json").json()["info"]["title"] == "Shipyard"


def test_datasets_runs_and_models_over_http(server, owner, tmp_path):
    http = server.http
    csv = tmp_path / "upload.csv"
    make_frame("binary", seed=5).to_csv(csv, index=False)
    with csv.open("rb") as handle:
        uploaded = http.post(
            "/api/v1/datasets",
            headers=owner,
            data={"name": "uploaded", "target": "y"},
            files={"file": ("upload.csv", handle, "text/csv")},
        )
    assert uploaded.status_code == 201, uploaded.text
    names = [d["name"] for d in http.get("/api/v1/datasets", headers=owner).json()["items"]]
    assert names == ["toy", "uploaded"]
    data = http.get("/api/v1/datasets/uploaded/versions/1/data", headers=owner)
    assert data.content[:4] == b"PAR1"

    runs = http.get("/api/v1/runs", headers=owner, params={"kind": "automl", "experiment": "toy"})
    (automl_run,) = runs.json()["items"]
    assert automl_run["status"] == "completed"
    trials = http.get("/api/v1/runs", headers=owner, params={"parent_id": automl_run["id"]})
    assert trials.json()["total"] >= 1
    registered = http.post(
        "/api/v1/models", headers=owner, json={"name": "toy-model", "run_id": automl_run["id"]}
    )
    assert registered.status_code == 201, registered.text
    download = http.get("/api/v1/models/toy-model/versions/1/download", headers=owner)
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        assert "descriptor.json" in archive.namelist()


def test_an_endpoint_deployed_through_the_server(server, owner):
    http = server.http
    _ensure_model(server, owner)
    deployed = http.post(
        "/api/v1/endpoints", headers=owner, json={"name": "srv-ep", "model": "toy-model:1"}
    )
    assert deployed.status_code == 201, f"{deployed.text}\n{server.output()}"
    endpoint = deployed.json()
    assert endpoint["state"] == "healthy"
    keys = http.get("/api/v1/endpoints/srv-ep/keys", headers=owner).json()
    rows = json.loads(
        make_frame("binary", seed=1, rows=3).drop(columns="y").to_json(orient="records")
    )
    scoring = {"Authorization": f"Bearer {keys['primary_key']}"}
    answer = httpx.post(endpoint["scoring_uri"], json={"data": rows}, headers=scoring, timeout=30)
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["result"]) == 3

    updated = http.patch("/api/v1/endpoints/srv-ep", headers=owner, json={"logging": True})
    assert updated.json()["logging"] is True

    def logged() -> bool:
        httpx.post(endpoint["scoring_uri"], json={"data": rows}, headers=scoring, timeout=30)
        telemetry = http.get("/api/v1/endpoints/srv-ep/telemetry", headers=owner).json()
        return bool(telemetry["total"]["requests"] >= 1)

    wait_until(logged, 60, "request telemetry")
    lines = http.get("/api/v1/endpoints/srv-ep/logs", headers=owner, params={"tail": 50}).json()
    assert lines["lines"]
    deleted = http.delete("/api/v1/endpoints/srv-ep", headers=owner)
    assert deleted.json()["state"] == "deleted"
    assert http.get("/api/v1/endpoints", headers=owner).json() == []


def test_a_job_submitted_over_http_is_done_by_the_servers_worker(server, owner):
    http = server.http
    body = {"dataset": "toy", "settings": JOB_SETTINGS, "experiment": "background"}
    submitted = http.post("/api/v1/jobs/automl", headers=owner, json=body)
    assert submitted.status_code == 201, submitted.text
    job_id = submitted.json()["id"]

    def finished() -> dict[str, Any] | None:
        job: dict[str, Any] = http.get(f"/api/v1/jobs/{job_id}", headers=owner).json()
        return job if job["status"] in ("completed", "failed", "canceled") else None

    job = wait_until(finished, 180, "the job")
    assert job["status"] == "completed", f"{job}\n{server.output()}"
    run = http.get(f"/api/v1/runs/{job['run_id']}", headers=owner).json()
    assert (run["status"], run["experiment"], run["has_model"]) == ("completed", "background", True)


def _ensure_model(server: Server, owner: dict[str, str]) -> None:
    if server.http.get("/api/v1/models/toy-model", headers=owner).status_code == 200:
        return
    runs = server.http.get(
        "/api/v1/runs", headers=owner, params={"experiment": "toy", "kind": "automl"}
    )
    run_id = runs.json()["items"][0]["id"]
    server.http.post("/api/v1/models", headers=owner, json={"name": "toy-model", "run_id": run_id})


@pytest.mark.postgres
def test_the_server_on_postgresql(postgres_schema_url, tmp_path):
    folder = tmp_path / "ws"
    server = Server(folder, tmp_path / "server.log", "--db", postgres_schema_url)
    try:
        owner = server.login(**credentials(folder))
        csv = tmp_path / "pg.csv"
        make_frame("binary", seed=6).to_csv(csv, index=False)
        with csv.open("rb") as handle:
            uploaded = server.http.post(
                "/api/v1/datasets",
                headers=owner,
                data={"name": "pg-data"},
                files={"file": ("pg.csv", handle, "text/csv")},
            )
        assert uploaded.status_code == 201, uploaded.text
        listed = server.http.get("/api/v1/datasets", headers=owner).json()
        assert [d["name"] for d in listed["items"]] == ["pg-data"]
        run = server.http.post("/api/v1/runs", headers=owner, json={"experiment": "pg"}).json()
        server.http.post(
            f"/api/v1/runs/{run['id']}/metrics", headers=owner, json={"metrics": {"m": 1.0}}
        )
        runs = server.http.get("/api/v1/runs", headers=owner, params={"experiment": "pg"}).json()
        assert runs["items"][0]["metrics"] == {"m": 1.0}
        assert not (folder / "shipyard.db").exists()  # the rows live in PostgreSQL
    finally:
        assert server.stop(), server.output()


def test_endpoints_keep_serving_across_a_server_restart(tmp_path):
    folder = tmp_path / "ws"
    with LocalWorkspace.open(folder) as ws:
        ws.register_dataset("toy", make_frame("binary", seed=0))
        run = ws.automl("toy", fast_settings(allowed_learners=("linear",), seed=0))
        ws.register_model("toy-model", run.id)
    first = Server(folder, tmp_path / "first.log")
    owner = first.login(**credentials(folder))
    body = {"name": "kept", "model": "toy-model", "auth_mode": "token"}
    deployed = first.http.post("/api/v1/endpoints", headers=owner, json=body).json()
    token = first.http.post("/api/v1/endpoints/kept/token", headers=owner, json={"ttl_s": 600})
    assert token.json()["expires_in"] == 600
    assert first.stop(), first.output()

    rows = json.loads(
        make_frame("binary", seed=1, rows=2).drop(columns="y").to_json(orient="records")
    )
    scoring = {"Authorization": f"Bearer {token.json()['access_token']}"}
    between = httpx.post(deployed["scoring_uri"], json={"data": rows}, headers=scoring, timeout=30)
    assert between.status_code == 200  # endpoint processes outlive the server

    second = Server(folder, tmp_path / "second.log")
    try:
        owner = second.login(**credentials(folder))
        shown = second.http.get("/api/v1/endpoints/kept", headers=owner).json()
        assert (shown["state"], shown["port"]) == ("healthy", deployed["port"])
        deleted = second.http.delete("/api/v1/endpoints/kept", headers=owner)
        assert deleted.json()["state"] == "deleted"
    finally:
        assert second.stop(), second.output()
    with pytest.raises(httpx.TransportError):
        httpx.post(deployed["scoring_uri"], json={"data": rows}, headers=scoring, timeout=5)


def test_answers_carry_request_ids_and_errors_name_their_class(server, owner):
    missing = server.http.get(
        "/api/v1/datasets/no-such-dataset", headers={**owner, "X-Request-ID": "e2e-trace-1"}
    )
    assert missing.status_code == 404
    assert missing.headers["x-request-id"] == "e2e-trace-1"
    assert missing.json()["type"] == "NotFoundError"
    made = server.http.get("/api/v1/health", headers={"X-Request-ID": "not sane!"})
    assert made.headers["x-request-id"] not in ("", "not sane!")

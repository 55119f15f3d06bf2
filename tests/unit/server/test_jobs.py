"""Jobs over HTTP: submit an AutoML job, list, show, cancel (no worker runs here)."""

from __future__ import annotations

from typer.testing import CliRunner

import shipyard.server.serve as serve_module
from shipyard.cli.main import app as cli_app
from shipyard.server import ServerSettings, create_app
from shipyard.serving import sockets
from shipyard.workspace import LocalWorkspace
from shipyard.workspace.jobs import JobLimits
from tests.fixtures.automl import make_frame
from tests.unit.server._support import ApiClient
from tests.unit.server.conftest import bearer

SETTINGS = {"target": "y", "max_trials": 2, "allowed_learners": ["linear"]}


def test_a_submitted_job_waits_in_the_queue_and_can_be_canceled(api):
    api.ws.register_dataset("jobs-toy", make_frame("binary", seed=3))
    body = {"dataset": "jobs-toy", "settings": SETTINGS, "experiment": "bg", "max_attempts": 3}
    submitted = api.post("/api/v1/jobs/automl", "contributor", json=body)
    assert submitted.status_code == 201, submitted.text
    job = submitted.json()
    assert (job["status"], job["kind"], job["max_attempts"]) == ("queued", "automl", 3)
    assert job["created_by"] == "test-contributor"
    run = api.get(f"/api/v1/runs/{job['run_id']}", "reader").json()
    assert (run["status"], run["experiment"]) == ("queued", "bg")

    queued = api.get("/api/v1/jobs", "reader", params={"status": "queued"}).json()
    assert job["id"] in [j["id"] for j in queued["items"]]
    assert api.get(f"/api/v1/jobs/{job['id']}", "reader").json()["id"] == job["id"]

    canceled = api.post(f"/api/v1/jobs/{job['id']}/cancel", "contributor")
    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert api.post(f"/api/v1/jobs/{job['id']}/cancel", "contributor").status_code == 409


def test_bad_job_requests(api):
    api.ws.register_dataset("jobs-bad", make_frame("binary", seed=4))
    unknown_setting = api.post(
        "/api/v1/jobs/automl",
        "contributor",
        json={"dataset": "jobs-bad", "settings": {"target": "y", "speed": "max"}},
    )
    assert unknown_setting.status_code == 422
    assert "speed" in unknown_setting.json()["error"]
    no_dataset = api.post(
        "/api/v1/jobs/automl", "contributor", json={"dataset": "never", "settings": SETTINGS}
    )
    assert no_dataset.status_code == 404
    assert api.get("/api/v1/jobs", "reader", params={"status": "sleeping"}).status_code == 422
    assert api.get("/api/v1/jobs/job_never", "reader").status_code == 404


# issue 10 finding 9: each of these used to be queued (201) and fail in the worker, or hold
# the only worker for its whole budget; now 422 naming the setting, and nothing is queued
HOSTILE = [
    ({"target": "nope"}, "target: column 'nope'"),
    ({"primary_metric": "speed"}, "primary_metric 'speed' is not a metric"),
    ({"allowed_learners": "lightgbm"}, "allowed_learners must be a list of learner names"),
    ({"seed": 2**70}, "seed must be a whole number"),
    ({"n_jobs": 1e9}, "n_jobs must be a whole number"),
    ({"budget_s": 1e308}, "budget_s must be a number above 0"),
    ({"budget_s": 86_401}, "budget_s 86401 is over this server's maximum of 86400 seconds"),
]


def test_hostile_job_settings_are_refused_at_submit(api):
    api.ws.register_dataset("jobs-hostile", make_frame("binary", seed=5))
    before = api.get("/api/v1/jobs", "reader").json()["total"]
    for overrides, message in HOSTILE:
        body = {"dataset": "jobs-hostile", "settings": {**SETTINGS, **overrides}}
        refused = api.post("/api/v1/jobs/automl", "contributor", json=body)
        assert refused.status_code == 422, (overrides, refused.text)
        assert message in refused.json()["error"], overrides
    assert api.get("/api/v1/jobs", "reader").json()["total"] == before


def test_the_server_s_job_limits_apply(tmp_path):
    limits = JobLimits(max_budget_s=30, max_trials=4)
    settings = ServerSettings(workspace=tmp_path / "ws", supervise=False, job_limits=limits)
    assert settings.child_env()["SHIPYARD_MAX_BUDGET_S"] == "30"
    client = ApiClient(create_app(settings))
    try:
        ws: LocalWorkspace = client.app.state.workspace
        ws.register_dataset("limited", make_frame("binary", seed=6))
        headers = bearer(ws, "limited-contributor", "contributor")
        body = {"dataset": "limited", "settings": {**SETTINGS, "budget_s": 31}}
        over = client.request("POST", "/api/v1/jobs/automl", headers=headers, json=body)
        assert over.status_code == 422
        assert "maximum of 30 seconds" in over.json()["error"]
        body["settings"] = {**SETTINGS, "budget_s": 30, "max_trials": 5}
        over = client.request("POST", "/api/v1/jobs/automl", headers=headers, json=body)
        assert "max_trials 5 is over this server's maximum of 4" in over.json()["error"]
        body["settings"] = {**SETTINGS, "budget_s": 30, "max_trials": 4}
        assert (
            client.request("POST", "/api/v1/jobs/automl", headers=headers, json=body).status_code
            == 201
        )
    finally:
        client.close()


def test_server_start_takes_the_job_limits(tmp_path, monkeypatch):
    served: list[ServerSettings] = []
    monkeypatch.setattr(sockets, "listen_socket", lambda *_, **__: None)
    monkeypatch.setattr(serve_module, "serve", lambda settings, _sock: served.append(settings))
    folder = str(tmp_path / "ws")
    argv = ["server", "start", "--workspace", folder, "--max-budget", "600", "--max-trials", "50"]
    result = CliRunner().invoke(cli_app, argv)
    assert result.exit_code == 0, result.output
    assert served[0].job_limits == JobLimits(max_budget_s=600, max_trials=50)
    monkeypatch.setenv("SHIPYARD_MAX_BUDGET_S", "120")
    assert CliRunner().invoke(cli_app, argv[:4]).exit_code == 0
    assert served[1].job_limits == JobLimits(max_budget_s=120)
    refused = CliRunner().invoke(cli_app, [*argv[:4], "--max-budget", "0"])
    assert refused.exit_code == 2

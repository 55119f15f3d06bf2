"""Jobs over HTTP: submit an AutoML job, list, show, cancel (no worker runs here)."""

from __future__ import annotations

from tests.fixtures.automl import make_frame

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

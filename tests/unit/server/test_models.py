"""The model registry over HTTP: register a run's model, list, show, download a zip."""

from __future__ import annotations

import io
import zipfile


def test_a_run_model_is_registered_listed_and_downloaded(api, trained_run):
    body = {"name": "http-model", "run_id": trained_run, "description": "toy", "tags": {"a": "b"}}
    created = api.post("/api/v1/models", "contributor", json=body)
    assert created.status_code == 201, created.text
    version = created.json()
    assert (version["name"], version["version"], version["run_id"]) == (
        "http-model",
        1,
        trained_run,
    )
    assert version["tags"] == {"a": "b"}
    assert api.post("/api/v1/models", "contributor", json=body).json()["version"] == 2

    listed = api.get("/api/v1/models", "reader").json()
    (entry,) = [m for m in listed["items"] if m["name"] == "http-model"]
    assert (entry["latest_version"], entry["versions"]) == (2, 2)
    assert api.get("/api/v1/models/http-model", "reader").json()["version"] == 2
    first = api.get("/api/v1/models/http-model", "reader", params={"version": 1}).json()
    assert first["version"] == 1
    assert first["descriptor"]["target"] == "y"
    versions = api.get("/api/v1/models/http-model/versions", "reader").json()
    assert [v["version"] for v in versions] == [1, 2]

    download = api.get("/api/v1/models/http-model/versions/1/download", "reader")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        names = set(archive.namelist())
    assert "descriptor.json" in names
    assert len(names) >= 2


def test_runs_without_a_model_and_unknown_models_are_refused(api):
    run = api.post("/api/v1/runs", "contributor", json={"experiment": "no-model"}).json()
    answer = api.post("/api/v1/models", "contributor", json={"name": "m", "run_id": run["id"]})
    assert answer.status_code == 422
    assert "no model" in answer.json()["error"]
    assert api.get("/api/v1/models/never", "reader").status_code == 404
    assert api.get("/api/v1/models/never/versions/1/download", "reader").status_code == 404

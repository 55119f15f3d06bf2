"""Model integrity over REST (issue 10, findings 1 and 5): the attack, then the refusal.

A contributor overwrote a completed run's model with a crafted pickle and a descriptor
carrying its own checksum, registered it and deployed it. Now: a finished run's artifacts,
metrics and params are fixed (409), tags still change; a run's model files uploaded over
REST never register (422 pointing at the upload route); a model made elsewhere comes in
through `POST /models/{name}/versions`, which records the uploader.
"""

from __future__ import annotations

import io
import json
import pickle
import tarfile
import zipfile

import pytest

from shipyard.auth.manifest import folder_digests
from shipyard.automl.model import DESCRIPTOR_FILE, FORMAT, MODEL_FILE

EVIL = pickle.dumps("stand-in for a crafted pickle")
DESCRIPTOR = json.dumps({"format": FORMAT, "task": "classification", "model_sha256": "f" * 64})


def _zip(files: dict[str, bytes | str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _upload(api, name: str, archive: bytes, role: str = "contributor", **form: str):
    files = {"file": ("model.zip", archive, "application/zip")}
    return api.post(f"/api/v1/models/{name}/versions", role, files=files, data=form)


def _put(api, run_id: str, path: str, data: bytes):
    headers = {"Content-Type": "application/octet-stream"}
    return api.call(
        "PUT",
        f"/api/v1/runs/{run_id}/artifacts/{path}",
        "contributor",
        content=data,
        headers=headers,
    )


def test_a_completed_run_refuses_artifacts_metrics_and_params_but_takes_tags(api, trained_run):
    model = api.ws.read_artifact(trained_run, f"model/{MODEL_FILE}")
    for response in (
        _put(api, trained_run, f"model/{MODEL_FILE}", EVIL),
        _put(api, trained_run, f"model/{DESCRIPTOR_FILE}", DESCRIPTOR.encode()),
        api.post(f"/api/v1/runs/{trained_run}/metrics", "contributor", json={"metrics": {"a": 1}}),
        api.post(f"/api/v1/runs/{trained_run}/params", "contributor", json={"params": {"p": 1}}),
    ):
        assert response.status_code == 409, response.text
        assert f"run {trained_run} is completed" in response.json()["error"]
    assert api.ws.read_artifact(trained_run, f"model/{MODEL_FILE}") == model
    tagged = api.post(f"/api/v1/runs/{trained_run}/tags", "contributor", json={"tags": {"ok": "1"}})
    assert tagged.status_code == 204, tagged.text


def test_a_run_whose_model_files_came_over_rest_does_not_register(api):
    ws = api.ws
    run = ws.create_run("integrity", kind="automl")
    key = f"runs/{run.id}/model"
    with ws.artifacts.stage_dir(key) as staging:  # the engine's own write
        (staging / MODEL_FILE).write_bytes(pickle.dumps("engine"))
        (staging / DESCRIPTOR_FILE).write_text(json.dumps({"format": FORMAT}))
        files = folder_digests(staging)
    ws.record_engine_model(run.id, key, files)
    assert _put(api, run.id, f"model/{MODEL_FILE}", EVIL).status_code == 200  # still running
    ws.finish_run(run.id)

    refused = api.post("/api/v1/models", "contributor", json={"name": "evil", "run_id": run.id})

    assert refused.status_code == 422, refused.text
    message = refused.json()["error"]
    assert "uploaded with log_artifact" in message
    assert "POST /api/v1/models/NAME/versions" in message
    assert api.get("/api/v1/models/evil").status_code == 404


def test_the_upload_route_records_the_uploader(api):
    answer = _upload(
        api,
        "uploaded",
        _zip({MODEL_FILE: EVIL, DESCRIPTOR_FILE: DESCRIPTOR}),
        description="made elsewhere",
        tags=json.dumps({"team": "risk"}),
    )
    assert answer.status_code == 201, answer.text
    version = answer.json()
    principals = api.get("/api/v1/principals", "owner").json()
    ids = {p["name"]: p["client_id"] for p in principals}
    assert version["tags"] == {"team": "risk", "uploaded_by": ids["test-contributor"]}
    assert (version["name"], version["version"], version["run_id"]) == ("uploaded", 1, None)
    assert version["descriptor"]["model_sha256"] != "f" * 64  # computed, not the claim

    downloaded = api.get("/api/v1/models/uploaded/versions/1/download", "reader")
    names = zipfile.ZipFile(io.BytesIO(downloaded.content)).namelist()
    assert sorted(names) == [DESCRIPTOR_FILE, "manifest.json", MODEL_FILE]
    assert _upload(api, "uploaded", downloaded.content).json()["version"] == 2  # round trip


def test_a_tar_of_a_folder_uploads_too(api):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in ((MODEL_FILE, EVIL), (DESCRIPTOR_FILE, DESCRIPTOR.encode())):
            info = tarfile.TarInfo(f"folder/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    answer = _upload(api, "tarred", buffer.getvalue())
    assert answer.status_code == 201, answer.text


@pytest.mark.parametrize(
    ("archive", "words"),
    [
        (b"not an archive", "zip or tar"),
        (_zip({"../model.joblib": EVIL, DESCRIPTOR_FILE: DESCRIPTOR}), "flat"),
        (_zip({MODEL_FILE: EVIL, "hook.py": "import os"}), "hook.py"),
        (_zip({MODEL_FILE: EVIL}), "lacks descriptor.json"),
        (_zip({MODEL_FILE: EVIL, DESCRIPTOR_FILE: "[]"}), "Shipyard model"),
    ],
)
def test_a_bad_upload_is_a_422_naming_the_problem(api, archive, words):
    answer = _upload(api, "bad-upload", archive)
    assert answer.status_code == 422, answer.text
    assert words in answer.json()["error"]


def test_a_reader_cannot_upload_and_tags_must_be_an_object(api):
    archive = _zip({MODEL_FILE: EVIL, DESCRIPTOR_FILE: DESCRIPTOR})
    assert _upload(api, "r", archive, role="reader").status_code == 403
    answer = _upload(api, "r", archive, tags="[1]")
    assert answer.status_code == 422
    assert "JSON object" in answer.json()["error"]

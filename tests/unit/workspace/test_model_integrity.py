"""Model integrity (issue 10, findings 1 and 5): checksums the workspace computes, finished
runs that stay as they finished, models registered only from the engine's own files or by
an explicit upload, and a signed manifest on every version.

None of these tests unpickles anything: the folders hold a stand-in pickle, since neither
registering nor uploading may load a model in the workspace's process.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from shipyard.auth.manifest import MANIFEST_FILE, ManifestError, folder_digests, verify_folder
from shipyard.automl.model import DESCRIPTOR_FILE, FORMAT, MODEL_FILE
from shipyard.core.errors import ConflictError, InvalidInputError
from shipyard.core.schemas import RunStatus
from shipyard.store.tables import ArtifactFileRow

UPLOAD_ROUTE = "POST /api/v1/models/NAME/versions"


def model_folder(folder: Path, payload: object = "a model", **descriptor: object) -> Path:
    """A folder shaped like `TabularModel.save` writes it (the pickle is a stand-in)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MODEL_FILE).write_bytes(pickle.dumps(payload))
    fields = {"format": FORMAT, "task": "classification", "model_sha256": "0" * 64}
    (folder / DESCRIPTOR_FILE).write_text(json.dumps({**fields, **descriptor}))
    return folder


def engine_run(workspace) -> str:
    """A running run whose model folder the engine path wrote and recorded."""
    run = workspace.create_run("exp", kind="automl")
    key = f"runs/{run.id}/model"
    with workspace.artifacts.stage_dir(key) as staging:
        model_folder(staging)
        files = folder_digests(staging)
    workspace.record_engine_model(run.id, key, files)
    return run.id


def test_an_upload_registers_with_checksums_computed_here_and_who_uploaded_it(workspace, tmp_path):
    source = model_folder(tmp_path / "mine", learner="custom")
    version = workspace.upload_model(
        "mine", source, uploaded_by="sp_alice", description="by hand", tags={"stage": "dev"}
    )

    assert (version.ref, version.run_id, version.learner) == ("mine:1", None, "custom")
    assert version.tags == {"stage": "dev", "uploaded_by": "sp_alice"}
    folder = workspace.model_folder("mine:1")
    stored = json.loads((folder / DESCRIPTOR_FILE).read_text())
    real = folder_digests(folder)[MODEL_FILE].sha256
    assert stored["model_sha256"] == real != "0" * 64  # the uploader's claim is replaced
    manifest = verify_folder(workspace.secrets.token_public_key, folder, model="mine", version=1)
    assert set(manifest["files"]) == {MODEL_FILE, DESCRIPTOR_FILE}
    with workspace.store.read() as session:
        row = session.get(ArtifactFileRow, f"models/mine/1/{MODEL_FILE}")
        assert (row.sha256, row.written_by) == (real, "upload")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: (f / MODEL_FILE).unlink(), "lacks model.joblib"),
        (lambda f: (f / "run.sh").write_text("rm -rf /"), "holds run.sh"),
        (lambda f: (f / DESCRIPTOR_FILE).write_text("{"), "is not JSON"),
        (lambda f: (f / DESCRIPTOR_FILE).write_text('{"format": "x"}'), "Shipyard model"),
        (
            lambda f: (f / DESCRIPTOR_FILE).write_text(json.dumps({"format": FORMAT, "task": 7})),
            "task must be text",
        ),
    ],
)
def test_an_upload_that_is_not_a_model_folder_is_refused(workspace, tmp_path, change, message):
    source = model_folder(tmp_path / "bad")
    change(source)
    with pytest.raises(InvalidInputError, match=message):
        workspace.upload_model("bad", source, uploaded_by="sp_alice")
    assert workspace.list_models().total == 0


def test_the_uploader_is_recorded_by_the_workspace_not_claimed(workspace, tmp_path):
    source = model_folder(tmp_path / "m")
    with pytest.raises(InvalidInputError, match="uploaded_by"):
        workspace.upload_model("m", source, uploaded_by="sp_a", tags={"uploaded_by": "owner"})
    with pytest.raises(InvalidInputError, match="who uploaded"):
        workspace.upload_model("m", source, uploaded_by=" ")


def test_a_finished_run_refuses_artifacts_metrics_and_params_but_not_tags(workspace):
    run = workspace.create_run("exp")
    workspace.log_artifact(run.id, "model/model.joblib", b"before")
    workspace.finish_run(run.id)

    for write in (
        lambda: workspace.log_artifact(run.id, "model/model.joblib", pickle.dumps("evil")),
        lambda: workspace.log_metrics(run.id, {"auc": 1.0}),
        lambda: workspace.log_params(run.id, {"lr": 1}),
    ):
        with pytest.raises(ConflictError, match=f"run {run.id} is completed"):
            write()
    assert workspace.read_artifact(run.id, "model/model.joblib") == b"before"
    workspace.set_tags(run.id, {"note": "reviewed"})
    assert workspace.get_run(run.id).tags == {"note": "reviewed"}


def test_an_engine_run_registers_with_a_signed_manifest(workspace):
    run_id = engine_run(workspace)
    workspace.finish_run(run_id)

    version = workspace.register_model("engine-model", run_id)

    folder = workspace.model_folder(version.ref)
    verify_folder(workspace.secrets.token_public_key, folder, model="engine-model", version=1)
    with workspace.store.read() as session:
        row = session.get(ArtifactFileRow, f"models/engine-model/1/{MODEL_FILE}")
        assert row.written_by == "registry"


def test_a_run_whose_model_files_were_uploaded_does_not_register(workspace):
    run_id = engine_run(workspace)
    workspace.log_artifact(run_id, "model/model.joblib", pickle.dumps("evil"))
    workspace.finish_run(run_id)

    with pytest.raises(InvalidInputError, match="uploaded with log_artifact") as refused:
        workspace.register_model("evil", run_id)
    assert UPLOAD_ROUTE in str(refused.value)
    assert workspace.list_models().total == 0


def test_a_run_whose_model_changed_on_disk_does_not_register(workspace):
    run_id = engine_run(workspace)
    workspace.finish_run(run_id)
    model = workspace.artifacts.path(f"runs/{run_id}/model/{MODEL_FILE}")
    model.write_bytes(pickle.dumps("evil"))

    with pytest.raises(InvalidInputError, match="does not match what the AutoML engine wrote"):
        workspace.register_model("evil", run_id)


def test_a_run_without_recorded_checksums_does_not_register(workspace):
    run = workspace.create_run("exp", kind="automl")
    key = f"runs/{run.id}/model"
    model_folder(workspace.artifacts.path(key))
    with workspace.store.write() as session:  # as a run recorded before checksums existed
        workspace._row(session, run.id).model_path = key
    workspace.finish_run(run.id)

    with pytest.raises(InvalidInputError, match="no checksums recorded") as refused:
        workspace.register_model("old", run.id)
    assert UPLOAD_ROUTE in str(refused.value)


def test_a_version_registered_before_manifests_is_signed_on_first_use(workspace, tmp_path):
    workspace.upload_model("old", model_folder(tmp_path / "m"), uploaded_by="sp_a")
    folder = workspace.artifacts.path("models/old/1")
    (folder / MANIFEST_FILE).unlink()  # as registered before this change

    assert (workspace.model_folder("old:1") / MANIFEST_FILE).is_file()
    verify_folder(workspace.secrets.token_public_key, folder, model="old", version=1)

    (folder / MANIFEST_FILE).unlink()
    (folder / MODEL_FILE).write_bytes(pickle.dumps("evil"))  # no longer its descriptor's
    with pytest.raises(ConflictError, match="predates signed manifests"):
        workspace.model_folder("old:1")
    with pytest.raises(ManifestError, match="no signed manifest"):
        verify_folder(workspace.secrets.token_public_key, folder, model="old", version=1)


def test_a_finished_run_status_is_named_for_failed_and_canceled_runs(workspace):
    failed = workspace.create_run("exp")
    workspace.finish_run(failed.id, RunStatus.FAILED, "boom")
    with pytest.raises(ConflictError, match=f"run {failed.id} is failed"):
        workspace.log_artifact(failed.id, "a.txt", "x")

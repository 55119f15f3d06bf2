"""A model file changed on disk after registration is never unpickled by an endpoint
(issue 10, finding 1): real supervised endpoint processes on 127.0.0.1."""

from __future__ import annotations

import json
import pickle

import pytest

from shipyard.automl.model import MODEL_FILE
from shipyard.core.errors import ConflictError
from shipyard.core.schemas import EndpointState
from shipyard.workspace import LocalWorkspace
from tests.fixtures.automl import make_frame

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
pytest_plugins = ["tests.fixtures.endpoints"]


class Payload:
    """Unpickling it creates the file `marker`: proof that a process loaded it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.marker, "w"))


def test_an_uploaded_model_deploys_and_scores(served_workspace, tmp_path):
    ws: LocalWorkspace = served_workspace
    source = ws.download_model("toy-model:1", tmp_path / "download")
    version = ws.upload_model("uploaded", source, uploaded_by="sp_e2e")
    rows = json.loads(
        make_frame("binary", seed=3).drop(columns="y").head(3).to_json(orient="records")
    )

    ws.deploy_endpoint("uploaded", version.ref)

    assert len(ws.invoke_endpoint("uploaded", rows)["result"]) == 3
    ws.delete_endpoint("uploaded")


@pytest.mark.timeout(240)
def test_an_endpoint_refuses_a_model_file_changed_after_registration(served_workspace, tmp_path):
    ws: LocalWorkspace = served_workspace
    source = ws.download_model("toy-model:1", tmp_path / "download")
    version = ws.upload_model("tampered", source, uploaded_by="sp_e2e")
    marker = tmp_path / "unpickled"
    folder = ws.model_folder(version.ref)
    (folder / MODEL_FILE).write_bytes(pickle.dumps(Payload(str(marker))))

    with pytest.raises(ConflictError, match="failed"):
        ws.deploy_endpoint("tampered", version.ref, wait_s=120)

    assert ws.get_endpoint("tampered").state is EndpointState.FAILED
    assert not marker.exists(), "the endpoint process unpickled a tampered model file"
    logs = "\n".join(ws.endpoint_logs("tampered", tail=200))
    assert "refusing to load model tampered:1" in logs
    assert "was changed after registration" in logs
    ws.delete_endpoint("tampered")

"""The scoring runtime loads a model folder only when it matches its signed manifest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shipyard.auth import SigningKeys
from shipyard.auth.manifest import ManifestError, sign_folder
from shipyard.automl import load_model
from shipyard.automl.model import MODEL_FILE
from shipyard.core.interface import ScoringModel
from shipyard.serving.runtime import load_served


@pytest.fixture
def signed(models, signing_keys: SigningKeys, tmp_path: Path) -> Path:
    folder = shutil.copytree(models.a, tmp_path / "a")
    sign_folder(signing_keys.private_pem, folder, model="a", version=1)
    return folder


class Loads:
    """`load_model`, counting how many folders it was asked to unpickle."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, path: str) -> ScoringModel:
        self.count += 1
        return load_model(path)


def test_a_signed_model_loads(signed, signing_keys):
    loads = Loads()
    served = load_served(loads, "a:1", str(signed), signing_keys.public_pem)
    assert (served.ref, loads.count) == ("a:1", 1)


def test_a_changed_model_file_is_never_unpickled(signed, signing_keys, models, caplog):
    shutil.copyfile(models.b / MODEL_FILE, signed / MODEL_FILE)  # a valid model, not this one
    loads = Loads()
    with pytest.raises(ManifestError, match=r"model a:1 refused: .*changed after registration"):
        load_served(loads, "a:1", str(signed), signing_keys.public_pem)
    assert loads.count == 0
    assert "refusing to load model a:1" in caplog.text


def test_a_version_that_is_not_a_number_is_refused(signed, signing_keys):
    with pytest.raises(ManifestError, match="refused"):
        load_served(Loads(), "a:latest", str(signed), signing_keys.public_pem)

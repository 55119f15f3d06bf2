"""Signed model manifests: what the workspace signs is what an endpoint accepts, and any
change to a file, to the manifest or to the key is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.auth import new_signing_keys
from shipyard.auth.manifest import MANIFEST_FILE, ManifestError, sign_folder, verify_folder

KEYS = new_signing_keys()


@pytest.fixture
def signed(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.joblib").write_bytes(b"\x80\x04pickled model")
    (folder / "descriptor.json").write_text('{"format": "shipyard-model"}')
    sign_folder(KEYS.private_pem, folder, model="m", version=3)
    return folder


def test_a_signed_folder_verifies_with_the_public_key(signed):
    manifest = verify_folder(KEYS.public_pem, signed, model="m", version=3)
    assert manifest["files"]["model.joblib"]["size"] == len(b"\x80\x04pickled model")
    assert set(manifest["files"]) == {"model.joblib", "descriptor.json"}


def test_a_changed_file_is_refused(signed):
    (signed / "model.joblib").write_bytes(b"\x80\x04evil pickle!!")  # same size
    with pytest.raises(ManifestError, match=r"model\.joblib was changed after registration"):
        verify_folder(KEYS.public_pem, signed, model="m", version=3)


def test_an_added_or_removed_file_is_refused(signed):
    (signed / "extra.py").write_text("import os")
    with pytest.raises(ManifestError, match=r"extra\.py is not in the model's signed manifest"):
        verify_folder(KEYS.public_pem, signed, model="m", version=3)
    (signed / "extra.py").unlink()
    (signed / "descriptor.json").unlink()
    with pytest.raises(
        ManifestError, match=r"descriptor\.json is listed in the manifest but missing"
    ):
        verify_folder(KEYS.public_pem, signed, model="m", version=3)


def test_a_manifest_rewritten_to_match_a_changed_file_is_refused(signed):
    (signed / "model.joblib").write_bytes(b"evil")
    document = json.loads((signed / MANIFEST_FILE).read_text())
    rewritten = sign_folder(new_signing_keys().private_pem, signed, model="m", version=3)
    document["manifest"] = rewritten  # the right hashes, under the old signature
    (signed / MANIFEST_FILE).write_text(json.dumps(document))
    with pytest.raises(ManifestError, match="does not verify"):
        verify_folder(KEYS.public_pem, signed, model="m", version=3)


def test_a_folder_signed_with_another_key_is_refused(signed):
    sign_folder(new_signing_keys().private_pem, signed, model="m", version=3)
    with pytest.raises(ManifestError, match="does not verify with this workspace's key"):
        verify_folder(KEYS.public_pem, signed, model="m", version=3)


def test_the_manifest_of_another_model_is_refused(signed):
    with pytest.raises(ManifestError, match="holds the manifest of m:3, not of m:4"):
        verify_folder(KEYS.public_pem, signed, model="m", version=4)


@pytest.mark.parametrize(
    ("text", "words"),
    [(None, "no signed manifest"), ("{", "is not a signed manifest"), ("[]", "not a signed")],
)
def test_a_missing_or_broken_manifest_is_refused(signed, text, words):
    if text is None:
        (signed / MANIFEST_FILE).unlink()
    else:
        (signed / MANIFEST_FILE).write_text(text)
    with pytest.raises(ManifestError, match=words):
        verify_folder(KEYS.public_pem, signed, model="m", version=3)

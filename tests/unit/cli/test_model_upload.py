"""`shipyard model upload NAME --from DIR`: an explicit upload records who made it."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from shipyard.automl.model import DESCRIPTOR_FILE, FORMAT, MODEL_FILE


def _model_folder(folder: Path) -> Path:
    folder.mkdir()
    (folder / MODEL_FILE).write_bytes(pickle.dumps("a stand-in model"))
    (folder / DESCRIPTOR_FILE).write_text(json.dumps({"format": FORMAT, "task": "regression"}))
    return folder


def test_upload_registers_the_folder_and_records_the_uploader(in_workspace, tmp_path):
    source = _model_folder(tmp_path / "mine")
    result = in_workspace("model", "upload", "mine", "--from", source, "--tag", "team=risk")
    assert result.exit_code == 0, result.output
    assert "Uploaded mine:1 (by local:" in result.stdout

    shown = in_workspace("model", "show", "mine:1", "--json")
    version = json.loads(shown.stdout)
    assert version["run_id"] is None
    assert version["tags"]["team"] == "risk"
    assert version["tags"]["uploaded_by"].startswith("local:")


def test_upload_errors_are_one_line(in_workspace, tmp_path, expect_user_error):
    expect_user_error(
        in_workspace("model", "upload", "m", "--from", tmp_path / "missing"), "is not a folder"
    )
    source = _model_folder(tmp_path / "m")
    (source / "setup.py").write_text("import os")
    expect_user_error(in_workspace("model", "upload", "m", "--from", source), "holds setup.py")

from __future__ import annotations

import pytest

from shipyard.core.errors import InvalidInputError, NotFoundError
from shipyard.store import ArtifactStore


def test_write_read_list(tmp_path):
    store = ArtifactStore(tmp_path)
    store.write_bytes("runs/r1/a.txt", b"one")
    store.write_bytes("runs/r1/sub/b.txt", b"two")
    assert store.read_bytes("runs/r1/a.txt") == b"one"
    assert store.list("runs/r1") == ["runs/r1/a.txt", "runs/r1/sub/b.txt"]
    assert store.list("runs/none") == []
    store.write_bytes("runs/r1/a.txt", b"replaced")
    assert store.read_bytes("runs/r1/a.txt") == b"replaced"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    store = ArtifactStore(tmp_path)
    store.write_bytes("k/file.bin", b"old")

    def explode(handle):
        handle.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        store.write_with("k/file.bin", explode)
    assert store.read_bytes("k/file.bin") == b"old"
    assert [p.name for p in (tmp_path / "k").iterdir()] == ["file.bin"]


def test_staged_folders_appear_whole_or_not_at_all(tmp_path):
    store = ArtifactStore(tmp_path)

    def crash_while_saving() -> None:
        with store.stage_dir("models/m/1") as folder:
            (folder / "model.joblib").write_bytes(b"x")
            raise RuntimeError("crash while saving")

    with pytest.raises(RuntimeError):
        crash_while_saving()
    assert not store.exists("models/m/1")
    with store.stage_dir("models/m/1") as folder:
        (folder / "model.joblib").write_bytes(b"x")
    assert store.list("models/m/1") == ["models/m/1/model.joblib"]
    store.copy_dir("models/m/1", "models/m/2")
    assert store.read_bytes("models/m/2/model.joblib") == b"x"
    assert not any((tmp_path / ".staging").iterdir())


@pytest.mark.parametrize("key", ["", "/abs", "../up", "a/../b", "a//b", ".staging/x"])
def test_keys_stay_inside_the_root(tmp_path, key):
    with pytest.raises(InvalidInputError):
        ArtifactStore(tmp_path).path(key)


def test_missing_artifacts(tmp_path):
    store = ArtifactStore(tmp_path)
    with pytest.raises(NotFoundError):
        store.read_bytes("nope")
    with pytest.raises(NotFoundError):
        store.copy_dir("nope", "other")
    store.write_bytes("dir/x", b"1")
    store.delete("dir")
    assert not store.exists("dir/x")

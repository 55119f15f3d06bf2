"""Folders that hold an upload while it is read: inside the workspace, swept when stale.

Each is `<workspace>/uploads/shipyard-upload-<pid>-<random>`, removed when its request
ends. A process killed mid-upload cannot remove its own, so a server sweeps, when it
starts, those whose process is gone or that nothing has written to for an hour.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

UPLOADS_FOLDER = "uploads"
PREFIX = "shipyard-upload-"
STALE_AFTER_S = 3600.0


@contextmanager
def upload_folder(workspace: Path) -> Iterator[Path]:
    """A private folder for one upload, under `workspace`; removed with what it holds."""
    parent = workspace / UPLOADS_FOLDER
    parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sweep_uploads(
    workspace: Path, *, stale_after_s: float = STALE_AFTER_S, now: float | None = None
) -> list[Path]:
    """Remove the upload folders left by dead processes or idle an hour; return them."""
    parent = workspace / UPLOADS_FOLDER
    if not parent.is_dir():
        return []
    now = time.time() if now is None else now
    removed = []
    for folder in sorted(parent.glob(f"{PREFIX}*")):
        if not folder.is_dir():
            continue
        if not _is_alive(_owner_pid(folder)) or now - _last_write(folder) > stale_after_s:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def _owner_pid(folder: Path) -> int | None:
    pid, _, _ = folder.name.removeprefix(PREFIX).partition("-")
    return int(pid) if pid.isdigit() else None


def _is_alive(pid: int | None) -> bool:
    if pid is None or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _last_write(folder: Path) -> float:
    times = [folder.stat().st_mtime]
    for entry in folder.iterdir():
        try:
            times.append(entry.stat().st_mtime)
        except OSError:  # removed meanwhile
            continue
    return max(times)

"""The artifact folder: files of datasets, runs and models under scoped keys.

Keys are relative POSIX paths (`runs/<run id>/model/descriptor.json`). Every write goes to a
temporary name in the same folder and is renamed into place, so a crash leaves either the
old state or the complete new file, never a half-written file under the final name. Whole
folders (a model) are staged the same way and renamed in one step.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from shipyard.core.errors import InvalidInputError, NotFoundError

_STAGING = ".staging"
MAX_SEGMENT_BYTES = 200  # per part of an artifact key (a file name is at most 255 bytes)


class ArtifactStore:
    """Files under one root folder, addressed by key, written atomically."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The local path of `key` (which may not exist yet)."""
        return self.root.joinpath(*_parts(key))

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def write_bytes(self, key: str, data: bytes) -> str:
        """Store `data` under `key`, replacing any earlier file atomically."""
        return self.write_with(key, lambda handle: handle.write(data))

    def write_with(self, key: str, write: Callable[[BinaryIO], object]) -> str:
        """Store what `write(handle)` writes under `key`, atomically."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def write_file(self, key: str, source: str | Path) -> str:
        """Copy the file `source` to `key`, atomically."""
        with open(source, "rb") as src:
            return self.write_with(key, lambda handle: shutil.copyfileobj(src, handle))

    @contextmanager
    def stage_dir(self, key: str) -> Iterator[Path]:
        """A fresh folder to fill; on success it replaces `key` as a whole, else vanishes."""
        staging = self.root / _STAGING / uuid.uuid4().hex
        staging.mkdir(parents=True)
        try:
            yield staging
            target = self.path(key)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():  # left by a crash before its record was committed
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def copy_dir(self, source_key: str, key: str) -> str:
        """Copy the folder at `source_key` to `key`, atomically."""
        source = self.path(source_key)
        if not source.is_dir():
            raise NotFoundError(f"no artifact folder {source_key!r}")
        with self.stage_dir(key) as staging:
            shutil.copytree(source, staging, dirs_exist_ok=True)
        return key

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except (FileNotFoundError, IsADirectoryError):
            raise NotFoundError(f"no artifact {key!r}") from None

    def list(self, prefix: str) -> list[str]:
        """Every file key under `prefix`, sorted."""
        base = self.path(prefix)
        if not base.is_dir():
            return []
        return sorted(
            str(PurePosixPath(prefix, p.relative_to(base).as_posix()))
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".")
        )

    def delete(self, key: str) -> None:
        """Remove a file or folder (used to clean up after a failed write)."""
        target = self.path(key)
        if target.is_dir():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)


def _parts(key: str) -> tuple[str, ...]:
    path = PurePosixPath(key)
    if not key or path.is_absolute() or any(p in ("..", ".", "") for p in key.split("/")):
        raise InvalidInputError(f"artifact key {key!r} must be a relative path without '..'")
    if path.parts[0] == _STAGING:
        raise InvalidInputError(f"artifact key {key!r} is reserved")
    if any(ord(c) < 32 or c == "\x7f" for c in key):
        raise InvalidInputError(f"artifact key {key[:80]!r} holds a control character")
    # A file name is at most 255 bytes; writing adds a temporary prefix and suffix.
    if any(len(p.encode()) > MAX_SEGMENT_BYTES for p in path.parts):
        raise InvalidInputError(
            f"artifact key {key[:80]!r}...: each part of the path is at most "
            f"{MAX_SEGMENT_BYTES} bytes"
        )
    return path.parts

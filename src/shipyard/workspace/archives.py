"""Model folders sent as archives: unpacked flat, as regular files only, with a size cap.

A zip or a tar (gzip, bz2 or xz) of a model folder, its files at the top or inside one
folder. Only the files a model folder holds are taken (`ALLOWED`); links, devices, nested
paths and anything else are refused, and the bytes written are counted as they are
written, so an archive that unpacks to more than the cap stops there (a zip bomb costs
at most the cap on disk, never memory).
"""

from __future__ import annotations

import tarfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path, PurePosixPath
from typing import IO

from shipyard.auth.manifest import MANIFEST_FILE
from shipyard.automl.catalog import DESCRIPTOR_FILE, MODEL_FILE, RESULT_FILE
from shipyard.core.errors import InvalidInputError

ALLOWED = frozenset({MODEL_FILE, DESCRIPTOR_FILE, RESULT_FILE, MANIFEST_FILE})
MAX_MODEL_BYTES = 2 * 1024**3
_CHUNK = 1 << 20


Opener = Callable[[], AbstractContextManager[IO[bytes]]]


def unpack_model_archive(archive: Path, target: Path, *, max_bytes: int = MAX_MODEL_BYTES) -> Path:
    """Extract the model archive `archive` into the folder `target`; returns `target`."""
    target.mkdir(parents=True, exist_ok=True)
    try:
        _unpack(archive, target, max_bytes)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise InvalidInputError(f"the model archive is damaged: {exc}") from None
    return target


def _unpack(archive: Path, target: Path, max_bytes: int) -> None:
    written = 0
    for name, opener in _members(archive):
        path = target / name
        if path.exists():
            raise InvalidInputError(f"the model archive holds {name} twice")
        with opener() as source, path.open("wb") as out:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > max_bytes:
                    raise InvalidInputError(
                        f"the model archive unpacks to more than {max_bytes:,} bytes"
                    )
                out.write(chunk)


def _members(archive: Path) -> Iterator[tuple[str, Opener]]:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zipped:
            for info in zipped.infolist():
                if not info.is_dir():
                    yield _flat(info.filename), partial(zipped.open, info)
        return
    if not tarfile.is_tarfile(archive):
        raise InvalidInputError("a model upload is a zip or tar archive of its folder")
    with tarfile.open(archive) as tarred:
        for member in tarred.getmembers():
            if member.isdir():
                continue
            if not member.isfile():
                raise InvalidInputError(f"the model archive's {member.name} is not a plain file")
            yield _flat(member.name), partial(_tar_file, tarred, member)


@contextmanager
def _tar_file(tarred: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator[IO[bytes]]:
    handle = tarred.extractfile(member)
    if handle is None:
        raise InvalidInputError(f"the model archive's {member.name} is not a plain file")
    with handle:
        yield handle


def _flat(member: str) -> str:
    """The file name of an archive member at the top or one folder down."""
    path = PurePosixPath(member)
    if path.is_absolute() or ".." in path.parts or len(path.parts) > 2:
        raise InvalidInputError(f"the model archive holds {member!r}; model files are flat")
    if path.name not in ALLOWED:
        allowed = ", ".join(sorted(ALLOWED))
        raise InvalidInputError(
            f"the model archive holds {member!r}; a model folder holds {allowed}"
        )
    return path.name

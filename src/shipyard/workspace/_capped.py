"""Reading CSV bytes within bounds: size, compression ratio and line length, as they stream.

`open_csv_bytes(path, limits)` gives the bytes of a CSV file, decompressed on the fly when
its name says it is compressed, and stops with `PayloadTooLargeError` as soon as they pass
a bound: nothing is decompressed into memory or onto disk first, so a 0.6 MB gzip of
400 MB of text costs what the parser has read when the bound is hit, not 400 MB.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from shipyard.core.errors import InvalidInputError, PayloadTooLargeError

MIB = 1024 * 1024
# Below this much text, any ratio is fine: small files of repeated values compress well.
RATIO_FLOOR_BYTES = 16 * MIB
_CHUNK = 256 * 1024


@dataclass(frozen=True)
class TableLimits:
    """Bounds on a table read from a file; None: no bound.

    `max_bytes` counts the CSV text (after decompression) or a Parquet file's uncompressed
    data; `max_ratio` bounds text bytes per compressed byte (past `RATIO_FLOOR_BYTES`);
    `max_line_bytes` bounds one line of text (one row, or a huge single field).
    """

    max_bytes: int | None = None
    max_columns: int | None = None
    max_line_bytes: int | None = 8 * MIB
    max_ratio: int | None = 100


def describe(size_bytes: int) -> str:
    """A size for people: `64 MiB`, `1.5 MiB`, `900 bytes`."""
    if size_bytes < 1024:
        return f"{size_bytes} bytes"
    if size_bytes < MIB:
        return f"{size_bytes / 1024:.4g} KiB"
    return f"{size_bytes / MIB:.4g} MiB"


def open_csv_bytes(path: Path, limits: TableLimits) -> io.BufferedReader:
    """The text bytes of `path` (decompressed by its suffix), checked as they are read."""
    raw = path.open("rb")
    try:
        source, consumed = _decompressing(path, raw)
    except (OSError, zipfile.BadZipFile) as exc:
        raw.close()
        raise InvalidInputError(f"cannot read {path}: {exc}") from exc
    except BaseException:
        raw.close()
        raise
    checked = CheckedStream(source, consumed, limits, str(path), raw)
    return io.BufferedReader(checked, buffer_size=_CHUNK)


def _decompressing(path: Path, raw: IO[bytes]) -> tuple[IO[bytes], Callable[[], int] | None]:
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")), raw.tell
    if suffix == ".bz2":
        return bz2.BZ2File(raw), raw.tell
    if suffix == ".xz":
        return lzma.LZMAFile(raw), raw.tell
    if suffix == ".zip":
        archive = zipfile.ZipFile(raw)
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) != 1:
            raise InvalidInputError(f"{path} must hold exactly one file, not {len(members)}")
        return archive.open(members[0]), raw.tell
    if suffix == ".zst":
        raise InvalidInputError(f"{path}: zstd is not supported; compress it with gzip (.gz)")
    return raw, None


class CheckedStream(io.RawIOBase):
    """Bytes from `source`, counted against `limits` as they go."""

    def __init__(
        self,
        source: IO[bytes],
        consumed: Callable[[], int] | None,
        limits: TableLimits,
        name: str,
        raw: IO[bytes],
    ) -> None:
        self.source = source
        self.consumed = consumed  # compressed bytes read so far, for the ratio
        self.limits = limits
        self.name = name
        self.raw = raw
        self.total = 0
        self.line = 0  # bytes of the current line so far
        self.lines = 1
        self.error: PayloadTooLargeError | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self.error is not None:
            raise self.error
        try:
            data = self.source.read(min(len(buffer), _CHUNK))
        except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
            raise InvalidInputError(f"{self.name} is not readable: {exc}") from exc
        self._check(data)
        buffer[: len(data)] = data
        return len(data)

    def _check(self, data: bytes) -> None:
        self.total += len(data)
        limits = self.limits
        if limits.max_bytes is not None and self.total > limits.max_bytes:
            self._fail(f"{self.name} is larger than the limit of {describe(limits.max_bytes)}")
        if limits.max_ratio is not None and self.consumed is not None:
            packed = max(self.consumed(), 1)
            if self.total > RATIO_FLOOR_BYTES and self.total > limits.max_ratio * packed:
                self._fail(
                    f"{self.name} decompresses to more than {limits.max_ratio} times its "
                    f"size ({describe(self.total)} from {describe(packed)}); the limit is "
                    f"{limits.max_ratio}x"
                )
        if limits.max_line_bytes is not None:
            self._check_lines(data, limits.max_line_bytes)

    def _check_lines(self, data: bytes, most: int) -> None:
        first = data.find(b"\n")
        if first < 0:
            self.line += len(data)
            self._check_line(self.line, self.lines, most)
            return
        self._check_line(self.line + first, self.lines, most)
        if len(data) > most:  # a whole line may lie inside this chunk
            for offset, part in enumerate(data.split(b"\n")[1:-1], start=1):
                self._check_line(len(part), self.lines + offset, most)
        self.lines += data.count(b"\n")
        self.line = len(data) - data.rfind(b"\n") - 1
        self._check_line(self.line, self.lines, most)

    def _check_line(self, length: int, number: int, most: int) -> None:
        if length > most:
            self._fail(f"{self.name}: line {number:,} is longer than the limit of {describe(most)}")

    def _fail(self, message: str) -> None:
        self.error = PayloadTooLargeError(message)
        raise self.error

    def close(self) -> None:
        if not self.closed:
            self.source.close()
            self.raw.close()
        super().close()

"""Reading and writing the tables users hand over, with one-line errors that name the file.

CSV or Parquet: Parquet by its extension (or its magic bytes), anything else as CSV text
in UTF-8 whose delimiter (comma, semicolon, tab or pipe) is read off the header line.
"""

from __future__ import annotations

import codecs
from pathlib import Path

import pandas as pd

from shipyard.core.errors import InvalidInputError

PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".zip", ".xz", ".zst")
DELIMITERS = (",", ";", "\t", "|")
_HEAD_BYTES = 64 * 1024
_PARQUET_MAGIC = b"PAR1"
_BINARY_MAGIC = {
    b"PK\x03\x04": "a zip archive (an Excel workbook?); export it as CSV",
    b"\x1f\x8b": "gzip-compressed; name it .csv.gz",
    b"\xd0\xcf\x11\xe0": "an Office document (an old Excel workbook?); export it as CSV",
}


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame; `InvalidInputError` says what is wrong with it."""
    head = _head(path)
    if path.suffix.lower() in PARQUET_SUFFIXES or head.startswith(_PARQUET_MAGIC):
        frame = _read_parquet(path)
    elif path.suffix.lower() in COMPRESSED_SUFFIXES:
        frame = _read_csv(path, ",")
    else:
        frame = _read_csv(path, _delimiter(path, head))
    if len(frame) == 0:
        raise InvalidInputError(f"{path} has a header but no rows")
    return frame


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame as CSV, or as Parquet when the name ends in .parquet; folders are made."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in PARQUET_SUFFIXES:
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    except OSError as exc:
        raise InvalidInputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _head(path: Path) -> bytes:
    if not path.exists():
        raise InvalidInputError(f"{path}: no such file")
    if path.is_dir():
        raise InvalidInputError(f"{path} is a folder; expected a CSV or Parquet file")
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if not head.strip():
        raise InvalidInputError(f"{path} is empty")
    return head


def _delimiter(path: Path, head: bytes) -> str:
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise InvalidInputError(f"{path} is not a CSV file: it is {what}")
    if b"\x00" in head:
        raise InvalidInputError(f"{path} is not a CSV file: it holds binary data")
    try:
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc
    header = text.lstrip().splitlines()[0]
    if header[:1] in ("{", "[", "<"):
        raise InvalidInputError(f"{path} is not a CSV file: it looks like JSON, XML or HTML")
    counts = {sep: _count_unquoted(header, sep) for sep in DELIMITERS}
    best = max(DELIMITERS, key=lambda sep: counts[sep])
    if counts[best] == 0 and len(header.split()) >= 3:
        raise InvalidInputError(
            f"{path} has a single column ({header[:60]!r}); separate columns with commas, "
            "semicolons or tabs"
        )
    return best if counts[best] else ","


def _count_unquoted(line: str, sep: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == sep and not quoted:
            count += 1
    return count


def _read_csv(path: Path, sep: str) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep=sep, encoding="utf-8-sig", low_memory=False)
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc
    except pd.errors.EmptyDataError as exc:
        raise InvalidInputError(f"{path} has no columns") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise InvalidInputError(f"{path} is not a valid CSV file: {_first_line(exc)}") from exc
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (ValueError, OSError, TypeError, NotImplementedError) as exc:
        message = f"{path} is not a readable Parquet file: {_first_line(exc)}"
        raise InvalidInputError(message) from exc


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> InvalidInputError:
    byte = exc.object[exc.start : exc.start + 1].hex()
    return InvalidInputError(
        f"{path} is not UTF-8 text (byte 0x{byte} near offset {exc.start}); "
        "is it a CSV file? Save it as UTF-8"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""Reading and writing the tables users hand over, with one-line errors that name the file.

CSV or Parquet: Parquet by its extension (or its magic bytes), anything else as CSV text
in UTF-8 whose delimiter (comma, semicolon, tab or pipe) is read off the header line.
`TableLimits` bound what a file may cost to read (an upload is someone else's file): the
CSV text is streamed (decompressed on the fly) and checked for size, compression ratio and
line length as the parser reads it, and the columns are counted from the header line, or
from a Parquet file's metadata, before any row is parsed.
"""

from __future__ import annotations

import codecs
import csv
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from shipyard.core.errors import InvalidInputError, PayloadTooLargeError
from shipyard.workspace._capped import TableLimits, describe, open_csv_bytes

__all__ = ["TableLimits", "describe_size", "read_table", "write_table"]
describe_size = describe

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


def read_table(path: Path, limits: TableLimits | None = None) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame; `InvalidInputError` says what is wrong with it.

    Within `limits` (`PayloadTooLargeError` names the bound a file is over).
    """
    limits = limits or TableLimits()
    head = _head(path)
    if path.suffix.lower() in PARQUET_SUFFIXES or head.startswith(_PARQUET_MAGIC):
        frame = _read_parquet(path, limits)
    else:
        compressed = path.suffix.lower() in COMPRESSED_SUFFIXES
        header = _header_line(path, limits) if compressed else head
        sep = _delimiter(path, header)
        _check_columns(path, header, sep, limits)
        frame = _read_csv(path, sep, limits)
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


def _header_line(path: Path, limits: TableLimits) -> bytes:
    """The first line of the text (decompressed), within the line bound."""
    with open_csv_bytes(path, limits) as stream:
        line = stream.readline((limits.max_line_bytes or _HEAD_BYTES * 16) + 1)
    if not line.strip():
        raise InvalidInputError(f"{path} is empty")
    return line


def _check_columns(path: Path, head: bytes, sep: str, limits: TableLimits) -> None:
    """Refuse a header with more columns than `limits.max_columns`, before parsing rows."""
    if limits.max_columns is None:
        return
    newline = head.find(b"\n")
    if newline < 0 and len(head) >= _HEAD_BYTES:  # a header longer than the head read
        head = _header_line(path, limits)
    line = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace")
    count = len(next(csv.reader([line], delimiter=sep), []))
    if count > limits.max_columns:
        raise PayloadTooLargeError(
            f"{path} has {count:,} columns; the limit is {limits.max_columns:,}"
        )


def _count_unquoted(line: str, sep: str) -> int:
    count, quoted = 0, False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif char == sep and not quoted:
            count += 1
    return count


def _read_csv(path: Path, sep: str, limits: TableLimits) -> pd.DataFrame:
    stream = open_csv_bytes(path, limits)
    try:
        with stream:
            return pd.read_csv(stream, sep=sep, encoding="utf-8-sig", low_memory=False)
    except InvalidInputError:  # a bound the stream hit while pandas read it
        raise
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc
    except pd.errors.EmptyDataError as exc:
        raise InvalidInputError(f"{path} has no columns") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        raise InvalidInputError(f"{path} is not a valid CSV file: {_first_line(exc)}") from exc
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _read_parquet(path: Path, limits: TableLimits) -> pd.DataFrame:
    try:
        _check_parquet(path, pq.read_metadata(path), limits)
        return pd.read_parquet(path)
    except (ValueError, OSError, TypeError, NotImplementedError) as exc:
        message = f"{path} is not a readable Parquet file: {_first_line(exc)}"
        raise InvalidInputError(message) from exc


def _check_parquet(path: Path, meta: pq.FileMetaData, limits: TableLimits) -> None:
    """Refuse a Parquet file over the column or data bound by its metadata alone."""
    if limits.max_columns is not None and meta.num_columns > limits.max_columns:
        raise PayloadTooLargeError(
            f"{path} has {meta.num_columns:,} columns; the limit is {limits.max_columns:,}"
        )
    if limits.max_bytes is None:
        return
    data = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if data > limits.max_bytes:
        raise PayloadTooLargeError(
            f"{path} holds {describe(data)} of data uncompressed; the limit is "
            f"{describe(limits.max_bytes)}"
        )


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> InvalidInputError:
    byte = exc.object[exc.start : exc.start + 1].hex()
    return InvalidInputError(
        f"{path} is not UTF-8 text (byte 0x{byte} near offset {exc.start}); "
        "is it a CSV file? Save it as UTF-8"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

"""A dataset's rows in pandas: read from a file or a DataFrame, hashed, profiled, read back.

Apart from `datasets.py` so that opening a workspace and listing its datasets (or runs)
does not load pandas and PyArrow; the operations that touch rows import this module.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pandas as pd

from shipyard.core.errors import DataError, PayloadTooLargeError
from shipyard.workspace.files import TableLimits, read_table
from shipyard.workspace.profile import profile_frame

Source = str | Path | pd.DataFrame

__all__ = ["Source", "frame_hash", "profile_frame", "read_parquet", "read_source"]


def read_source(source: Source, limits: TableLimits | None = None) -> tuple[pd.DataFrame, str]:
    """The rows of a path or DataFrame, and a short description of where they came from."""
    limits = limits or TableLimits()
    if isinstance(source, pd.DataFrame):
        frame, origin = source, "DataFrame"
    else:
        path = Path(source)
        frame, origin = read_table(path, limits), path.name
    if limits.max_columns is not None and frame.shape[1] > limits.max_columns:
        raise PayloadTooLargeError(
            f"{origin} has {frame.shape[1]:,} columns; the limit is {limits.max_columns:,}"
        )
    if frame.shape[1] == 0:
        raise DataError(f"{origin} has no columns")
    if len(frame) == 0:
        raise DataError(f"{origin} has no rows")
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise DataError(f"{origin} has duplicate column names")
    return frame.set_axis(names, axis=1).reset_index(drop=True), origin


def frame_hash(frame: pd.DataFrame) -> str:
    """A hash of the column names, types and values (not of the file's bytes)."""
    digest = hashlib.sha256()
    for name in frame.columns:
        digest.update(f"{name}\x00{frame[name].dtype}\x00".encode())
    values = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest.update(values.tobytes())
    return digest.hexdigest()


def read_parquet(data: bytes) -> pd.DataFrame:
    """The rows of a stored version's Parquet bytes."""
    return pd.read_parquet(io.BytesIO(data))

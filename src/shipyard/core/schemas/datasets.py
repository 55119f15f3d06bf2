"""Datasets: named, immutable, numbered versions of a table, with a profile."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, PrivateAttr

if TYPE_CHECKING:
    import pandas as pd


class ColumnProfile(BaseModel):
    """What one column holds."""

    model_config = ConfigDict(frozen=True)

    name: str
    dtype: str
    kind: str  # numeric, categorical, boolean, datetime or dropped (see automl.columns)
    drop_reason: str | None = None
    missing: int
    distinct: int
    summary: dict[str, float | None] | None = None  # numeric: min, max, mean, std, quartiles
    top_values: dict[str, int] | None = None  # categorical: most frequent values and counts


class DatasetProfile(BaseModel):
    """Rows, columns and what each column holds; class balance when a target is named."""

    model_config = ConfigDict(frozen=True)

    rows: int
    columns: list[ColumnProfile]
    target: str | None = None
    class_balance: dict[str, int] | None = None


class Dataset(BaseModel):
    """One version of a registered dataset. Versions never change once written.

    Its profile is not part of it (a wide table's is megabytes): `profile_dataset` reads it.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    version: int
    description: str | None = None
    content_hash: str
    source: str | None = None  # where the rows came from (a file name), for lineage
    rows: int
    columns: int
    created_at: datetime

    _loader: Callable[[Dataset], pd.DataFrame] | None = PrivateAttr(default=None)

    @property
    def ref(self) -> str:
        """`NAME:VERSION`, the form every command accepts."""
        return f"{self.name}:{self.version}"

    def to_pandas(self) -> pd.DataFrame:
        """The rows of this version as a DataFrame."""
        if self._loader is None:
            raise RuntimeError("this Dataset was not obtained from a workspace")
        return self._loader(self)

    def bind(self, loader: Callable[[Dataset], pd.DataFrame]) -> Dataset:
        """Attach the workspace function that reads the rows (used by `to_pandas`)."""
        self._loader = loader
        return self

    def summary(self) -> dict[str, Any]:
        """The fields a listing shows."""
        return self.model_dump(mode="json")

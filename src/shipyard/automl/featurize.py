"""Featurization fitted inside the model: raw rows to one float matrix every learner shares.

The shared matrix keeps one feature per numeric or boolean column, one integer code per
categorical column (tree learners split on codes natively; linear learners one-hot them
in their own pipeline) and five calendar parts per datetime column. Missing values stay
NaN so each learner family imputes in its own way. Scoring one row must stay in the tens
of microseconds, so the small-batch path avoids pandas machinery.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from shipyard.automl.columns import (
    ColumnKind,
    ColumnSpec,
    InputSchema,
    string_columns,
    to_boolean,
    to_datetime,
    to_numeric,
)

_DATE_PARTS = ("year", "month", "day", "weekday", "hour")
_SMALL_BATCH = 64


@dataclass(frozen=True)
class Feature:
    """One column of the shared matrix and the raw column it comes from."""

    name: str
    source: str
    cardinality: int = 0  # codes 0..cardinality-1 for a categorical feature, else 0


@dataclass
class Featurizer:
    """Turns raw rows into the shared float matrix, following an `InputSchema`."""

    schema: InputSchema
    features: list[Feature] = field(init=False)
    _codes: dict[str, dict[str, int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.features = [f for spec in self.schema.used for f in _features_of(spec)]
        self._codes = {
            spec.name: {v: i for i, v in enumerate(spec.categories)}
            for spec in self.schema.used
            if spec.kind is ColumnKind.CATEGORICAL
        }

    @property
    def categorical_indices(self) -> list[int]:
        """Positions of categorical code features in the matrix."""
        return [i for i, f in enumerate(self.features) if f.cardinality]

    @property
    def feature_names(self) -> list[str]:
        return [f.name for f in self.features]

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode rows (already checked by `InputSchema.check_columns`) as float64."""
        frame = string_columns(frame)
        used = self.schema.used
        if not used:
            return np.zeros((len(frame), 0))
        if len(frame) <= _SMALL_BATCH:
            # one conversion of the whole frame beats per-column pandas access tenfold here
            table = frame.to_numpy(dtype=object)
            positions = frame.columns.get_indexer(pd.Index([spec.name for spec in used]))
            blocks = [
                self._encode_small(s, table[:, j]) for s, j in zip(used, positions, strict=True)
            ]
        else:
            blocks = [self._encode(spec, frame[spec.name]) for spec in used]
        return np.column_stack(blocks)

    def transform_records(self, records: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Encode JSON-like records (column -> value) without building a DataFrame.

        The scoring service's path: a one-row request costs microseconds here instead of
        the DataFrame construction. Records are checked by `InputSchema.check_records`.
        """
        used = self.schema.used
        if not used:
            return np.zeros((len(records), 0))
        blocks = []
        for spec in used:
            column = np.empty(len(records), dtype=object)
            column[:] = [r.get(spec.name) for r in records]
            blocks.append(self._encode_small(spec, column))
        return np.column_stack(blocks)

    def unseen_categories(self, frame: pd.DataFrame) -> dict[str, list[str]]:
        """Values of categorical columns that the model never saw in training, per column."""
        found: dict[str, list[str]] = {}
        for name, codes in self._codes.items():
            values = frame[name].dropna().astype(str).unique()
            unseen = sorted(v for v in values if v not in codes)
            if unseen:
                found[name] = unseen
        return found

    def _encode_small(self, spec: ColumnSpec, values: np.ndarray) -> np.ndarray:
        if spec.kind is ColumnKind.CATEGORICAL:
            return _category_codes(values.tolist(), self._codes[spec.name])
        if spec.kind is ColumnKind.NUMERIC and not any(isinstance(v, str) for v in values):
            try:
                return np.asarray(values, dtype=float)
            except (TypeError, ValueError):
                pass  # pd.NA or an odd object: the pandas path handles it or names it
        return self._encode(spec, pd.Series(values))

    def _encode(self, spec: ColumnSpec, values: pd.Series) -> np.ndarray:
        if spec.kind is ColumnKind.NUMERIC:
            return to_numeric(spec.name, values, spec.missing_tokens)
        if spec.kind is ColumnKind.BOOLEAN:
            return to_boolean(spec.name, values)
        if spec.kind is ColumnKind.DATETIME:
            return _date_parts(to_datetime(spec.name, values))
        return _category_codes_large(values, self._codes[spec.name])


def _features_of(spec: ColumnSpec) -> list[Feature]:
    if spec.kind is ColumnKind.DATETIME:
        return [Feature(f"{spec.name}.{part}", spec.name) for part in _DATE_PARTS]
    if spec.kind is ColumnKind.CATEGORICAL:
        # one more code than categories: rare or unseen values share the last one
        return [Feature(spec.name, spec.name, cardinality=len(spec.categories) + 1)]
    return [Feature(spec.name, spec.name)]


def _category_codes(values: list[object], codes: dict[str, int]) -> np.ndarray:
    other = float(len(codes))
    out = np.empty(len(values))
    for i, v in enumerate(values):
        if v is None or v is pd.NA or (isinstance(v, float) and v != v):
            out[i] = np.nan
        else:
            out[i] = codes.get(v if isinstance(v, str) else str(v), other)
    return out


def _category_codes_large(values: pd.Series, codes: dict[str, int]) -> np.ndarray:
    missing = values.isna().to_numpy()
    found = pd.Index(list(codes)).get_indexer(pd.Index(values.astype(str))).astype(float)
    found[found < 0] = float(len(codes))
    found[missing] = np.nan
    return found


def _date_parts(values: pd.Series) -> np.ndarray:
    dt = values.dt
    parts = [dt.year, dt.month, dt.day, dt.day_of_week, dt.hour]
    return np.column_stack([p.to_numpy(dtype=float, na_value=np.nan) for p in parts])

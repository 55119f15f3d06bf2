"""Column typing: what each raw input column is, and checking rows against it at predict time.

`infer_schema` looks at a training frame once and decides, for every column, its kind
(numeric, categorical, boolean, datetime) or that it is dropped (constant, all missing,
ID-like). The resulting `InputSchema` travels with the model: it is the model's input
contract, written into its descriptor, and `InputSchema.conform` checks new rows against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import pandas as pd

from shipyard.core.errors import SchemaError

MAX_CATEGORIES = 1000
"""Most frequent categories kept per column; rarer values share one 'other' code."""

_ID_NAME = re.compile(r"(^|[_\W])id$|^id([_\W]|$)|uuid|guid", re.IGNORECASE)
_BOOL_WORDS = {"true": True, "false": False}


class ColumnKind(StrEnum):
    """How a raw column is treated by featurization."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    DROPPED = "dropped"


@dataclass(frozen=True)
class ColumnSpec:
    """One raw input column as the model sees it."""

    name: str
    kind: ColumnKind
    dtype: str
    categories: tuple[str, ...] = ()
    drop_reason: str | None = None
    example: Any = None
    missing_tokens: tuple[str, ...] = ()  # words that mean "missing" in a numeric column

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for the model descriptor."""
        out = asdict(self)
        out["kind"] = self.kind.value
        out["categories"] = list(self.categories)
        out["missing_tokens"] = list(self.missing_tokens)
        return out


@dataclass(frozen=True)
class InputSchema:
    """The ordered raw columns a model takes, and how to check rows against them."""

    columns: tuple[ColumnSpec, ...]
    _by_name: dict[str, ColumnSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_name", {c.name: c for c in self.columns})

    @property
    def names(self) -> list[str]:
        """Every column of the training frame, in order, dropped ones included."""
        return [c.name for c in self.columns]

    @property
    def used(self) -> list[ColumnSpec]:
        """The columns the model actually reads."""
        return [c for c in self.columns if c.kind is not ColumnKind.DROPPED]

    def __getitem__(self, name: str) -> ColumnSpec:
        return self._by_name[name]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for the model descriptor."""
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSchema:
        """Rebuild a schema written by `to_dict`."""
        cols = []
        for c in data["columns"]:
            c = dict(c)
            c["kind"] = ColumnKind(c["kind"])
            c["categories"] = tuple(c.get("categories") or ())
            c["missing_tokens"] = tuple(c.get("missing_tokens") or ())
            cols.append(ColumnSpec(**c))
        return cls(tuple(cols))

    def check_columns(self, frame: pd.DataFrame, *, allow_extra: bool = True) -> list[str]:
        """Check that rows carry the columns the model reads; return warnings.

        Missing used columns are a `SchemaError`; extra columns are ignored with a warning,
        or are an error when `allow_extra` is false (the scoring service is strict).
        Value types are checked where values are converted, by the featurizer.
        """
        if not isinstance(frame, pd.DataFrame):
            raise SchemaError(f"expected a table of rows, got {type(frame).__name__}")
        frame = string_columns(frame)
        missing = [c.name for c in self.used if c.name not in frame.columns]
        if missing:
            raise SchemaError(f"missing column(s): {', '.join(map(str, missing))}")
        extra = [str(c) for c in frame.columns if c not in self._by_name]
        if extra and not allow_extra:
            raise SchemaError(f"unknown column(s): {', '.join(extra)}")
        return [f"ignored unknown column(s): {', '.join(extra)}"] if extra else []

    def check_records(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Strictly check JSON-like records: every used column present, none unknown."""
        if not records:
            raise SchemaError("no rows to score")
        used = {c.name for c in self.used}
        for i, record in enumerate(records):
            if not isinstance(record, Mapping):
                raise SchemaError(
                    f"row {i}: expected an object of column: value, got {_kind(record)}"
                )
            keys = record.keys()
            if keys == used:
                continue
            missing = sorted(used - keys)
            if missing:
                raise SchemaError(f"row {i}: missing column(s): {', '.join(missing)}")
            unknown = sorted(str(k) for k in keys if k not in self._by_name)
            if unknown:
                raise SchemaError(f"row {i}: unknown column(s): {', '.join(unknown)}")


def _kind(value: Any) -> str:
    return {list: "an array", str: "a string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def string_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every column name a string (a model's schema names columns by text)."""
    if all(isinstance(c, str) for c in frame.columns):
        return frame
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise SchemaError("column names must be unique once written as text")
    return frame.set_axis(names, axis=1)


def infer_schema(frame: pd.DataFrame) -> InputSchema:
    """Decide the kind of every column of a training frame (the target already removed)."""
    frame = string_columns(frame)
    return InputSchema(tuple(_infer_column(name, frame[name]) for name in frame.columns))


def _infer_column(name: str, values: pd.Series) -> ColumnSpec:
    dtype = str(values.dtype)
    present = values.dropna()
    example = _example(present)
    if present.empty:
        return ColumnSpec(name, ColumnKind.DROPPED, dtype, drop_reason="all values missing")
    n_unique = int(present.nunique())
    if n_unique == 1:
        reason = f"constant (always {example!r})"
        return ColumnSpec(name, ColumnKind.DROPPED, dtype, drop_reason=reason, example=example)
    kind = _kind_of(values, present)
    if _is_id_like(name, kind, present, n_unique):
        reason = f"ID-like ({n_unique} distinct values in {len(present)} rows)"
        return ColumnSpec(name, ColumnKind.DROPPED, dtype, drop_reason=reason, example=example)
    categories: tuple[str, ...] = ()
    tokens: tuple[str, ...] = ()
    if kind is ColumnKind.CATEGORICAL:
        counts = present.astype(str).value_counts(sort=True)
        categories = tuple(str(v) for v in counts.index[:MAX_CATEGORIES])
    elif kind is ColumnKind.NUMERIC and not pd.api.types.is_numeric_dtype(values.dtype):
        text = present.astype(str).str.strip()
        tokens = tuple(sorted(set(text[pd.to_numeric(text, errors="coerce").isna()])))
    return ColumnSpec(
        name, kind, dtype, categories=categories, example=example, missing_tokens=tokens
    )


def _kind_of(values: pd.Series, present: pd.Series) -> ColumnKind:
    if pd.api.types.is_bool_dtype(values.dtype):
        return ColumnKind.BOOLEAN
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return ColumnKind.DATETIME
    if pd.api.types.is_numeric_dtype(values.dtype):
        return ColumnKind.NUMERIC
    text = present.astype(str).str.strip()
    if set(text.str.lower().unique()) <= set(_BOOL_WORDS):
        return ColumnKind.BOOLEAN
    numeric = pd.to_numeric(text, errors="coerce").notna()
    # a few words among numbers ("n/a", "?") are that file's way of writing "missing"
    if numeric.mean() >= 0.99 and text[~numeric].nunique() <= 5:
        return ColumnKind.NUMERIC
    if _looks_like_dates(text):
        return ColumnKind.DATETIME
    return ColumnKind.CATEGORICAL


def _looks_like_dates(text: pd.Series) -> bool:
    sample = text.head(200)
    if not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}", regex=True).all():
        return False
    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.95)


def _is_id_like(name: str, kind: ColumnKind, present: pd.Series, n_unique: int) -> bool:
    n = len(present)
    if n < 50 or n_unique < 0.95 * n:
        return False
    if kind is ColumnKind.CATEGORICAL:
        return True
    if kind is not ColumnKind.NUMERIC:
        return False
    as_float = pd.to_numeric(present, errors="coerce")
    integral = bool(np.all(np.mod(as_float.to_numpy(dtype=float), 1.0) == 0.0))
    monotonic = as_float.is_monotonic_increasing or as_float.is_monotonic_decreasing
    return integral and n_unique == n and (monotonic or bool(_ID_NAME.search(name)))


def _example(present: pd.Series) -> Any:
    if present.empty:
        return None
    value = present.iloc[0]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def to_numeric(name: str, values: pd.Series, missing_tokens: tuple[str, ...] = ()) -> np.ndarray:
    """Numeric values as float64 (NaN for missing); `SchemaError` names any bad value."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    converted = pd.to_numeric(values, errors="coerce")
    text = values.astype(str).str.strip()
    bad = converted.isna() & values.notna() & (text != "") & ~text.isin(missing_tokens)
    if bad.any():
        raise SchemaError(f"column {name!r} expects numbers, got {values[bad].iloc[0]!r}")
    return converted.to_numpy(dtype=float, na_value=np.nan)


def to_boolean(name: str, values: pd.Series) -> np.ndarray:
    """Boolean values as 0.0/1.0 (NaN for missing); accepts true/false words and 0/1."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=float, na_value=np.nan)
    out = np.full(len(values), np.nan)
    for i, v in enumerate(values.tolist()):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        word = str(v).strip().lower()
        if word in _BOOL_WORDS:
            out[i] = float(_BOOL_WORDS[word])
        elif word in {"0", "1", "0.0", "1.0"}:
            out[i] = float(word[0])
        else:
            raise SchemaError(f"column {name!r} expects true/false, got {v!r}")
    return out


def to_datetime(name: str, values: pd.Series) -> pd.Series:
    """Datetime values (NaT for missing); `SchemaError` names any value that is not a date."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    converted = pd.to_datetime(values, errors="coerce", format="mixed")
    bad = converted.isna() & values.notna()
    if bad.any():
        raise SchemaError(f"column {name!r} expects dates, got {values[bad].iloc[0]!r}")
    return converted

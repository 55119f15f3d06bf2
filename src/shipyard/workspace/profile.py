"""Dataset profiles: rows, columns, column kinds, missing and distinct counts, summaries."""

from __future__ import annotations

import math

import pandas as pd

from shipyard.automl.columns import infer_schema
from shipyard.core.errors import InvalidInputError
from shipyard.core.schemas import ColumnProfile, DatasetProfile

TOP_VALUES = 10
MAX_CLASSES = 100


def profile_frame(frame: pd.DataFrame, target: str | None = None) -> DatasetProfile:
    """Describe `frame`; with `target`, also count its classes."""
    schema = infer_schema(frame)
    columns = []
    for spec in schema.columns:
        values = frame[spec.name]
        summary = top = None
        if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype
        ):
            summary = _summary(values)
        elif spec.kind in ("categorical", "boolean"):
            counts = values.astype("string").value_counts().head(TOP_VALUES)
            top = {str(k): int(v) for k, v in counts.items()}
        columns.append(
            ColumnProfile(
                name=spec.name,
                dtype=str(values.dtype),
                kind=spec.kind.value,
                drop_reason=spec.drop_reason,
                missing=int(values.isna().sum()),
                distinct=int(values.nunique(dropna=True)),
                summary=summary,
                top_values=top,
            )
        )
    return DatasetProfile(
        rows=len(frame),
        columns=columns,
        target=target,
        class_balance=class_balance(frame, target) if target else None,
    )


def class_balance(frame: pd.DataFrame, target: str) -> dict[str, int] | None:
    """Rows per value of `target`, or None when it looks continuous (a regression target)."""
    if target not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise InvalidInputError(
            f"target column {target!r} is not in the dataset; columns: {columns}"
        )
    values = frame[target].dropna()
    if values.nunique() > MAX_CLASSES:
        return None
    counts = values.astype("string").value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def _summary(values: pd.Series) -> dict[str, float | None]:
    numbers = pd.to_numeric(values, errors="coerce").dropna()
    if numbers.empty:
        return {}
    q = numbers.quantile([0.25, 0.5, 0.75])
    stats = {
        "min": numbers.min(),
        "p25": q.iloc[0],
        "median": q.iloc[1],
        "p75": q.iloc[2],
        "max": numbers.max(),
        "mean": numbers.mean(),
        "std": numbers.std(),
    }
    return {k: _finite(v) for k, v in stats.items()}


def _finite(value: object) -> float | None:
    number = float(value)  # type: ignore[arg-type]
    return number if math.isfinite(number) else None

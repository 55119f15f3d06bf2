"""Checking a training frame and turning it into targets, a task and validation splits.

Everything a user can get wrong about their data is caught here, before any training,
with a `DataError` that names the column, the figure and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from shipyard.automl.columns import string_columns
from shipyard.automl.settings import AutoMLSettings
from shipyard.core.errors import DataError

MIN_ROWS = 10
_MAX_CLASS_LEVELS = 20  # integer targets with more distinct values are treated as regression


@dataclass
class PreparedData:
    """A checked training set: features, encoded targets, task and splits."""

    features: pd.DataFrame
    y: np.ndarray  # class codes 0..k-1 (classification) or float values (regression)
    task: str
    classes: np.ndarray | None
    splits: list[tuple[np.ndarray, np.ndarray]]
    fit_rows: np.ndarray  # rows the final model is trained on
    validation: str  # a sentence describing the validation

    @property
    def n_classes(self) -> int:
        return 0 if self.classes is None else len(self.classes)


def prepare(
    frame: pd.DataFrame, settings: AutoMLSettings, validation_frame: pd.DataFrame | None = None
) -> PreparedData:
    """Check the data against the settings and build the validation splits."""
    features, target = _split_target(frame, settings.target, "training data")
    task = settings.task or infer_task(target)
    n_train = len(features)
    if validation_frame is not None:
        v_features, v_target = _split_target(validation_frame, settings.target, "validation data")
        _check_same_columns(features, v_features)
        features = pd.concat([features, v_features[features.columns]], ignore_index=True)
        target = pd.concat([target, v_target], ignore_index=True)
    y, classes = _encode_target(target, task, settings.target)
    if validation_frame is not None:
        train, valid = np.arange(n_train), np.arange(n_train, len(y))
        if classes is not None:
            _check_validation_classes(y[train], y[valid], classes)
        return PreparedData(
            features,
            y,
            task,
            classes,
            [(train, valid)],
            train,
            f"the given validation data ({len(valid)} rows)",
        )
    splits, text = _splits(y, task, settings)
    return PreparedData(features, y, task, classes, splits, np.arange(len(y)), text)


def infer_task(target: pd.Series) -> str:
    """Classification for text, booleans and integers with few levels; else regression."""
    dtype = target.dtype
    if pd.api.types.is_bool_dtype(dtype) or not pd.api.types.is_numeric_dtype(dtype):
        return "classification"
    values = target.dropna().to_numpy(dtype=float)
    integral = bool(np.all(np.mod(values, 1.0) == 0.0))
    if integral and len(np.unique(values)) <= _MAX_CLASS_LEVELS:
        return "classification"
    return "regression"


def _split_target(frame: pd.DataFrame, target: str, what: str) -> tuple[pd.DataFrame, pd.Series]:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"the {what} must be a table, got {type(frame).__name__}")
    frame = string_columns(frame)
    if target not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:30]))
        raise DataError(f"target column {target!r} is not in the {what}; columns are: {shown}")
    if len(frame) < MIN_ROWS:
        raise DataError(f"the {what} has {len(frame)} rows; at least {MIN_ROWS} are needed")
    y = frame[target]
    missing = int(y.isna().sum())
    if missing:
        first = int(np.flatnonzero(y.isna().to_numpy())[0])
        raise DataError(
            f"target column {target!r} has {missing} missing value(s) (first in data row "
            f"{first + 1}); remove or fill those rows"
        )
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise DataError(f"the {what} has no columns besides the target {target!r}")
    return features, y


def _encode_target(y: pd.Series, task: str, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    if task == "regression":
        values = pd.to_numeric(y, errors="coerce")
        if values.isna().any():
            bad = y[values.isna()].iloc[0]
            raise DataError(
                f"target column {name!r} holds {bad!r}, not a number: regression needs "
                f"numbers (use task classification for labels)"
            )
        return values.to_numpy(dtype=float), None
    classes, codes = np.unique(y.to_numpy(), return_inverse=True)
    if len(classes) < 2:
        raise DataError(
            f"target column {name!r} has a single class ({classes[0]!r}); classification "
            f"needs at least two"
        )
    if len(classes) > max(_MAX_CLASS_LEVELS, len(y) // 2):
        raise DataError(
            f"target column {name!r} has {len(classes)} distinct values in {len(y)} rows; "
            f"is this a regression (task regression)?"
        )
    return codes.astype(np.int64), classes


def _splits(
    y: np.ndarray, task: str, settings: AutoMLSettings
) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    rows = np.arange(len(y))
    stratify = task == "classification"
    if stratify:
        smallest = int(np.bincount(y).min())
        if smallest < 2:
            raise DataError("a class of the target has a single row; each class needs two or more")
    if settings.holdout_fraction is not None:
        train, valid = train_test_split(
            rows,
            test_size=settings.holdout_fraction,
            random_state=settings.seed,
            stratify=y if stratify else None,
        )
        return [
            (np.sort(train), np.sort(valid))
        ], f"a {settings.holdout_fraction:.0%} holdout ({len(valid)} rows)"
    k = min(settings.n_folds, smallest) if stratify else settings.n_folds
    folds = (
        StratifiedKFold(k, shuffle=True, random_state=settings.seed)
        if stratify
        else KFold(k, shuffle=True, random_state=settings.seed)
    )
    return list(folds.split(rows, y)), f"{k}-fold cross-validation"


def _check_same_columns(train: pd.DataFrame, valid: pd.DataFrame) -> None:
    missing = [str(c) for c in train.columns if c not in valid.columns]
    if missing:
        raise DataError(f"the validation data lacks column(s): {', '.join(missing)}")


def _check_validation_classes(train: np.ndarray, valid: np.ndarray, classes: np.ndarray) -> None:
    unseen = sorted(set(valid.tolist()) - set(train.tolist()))
    if unseen:
        names = ", ".join(repr(classes[i]) for i in unseen)
        raise DataError(f"the validation data has class(es) {names} absent from training data")

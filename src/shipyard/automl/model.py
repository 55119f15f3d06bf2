"""The fitted model: raw rows in, predictions out; saved as a folder with a descriptor.

A saved model is a folder holding `model.joblib` (the fitted objects) and
`descriptor.json` (task, classes, input schema, one example row, metrics, library
versions and the checksum of `model.joblib`). Loading checks the checksum first, so a
truncated or altered file is refused instead of unpickled. Like every pickle, only load
models you trust.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd

from shipyard.automl.catalog import DESCRIPTOR_FILE, FORMAT, FORMAT_VERSION, MODEL_FILE
from shipyard.automl.columns import InputSchema, string_columns
from shipyard.automl.ensemble import Stacker, blend
from shipyard.automl.estimators.base import Predictor
from shipyard.automl.featurize import Featurizer
from shipyard.core.errors import InvalidInputError, SchemaError

_LIBRARIES = ("shipyard", "numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "joblib")

Rows = pd.DataFrame | Mapping[str, Any] | Sequence[Mapping[str, Any]]


class TabularModel:
    """A single model or an ensemble over the shared featurization, with its schema."""

    def __init__(
        self,
        *,
        schema: InputSchema,
        task: str,
        classes: np.ndarray | None,
        members: list[Predictor],
        weights: list[float],
        stacker: Stacker | None = None,
    ) -> None:
        self.schema = schema
        self.task = task
        self.classes_ = classes
        self.members = members
        self.weights = weights
        self.stacker = stacker
        self.featurizer = Featurizer(schema)
        self.descriptor: dict[str, Any] = {}

    def predict(self, rows: Rows) -> np.ndarray:
        """Class labels (classification) or values (regression), one per row, in order."""
        out = self.predict_encoded(self.encode(rows))
        if self.classes_ is None:
            return out
        return np.asarray(self.classes_[np.argmax(out, axis=1)])

    def predict_proba(self, rows: Rows) -> np.ndarray:
        """Class probabilities (n, k), columns in the order of `classes_`."""
        if self.classes_ is None:
            raise InvalidInputError("predict_proba needs a classification model")
        return self.predict_encoded(self.encode(rows))

    def encode(self, rows: Rows, *, allow_extra: bool = True) -> np.ndarray:
        """Check rows against the input schema and featurize them."""
        frame = string_columns(as_frame(rows))
        if frame.empty:
            raise SchemaError("no rows to score")
        self.schema.check_columns(frame, allow_extra=allow_extra)
        return self.featurizer.transform(frame)

    def predict_records(
        self, records: Sequence[Mapping[str, Any]], *, proba: bool = False
    ) -> np.ndarray:
        """Predictions (or class probabilities) for JSON-like records, strictly checked.

        The scoring service's fast path: no DataFrame, unknown or missing columns and
        values of the wrong type are a `SchemaError` naming the row and column.
        """
        if proba and self.classes_ is None:
            raise InvalidInputError("predict_proba needs a classification model")
        self.schema.check_records(records)
        out = self.predict_encoded(self.featurizer.transform_records(records))
        if proba or self.classes_ is None:
            return out
        return np.asarray(self.classes_[np.argmax(out, axis=1)])

    def predict_encoded(self, X: np.ndarray) -> np.ndarray:
        """Combined member output for already featurized rows."""
        outputs = [m.predict(X) for m in self.members]
        if self.stacker is not None:
            return self.stacker.predict(outputs)
        return blend(outputs, self.weights)

    def save(self, path: str | Path) -> Path:
        """Write the model folder (created if needed) and return its path."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / MODEL_FILE, lambda f: joblib.dump(self, f))
        descriptor = {**self.descriptor, **self._base_descriptor(folder / MODEL_FILE)}
        text = json.dumps(descriptor, indent=2, default=_json_default).encode()
        _atomic_write(folder / DESCRIPTOR_FILE, lambda f: f.write(text))
        return folder

    def _base_descriptor(self, model_file: Path) -> dict[str, Any]:
        example = {c.name: c.example for c in self.schema.used}
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "task": self.task,
            "classes": None if self.classes_ is None else self.classes_.tolist(),
            "input_schema": self.schema.to_dict(),
            "example": example,
            "libraries": library_versions(),
            "model_sha256": _sha256(model_file),
        }


def load_model(path: str | Path) -> TabularModel:
    """Load a model folder written by `TabularModel.save`."""
    folder = Path(path)
    descriptor_path, model_path = folder / DESCRIPTOR_FILE, folder / MODEL_FILE
    if not descriptor_path.is_file() or not model_path.is_file():
        raise InvalidInputError(f"{folder} is not a saved model (no {DESCRIPTOR_FILE})")
    try:
        descriptor = json.loads(descriptor_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"{descriptor_path} is not valid JSON: {exc}") from exc
    if descriptor.get("format") != FORMAT:
        raise InvalidInputError(f"{descriptor_path} does not describe a Shipyard model")
    if descriptor.get("model_sha256") != _sha256(model_path):
        raise InvalidInputError(f"{model_path} does not match its descriptor's checksum")
    _warn_on_version_drift(descriptor.get("libraries", {}))
    model = joblib.load(model_path)
    if not isinstance(model, TabularModel):
        raise InvalidInputError(f"{model_path} does not hold a Shipyard model")
    model.descriptor = descriptor
    return model


def as_frame(rows: Rows) -> pd.DataFrame:
    """Rows as a DataFrame: a DataFrame, one mapping, or a sequence of mappings."""
    if isinstance(rows, pd.DataFrame):
        return rows
    if isinstance(rows, Mapping):
        return pd.DataFrame([rows])
    if isinstance(rows, list | tuple):
        if not all(isinstance(r, Mapping) for r in rows):
            raise SchemaError("every row must be an object of column names to values")
        return pd.DataFrame(list(rows))
    raise SchemaError(f"rows must be a table or a list of objects, got {type(rows).__name__}")


def library_versions() -> dict[str, str]:
    """Versions of Python and the libraries a saved model depends on."""
    versions = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "unknown"
    return versions


def _warn_on_version_drift(saved: Mapping[str, str]) -> None:
    current = library_versions()
    drift = [
        f"{k} {v} (now {current[k]})"
        for k, v in saved.items()
        if k in current and k not in {"python", "shipyard"} and current[k] != v
    ]
    if drift:
        warnings.warn(
            f"model saved with other library versions: {', '.join(drift)}",
            UserWarning,
            stacklevel=3,
        )


def _atomic_write(target: Path, write: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")

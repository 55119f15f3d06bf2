"""Request bodies of every scoring protocol, parsed into records; answers shaped per protocol.

Pure functions, no web framework: the scoring app hands them decoded JSON and renders what
they return. Protocols:

- Shipyard / Azure ML style (`POST /score`): `{"data": [{...}, ...]}` or
  `{"Inputs": {"data": [...]}, "GlobalParameters": {"method": "predict_proba"}}`.
- MLflow scoring protocol (`POST /invocations`): `dataframe_split`, `dataframe_records`,
  `instances`, `inputs`.
- Open Inference Protocol / KServe V2 (`POST /v2/models/{name}/infer`): named input
  tensors, one per column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.core.errors import InvalidInputError

METHODS = ("predict", "predict_proba")
MAX_ROWS = 10_000

Records = list[dict[str, Any]]


class PayloadError(InvalidInputError):
    """A request body that cannot be read as rows to score."""

    status = 400


@dataclass(frozen=True)
class ScoringRequest:
    """What to score and how."""

    records: Records
    method: str = "predict"


def parse_score(body: Any, method: str | None = None) -> ScoringRequest:
    """A `/score` body: `{"data": rows}` or `{"Inputs": {"data": rows}, "GlobalParameters"}`."""
    body = _object(body, "the body")
    if "Inputs" in body:
        inputs = _object(body["Inputs"], "Inputs")
        if "data" not in inputs:
            raise PayloadError('"Inputs" must hold "data": a list of rows')
        params = body.get("GlobalParameters") or {}
        params = _object(params, "GlobalParameters")
        return ScoringRequest(
            _rows(inputs["data"], "Inputs.data"), _method(params.get("method", method))
        )
    if "data" not in body:
        keys = ", ".join(map(repr, list(body)[:5])) or "none"
        raise PayloadError(
            f'expected {{"data": [rows]}} or {{"Inputs": {{"data": [rows]}}}}; got keys {keys}'
        )
    return ScoringRequest(_rows(body["data"], "data"), _method(body.get("method", method)))


def parse_invocations(body: Any) -> ScoringRequest:
    """An MLflow `/invocations` body."""
    body = _object(body, "the body")
    params = body.get("params") or {}
    method = _method(_object(params, "params").get("method"))
    if "dataframe_split" in body:
        return ScoringRequest(_split(body["dataframe_split"], "dataframe_split"), method)
    if "dataframe_records" in body:
        return ScoringRequest(_rows(body["dataframe_records"], "dataframe_records"), method)
    for key in ("instances", "inputs"):
        if key in body:
            value = body[key]
            if isinstance(value, Mapping):  # columnar: {"age": [30, 40], ...}
                return ScoringRequest(_columns(value, key), method)
            return ScoringRequest(_rows(value, key), method)
    raise PayloadError(
        "expected one of dataframe_split, dataframe_records, instances or inputs "
        "(the MLflow scoring protocol)"
    )


def parse_v2(body: Any) -> ScoringRequest:
    """An Open Inference Protocol (KServe V2) infer body: one named input per column."""
    body = _object(body, "the body")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise PayloadError('"inputs" must be a non-empty list of named tensors')
    columns: dict[str, Any] = {}
    for i, tensor in enumerate(inputs):
        tensor = _object(tensor, f"inputs[{i}]")
        name, data = tensor.get("name"), tensor.get("data")
        if not isinstance(name, str) or not name:
            raise PayloadError(f"inputs[{i}] needs a name (the column it holds)")
        if not isinstance(data, list):
            raise PayloadError(f"inputs[{i}] ({name}) needs data: a list of values")
        columns[name] = _flat(data, name)
    params = body.get("parameters") or {}
    return ScoringRequest(
        _columns(columns, "inputs"), _method(_object(params, "parameters").get("method"))
    )


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{what} must be a JSON object, got {_type(value)}")
    return value


def _method(value: Any) -> str:
    if value is None:
        return "predict"
    if value not in METHODS:
        raise PayloadError(f"method must be predict or predict_proba, got {value!r}")
    return str(value)


def _rows(value: Any, where: str) -> Records:
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise PayloadError(f"{where} must be a list of rows (objects), got {_type(value)}")
    if not value:
        raise PayloadError(f"{where} holds no rows")
    _check_size(len(value), where)
    for i, row in enumerate(value):
        if not isinstance(row, dict):
            raise PayloadError(f"{where}[{i}] must be an object of column: value, got {_type(row)}")
    return value


def _split(value: Any, where: str) -> Records:
    split = _object(value, where)
    columns, data = split.get("columns"), split.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise PayloadError(f"{where}.columns must be a list of column names")
    if not isinstance(data, list) or not data:
        raise PayloadError(f"{where}.data must be a non-empty list of rows (lists)")
    _check_size(len(data), where)
    records = []
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise PayloadError(f"{where}.data[{i}] must be a list of {len(columns)} values")
        records.append(dict(zip(columns, row, strict=True)))
    return records


def _columns(columns: Mapping[str, Any], where: str) -> Records:
    lengths = set()
    for name, values in columns.items():
        if not isinstance(values, list):
            raise PayloadError(f"{where}.{name} must be a list of values, got {_type(values)}")
        lengths.add(len(values))
    if len(lengths) != 1 or 0 in lengths:
        raise PayloadError(f"every column of {where} must hold the same, non-zero number of values")
    n = lengths.pop()
    _check_size(n, where)
    names = list(columns)
    return [{name: columns[name][i] for name in names} for i in range(n)]


def _flat(data: list[Any], name: str) -> list[Any]:
    # A [n, 1] tensor arrives as [[v], [v], ...]
    if data and all(isinstance(v, list) for v in data):
        if not all(len(v) == 1 for v in data):
            raise PayloadError(f"input {name} must be one value per row (shape [n] or [n, 1])")
        return [v[0] for v in data]
    return data


def _check_size(n: int, where: str) -> None:
    if n > MAX_ROWS:
        raise PayloadError(f"{where} holds {n} rows; at most {MAX_ROWS} per request")


def _type(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def to_jsonable(predictions: np.ndarray, method: str, classes: list[Any] | None) -> list[Any]:
    """Predictions as JSON values: labels/values, or one {class: probability} per row."""
    if method == "predict_proba":
        assert classes is not None  # the model refused predict_proba otherwise
        names = [str(c) for c in classes]
        return [dict(zip(names, map(float, row), strict=True)) for row in predictions]
    values: list[Any] = predictions.tolist()
    return values

"""The scoring core: a model and parsed requests in, each protocol's answer out.

Pure functions, no web framework and no I/O (MLflow's `invocations` split): the scoring
app parses a body with `payloads`, scores it here and renders what comes back. Several
requests can be scored in one model call (`predict_many`), which is how the app
micro-batches concurrent requests; a request that fails in a batch is retried alone, so
one bad request never fails its neighbours.

Statuses (`status_of`, from the error classes' `status`): a body that cannot be read as
rows (not JSON, empty, not the protocol's shape: `PayloadError`) is 400; rows that do not
fit the model (unknown or missing column, a value of the wrong type, predict_proba on a
regression model: `SchemaError` and other `InvalidInputError`) are 422; anything else the
model raises on valid rows is a `ModelError`, 500.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from shipyard.core.errors import InvalidInputError, ModelError, SchemaError
from shipyard.core.interface import ScoringModel
from shipyard.serving.payloads import ScoringRequest, to_jsonable

PROBA = "predict_proba"

Outcome = np.ndarray | Exception

_V2_TYPES = {"b": "BOOL", "i": "INT64", "u": "UINT64", "f": "FP64"}
_COLUMN_TYPES = {"numeric": "FP64", "boolean": "BOOL"}


def status_of(error: Exception) -> int:
    """The HTTP status of a scoring error: the caller's fault is 4xx, the model's 500."""
    return error.status if isinstance(error, InvalidInputError) else ModelError.status


def type_of(error: Exception) -> str:
    """The class name an answer gives for a scoring error (`ModelError` for the model's)."""
    return type(error).__name__ if isinstance(error, InvalidInputError) else ModelError.__name__


def message_of(error: Exception) -> str:
    """What the caller is told about a scoring error."""
    if isinstance(error, InvalidInputError):
        return str(error)
    return f"the model failed on valid input: {type(error).__name__}: {error}"


def check_request(model: ScoringModel, request: ScoringRequest) -> None:
    """Refuse what the model would mis-read: nested values, predict_proba without classes."""
    if request.method == PROBA and model.classes_ is None:
        raise InvalidInputError("predict_proba needs a classification model; use predict")
    for i, record in enumerate(request.records):
        for name, value in record.items():
            if isinstance(value, dict | list):
                kind = "an object" if isinstance(value, dict) else "an array"
                raise SchemaError(f"row {i}: column {name!r} must be a single value, got {kind}")


def predict_one(model: ScoringModel, request: ScoringRequest) -> np.ndarray:
    """Predictions for one request; errors are raised as they come."""
    check_request(model, request)
    return _call(model, request)


def predict_many(model: ScoringModel, requests: Sequence[ScoringRequest]) -> list[Outcome]:
    """Predictions (or the error) per request, scoring requests of one method in one call."""
    outcomes: list[Outcome | None] = [None] * len(requests)
    batches: dict[bool, list[int]] = {False: [], True: []}
    for i, request in enumerate(requests):
        try:
            check_request(model, request)
        except InvalidInputError as exc:
            outcomes[i] = exc
        else:
            batches[request.method == PROBA].append(i)
    for proba, members in batches.items():
        if len(members) == 1:
            outcomes[members[0]] = _outcome(model, requests[members[0]])
        elif members:
            _score_batch(model, requests, members, proba, outcomes)
    return [o if o is not None else ModelError("no outcome") for o in outcomes]


def _score_batch(
    model: ScoringModel,
    requests: Sequence[ScoringRequest],
    members: list[int],
    proba: bool,
    outcomes: list[Outcome | None],
) -> None:
    records = [record for i in members for record in requests[i].records]
    try:
        out = model.predict_records(records, proba=proba)
        _check_length(out, len(records))
    except Exception:
        # Someone's rows are bad (or the model failed): score each alone to find whose.
        for i in members:
            outcomes[i] = _outcome(model, requests[i])
        return
    start = 0
    for i in members:
        stop = start + len(requests[i].records)
        outcomes[i] = out[start:stop]
        start = stop


def _call(model: ScoringModel, request: ScoringRequest) -> np.ndarray:
    out = model.predict_records(request.records, proba=request.method == PROBA)
    _check_length(out, len(request.records))
    return out


def _outcome(model: ScoringModel, request: ScoringRequest) -> Outcome:
    # for requests that passed `check_request` already
    try:
        return _call(model, request)
    except Exception as exc:
        return exc


def _check_length(out: np.ndarray, n: int) -> None:
    if len(out) != n:
        raise ModelError(f"the model returned {len(out)} predictions for {n} rows")


def classes_of(model: ScoringModel) -> list[Any] | None:
    """The model's class labels as JSON values, or None for regression."""
    return None if model.classes_ is None else model.classes_.tolist()


def score_answer(out: np.ndarray, method: str, classes: list[Any] | None) -> dict[str, Any]:
    """The `/score` answer: `{"result": [...]}`."""
    return {"result": to_jsonable(out, method, classes)}


def invocations_answer(out: np.ndarray, method: str, classes: list[Any] | None) -> dict[str, Any]:
    """The MLflow `/invocations` answer: `{"predictions": [...]}`."""
    return {"predictions": to_jsonable(out, method, classes)}


def v2_answer(
    out: np.ndarray,
    method: str,
    classes: list[Any] | None,
    *,
    model: tuple[str, str],
    request_id: str,
) -> dict[str, Any]:
    """The Open Inference Protocol answer: one output tensor, `predict` or `predict_proba`."""
    name, version = model
    output: dict[str, Any] = {
        "name": method,
        "shape": list(out.shape),
        "datatype": _V2_TYPES.get(out.dtype.kind, "BYTES"),
        "data": out.ravel().tolist(),
    }
    if method == PROBA and classes is not None:
        output["parameters"] = {"classes": classes}
    return {"model_name": name, "model_version": version, "id": request_id, "outputs": [output]}


def v2_request_id(body: Any) -> str | None:
    """The `id` a V2 infer request carries, if any (echoed in the answer)."""
    value = body.get("id") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


def v2_metadata(descriptor: Mapping[str, Any], model: tuple[str, str]) -> dict[str, Any]:
    """The Open Inference Protocol model metadata: inputs per used column, both outputs."""
    name, version = model
    inputs = [
        {"name": c["name"], "datatype": _COLUMN_TYPES.get(c["kind"], "BYTES"), "shape": [-1]}
        for c in used_columns(descriptor)
    ]
    outputs: list[dict[str, Any]] = [{"name": "predict", "datatype": "BYTES", "shape": [-1]}]
    classes = descriptor.get("classes")
    if classes:
        outputs.append({"name": PROBA, "datatype": "FP64", "shape": [-1, len(classes)]})
    else:
        outputs[0]["datatype"] = "FP64"
    return {
        "name": name,
        "versions": [version],
        "platform": "shipyard",
        "inputs": inputs,
        "outputs": outputs,
    }


def used_columns(descriptor: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The input columns the model reads (the descriptor's schema, dropped ones left out)."""
    schema = descriptor.get("input_schema") or {}
    return [c for c in schema.get("columns", []) if c.get("kind") != "dropped"]


def split_ref(ref: str) -> tuple[str, str]:
    """`NAME:VERSION` as (name, version); a bare name has version ""."""
    name, _, version = ref.partition(":")
    return name, version

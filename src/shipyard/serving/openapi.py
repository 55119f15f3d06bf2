"""The endpoint's OpenAPI 3.1 document, generated from the model's descriptor.

A pure function of the descriptor (input schema, example row, classes) and the endpoint's
settings: every input column becomes a property of `Row` (typed by its kind, categories
listed), the example row is the request example of every scoring route, and the answers
are typed by the model's classes. The scoring app serves it as `GET /swagger.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.core.errors import AuthenticationError, ModelError, SchemaError, ShipyardError
from shipyard.serving._asgi import BodyTooLargeError
from shipyard.serving.payloads import MAX_ROWS, METHODS, PayloadError
from shipyard.serving.predict import split_ref

OPENAPI_VERSION = "3.1.0"
_MAX_LISTED_CATEGORIES = 50
_REF = "#/components/schemas/"
_ERRORS: dict[type[ShipyardError], str] = {  # the status is each class's
    PayloadError: "The body is not JSON, is empty, or is not in the protocol's shape.",
    AuthenticationError: (
        "Missing or invalid credentials (send `Authorization: Bearer <key or token>`)."
    ),
    BodyTooLargeError: "The body is larger than the endpoint accepts.",
    SchemaError: "The rows do not fit the model: unknown or missing column, wrong value type.",
    ModelError: "The model failed on valid input (or, with `type` ServerError, the endpoint did).",
}


def build_openapi(
    descriptor: Mapping[str, Any],
    *,
    endpoint: str,
    model_ref: str,
    auth_mode: str,
    example_output: list[Any] | None = None,
) -> dict[str, Any]:
    """The OpenAPI document of an endpoint serving the model `descriptor` describes.

    Args:
        example_output: the model's `/score` result for the example row, shown as the
            answer example (the document stays a pure function of what it is given).
    """
    name, version = split_ref(model_ref)
    example = dict(descriptor.get("example") or {})
    secured = auth_mode != "none"
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": f"{endpoint} scoring API",
            "version": version or "1",
            "description": (
                f"Real-time predictions of model {model_ref} (task: "
                f"{descriptor.get('task', 'unknown')}). Authentication: {auth_mode}."
            ),
        },
        "paths": _paths(example, example_output, secured),
        "components": {"schemas": _schemas(descriptor, name)},
    }
    if secured:
        what = "an endpoint key" if auth_mode == "key" else "a token issued by the workspace"
        document["components"]["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": f"Send {what}."}
        }
        document["security"] = [{"bearer": []}]
    return document


def _schemas(descriptor: Mapping[str, Any], model_name: str) -> dict[str, Any]:
    classes = descriptor.get("classes")
    label = {"enum": list(classes)} if classes else {"type": "number"}
    answer: dict[str, Any] = label
    if classes:
        probabilities = {
            "type": "object",
            "properties": {str(c): {"type": "number", "minimum": 0, "maximum": 1} for c in classes},
            "required": [str(c) for c in classes],
        }
        answer = {"oneOf": [label, probabilities]}
    methods = {"type": "string", "enum": list(METHODS), "default": "predict"}
    rows = {"type": "array", "items": {"$ref": _REF + "Row"}, "minItems": 1, "maxItems": MAX_ROWS}
    return {
        "Row": _row(descriptor),
        "Rows": rows,
        "Method": methods,
        "ScoreRequest": _score_request(),
        "ScoreResponse": _answer("result", answer),
        "InvocationsRequest": _invocations_request(),
        "InvocationsResponse": _answer("predictions", answer),
        "InferenceRequest": _inference_request(),
        "InferenceResponse": _inference_response(model_name),
        "ModelMetadata": _object({"name": _STR, "versions": _array(_STR), "platform": _STR}),
        "Health": _object(
            {"status": _STR, "model": _STR, "loading": _NULLABLE_STR, "load_error": _NULLABLE_STR},
            ["status", "model"],
        ),
        "Error": _object({"error": _STR, "type": _STR, "request_id": _STR}, ["error"]),
    }


_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = required if required is not None else list(properties)
    return schema


def _array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def _answer(key: str, item: dict[str, Any]) -> dict[str, Any]:
    return _object({key: _array(item)})


def _row(descriptor: Mapping[str, Any]) -> dict[str, Any]:
    columns = (descriptor.get("input_schema") or {}).get("columns", [])
    properties = {c["name"]: _column(c) for c in columns}
    required = [c["name"] for c in columns if c.get("kind") != "dropped"]
    return {
        "type": "object",
        "description": "One row: a value per input column (null means missing).",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _column(column: Mapping[str, Any]) -> dict[str, Any]:
    kind = column.get("kind")
    schema: dict[str, Any]
    if kind == "numeric":
        schema = {"type": ["number", "null"]}
    elif kind == "boolean":
        schema = {"type": ["boolean", "null"]}
    elif kind == "datetime":
        schema = {"type": ["string", "null"], "format": "date-time"}
    elif kind == "categorical":
        categories = list(column.get("categories") or [])
        listed = ", ".join(categories[:_MAX_LISTED_CATEGORIES])
        more = " ..." if len(categories) > _MAX_LISTED_CATEGORIES else ""
        schema = {
            "type": ["string", "null"],
            "description": f"Seen in training: {listed}{more}. Other values are scored as unseen.",
        }
    else:
        reason = column.get("drop_reason") or "not used"
        return {"description": f"Ignored by the model ({reason})."}
    if column.get("example") is not None:
        schema["examples"] = [column["example"]]
    return schema


def _score_request() -> dict[str, Any]:
    method = {"$ref": _REF + "Method"}
    rows = {"$ref": _REF + "Rows"}
    plain = _object({"data": rows, "method": method}, ["data"])
    wrapped = _object(
        {"Inputs": _object({"data": rows}), "GlobalParameters": _object({"method": method}, [])},
        ["Inputs"],
    )
    return {"oneOf": [plain, wrapped]}


def _invocations_request() -> dict[str, Any]:
    rows = {"$ref": _REF + "Rows"}
    columnar = {"type": "object", "additionalProperties": _array({})}
    split = _object({"columns": _array(_STR), "data": _array(_array({}))})
    params = _object({"params": _object({"method": {"$ref": _REF + "Method"}}, [])}, [])
    forms = [
        _object({"dataframe_split": split}),
        _object({"dataframe_records": rows}),
        _object({"instances": {"oneOf": [rows, columnar]}}),
        _object({"inputs": {"oneOf": [rows, columnar]}}),
    ]
    return {"allOf": [params, {"oneOf": forms}]}


def _tensor(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    shape = _array({"type": "integer"})
    return _object(
        {"name": _STR, "shape": shape, "datatype": _STR, "data": _array({}), **(extra or {})},
        ["name", "shape", "datatype", "data"],
    )


def _inference_request() -> dict[str, Any]:
    return _object(
        {
            "id": _STR,
            "parameters": _object({"method": {"$ref": _REF + "Method"}}, []),
            "inputs": {**_array(_tensor()), "minItems": 1},
        },
        ["inputs"],
    )


def _inference_response(model_name: str) -> dict[str, Any]:
    output = _tensor({"parameters": {"type": "object"}})
    return _object(
        {
            "model_name": {**_STR, "examples": [model_name]},
            "model_version": _STR,
            "id": _STR,
            "outputs": _array(output),
        }
    )


def _paths(
    example: dict[str, Any], example_output: list[Any] | None, secured: bool
) -> dict[str, Any]:
    public: dict[str, Any] = {"security": []}
    guarded = {} if secured else public
    name = {"name": "model_name", "in": "path", "required": True, "schema": _STR}
    return {
        "/score": {"post": _score_operation(example, example_output, guarded)},
        "/invocations": {
            "post": _scoring(
                "invocations",
                "Score rows (MLflow scoring protocol).",
                "Invocations",
                {"dataframe_records": [example]},
                guarded,
            )
        },
        "/v2/models/{model_name}/infer": {
            "post": {
                **_scoring(
                    "infer",
                    "Score rows (Open Inference Protocol, one tensor per column).",
                    "Inference",
                    _v2_example(example),
                    guarded,
                ),
                "parameters": [name],
            }
        },
        "/v2/models/{model_name}": {
            "get": _get("model-metadata", "Model metadata.", "ModelMetadata", guarded, [name])
        },
        "/v2/models/{model_name}/ready": {
            "get": _get("health-model-ready", "The model is loaded.", None, public, [name])
        },
        "/v2/health/live": {"get": _get("health-live", "The process is up.", None, public)},
        "/v2/health/ready": {"get": _get("health-ready", "A model is loaded.", None, public)},
        "/health": {"get": _get("health-health", "Status and the model served.", "Health", public)},
        "/swagger.json": {"get": _get("docs-swagger", "This document.", None, guarded)},
        "/metrics": {"get": _metrics(guarded)},
    }


def _score_operation(
    example: dict[str, Any], example_output: list[Any] | None, security: dict[str, Any]
) -> dict[str, Any]:
    operation = _scoring("score", "Score rows.", "Score", {"data": [example]}, security)
    operation["parameters"] = [
        {
            "name": "method",
            "in": "query",
            "required": False,
            "description": "predict (labels or values) or predict_proba (one object per row).",
            "schema": {"$ref": _REF + "Method"},
        }
    ]
    body = operation["requestBody"]["content"]["application/json"]
    body["examples"]["inputs"] = {
        "summary": "Inputs / GlobalParameters style",
        "value": {"Inputs": {"data": [example]}, "GlobalParameters": {"method": "predict_proba"}},
    }
    if example_output is not None:
        answer = operation["responses"]["200"]["content"]["application/json"]
        answer["example"] = {"result": example_output}
    return operation


def _scoring(
    name: str, summary: str, schema: str, example: dict[str, Any], security: dict[str, Any]
) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _json_response("Predictions.", schema + "Response")}
    for error, description in _ERRORS.items():
        responses[str(error.status)] = _json_response(description, "Error")
    return {
        "operationId": f"scoring-{name}",
        "tags": ["scoring"],
        "summary": summary,
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": _REF + schema + "Request"},
                    "examples": {"data": {"summary": "One example row", "value": example}},
                }
            },
        },
        "responses": responses,
        **security,
    }


def _get(
    operation_id: str,
    summary: str,
    schema: str | None,
    security: dict[str, Any],
    parameters: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    ok = _json_response(summary, schema) if schema else {"description": summary}
    tag = operation_id.split("-", 1)[0]
    operation: dict[str, Any] = {"operationId": operation_id, "tags": [tag], "summary": summary}
    operation["responses"] = {"200": ok}
    if parameters:
        operation["parameters"] = parameters
    return {**operation, **security}


def _metrics(security: dict[str, Any]) -> dict[str, Any]:
    text = {"text/plain": {"schema": _STR}}
    return {
        "operationId": "metrics-metrics",
        "tags": ["metrics"],
        "summary": "Prometheus metrics of this process.",
        "responses": {"200": {"description": "Prometheus text format.", "content": text}},
        **security,
    }


def _json_response(description: str, schema: str) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": _REF + schema}}}
    return {"description": description, "content": content}


def _v2_example(example: dict[str, Any]) -> dict[str, Any]:
    inputs = [
        {"name": column, "shape": [1], "datatype": _v2_type(value), "data": [value]}
        for column, value in example.items()
    ]
    return {"inputs": inputs}


def _v2_type(value: Any) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FP64"
    return "BYTES"

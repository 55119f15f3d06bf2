"""The OpenAPI document: valid OpenAPI 3.1, typed by the model's schema, examples that fit."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from openapi_spec_validator import validate

from shipyard.serving.openapi import build_openapi

REGRESSION = {
    "task": "regression",
    "classes": None,
    "input_schema": {
        "columns": [
            {"name": "age", "kind": "numeric", "example": 41},
            {"name": "job", "kind": "categorical", "categories": ["admin.", "retired"]},
            {"name": "member", "kind": "boolean", "example": True},
            {"name": "joined", "kind": "datetime", "example": "2020-01-02T00:00:00"},
            {"name": "id", "kind": "dropped", "drop_reason": "ID-like"},
        ]
    },
    "example": {"age": 41, "job": "admin.", "member": True, "joined": "2020-01-02T00:00:00"},
}


def _fits(document: dict[str, Any], schema: str, value: Any) -> list[str]:
    root = {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
    return [e.message for e in Draft202012Validator(root).iter_errors(value)]


@pytest.mark.parametrize("auth_mode", ["key", "token", "none"])
def test_documents_validate_for_every_auth_mode(model_a, auth_mode):
    document = build_openapi(
        model_a.descriptor, endpoint="bank", model_ref="bank:1", auth_mode=auth_mode
    )
    validate(document)
    assert ("security" in document) is (auth_mode != "none")
    assert document["paths"]["/health"]["get"]["security"] == []


def test_rows_are_typed_by_column_kind_and_dropped_columns_are_optional():
    document = build_openapi(REGRESSION, endpoint="houses", model_ref="h:2", auth_mode="key")
    validate(document)
    row = document["components"]["schemas"]["Row"]
    assert row["required"] == ["age", "job", "member", "joined"]
    properties = row["properties"]
    assert properties["age"]["type"] == ["number", "null"]
    assert properties["member"]["type"] == ["boolean", "null"]
    assert properties["joined"]["format"] == "date-time"
    assert "admin., retired" in properties["job"]["description"]
    assert "ID-like" in properties["id"]["description"]
    assert document["components"]["schemas"]["ScoreResponse"]["properties"]["result"] == {
        "type": "array",
        "items": {"type": "number"},
    }
    assert document["info"]["version"] == "2"


def test_examples_fit_the_schemas_they_illustrate(model_a):
    document = build_openapi(
        model_a.descriptor,
        endpoint="bank",
        model_ref="bank:1",
        auth_mode="key",
        example_output=["no"],
    )
    paths = document["paths"]
    for path, schema in (
        ("/score", "ScoreRequest"),
        ("/invocations", "InvocationsRequest"),
        ("/v2/models/{model_name}/infer", "InferenceRequest"),
    ):
        examples = paths[path]["post"]["requestBody"]["content"]["application/json"]["examples"]
        for example in examples.values():
            assert _fits(document, schema, example["value"]) == [], (path, example)
    answer = paths["/score"]["post"]["responses"]["200"]["content"]["application/json"]
    assert answer["example"] == {"result": ["no"]}
    assert _fits(document, "ScoreResponse", answer["example"]) == []
    assert _fits(document, "ScoreResponse", {"result": [{"no": 0.9, "yes": 0.1}]}) == []
    assert _fits(document, "ScoreRequest", {"data": [{"x1": 1}]}) != []  # missing columns
    assert _fits(document, "ScoreRequest", {"data": [{**model_a.descriptor["example"], "z": 1}]})

"""The scoring app in process: every protocol, the answers equal the model's, errors are 4xx."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import numpy as np
import pytest
from openapi_spec_validator import validate

from shipyard.automl import TabularModel, load_model
from shipyard.core.errors import (
    AuthenticationError,
    InvalidInputError,
    ModelError,
    NotFoundError,
    answer_error,
)
from shipyard.serving.app import create_scoring_app
from tests.unit.serving._support import BEARER, PRIMARY, Endpoint

pytestmark = pytest.mark.anyio


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {name: [row[name] for row in rows] for name in rows[0]}


async def test_score_answers_like_the_model_in_both_body_styles(client, model_a, rows):
    expected = model_a.predict(rows).tolist()
    plain = await client.post("/score", json={"data": rows}, headers=BEARER)
    wrapped = await client.post("/score", json={"Inputs": {"data": rows}}, headers=BEARER)
    assert plain.status_code == wrapped.status_code == 200
    assert plain.json() == wrapped.json() == {"result": expected}
    assert plain.headers["content-type"] == "application/json"


async def test_predict_proba_gives_one_object_of_class_probabilities_per_row(client, model_a, rows):
    expected = model_a.predict_proba(rows)
    by_query = await client.post("/score?method=predict_proba", json={"data": rows}, headers=BEARER)
    by_body = await client.post(
        "/score",
        json={"Inputs": {"data": rows}, "GlobalParameters": {"method": "predict_proba"}},
        headers=BEARER,
    )
    for answer in (by_query.json()["result"], by_body.json()["result"]):
        assert [list(row) for row in answer] == [["no", "yes"]] * len(rows)
        got = np.array([[row["no"], row["yes"]] for row in answer])
        np.testing.assert_allclose(got, expected, rtol=1e-9)


@pytest.mark.parametrize(
    "style",
    ["dataframe_split", "dataframe_records", "instances", "inputs", "columnar"],
)
async def test_invocations_speaks_every_mlflow_input_style(client, model_a, rows, style):
    bodies = {
        "dataframe_split": {
            "dataframe_split": {
                "columns": list(rows[0]),
                "data": [list(row.values()) for row in rows],
            }
        },
        "dataframe_records": {"dataframe_records": rows},
        "instances": {"instances": rows},
        "inputs": {"inputs": rows},
        "columnar": {"inputs": _columns(rows)},
    }
    answer = await client.post("/invocations", json=bodies[style], headers=BEARER)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"predictions": model_a.predict(rows).tolist()}


async def test_invocations_predict_proba_through_params(client, model_a, rows):
    body = {"dataframe_records": rows, "params": {"method": "predict_proba"}}
    answer = (await client.post("/invocations", json=body, headers=BEARER)).json()
    got = np.array([[p["no"], p["yes"]] for p in answer["predictions"]])
    np.testing.assert_allclose(got, model_a.predict_proba(rows), rtol=1e-9)


async def test_v2_infer_answers_one_tensor_per_method(client, model_a, rows):
    inputs = [
        {"name": name, "shape": [len(values)], "datatype": "BYTES", "data": values}
        for name, values in _columns(rows).items()
    ]
    labels = await client.post(
        "/v2/models/bank/infer", json={"id": "req-1", "inputs": inputs}, headers=BEARER
    )
    assert labels.status_code == 200, labels.text
    assert labels.json() == {
        "model_name": "bank",
        "model_version": "1",
        "id": "req-1",
        "outputs": [
            {
                "name": "predict",
                "shape": [len(rows)],
                "datatype": "BYTES",
                "data": model_a.predict(rows).tolist(),
            }
        ],
    }
    body = {"inputs": inputs, "parameters": {"method": "predict_proba"}}
    proba = await client.post("/v2/models/bank/infer", json=body, headers=BEARER)
    output = proba.json()["outputs"][0]
    assert proba.json()["id"] == proba.headers["x-request-id"]
    assert (output["name"], output["shape"], output["datatype"]) == (
        "predict_proba",
        [len(rows), 2],
        "FP64",
    )
    assert output["parameters"] == {"classes": ["no", "yes"]}
    got = np.array(output["data"]).reshape(len(rows), 2)
    np.testing.assert_allclose(got, model_a.predict_proba(rows), rtol=1e-9)


async def test_v2_metadata_and_health(client):
    assert (await client.get("/v2/health/live")).json() == {"live": True}
    assert (await client.get("/v2/health/ready")).json() == {"ready": True}
    assert (await client.get("/v2/models/bank/ready")).status_code == 200
    assert (await client.get("/v2")).json()["name"] == "shipyard"
    metadata = (await client.get("/v2/models/bank", headers=BEARER)).json()
    assert metadata["versions"] == ["1"]
    assert [i["name"] for i in metadata["inputs"]] == ["x1", "x2", "count", "color", "flag"]
    assert [o["name"] for o in metadata["outputs"]] == ["predict", "predict_proba"]
    unknown = await client.post("/v2/models/other/infer", json={}, headers=BEARER)
    assert unknown.status_code == 404
    assert "serves 'bank'" in unknown.json()["error"]


async def test_health_is_public_and_says_only_up_and_the_model(client):
    # issue 10 finding 10: no process id or settings for strangers
    for headers in ({}, {"Authorization": "Bearer not-a-key"}):
        health = await client.get("/health", headers=headers)
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "model": "bank:1"}
    detailed = await client.get("/health", headers=BEARER)
    assert detailed.json() == {
        "status": "ok",
        "endpoint": "bank",
        "model": "bank:1",
        "loading": None,
        "load_error": None,
        "auth_mode": "key",
        "logging": False,
    }


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"", 400, "the body is empty"),
        (b"   ", 400, "the body is empty"),
        (b"{not json", 400, "not JSON"),
        (b"\xff\xfe", 400, "not JSON"),
        (b"[1, 2]", 400, "must be a JSON object"),
        (b'{"rows": []}', 400, "got keys 'rows'"),
        (b'{"data": []}', 400, "holds no rows"),
        (b'{"data": [1]}', 400, "data[0] must be an object"),
        (b'{"data": [{}], "method": "explain"}', 400, "method must be"),
        (b'{"data": [{"x1": 1}]}', 422, "missing column(s): color, count, flag, x2"),
    ],
)
async def test_bad_bodies_are_4xx_naming_the_problem(client, body, status, message):
    answer = await client.post("/score", content=body, headers=BEARER)
    assert answer.status_code == status
    assert message in answer.json()["error"]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("extra", 1, "unknown column(s): extra"),
        ("x1", "abc", "column 'x1' expects numbers, got 'abc'"),
        ("flag", "maybe", "column 'flag' expects true/false"),
        ("color", {"nested": 1}, "column 'color' must be a single value, got an object"),
        ("x2", [1], "column 'x2' must be a single value, got an array"),
    ],
)
async def test_rows_that_do_not_fit_the_model_are_422_naming_the_column(
    client, rows, column, value, message
):
    answer = await client.post(
        "/score", json={"data": [{**rows[0], column: value}]}, headers=BEARER
    )
    assert answer.status_code == 422
    assert message in answer.json()["error"]


async def test_a_bad_request_does_not_fail_the_requests_batched_with_it(app, client, rows):
    good = {"data": rows}
    bad = {"data": [{**rows[0], "x1": "abc"}]}
    answers = await asyncio.gather(
        *(client.post("/score", json=body, headers=BEARER) for body in (good, bad, good, good))
    )
    assert [a.status_code for a in answers] == [200, 422, 200, 200]
    assert answers[0].json() == answers[2].json()
    assert app.batcher.calls == 1  # one model call for the four, the bad one retried alone


async def test_bodies_over_the_limit_are_413_and_not_read_to_the_end(endpoint: Endpoint, rows):
    endpoint.write(max_body_bytes=1000)
    app = endpoint.create_app()
    pulled = []

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(100):
            pulled.append(i)
            yield b" " * 100

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://endpoint"
    ) as client:
        declared = await client.post("/score", content=b" " * 2000, headers=BEARER)
        streamed = await client.post("/score", content=chunks(), headers=BEARER)
        small = await client.post("/score", json={"data": rows[:1]}, headers=BEARER)
    app.close()
    assert declared.status_code == streamed.status_code == 413
    assert "at most 1000" in declared.json()["error"]
    assert len(pulled) < 20
    assert small.status_code == 200


async def test_unknown_routes_are_404_and_wrong_methods_405(client):
    missing = await client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json() == {"error": "no route GET /nowhere"}
    wrong = await client.get("/score", headers=BEARER)
    assert wrong.status_code == 405
    assert wrong.headers["allow"] == "POST"
    assert (await client.post("/health")).status_code == 405


async def test_scoring_answers_read_back_as_the_errors_a_local_invoke_raises(client, rows):
    bad_row = {"data": [{**rows[0], "x1": "abc"}]}
    answers = [
        (InvalidInputError, await client.post("/score", content=b"{oops", headers=BEARER)),
        (InvalidInputError, await client.post("/score", json=bad_row, headers=BEARER)),
        (AuthenticationError, await client.post("/score", json={"data": rows})),
        (NotFoundError, await client.get("/nowhere")),
    ]
    for error, answer in answers:
        read = answer_error(answer.status_code, "m", answer.content)
        assert type(read) is error, (answer.status_code, answer.text)


async def test_request_ids_are_honoured_or_made(client, rows):
    given = await client.post(
        "/score", json={"data": rows}, headers={**BEARER, "x-request-id": "client-42"}
    )
    assert given.headers["x-request-id"] == "client-42"
    made = [(await client.get("/health")).headers["x-request-id"] for _ in range(2)]
    assert made[0] != made[1]
    unsafe = await client.get("/health", headers={"x-request-id": "a b\tc"})
    assert unsafe.headers["x-request-id"] != "a b\tc"


async def test_swagger_document_is_valid_and_carries_the_example_row(client, model_a):
    answer = await client.get("/swagger.json", headers=BEARER)
    assert answer.status_code == 200
    document = answer.json()
    validate(document)
    example = document["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]
    assert example["examples"]["data"]["value"] == {"data": [model_a.descriptor["example"]]}
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_metrics_count_requests_by_route_and_status_rows_and_latency(client, rows):
    await client.post("/score", json={"data": rows}, headers=BEARER)
    await client.post("/score", content=b"nope", headers=BEARER)
    await client.get("/health")
    answer = await client.get("/metrics", headers=BEARER)
    assert answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    assert 'shipyard_requests_total{route="/score",status="200"} 1.0' in text
    assert 'shipyard_requests_total{route="/score",status="400"} 1.0' in text
    assert 'shipyard_requests_total{route="/health",status="200"} 1.0' in text
    assert f"shipyard_rows_scored_total {float(len(rows))}" in text
    assert 'shipyard_request_latency_seconds_count{route="/score"} 2.0' in text
    assert 'shipyard_model_info{model="bank:1"} 1.0' in text


class _Fragile:
    """A real model that fails (as a model bug would) on rows whose x1 is 999."""

    def __init__(self, model: TabularModel) -> None:
        self.model = model
        self.task, self.classes_, self.descriptor = model.task, model.classes_, model.descriptor

    def predict_records(self, records, *, proba=False):
        if any(r.get("x1") == 999 for r in records):
            raise RuntimeError("boom")
        return self.model.predict_records(records, proba=proba)


async def test_a_model_failure_on_valid_rows_is_a_500_and_the_app_keeps_serving(
    endpoint: Endpoint, rows, caplog
):
    app = create_scoring_app(endpoint.path, lambda path: _Fragile(load_model(path)))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://endpoint") as client:
        with caplog.at_level(logging.ERROR, logger="shipyard.serving"):
            failed = await client.post(
                "/score", json={"data": [{**rows[0], "x1": 999}]}, headers=BEARER
            )
        after = await client.post("/score", json={"data": rows}, headers=BEARER)
    app.close()
    assert failed.status_code == 500
    body = failed.json()
    assert body["error"] == "the model failed on valid input: RuntimeError: boom"
    assert body["type"] == "ModelError"
    assert body["request_id"] == failed.headers["x-request-id"]
    assert type(answer_error(500, "m", failed.content)) is ModelError  # what invoke raises
    assert after.status_code == 200
    assert "boom" in caplog.text
    assert "Traceback" in caplog.text
    assert PRIMARY not in caplog.text

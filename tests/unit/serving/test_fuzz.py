"""Property: no body, however malformed, gets a 5xx from any scoring route."""

from __future__ import annotations

from typing import Any

import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.serving._support import BEARER

pytestmark = [
    pytest.mark.anyio,
    # Huge finite numbers overflow inside the learners; in service that is a warning, not
    # an error (pytest turns every warning into an error).
    pytest.mark.filterwarnings("ignore::RuntimeWarning"),
]

ROUTES = ("/score", "/score?method=predict_proba", "/invocations", "/v2/models/bank/infer")
COLUMNS = ("x1", "x2", "count", "color", "flag")

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
# Rows close to valid: the model's columns (some missing, some extra) with any value.
row_keys = st.sampled_from((*COLUMNS, "extra"))
rows = st.lists(st.dictionaries(row_keys, json_values, max_size=6), min_size=1, max_size=3)
shaped = st.one_of(
    rows.map(lambda r: {"data": r}),
    rows.map(lambda r: {"Inputs": {"data": r}, "GlobalParameters": {"method": "predict_proba"}}),
    rows.map(lambda r: {"dataframe_records": r}),
    rows.map(lambda r: {"instances": r}),
    st.dictionaries(row_keys, st.lists(json_values, max_size=3), max_size=6).map(
        lambda c: {"inputs": c}
    ),
    st.lists(
        st.fixed_dictionaries({"name": row_keys, "data": st.lists(json_values, max_size=3)}),
        max_size=6,
    ).map(lambda t: {"inputs": t}),
)


def _check(answer: httpx.Response, body: bytes) -> None:
    assert answer.status_code < 500, (body, answer.text)
    if answer.status_code != 200:
        assert answer.json()["error"]


fuzz = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@fuzz
@given(route=st.sampled_from(ROUTES), body=st.binary(max_size=64) | json_values.map(orjson.dumps))
async def test_no_random_bytes_or_json_get_a_5xx(client, route: str, body: bytes):
    _check(await client.post(route, content=body, headers=BEARER), body)


@settings(fuzz, max_examples=100)  # each reaches the model: dearer
@given(route=st.sampled_from(ROUTES), body=shaped.map(orjson.dumps))
async def test_no_protocol_shaped_body_with_odd_rows_gets_a_5xx(client, route: str, body: bytes):
    _check(await client.post(route, content=body, headers=BEARER), body)


async def test_values_of_every_json_type_in_every_column_are_answered_without_a_5xx(
    client, rows_of_every_type: list[dict[str, Any]]
):
    for row in rows_of_every_type:
        body = orjson.dumps({"data": [row]})
        _check(await client.post("/score", content=body, headers=BEARER), body)


@pytest.fixture
def rows_of_every_type(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    values: list[Any] = [None, True, 0, -1, 2**63, 1.7e308, -1e-300, "", "x", "1.5", "true", [], {}]
    return [{**rows[0], column: value} for column in COLUMNS for value in values]

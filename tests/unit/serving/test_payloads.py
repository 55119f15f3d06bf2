"""Request bodies of every protocol read as rows, and the messages of those that cannot be."""

from __future__ import annotations

from typing import Any

import pytest

from shipyard.serving.payloads import (
    MAX_ROWS,
    PayloadError,
    parse_invocations,
    parse_score,
    parse_v2,
)

ROW = {"a": 1, "b": "x"}


def test_every_style_reads_the_same_rows():
    assert parse_score({"data": ROW}).records == [ROW]  # one row may come bare
    assert parse_score({"data": [ROW]}, "predict_proba").method == "predict_proba"
    wrapped = parse_score({"Inputs": {"data": [ROW]}, "GlobalParameters": None})
    assert (wrapped.records, wrapped.method) == ([ROW], "predict")
    split = parse_invocations({"dataframe_split": {"columns": ["a", "b"], "data": [[1, "x"]]}})
    assert split.records == [ROW]
    columnar = parse_v2(
        {"inputs": [{"name": "a", "data": [[1]]}, {"name": "b", "data": ["x"]}], "parameters": {}}
    )
    assert columnar.records == [ROW]


@pytest.mark.parametrize(
    ("parse", "body", "message"),
    [
        (parse_score, {"Inputs": {}}, '"Inputs" must hold "data"'),
        (parse_score, {"data": "rows"}, "data must be a list of rows (objects), got a string"),
        (parse_score, {"data": [ROW] * (MAX_ROWS + 1)}, f"at most {MAX_ROWS} per request"),
        (parse_invocations, {"records": []}, "the MLflow scoring protocol"),
        (parse_invocations, {"dataframe_split": {"columns": [1]}}, "a list of column names"),
        (parse_invocations, {"dataframe_split": {"columns": ["a"], "data": []}}, "non-empty"),
        (parse_invocations, {"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}, "1 values"),
        (
            parse_invocations,
            {"inputs": {"a": 1}},
            "inputs.a must be a list of values, got a number",
        ),
        (parse_invocations, {"inputs": {"a": [1], "b": [1, 2]}}, "the same, non-zero number"),
        (parse_v2, {"inputs": []}, "non-empty list of named tensors"),
        (parse_v2, {"inputs": [{"data": [1]}]}, "inputs[0] needs a name"),
        (parse_v2, {"inputs": [{"name": "a", "data": None}]}, "inputs[0] (a) needs data"),
        (parse_v2, {"inputs": [{"name": "a", "data": [[1, 2]]}]}, "one value per row"),
        (parse_v2, {"inputs": [{"name": "a", "data": [1]}], "parameters": "p"}, "parameters must"),
    ],
)
def test_bodies_that_are_not_rows_say_why(parse, body: Any, message):
    with pytest.raises(PayloadError) as caught:
        parse(body)
    assert message in str(caught.value)

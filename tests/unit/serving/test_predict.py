"""The pure scoring core: batching that isolates bad requests, statuses, protocol answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from shipyard.core.errors import InvalidInputError, ModelError, SchemaError
from shipyard.serving.payloads import PayloadError, ScoringRequest
from shipyard.serving.predict import (
    message_of,
    predict_many,
    predict_one,
    split_ref,
    status_of,
    v2_answer,
    v2_metadata,
)


class _Counting:
    """A classifier stand-in that counts calls: label "big" when x > 0, refuses x == "bad"."""

    def __init__(self) -> None:
        self.task = "classification"
        self.classes_: np.ndarray | None = np.array(["small", "big"], dtype=object)
        self.descriptor: dict[str, Any] = {}
        self.calls = 0

    def predict_records(
        self, records: Sequence[Mapping[str, Any]], *, proba: bool = False
    ) -> np.ndarray:
        self.calls += 1
        if any(r.get("x") == "bad" for r in records):
            raise SchemaError("column 'x' expects numbers, got 'bad'")
        if any(r.get("x") == "crash" for r in records):
            raise RuntimeError("crashed")
        x = np.array([float(r["x"]) for r in records])
        p = 1 / (1 + np.exp(-x))
        if proba:
            return np.column_stack([1 - p, p])
        return np.where(p > 0.5, "big", "small").astype(object)


def _request(*xs: Any, method: str = "predict") -> ScoringRequest:
    return ScoringRequest([{"x": x} for x in xs], method)


def test_requests_of_one_method_share_one_model_call():
    model = _Counting()
    outcomes = predict_many(
        model, [_request(1, -1), _request(2), _request(-3, method="predict_proba")]
    )
    assert model.calls == 2
    assert [np.asarray(o).tolist() for o in outcomes[:2]] == [["big", "small"], ["big"]]
    assert np.asarray(outcomes[2]).shape == (1, 2)


def test_a_bad_request_fails_alone_and_its_neighbours_are_answered():
    model = _Counting()
    outcomes = predict_many(model, [_request(1), _request("bad"), _request("crash"), _request(-1)])
    assert np.asarray(outcomes[0]).tolist() == ["big"]
    assert isinstance(outcomes[1], SchemaError)
    assert isinstance(outcomes[2], RuntimeError)
    assert np.asarray(outcomes[3]).tolist() == ["small"]


def test_nested_values_and_proba_without_classes_are_refused_before_the_model():
    model = _Counting()
    outcomes = predict_many(model, [_request({"a": 1}), _request([1])])
    assert model.calls == 0
    assert "column 'x' must be a single value, got an object" in str(outcomes[0])
    assert "got an array" in str(outcomes[1])
    model.classes_ = None
    with pytest.raises(InvalidInputError, match="predict_proba needs a classification model"):
        predict_one(model, _request(1, method="predict_proba"))


def test_a_model_answering_the_wrong_number_of_rows_is_a_model_error():
    class Short(_Counting):
        def predict_records(self, records, *, proba=False):
            return super().predict_records(records, proba=proba)[:-1]

    with pytest.raises(ModelError, match="1 predictions for 2 rows"):
        predict_one(Short(), _request(1, 2))


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (PayloadError("no rows"), 400),
        (SchemaError("unknown column"), 422),
        (InvalidInputError("predict_proba needs"), 422),
        (RuntimeError("boom"), 500),
    ],
)
def test_statuses_put_the_fault_where_it_lies(error, status):
    assert status_of(error) == status


def test_messages_of_model_failures_say_so():
    assert message_of(SchemaError("unknown column")) == "unknown column"
    assert message_of(ValueError("nan")) == "the model failed on valid input: ValueError: nan"


def test_v2_answers_carry_shape_and_datatype():
    labels = v2_answer(
        np.array(["a", "b"], dtype=object), "predict", ["a", "b"], model=("m", "3"), request_id="r"
    )
    assert labels == {
        "model_name": "m",
        "model_version": "3",
        "id": "r",
        "outputs": [{"name": "predict", "shape": [2], "datatype": "BYTES", "data": ["a", "b"]}],
    }
    values = v2_answer(np.array([1.5, 2.0]), "predict", None, model=("m", ""), request_id="r")
    assert values["outputs"][0]["datatype"] == "FP64"
    counts = v2_answer(np.array([1, 2]), "predict", None, model=("m", ""), request_id="r")
    assert counts["outputs"][0]["datatype"] == "INT64"


def test_v2_metadata_lists_used_columns_and_outputs():
    descriptor = {
        "classes": None,
        "input_schema": {
            "columns": [
                {"name": "a", "kind": "numeric"},
                {"name": "b", "kind": "categorical"},
                {"name": "id", "kind": "dropped"},
                {"name": "c", "kind": "boolean"},
            ]
        },
    }
    metadata = v2_metadata(descriptor, ("m", "2"))
    assert [(i["name"], i["datatype"]) for i in metadata["inputs"]] == [
        ("a", "FP64"),
        ("b", "BYTES"),
        ("c", "BOOL"),
    ]
    assert metadata["outputs"] == [{"name": "predict", "datatype": "FP64", "shape": [-1]}]


def test_model_refs_split_into_name_and_version():
    assert split_ref("bank:3") == ("bank", "3")
    assert split_ref("bank") == ("bank", "")

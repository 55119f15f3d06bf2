"""Tests for column typing and the input contract in `shipyard.automl.columns`."""

from __future__ import annotations

import json
import uuid

import numpy as np
import pandas as pd
import pytest

from shipyard.automl import columns
from shipyard.automl.columns import ColumnKind, InputSchema, infer_schema
from shipyard.core.errors import SchemaError

ROWS = 200


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def kind_of(values: list[object] | np.ndarray | pd.Series, name: str = "col") -> ColumnKind:
    return infer_schema(pd.DataFrame({name: values}))[name].kind


# --- kinds --------------------------------------------------------------------------------


def test_kinds_of_typed_columns(rng: np.random.Generator) -> None:
    frame = pd.DataFrame(
        {
            "int": rng.integers(0, 10, ROWS),
            "float": rng.normal(size=ROWS),
            "text": rng.choice(["a", "b", "c"], ROWS),
            "bool": rng.choice([True, False], ROWS),
            "when": pd.date_range("2024-01-01", periods=ROWS, freq="7h"),
        }
    )
    schema = infer_schema(frame)
    assert [(c.name, c.kind) for c in schema.columns] == [
        ("int", ColumnKind.NUMERIC),
        ("float", ColumnKind.NUMERIC),
        ("text", ColumnKind.CATEGORICAL),
        ("bool", ColumnKind.BOOLEAN),
        ("when", ColumnKind.DATETIME),
    ]
    assert schema.names == ["int", "float", "text", "bool", "when"]
    assert [c.name for c in schema.used] == schema.names


@pytest.mark.parametrize(
    "words",
    [["true", "false"], ["True", "FALSE", " true "], ["true", "false", None]],
    ids=["lower", "mixed-case-and-spaces", "with-missing"],
)
def test_true_false_strings_are_boolean(rng: np.random.Generator, words: list[str | None]) -> None:
    assert kind_of(rng.choice(np.array(words, dtype=object), ROWS)) is ColumnKind.BOOLEAN


def test_numeric_strings_are_numeric(rng: np.random.Generator) -> None:
    values = [str(v) for v in rng.normal(size=ROWS).round(3)]
    assert kind_of(pd.Series(values, dtype="str")) is ColumnKind.NUMERIC


def test_date_strings_are_datetime(rng: np.random.Generator) -> None:
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, ROWS), unit="D")
    assert kind_of(days.strftime("%Y-%m-%d").tolist()) is ColumnKind.DATETIME


def test_words_are_categorical(rng: np.random.Generator) -> None:
    assert kind_of(rng.choice(["yes", "no", "maybe"], ROWS)) is ColumnKind.CATEGORICAL


# --- dropped columns ----------------------------------------------------------------------


def test_constant_empty_and_id_like_columns_are_dropped_with_reasons(
    rng: np.random.Generator,
) -> None:
    frame = pd.DataFrame(
        {
            "const": 7,
            "empty": np.nan,
            "row": np.arange(ROWS),
            "uuid": [str(uuid.UUID(int=int(k))) for k in rng.integers(0, 2**62, ROWS)],
            "customer_id": rng.permutation(ROWS),
            "x": rng.normal(size=ROWS),
        }
    )
    schema = infer_schema(frame)
    reasons = {c.name: c.drop_reason for c in schema.columns if c.kind is ColumnKind.DROPPED}
    assert set(reasons) == {"const", "empty", "row", "uuid", "customer_id"}
    assert reasons["const"] == "constant (always 7)"
    assert reasons["empty"] == "all values missing"
    for name in ("row", "uuid", "customer_id"):
        assert reasons[name] == f"ID-like ({ROWS} distinct values in {ROWS} rows)"
    assert [c.name for c in schema.used] == ["x"]
    assert schema.names == list(frame.columns)  # dropped columns stay in the contract


def test_all_unique_floats_and_shuffled_ints_are_kept(rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"price": rng.normal(size=ROWS), "amount": rng.permutation(ROWS) * 3 + 1})
    schema = infer_schema(frame)
    assert schema["price"].kind is ColumnKind.NUMERIC
    assert schema["amount"].kind is ColumnKind.NUMERIC  # unique, but not ordered nor named id


def test_few_rows_are_never_id_like() -> None:
    assert kind_of(np.arange(20)) is ColumnKind.NUMERIC


# --- categories -----------------------------------------------------------------------------


def test_categories_are_ordered_by_frequency() -> None:
    values = ["b"] * 50 + ["c"] * 100 + ["a"] * 30 + [None] * 20
    spec = infer_schema(pd.DataFrame({"col": values}))["col"]
    assert spec.kind is ColumnKind.CATEGORICAL
    assert spec.categories == ("c", "b", "a")


def test_categories_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(columns, "MAX_CATEGORIES", 2)
    values = ["rare"] * 10 + ["common"] * 120 + ["mid"] * 70
    spec = infer_schema(pd.DataFrame({"col": values}))["col"]
    assert spec.categories == ("common", "mid")


def test_example_is_the_first_present_value() -> None:
    frame = pd.DataFrame({"x": [np.nan, 2.5, 3.0], "n": np.array([4, 5, 6], dtype=np.int64)})
    schema = infer_schema(frame)
    assert schema["x"].example == 2.5
    assert type(schema["n"].example) is int  # a plain Python value, JSON-ready


# --- schema round trip ------------------------------------------------------------------------


def test_schema_round_trips_through_json(rng: np.random.Generator) -> None:
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=ROWS),
            "n": rng.integers(0, 5, ROWS),
            "color": rng.choice(["red", "blue"], ROWS),
            "flag": rng.choice([True, False], ROWS),
            "when": pd.date_range("2024-01-01", periods=ROWS, freq="D"),
            "const": "same",
        }
    )
    schema = infer_schema(frame)
    data = json.loads(json.dumps(schema.to_dict()))
    assert data["columns"][2]["kind"] == "categorical"
    assert data["columns"][4]["example"] == "2024-01-01T00:00:00"
    restored = InputSchema.from_dict(data)
    assert restored == schema
    assert restored["color"].categories == schema["color"].categories
    assert [c.name for c in restored.used] == ["x", "n", "color", "flag", "when"]


# --- check_columns ----------------------------------------------------------------------------


@pytest.fixture
def schema(rng: np.random.Generator) -> InputSchema:
    return infer_schema(
        pd.DataFrame(
            {
                "age": rng.integers(18, 90, ROWS),
                "job": rng.choice(["admin", "clerk"], ROWS),
                "const": 1,
            }
        )
    )


def test_check_columns_accepts_the_used_columns(schema: InputSchema) -> None:
    # a dropped column ("const") may be left out
    assert schema.check_columns(pd.DataFrame({"age": [30], "job": ["admin"]})) == []


def test_missing_column_is_a_schema_error_naming_it(schema: InputSchema) -> None:
    with pytest.raises(SchemaError, match=r"missing column.*job"):
        schema.check_columns(pd.DataFrame({"age": [30]}))


def test_extra_column_is_a_warning_or_an_error_when_strict(schema: InputSchema) -> None:
    rows = pd.DataFrame({"age": [30], "job": ["admin"], "note": ["x"]})
    warnings = schema.check_columns(rows)
    assert len(warnings) == 1
    assert "note" in warnings[0]
    with pytest.raises(SchemaError, match=r"unknown column.*note"):
        schema.check_columns(rows, allow_extra=False)


def test_check_columns_refuses_what_is_not_a_table(schema: InputSchema) -> None:
    with pytest.raises(SchemaError, match="expected a table"):
        schema.check_columns([{"age": 30}])  # type: ignore[arg-type]


# --- converters -------------------------------------------------------------------------------


def test_to_numeric_names_the_column_and_the_bad_value() -> None:
    values = pd.Series(["1", "2.5", "", None, "abc"], dtype="str")
    with pytest.raises(SchemaError, match=r"column 'age' expects numbers, got 'abc'"):
        columns.to_numeric("age", values)
    out = columns.to_numeric("age", values.iloc[:4])
    np.testing.assert_array_equal(out, [1.0, 2.5, np.nan, np.nan])


def test_to_boolean_accepts_words_and_digits() -> None:
    values = pd.Series(["true", "False", "1", "0", None, "1.0"], dtype=object)
    out = columns.to_boolean("flag", values)
    np.testing.assert_array_equal(out, [1.0, 0.0, 1.0, 0.0, np.nan, 1.0])
    with pytest.raises(SchemaError, match=r"column 'flag' expects true/false, got 'yes'"):
        columns.to_boolean("flag", pd.Series(["true", "yes"]))


def test_to_datetime_names_the_column_and_the_bad_value() -> None:
    out = columns.to_datetime("when", pd.Series(["2024-01-02", None, "2024-03-04 10:00"]))
    assert out.iloc[0] == pd.Timestamp("2024-01-02")
    assert pd.isna(out.iloc[1])
    assert out.iloc[2] == pd.Timestamp("2024-03-04 10:00")
    with pytest.raises(SchemaError, match=r"column 'when' expects dates, got 'soon'"):
        columns.to_datetime("when", pd.Series(["2024-01-02", "soon"]))

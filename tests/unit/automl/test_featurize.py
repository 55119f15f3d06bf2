"""Tests for the shared feature matrix built by `shipyard.automl.featurize.Featurizer`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shipyard.automl.columns import infer_schema
from shipyard.automl.featurize import Featurizer
from shipyard.core.errors import SchemaError

ROWS = 200


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture
def frame(rng: np.random.Generator) -> pd.DataFrame:
    """Numeric, categorical and boolean columns with a few missing values (no dates)."""
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=ROWS),
            "n": rng.integers(0, 50, ROWS),
            "color": rng.choice(["red", "green", "blue"], ROWS, p=[0.5, 0.3, 0.2]),
            "flag": rng.choice([True, False], ROWS),
            "answer": rng.choice(["true", "false"], ROWS),
            "amount": [str(v) for v in rng.integers(0, 1000, ROWS)],
            "const": "same",
        }
    )
    frame.loc[[3, 70], "x"] = np.nan
    frame.loc[[5, 90], "color"] = np.nan
    frame.loc[[7, 110], "answer"] = np.nan
    return frame


@pytest.fixture
def featurizer(frame: pd.DataFrame) -> Featurizer:
    return Featurizer(infer_schema(frame))


def test_one_feature_per_column_and_codes_for_categories(
    frame: pd.DataFrame, featurizer: Featurizer
) -> None:
    assert featurizer.feature_names == ["x", "n", "color", "flag", "answer", "amount"]
    assert featurizer.categorical_indices == [2]
    assert featurizer.features[2].cardinality == 4  # 3 colors + the shared 'other' code
    X = featurizer.transform(frame)
    assert X.shape == (ROWS, 6)
    assert X.dtype == np.float64
    np.testing.assert_array_equal(X[:, 0], frame["x"].to_numpy())
    np.testing.assert_array_equal(X[:, 1], frame["n"].to_numpy(dtype=float))
    np.testing.assert_array_equal(X[:, 3], frame["flag"].to_numpy(dtype=float))
    answers = frame["answer"].map({"true": 1.0, "false": 0.0}).to_numpy(dtype=float)
    np.testing.assert_array_equal(X[:, 4], answers)
    np.testing.assert_array_equal(X[:, 5], frame["amount"].astype(float).to_numpy())


def test_category_codes_follow_frequency_with_other_and_missing(featurizer: Featurizer) -> None:
    rows = pd.DataFrame(
        {
            "x": [0.0] * 5,
            "n": [1] * 5,
            "color": ["red", "green", "blue", "purple", None],
            "flag": [True] * 5,
            "answer": ["true"] * 5,
            "amount": ["1"] * 5,
        }
    )
    codes = featurizer.transform(rows)[:, 2]
    # red (most frequent) is 0; an unseen value takes the 'other' code; missing stays NaN
    np.testing.assert_array_equal(codes, [0.0, 1.0, 2.0, 3.0, np.nan])


def test_small_and_large_batches_agree(frame: pd.DataFrame, featurizer: Featurizer) -> None:
    large = featurizer.transform(frame)  # > 64 rows: the pandas path
    small = np.vstack([featurizer.transform(frame.iloc[i : i + 40]) for i in range(0, ROWS, 40)])
    one = featurizer.transform(frame.iloc[[3]])
    assert np.array_equal(large, small, equal_nan=True)
    assert np.array_equal(one, large[[3]], equal_nan=True)


def test_dict_rows_of_strings_encode_like_typed_rows(
    frame: pd.DataFrame, featurizer: Featurizer
) -> None:
    # JSON payloads carry numbers and booleans as they come: typed or as strings
    typed = frame.iloc[[0]].reset_index(drop=True)
    as_text = pd.DataFrame([{k: str(v) for k, v in typed.iloc[0].to_dict().items()}])
    assert np.array_equal(featurizer.transform(as_text), featurizer.transform(typed))


@pytest.mark.parametrize("value", ["nan", "1_000", " 12 "])
def test_small_and_large_batches_agree_on_odd_numeric_text(
    featurizer: Featurizer, value: str
) -> None:
    # one row must get the same answer (a value or a SchemaError) alone or among many
    row = pd.DataFrame(
        {
            "x": [value],
            "n": [1],
            "color": ["red"],
            "flag": [True],
            "answer": ["true"],
            "amount": ["1"],
        }
    )

    def outcome(rows: pd.DataFrame) -> object:
        try:
            return featurizer.transform(rows)[0].tolist()
        except SchemaError:
            return SchemaError

    alone = outcome(row)
    among_many = outcome(pd.concat([row] * 100, ignore_index=True))
    assert str(alone) == str(among_many)


@pytest.mark.parametrize("rows", [1, 100], ids=["small-batch", "large-batch"])
def test_text_in_a_numeric_column_names_column_and_value(
    frame: pd.DataFrame, featurizer: Featurizer, rows: int
) -> None:
    bad = frame.head(rows).copy()
    bad["x"] = bad["x"].astype(object)
    bad.loc[0, "x"] = "abc"
    with pytest.raises(SchemaError, match=r"column 'x' expects numbers, got 'abc'"):
        featurizer.transform(bad)


@pytest.mark.parametrize("rows", [1, 100], ids=["small-batch", "large-batch"])
def test_a_word_in_a_boolean_column_names_column_and_value(
    frame: pd.DataFrame, featurizer: Featurizer, rows: int
) -> None:
    bad = frame.head(rows).copy()
    bad["answer"] = bad["answer"].astype(object)
    bad.loc[0, "answer"] = "perhaps"
    with pytest.raises(SchemaError, match=r"column 'answer' expects true/false, got 'perhaps'"):
        featurizer.transform(bad)


def test_unseen_categories_lists_new_values_per_column(featurizer: Featurizer) -> None:
    rows = pd.DataFrame({"color": ["red", "purple", "amber", None, "purple"]})
    assert featurizer.unseen_categories(rows) == {"color": ["amber", "purple"]}
    assert featurizer.unseen_categories(pd.DataFrame({"color": ["red", "blue"]})) == {}


def test_training_frame_always_featurizes(rng: np.random.Generator) -> None:
    # 199 numbers and one word: typed numeric (>= 99% of values parse), so featurizing the
    # very frame the schema was inferred from must not fail
    amounts = [f"{v:.2f}" for v in rng.uniform(0, 100, ROWS)]
    amounts[5] = "unknown"
    frame = pd.DataFrame({"amount": amounts, "color": rng.choice(["a", "b"], ROWS)})
    X = Featurizer(infer_schema(frame)).transform(frame)
    assert X.shape[0] == ROWS


@pytest.mark.parametrize("rows", [3, 100], ids=["small-batch", "large-batch"])
def test_non_string_column_labels(rng: np.random.Generator, rows: int) -> None:
    # pd.DataFrame(X) labels columns 0, 1, ...: each must still be read from its own column
    frame = pd.DataFrame({0: rng.normal(size=ROWS), 1: rng.normal(size=ROWS) + 100.0})
    X = Featurizer(infer_schema(frame)).transform(frame.head(rows))
    np.testing.assert_array_equal(X, frame.head(rows).to_numpy())


def test_no_used_column_gives_an_empty_matrix() -> None:
    frame = pd.DataFrame({"const": [1] * 10})
    X = Featurizer(infer_schema(frame)).transform(frame)
    assert X.shape == (10, 0)


# --- dates ------------------------------------------------------------------------------------


@pytest.fixture
def dates() -> pd.DataFrame:
    when = pd.to_datetime(pd.Series(["2024-02-29 13:45", "2023-12-31 00:10", None] * 40))
    return pd.DataFrame({"when": when, "x": np.arange(120) % 7})


def test_datetime_becomes_five_calendar_parts(dates: pd.DataFrame) -> None:
    featurizer = Featurizer(infer_schema(dates))
    assert featurizer.feature_names == [
        "when.year",
        "when.month",
        "when.day",
        "when.weekday",
        "when.hour",
        "x",
    ]
    assert {f.source for f in featurizer.features} == {"when", "x"}
    X = featurizer.transform(dates)
    np.testing.assert_array_equal(X[0, :5], [2024, 2, 29, 3, 13])  # a Thursday
    np.testing.assert_array_equal(X[1, :5], [2023, 12, 31, 6, 0])  # a Sunday
    assert np.isnan(X[2, :5]).all()
    assert np.array_equal(featurizer.transform(dates.head(3)), X[:3], equal_nan=True)


def test_date_strings_at_predict_time(dates: pd.DataFrame) -> None:
    featurizer = Featurizer(infer_schema(dates))
    rows = pd.DataFrame({"when": ["2024-02-29 13:45"], "x": [1]})
    np.testing.assert_array_equal(featurizer.transform(rows)[0], [2024, 2, 29, 3, 13, 1])
    with pytest.raises(SchemaError, match=r"column 'when' expects dates, got 'tomorrow'"):
        featurizer.transform(pd.DataFrame({"when": ["tomorrow"], "x": [1]}))

"""Tests for the data checks, task inference and validation splits of `shipyard.automl.prepare`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from shipyard.automl.prepare import MIN_ROWS, infer_task, prepare
from shipyard.automl.settings import AutoMLSettings
from shipyard.core.errors import DataError

MakeFrame = Callable[..., pd.DataFrame]
Settings = Callable[..., AutoMLSettings]


# --- data errors ------------------------------------------------------------------------------


def test_missing_target_is_named_and_columns_listed(
    frame_of: MakeFrame, fast_settings: Settings
) -> None:
    frame = frame_of("binary")
    with pytest.raises(DataError) as err:
        prepare(frame, fast_settings(target="label"))
    message = str(err.value)
    assert "'label'" in message
    assert "columns are: x1, x2, count, color, flag, y" in message


def test_single_class_is_refused(frame_of: MakeFrame, fast_settings: Settings) -> None:
    frame = frame_of("binary").assign(y="yes")
    with pytest.raises(DataError, match=r"single class \('yes'\)"):
        prepare(frame, fast_settings())


def test_missing_targets_are_counted(frame_of: MakeFrame, fast_settings: Settings) -> None:
    frame = frame_of("regression")
    frame.loc[[4, 9, 30], "y"] = np.nan
    with pytest.raises(DataError, match=r"3 missing value\(s\) \(first in data row 5\)"):
        prepare(frame, fast_settings())


def test_too_few_rows(frame_of: MakeFrame, fast_settings: Settings) -> None:
    frame = frame_of("binary").head(MIN_ROWS - 1)
    with pytest.raises(DataError, match=f"has {MIN_ROWS - 1} rows; at least {MIN_ROWS}"):
        prepare(frame, fast_settings())


def test_no_feature_columns(frame_of: MakeFrame, fast_settings: Settings) -> None:
    frame = frame_of("binary")[["y"]]
    with pytest.raises(DataError, match="no columns besides the target 'y'"):
        prepare(frame, fast_settings())


def test_text_target_for_regression(frame_of: MakeFrame, fast_settings: Settings) -> None:
    frame = frame_of("binary")
    with pytest.raises(DataError, match=r"holds '(yes|no)', not a number"):
        prepare(frame, fast_settings(task="regression"))


def test_a_class_with_one_row(frame_of: MakeFrame, fast_settings: Settings) -> None:
    frame = frame_of("binary")
    frame.loc[0, "y"] = "maybe"
    with pytest.raises(DataError, match="a class of the target has a single row"):
        prepare(frame, fast_settings())


def test_not_a_table(fast_settings: Settings) -> None:
    with pytest.raises(DataError, match="must be a table, got list"):
        prepare([{"y": 1}], fast_settings())  # type: ignore[arg-type]


def test_many_distinct_labels_suggest_regression(fast_settings: Settings) -> None:
    frame = pd.DataFrame({"x": np.arange(100), "y": [f"v{i % 60}" for i in range(100)]})
    with pytest.raises(DataError, match="60 distinct values in 100 rows"):
        prepare(frame, fast_settings())


# --- task inference ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "task"),
    [
        (pd.Series(["yes", "no"] * 10, dtype="str"), "classification"),
        (pd.Series([True, False] * 10), "classification"),
        (pd.Series([0, 1, 2, 3] * 5), "classification"),
        (pd.Series([0.0, 1.0] * 10), "classification"),
        (pd.Series(np.arange(40)), "regression"),
        (pd.Series(np.linspace(0, 1, 20)), "regression"),
    ],
    ids=["text", "bool", "few-ints", "integral-floats", "many-ints", "floats"],
)
def test_infer_task(values: pd.Series, task: str) -> None:
    assert infer_task(values) == task


def test_targets_are_encoded(frame_of: MakeFrame, fast_settings: Settings) -> None:
    frame = frame_of("multiclass")
    data = prepare(frame, fast_settings())
    assert data.task == "classification"
    assert data.classes is not None
    assert data.classes.tolist() == ["a", "b", "c"]
    assert data.n_classes == 3
    np.testing.assert_array_equal(data.classes[data.y], frame["y"].to_numpy())
    assert list(data.features.columns) == ["x1", "x2", "count", "color", "flag"]

    reg = prepare(frame_of("regression"), fast_settings())
    assert reg.task == "regression"
    assert reg.classes is None
    assert reg.n_classes == 0
    assert reg.y.dtype == np.float64


# --- splits -----------------------------------------------------------------------------------


def test_k_fold_covers_every_row_once(frame_of: MakeFrame, fast_settings: Settings) -> None:
    data = prepare(frame_of("regression"), fast_settings(n_folds=4))
    assert len(data.splits) == 4
    assert data.validation == "4-fold cross-validation"
    valid = np.concatenate([va for _, va in data.splits])
    np.testing.assert_array_equal(np.sort(valid), np.arange(200))
    for train, va in data.splits:
        assert not set(train) & set(va)
    np.testing.assert_array_equal(data.fit_rows, np.arange(200))


def test_folds_are_stratified(frame_of: MakeFrame, fast_settings: Settings) -> None:
    data = prepare(frame_of("binary"), fast_settings(n_folds=5))
    share = data.y.mean()
    for _, va in data.splits:
        assert data.y[va].mean() == pytest.approx(share, abs=0.03)


def test_k_is_reduced_to_the_smallest_class(fast_settings: Settings) -> None:
    y = ["a"] * 50 + ["b"] * 3
    frame = pd.DataFrame({"x": np.arange(53) % 7, "y": y})
    data = prepare(frame, fast_settings(n_folds=5))
    assert len(data.splits) == 3
    assert data.validation == "3-fold cross-validation"
    for _, va in data.splits:
        assert (data.y[va] == 1).sum() == 1  # each fold validates one row of class b


def test_holdout(frame_of: MakeFrame, fast_settings: Settings) -> None:
    data = prepare(frame_of("binary"), fast_settings(holdout_fraction=0.25))
    [(train, valid)] = data.splits
    assert len(valid) == 50
    assert len(train) == 150
    assert not set(train) & set(valid)
    assert data.validation == "a 25% holdout (50 rows)"
    assert data.y[valid].mean() == pytest.approx(data.y.mean(), abs=0.025)  # stratified


def test_validation_frame(frame_of: MakeFrame, fast_settings: Settings) -> None:
    train_frame, valid_frame = frame_of("binary"), frame_of("binary", rows=60)
    data = prepare(train_frame, fast_settings(), valid_frame)
    [(train, valid)] = data.splits
    np.testing.assert_array_equal(train, np.arange(200))
    np.testing.assert_array_equal(valid, np.arange(200, 260))
    np.testing.assert_array_equal(data.fit_rows, train)
    assert len(data.features) == 260
    assert data.validation == "the given validation data (60 rows)"
    assert data.classes is not None
    np.testing.assert_array_equal(data.classes[data.y[valid]], valid_frame["y"].to_numpy())


def test_validation_frame_lacking_a_column(frame_of: MakeFrame, fast_settings: Settings) -> None:
    valid = frame_of("binary").drop(columns=["color"])
    with pytest.raises(DataError, match=r"validation data lacks column.*color"):
        prepare(frame_of("binary"), fast_settings(), valid)


def test_validation_frame_with_a_new_class(frame_of: MakeFrame, fast_settings: Settings) -> None:
    valid = frame_of("binary")
    valid.loc[0, "y"] = "maybe"
    with pytest.raises(DataError, match="class\\(es\\) 'maybe' absent from training"):
        prepare(frame_of("binary"), fast_settings(), valid)

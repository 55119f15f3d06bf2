"""Tests for the fitted model in `shipyard.automl.model`: predicting, saving and loading."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import pytest

from shipyard.automl import AutoMLResult, TabularModel, load_model
from shipyard.automl.columns import infer_schema
from shipyard.automl.ensemble import Stacker
from shipyard.automl.estimators.base import FitContext, Predictor
from shipyard.automl.estimators.linear import LinearLearner
from shipyard.automl.estimators.xgb import XGBoostLearner
from shipyard.automl.model import DESCRIPTOR_FILE, FORMAT, MODEL_FILE
from shipyard.core.errors import InvalidInputError, SchemaError

Encoded = Callable[[pd.DataFrame, str], tuple[np.ndarray, np.ndarray, FitContext]]
MakeFrame = Callable[..., pd.DataFrame]


@pytest.fixture
def model(tiny_result: AutoMLResult) -> TabularModel:
    return tiny_result.model


@pytest.fixture
def rows(tiny_frame: pd.DataFrame) -> pd.DataFrame:
    return tiny_frame.drop(columns=["y"])


@pytest.fixture
def saved(model: TabularModel, tmp_path: Path) -> Path:
    return model.save(tmp_path / "model")


def descriptor_of(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((folder / DESCRIPTOR_FILE).read_text())
    return data


# --- predicting -------------------------------------------------------------------------------


def test_predict_gives_labels_and_probabilities(
    model: TabularModel, rows: pd.DataFrame, tiny_frame: pd.DataFrame
) -> None:
    assert model.task == "classification"
    assert model.classes_ is not None
    assert model.classes_.tolist() == ["no", "yes"]
    proba = model.predict_proba(rows)
    labels = model.predict(rows)
    assert proba.shape == (200, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(labels, model.classes_[proba.argmax(axis=1)])
    assert (labels == tiny_frame["y"].to_numpy()).mean() > 0.9


def test_predict_accepts_a_dict_and_a_list_of_dicts(
    model: TabularModel, rows: pd.DataFrame
) -> None:
    records = [{str(k): v for k, v in r.items()} for r in rows.head(5).to_dict(orient="records")]
    expected = model.predict_proba(rows.head(5))
    np.testing.assert_allclose(model.predict_proba(records), expected, rtol=1e-12)
    np.testing.assert_allclose(model.predict_proba(records[2]), expected[[2]], rtol=1e-12)
    assert model.predict(records[0]).shape == (1,)


def test_json_rows_with_plain_python_values(model: TabularModel) -> None:
    row = {"x1": 1.5, "x2": 0.0, "count": 3, "color": "red", "flag": "true"}
    assert model.predict(row).tolist() == ["yes"]


def test_missing_column_is_a_schema_error(model: TabularModel, rows: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match=r"missing column.*color"):
        model.predict(rows.drop(columns=["color"]).head(3))


def test_extra_columns_are_ignored_unless_strict(model: TabularModel, rows: pd.DataFrame) -> None:
    extra = rows.head(3).assign(note="hello")
    np.testing.assert_array_equal(model.predict_proba(extra), model.predict_proba(rows.head(3)))
    with pytest.raises(SchemaError, match=r"unknown column.*note"):
        model.encode(extra, allow_extra=False)


def test_wrong_value_type_is_a_schema_error(model: TabularModel) -> None:
    row = {"x1": "high", "x2": 0.0, "count": 3, "color": "red", "flag": True}
    with pytest.raises(SchemaError, match=r"column 'x1' expects numbers, got 'high'"):
        model.predict(row)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "no rows to score"),
        ([{"x1": 1.0}, 3], "every row must be an object"),
        ("x1,x2", "rows must be a table or a list of objects, got str"),
    ],
    ids=["empty", "not-mappings", "text"],
)
def test_unusable_rows_are_schema_errors(model: TabularModel, rows: object, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        model.predict(rows)  # type: ignore[arg-type]


# --- the scoring service's record path ---------------------------------------------------


def _records(rows: pd.DataFrame) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(rows.to_json(orient="records", double_precision=15))
    return data


def test_records_score_exactly_like_frames(model: TabularModel, rows: pd.DataFrame) -> None:
    records = _records(rows)
    np.testing.assert_array_equal(model.predict_records(records), model.predict(rows))
    np.testing.assert_allclose(
        model.predict_records(records, proba=True), model.predict_proba(rows), rtol=1e-12
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.pop("color"), r"row 0: missing column\(s\): color"),
        (lambda r: r.update(note=1), r"row 0: unknown column\(s\): note"),
        (lambda r: r.update(x1="high"), r"column 'x1' expects numbers, got 'high'"),
        (lambda r: r.update(flag="maybe"), r"column 'flag' expects true/false, got 'maybe'"),
    ],
    ids=["missing", "unknown", "not-a-number", "not-a-boolean"],
)
def test_bad_records_name_the_row_and_column(
    model: TabularModel, rows: pd.DataFrame, change: Callable[[dict[str, Any]], Any], message: str
) -> None:
    record = _records(rows.head(1))[0]
    change(record)
    with pytest.raises(SchemaError, match=message):
        model.predict_records([record])


def test_records_that_are_not_objects_are_refused(model: TabularModel) -> None:
    with pytest.raises(SchemaError, match="no rows"):
        model.predict_records([])
    with pytest.raises(
        SchemaError, match="row 0: expected an object of column: value, got an array"
    ):
        model.predict_records([[1, 2]])  # type: ignore[list-item]


def test_null_values_are_missing_values(model: TabularModel, rows: pd.DataFrame) -> None:
    record = _records(rows.head(1))[0]
    record.update(x1=None, color=None, flag=None)
    assert model.predict_records([record], proba=True).shape == (1, 2)


# --- saving and loading -----------------------------------------------------------------------


def test_round_trip_reproduces_predictions_exactly(
    model: TabularModel, saved: Path, rows: pd.DataFrame
) -> None:
    loaded = load_model(saved)
    assert isinstance(loaded, TabularModel)
    assert np.array_equal(loaded.predict_proba(rows), model.predict_proba(rows))
    assert np.array_equal(loaded.predict_proba(rows.head(3)), model.predict_proba(rows.head(3)))
    assert np.array_equal(loaded.predict(rows), model.predict(rows))
    assert loaded.schema == model.schema


def test_save_writes_exactly_two_files(saved: Path) -> None:
    assert sorted(p.name for p in saved.iterdir()) == sorted([MODEL_FILE, DESCRIPTOR_FILE])


def test_descriptor_describes_the_model(
    model: TabularModel, saved: Path, tiny_result: AutoMLResult
) -> None:
    descriptor = descriptor_of(saved)
    assert descriptor["format"] == FORMAT
    assert descriptor["format_version"] == 1
    assert descriptor["task"] == "classification"
    assert descriptor["classes"] == ["no", "yes"]
    assert descriptor["input_schema"] == model.schema.to_dict()
    assert list(descriptor["example"]) == ["x1", "x2", "count", "color", "flag"]
    assert descriptor["example"]["color"] in {"red", "green", "blue"}
    assert {"python", "numpy", "pandas", "scikit-learn", "lightgbm", "xgboost", "joblib"} <= set(
        descriptor["libraries"]
    )
    digest = hashlib.sha256((saved / MODEL_FILE).read_bytes()).hexdigest()
    assert descriptor["model_sha256"] == digest
    # what the run adds: how the model was made
    assert descriptor["target"] == "y"
    assert descriptor["primary_metric"] == "accuracy"
    assert descriptor["score"] == tiny_result.best.score
    assert descriptor["learner"] == tiny_result.best.learner


def test_the_example_row_scores(saved: Path) -> None:
    loaded = load_model(saved)
    assert loaded.predict(loaded.descriptor["example"]).shape == (1,)


def test_loaded_descriptor_is_the_saved_one(saved: Path) -> None:
    assert load_model(saved).descriptor == descriptor_of(saved)


def test_tampered_model_file_is_refused(saved: Path) -> None:
    with (saved / MODEL_FILE).open("ab") as handle:
        handle.write(b"\0")
    with pytest.raises(InvalidInputError, match="does not match its descriptor's checksum"):
        load_model(saved)


def test_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="is not a saved model"):
        load_model(tmp_path)


def test_descriptor_of_something_else_is_refused(saved: Path) -> None:
    (saved / DESCRIPTOR_FILE).write_text(json.dumps({"format": "mlflow"}))
    with pytest.raises(InvalidInputError, match="does not describe a Shipyard model"):
        load_model(saved)
    (saved / DESCRIPTOR_FILE).write_text("{not json")
    with pytest.raises(InvalidInputError, match="is not valid JSON"):
        load_model(saved)


def test_pickle_that_is_not_a_model_is_refused(saved: Path) -> None:
    joblib.dump({"not": "a model"}, saved / MODEL_FILE)
    descriptor = descriptor_of(saved)
    descriptor["model_sha256"] = hashlib.sha256((saved / MODEL_FILE).read_bytes()).hexdigest()
    (saved / DESCRIPTOR_FILE).write_text(json.dumps(descriptor))
    with pytest.raises(InvalidInputError, match="does not hold a Shipyard model"):
        load_model(saved)


def test_library_version_drift_warns(saved: Path) -> None:
    descriptor = descriptor_of(saved)
    descriptor["libraries"]["numpy"] = "0.0.1"
    (saved / DESCRIPTOR_FILE).write_text(json.dumps(descriptor))
    with pytest.warns(UserWarning, match=r"numpy 0\.0\.1 \(now "):
        load_model(saved)


def test_result_round_trip(tiny_result: AutoMLResult, tmp_path: Path) -> None:
    folder = tiny_result.save(tmp_path / "run")
    loaded = AutoMLResult.load(folder)
    pd.testing.assert_frame_equal(loaded.leaderboard(), tiny_result.leaderboard())
    assert loaded.best.number == tiny_result.best.number
    assert loaded.best_score == tiny_result.best_score
    assert loaded.settings == tiny_result.settings
    assert loaded.report == json.loads(json.dumps(tiny_result.report))
    assert loaded.timings_s == tiny_result.timings_s
    assert loaded.ranked_by == tiny_result.ranked_by


# --- models built by hand: regression and stacking --------------------------------------------


def test_regression_model_round_trip(frame_of: MakeFrame, encoded: Encoded, tmp_path: Path) -> None:
    frame = frame_of("regression")
    X, y, ctx = encoded(frame, "regression")
    learner = LinearLearner()
    member = learner.fit(learner.initial(ctx), X, y, None, ctx, None)
    features = frame.drop(columns=["y"])
    model = TabularModel(
        schema=infer_schema(features),
        task="regression",
        classes=None,
        members=[member],
        weights=[1.0],
    )
    predicted = model.predict(features)
    assert predicted.shape == (200,)
    np.testing.assert_allclose(predicted, member.predict(X))
    with pytest.raises(InvalidInputError, match="needs a classification model"):
        model.predict_proba(features)
    loaded = load_model(model.save(tmp_path / "reg"))
    assert np.array_equal(loaded.predict(features), predicted)
    assert descriptor_of(tmp_path / "reg")["classes"] is None


def test_stacked_multiclass_model_round_trip(
    frame_of: MakeFrame, encoded: Encoded, tmp_path: Path
) -> None:
    frame = frame_of("multiclass")
    X, y, ctx = encoded(frame, "multiclass")
    linear, xgb = LinearLearner(), XGBoostLearner()
    members: list[Predictor] = [
        linear.fit(linear.initial(ctx), X, y, None, ctx, None),
        xgb.fit({**xgb.initial(ctx), "n_estimators": 20}, X, y, None, ctx, None),
    ]
    stacker = Stacker("classification", 0).fit([m.predict(X) for m in members], y)
    features = frame.drop(columns=["y"])
    model = TabularModel(
        schema=infer_schema(features),
        task="classification",
        classes=np.array(["a", "b", "c"], dtype=object),
        members=members,
        weights=[0.5, 0.5],
        stacker=stacker,
    )
    proba = model.predict_proba(features)
    assert proba.shape == (200, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    loaded = load_model(model.save(tmp_path / "stacked"))
    assert np.array_equal(loaded.predict_proba(features), proba)
    assert set(loaded.predict(features)) <= {"a", "b", "c"}

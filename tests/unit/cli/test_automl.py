"""`shipyard automl run`: training from a file or a registered dataset, and one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shipyard.workspace import LocalWorkspace

FAST_RUN = ("--max-trials", "3", "--budget", "120")


@pytest.mark.slow
def test_run_json_saves_the_model_and_prints_one_document(trained):
    assert (trained.folder / "descriptor.json").is_file()
    assert (trained.folder / "automl_result.json").is_file()
    document = trained.document
    assert document["output"] == str(trained.folder)
    assert document["task"] == "classification"
    assert document["metric"] == "accuracy"
    assert {t["status"] for t in document["leaderboard"]} <= {
        "completed",
        "pruned",
        "timeout",
        "failed",
    }
    assert document["best"]["score"] > 0.8  # y follows x1 and color closely
    assert [g["name"] for g in document["guardrails"]][:2] == ["class_imbalance", "missing_values"]
    saved = json.loads((trained.folder / "automl_result.json").read_text())
    assert saved["best"] == document["best"]


@pytest.mark.slow
def test_run_shows_guardrails_leaderboard_metrics_and_saves(invoke, frame, csv_of, tmp_path):
    output = tmp_path / "model"
    result = invoke(
        "automl",
        "run",
        "--data",
        csv_of(frame),
        "--target",
        "y",
        *FAST_RUN,
        "--output",
        output,
        "--no-stacking",
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    for heading in (
        "Data guardrails",
        "Leaderboard",
        "Best model:",
        "Metrics",
        "Top 10 features",
        "Confusion matrix",
        "Saved the model to",
    ):
        assert heading in text, heading
    assert "stacking_ensemble" not in text
    assert "class_imbalance" in text
    assert "balanced_accuracy" in text
    assert (output / "descriptor.json").is_file()
    assert str(output) in text


@pytest.mark.slow
def test_all_missing_column_is_dropped_and_training_goes_on(invoke, frame, csv_of, tmp_path):
    frame["empty"] = np.nan
    result = invoke(
        "automl",
        "run",
        "--data",
        csv_of(frame),
        "--target",
        "y",
        *FAST_RUN,
        "--output",
        tmp_path / "model",
        "--json",
        "--no-voting",
        "--no-stacking",
    )
    assert result.exit_code == 0, result.output
    guardrails = {g["name"]: g for g in json.loads(result.stdout)["guardrails"]}
    dropped = guardrails["dropped_columns"]
    assert dropped["status"] == "fixed"
    assert "empty" in dropped["details"]["columns"]
    assert "all values missing" in dropped["message"]


@pytest.mark.slow
def test_regression_target_is_inferred(invoke, frame, csv_of, tmp_path, expect_user_error):
    frame["y"] = frame["x1"] * 3.0 + 1.5
    result = invoke(
        "automl",
        "run",
        "--data",
        csv_of(frame),
        "--target",
        "y",
        *FAST_RUN,
        "--output",
        tmp_path / "model",
        "--json",
        "--learners",
        "lightgbm,linear",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["task"] == "regression"
    assert document["metric"] == "r2"
    assert "confusion_matrix" not in document["report"]
    assert {t["learner"] for t in document["leaderboard"]} <= {
        "lightgbm",
        "linear",
        "voting_ensemble",
        "stacking_ensemble",
    }
    scored = invoke(
        "predict",
        "--model",
        tmp_path / "model",
        "--data",
        csv_of(frame, "rows.csv"),
        "--output",
        tmp_path / "p.csv",
    )
    assert scored.exit_code == 0, scored.output
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(frame)
    rows = csv_of(frame, "rows.csv")
    proba = invoke(
        "predict",
        "--model",
        tmp_path / "model",
        "--data",
        rows,
        "--output",
        tmp_path / "q.csv",
        "--proba",
    )
    expect_user_error(proba, "classification")


@pytest.mark.slow
def test_validation_data_replaces_cross_validation(invoke, frame, csv_of, tmp_path):
    result = invoke(
        "automl",
        "run",
        "--data",
        csv_of(frame.iloc[:150], "train.csv"),
        "--target",
        "y",
        "--validation-data",
        csv_of(frame.iloc[150:], "valid.csv"),
        *FAST_RUN,
        "--output",
        tmp_path / "model",
        "--json",
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["validation"] == "the given validation data (50 rows)"


def test_missing_target_column(invoke, frame, csv_of, expect_user_error):
    result = invoke("automl", "run", "--data", csv_of(frame), "--target", "outcome")
    expect_user_error(result, "'outcome'", "x1, x2, color, size, y")


def test_single_class_target(invoke, frame, csv_of, expect_user_error):
    frame["y"] = "yes"
    result = invoke("automl", "run", "--data", csv_of(frame), "--target", "y")
    expect_user_error(result, "single class", "'yes'")


def test_missing_target_values(invoke, frame, csv_of, expect_user_error):
    frame.loc[[3, 50], "y"] = np.nan
    result = invoke("automl", "run", "--data", csv_of(frame), "--target", "y")
    expect_user_error(result, "2 missing value(s)", "row 4")


def test_empty_file(invoke, tmp_path, expect_user_error):
    (tmp_path / "empty.csv").write_bytes(b"")
    result = invoke("automl", "run", "--data", tmp_path / "empty.csv", "--target", "y")
    expect_user_error(result, "empty.csv", "is empty")


def test_binary_file(invoke, tmp_path, expect_user_error):
    (tmp_path / "model.csv").write_bytes(bytes(range(256)) * 8)
    result = invoke("automl", "run", "--data", tmp_path / "model.csv", "--target", "y")
    expect_user_error(result, "model.csv", "not a CSV file", "binary")


def test_missing_file(invoke, tmp_path, expect_user_error):
    result = invoke("automl", "run", "--data", tmp_path / "nope.csv", "--target", "y")
    expect_user_error(result, "nope.csv", "no such file")


def test_invalid_option_values_are_named(invoke, frame, csv_of, expect_user_error):
    base = ("automl", "run", "--data", csv_of(frame), "--target", "y")
    expect_user_error(invoke(*base, "--budget", "0"), "budget")
    expect_user_error(invoke(*base, "--learners", "lightgbm,deep_net"), "'deep_net'")
    expect_user_error(invoke(*base, "--metric", "nonsense"), "'nonsense'", "AUC_weighted")


def test_settings_are_checked_before_the_file_is_read(invoke, tmp_path, expect_user_error):
    result = invoke(
        "automl", "run", "--data", tmp_path / "nope.csv", "--target", "y", "--holdout", "0.9"
    )
    expect_user_error(result, "holdout_fraction")


# --- --dataset: runs recorded in a workspace ------------------------------------------


@pytest.mark.slow
def test_dataset_run_is_recorded_and_prints_its_id(recorded):
    document = recorded.document
    assert set(document) >= {"run_id", "status", "metrics", "best_learner"}
    assert document["run_id"].startswith("run_")
    assert document["status"] == "completed"
    assert document["experiment"] == "toy-automl"
    assert document["dataset"] == "toy:1"
    assert document["primary_metric"] == "accuracy"
    assert document["metrics"]["accuracy"] == pytest.approx(document["best_score"])
    assert document["output"] is None
    with LocalWorkspace.open(recorded.workspace) as ws:
        run = ws.get_run(recorded.run_id)
        assert run.has_model
        assert run.experiment == "toy-automl"
        assert run.tags["best_learner"] == document["best_learner"]
        assert ws.get_run(document["best_run_id"]).parent_id == run.id


@pytest.mark.slow
def test_dataset_run_shows_progress_and_the_commands_that_follow(
    in_workspace, workspace, frame, csv_of, tmp_path
):
    in_workspace("dataset", "register", "toy", "--file", csv_of(frame))
    output = tmp_path / "copy"
    result = in_workspace(
        "automl", "run", "--dataset", "toy:1", "--target", "y", *FAST_RUN, "--output", output
    )
    assert result.exit_code == 0, result.output
    text = result.stdout
    for part in ("Data guardrails", "Leaderboard", "Best model:", "Recorded run run_"):
        assert part in text, part
    with LocalWorkspace.open(workspace) as ws:
        (run,) = ws.list_runs(experiment="automl", top_level=True).items
    assert f"shipyard run show {run.id} --workspace {workspace}" in text
    assert f"shipyard model register NAME --run {run.id} --workspace {workspace}" in text
    assert (output / "descriptor.json").is_file()


@pytest.mark.parametrize(
    "sources",
    [(), ("--data", "{csv}", "--dataset", "toy")],
    ids=["neither", "both"],
)
def test_exactly_one_of_data_and_dataset(in_workspace, frame, csv_of, sources, expect_user_error):
    filled = [s.format(csv=csv_of(frame)) for s in sources]
    result = in_workspace("automl", "run", "--target", "y", *filled)
    expect_user_error(result, "exactly one of --data FILE", "--dataset NAME[:VERSION]")


def test_validation_data_needs_a_file_source(in_workspace, frame, csv_of, expect_user_error):
    result = in_workspace(
        "automl", "run", "--dataset", "toy", "--target", "y", "--validation-data", csv_of(frame)
    )
    expect_user_error(result, "--validation-data works with --data only")


def test_unknown_dataset_fails_before_training(in_workspace, workspace, expect_user_error):
    result = in_workspace("automl", "run", "--dataset", "nothing-here", "--target", "y")
    expect_user_error(result, "no dataset named 'nothing-here'")
    with LocalWorkspace.open(workspace) as ws:
        assert ws.list_runs().total == 0


def test_a_data_error_fails_the_recorded_run(
    in_workspace, workspace, frame, csv_of, expect_user_error
):
    in_workspace("dataset", "register", "toy", "--file", csv_of(frame))
    result = in_workspace("automl", "run", "--dataset", "toy", "--target", "outcome", "--json")
    expect_user_error(result, "'outcome'")
    with LocalWorkspace.open(workspace) as ws:
        (run,) = ws.list_runs().items
    assert run.status.value == "failed"
    assert "outcome" in (run.failure_reason or "")

"""`shipyard predict`: scoring a file with a saved model, and what it warns or refuses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def rows(seed: int) -> pd.DataFrame:
    """Rows whose class is certain from x1 alone (|x1| = 3), in a shuffled order."""
    rng = np.random.default_rng(seed)
    signs = rng.permutation(np.tile([1.0, -1.0], 20))
    return pd.DataFrame(
        {
            "x1": 3.0 * signs,
            "x2": rng.normal(size=40),
            "color": rng.choice(["red", "green", "blue"], size=40),
            "size": rng.choice(["small", "large"], size=40),
        }
    )


def test_predictions_keep_the_input_rows_in_order(invoke, trained, rows, csv_of, tmp_path):
    output = tmp_path / "out" / "predictions.csv"
    result = invoke(
        "predict", "--model", trained.folder, "--data", csv_of(rows), "--output", output
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(output)
    assert list(written.columns) == ["prediction"]
    assert len(written) == len(rows)
    expected = np.where(rows["x1"] > 0, "yes", "no")
    assert written["prediction"].tolist() == expected.tolist()
    assert f"Wrote {len(rows)} predictions to {output}" in result.stdout
    assert result.stderr == ""


def test_proba_writes_one_column_per_class_then_the_prediction(
    invoke, trained, rows, csv_of, tmp_path
):
    output = tmp_path / "proba.csv"
    result = invoke(
        "predict", "--model", trained.folder, "--data", csv_of(rows), "--output", output, "--proba"
    )
    assert result.exit_code == 0, result.output
    written = pd.read_csv(output)
    assert list(written.columns) == ["proba_no", "proba_yes", "prediction"]
    np.testing.assert_allclose(written["proba_no"] + written["proba_yes"], 1.0, atol=1e-6)
    larger = np.where(written["proba_yes"] > written["proba_no"], "yes", "no")
    assert written["prediction"].tolist() == larger.tolist()


def test_target_is_ignored_quietly_and_extra_columns_with_a_warning(
    invoke, trained, csv_of, tmp_path
):
    data = trained.frame.head(30).assign(note="x")
    result = invoke(
        "predict", "--model", trained.folder, "--data", csv_of(data), "--output", tmp_path / "p.csv"
    )
    assert result.exit_code == 0, result.output
    warnings = result.stderr.strip().splitlines()
    assert warnings == ["warning: ignored unknown column(s): note"]
    assert len(pd.read_csv(tmp_path / "p.csv")) == 30


def test_unseen_category_is_a_warning_not_an_error(invoke, trained, rows, csv_of, tmp_path):
    rows.loc[[0, 5], "color"] = ["purple", "teal"]
    result = invoke(
        "predict", "--model", trained.folder, "--data", csv_of(rows), "--output", tmp_path / "p.csv"
    )
    assert result.exit_code == 0, result.output
    assert "warning: column 'color' has 2 value(s) never seen in training" in result.stderr
    assert "'purple'" in result.stderr
    assert "'teal'" in result.stderr
    assert len(pd.read_csv(tmp_path / "p.csv")) == len(rows)


def test_missing_column(invoke, trained, rows, csv_of, tmp_path, expect_user_error):
    result = invoke(
        "predict",
        "--model",
        trained.folder,
        "--data",
        csv_of(rows.drop(columns=["color"])),
        "--output",
        tmp_path / "p.csv",
    )
    expect_user_error(result, "missing column(s): color")
    assert not (tmp_path / "p.csv").exists()


def test_text_in_a_numeric_column(invoke, trained, rows, csv_of, tmp_path, expect_user_error):
    rows["x2"] = rows["x2"].astype(object)
    rows.loc[7, "x2"] = "abc"
    result = invoke(
        "predict", "--model", trained.folder, "--data", csv_of(rows), "--output", tmp_path / "p.csv"
    )
    expect_user_error(result, "'x2'", "'abc'")


def test_parquet_in_and_out(invoke, trained, rows, tmp_path):
    rows.to_parquet(tmp_path / "rows.parquet", index=False)
    output = tmp_path / "predictions.parquet"
    result = invoke(
        "predict",
        "--model",
        trained.folder,
        "--data",
        tmp_path / "rows.parquet",
        "--output",
        output,
    )
    assert result.exit_code == 0, result.output
    assert (
        pd.read_parquet(output)["prediction"].tolist()
        == np.where(rows["x1"] > 0, "yes", "no").tolist()
    )


def test_a_folder_that_is_not_a_model(invoke, rows, csv_of, tmp_path, expect_user_error):
    (tmp_path / "empty-model").mkdir()
    result = invoke(
        "predict",
        "--model",
        tmp_path / "empty-model",
        "--data",
        csv_of(rows),
        "--output",
        tmp_path / "p.csv",
    )
    expect_user_error(result, "empty-model", "not a saved model")


def test_an_altered_model_file_is_refused(
    invoke, trained, rows, csv_of, tmp_path, expect_user_error
):
    copy = tmp_path / "model"
    copy.mkdir()
    for item in trained.folder.iterdir():
        (copy / item.name).write_bytes(item.read_bytes())
    with (copy / "model.joblib").open("ab") as handle:
        handle.write(b"tampered")
    result = invoke(
        "predict", "--model", copy, "--data", csv_of(rows), "--output", tmp_path / "p.csv"
    )
    expect_user_error(result, "checksum")

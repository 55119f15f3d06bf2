"""issue 10 finding 10: `shipyard predict --output` defuses labels a spreadsheet would run."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shipyard.cli._csv_cells import escape_cell, escape_formulas
from tests.unit.cli.conftest import _invoke, make_frame

ATTACK = "=cmd|' /C calc'!A0"
OTHER = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (ATTACK, "'" + ATTACK),
        ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-1.5", "-1.5"),  # a plain number in text runs nothing
        ("+3e-2", "+3e-2"),
        ("yes", "yes"),
        ("", ""),
        (-1.5, -1.5),
        (None, None),
    ],
)
def test_escape_cell(cell, written):
    assert escape_cell(cell) == written


def test_only_text_cells_and_names_change():
    frame = pd.DataFrame(
        {
            "=HYPERLINK(1)": ["=1+1", "ok"],
            "score": [-1.5, 2.0],
            "count": np.array([-3, 4]),
            "flag": [True, False],
            "kind": pd.Categorical(["@x", "y"]),
        }
    )
    escaped = escape_formulas(frame)
    assert list(escaped.columns) == ["'=HYPERLINK(1)", "score", "count", "flag", "kind"]
    assert escaped.iloc[:, 0].tolist() == ["'=1+1", "ok"]
    assert escaped["score"].tolist() == [-1.5, 2.0]
    assert escaped["count"].dtype == frame["count"].dtype
    assert escaped["kind"].tolist() == ["'@x", "y"]
    assert frame.iloc[0, 0] == "=1+1"  # the caller's frame is left alone


@pytest.fixture(scope="module")
def hostile_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """A model whose two classes are spreadsheet formulas (its labels come from training)."""
    root = tmp_path_factory.mktemp("hostile")
    table = make_frame(7)
    table["y"] = np.where(table["y"] == "yes", ATTACK, OTHER)
    table.to_csv(root / "train.csv", index=False)
    result = _invoke(
        "automl", "run", "--data", root / "train.csv", "--target", "y", "--max-trials", "1",
        "--learners", "linear", "--no-voting", "--no-stacking", "--folds", "2",
        "--output", root / "model", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return root / "model", table.drop(columns=["y"]).head(40)


def _cells(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def test_predict_escapes_formula_labels_and_raw_csv_keeps_them(
    invoke, hostile_model, csv_of, tmp_path
):
    model, rows = hostile_model
    data = csv_of(rows)
    out = tmp_path / "p.csv"
    result = invoke("predict", "--model", model, "--data", data, "--output", out, "--proba")
    assert result.exit_code == 0, result.output
    header, *body = _cells(out)
    # proba columns are named after the classes; only the text cells change
    assert header == [f"proba_{ATTACK}", f"proba_{OTHER}", "prediction"]
    assert {row[-1] for row in body} == {"'" + ATTACK, "'" + OTHER}
    assert all(float(row[0]) >= 0 for row in body)  # numbers stay numbers
    raw = tmp_path / "raw.csv"
    kept = invoke("predict", "--model", model, "--data", data, "--output", raw, "--raw-csv")
    assert kept.exit_code == 0, kept.output
    assert {row[-1] for row in _cells(raw)[1:]} == {ATTACK, OTHER}
    parquet = tmp_path / "p.parquet"
    assert invoke("predict", "--model", model, "--data", data, "--output", parquet).exit_code == 0
    assert set(pd.read_parquet(parquet)["prediction"]) == {ATTACK, OTHER}

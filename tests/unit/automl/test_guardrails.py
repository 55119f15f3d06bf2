"""Tests for the data guardrails in `shipyard.automl.guardrails`."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.automl.columns import MAX_CATEGORIES, infer_schema
from shipyard.automl.guardrails import Guardrail, check_data
from shipyard.core.errors import DataError, InvalidInputError
from shipyard.datasets import BANK_MARKETING_TARGET, load_bank_marketing

NAMES = [
    "class_imbalance",
    "missing_values",
    "high_cardinality",
    "dropped_columns",
    "target_leakage",
]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def run(
    frame: pd.DataFrame, target: pd.Series, task: str = "classification", **kwargs: Any
) -> dict[str, Guardrail]:
    guardrails = check_data(frame, target, infer_schema(frame), task, **kwargs)
    assert [g.name for g in guardrails] == NAMES
    return {g.name: g for g in guardrails}


def flip(rng: np.random.Generator, labels: np.ndarray, share: float) -> np.ndarray:
    """A copy of binary labels with `share` of them flipped at random."""
    noisy = labels.copy()
    rows = rng.choice(len(labels), int(share * len(labels)), replace=False)
    noisy[rows] = 1 - noisy[rows]
    return noisy


def clean_frame(rng: np.random.Generator, n: int = 400) -> tuple[pd.DataFrame, pd.Series]:
    """Balanced classes, no gaps, a weakly informative column and two independent ones."""
    x = rng.normal(size=n)
    y = np.where(x + 2.0 * rng.normal(size=n) > 0, "yes", "no")
    frame = pd.DataFrame(
        {"x": x, "z": rng.normal(size=n), "colour": rng.choice(["red", "green", "blue"], n)}
    )
    return frame, pd.Series(y, name="y")


def messy_frame(rng: np.random.Generator, n: int = 300) -> tuple[pd.DataFrame, np.ndarray]:
    """Every guardrail has something to report; returns the frame and a 0/1 outcome."""
    outcome = (rng.random(n) < 0.1).astype(int)
    age = rng.normal(40, 10, n)
    age[:12] = np.nan
    frame = pd.DataFrame(
        {
            "age": age,
            "city": [f"city_{i}" for i in rng.integers(0, 150, n)],
            "const": 1,
            "customer_id": np.arange(n),
            "leak": flip(rng, outcome, 0.03),
            "when": pd.date_range("2024-01-01", periods=n, freq="D"),
        }
    )
    return frame, outcome


def test_clean_frame_passes_every_check(rng: np.random.Generator) -> None:
    frame, target = clean_frame(rng)
    found = run(frame, target)
    assert {k: g.status for k, g in found.items()} == dict.fromkeys(NAMES, "passed")
    assert found["class_imbalance"].details["counts"] == target.value_counts().to_dict()
    assert set(found["target_leakage"].details["scores"]) == {"x", "z", "colour"}
    assert found["target_leakage"].details["flagged"] == []


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_to_dict_is_json_ready_for_every_guardrail(rng: np.random.Generator, task: str) -> None:
    frame, outcome = messy_frame(rng)
    target = pd.Series(
        np.where(outcome == 1, "yes", "no")
        if task == "classification"
        else outcome + rng.normal(0, 0.01, len(outcome))
    )
    found = run(frame, target, task)
    for guardrail in found.values():
        plain = guardrail.to_dict()
        assert json.loads(json.dumps(plain, allow_nan=False)) == plain
        assert plain["name"] == guardrail.name
        assert plain["status"] in {"passed", "fixed", "alerted"}
        assert plain["message"].endswith(".")
    statuses = {k: g.status for k, g in found.items()}
    assert statuses["missing_values"] == statuses["dropped_columns"] == "fixed"
    assert statuses["high_cardinality"] == statuses["target_leakage"] == "alerted"


@pytest.mark.parametrize(
    ("counts", "status", "ratio"),
    [
        ({"no": 900, "yes": 100}, "alerted", 0.1111),
        ({"a": 500, "b": 300, "c": 50}, "alerted", 0.1),
        ({"a": 500, "b": 300, "c": 200}, "passed", 0.4),
        ({"no": 500, "yes": 100}, "passed", 0.2),
    ],
)
def test_class_imbalance_ratio_is_smallest_over_largest_class(
    rng: np.random.Generator, counts: dict[str, int], status: str, ratio: float
) -> None:
    labels = np.repeat(list(counts), list(counts.values()))
    rng.shuffle(labels)
    frame = pd.DataFrame({"x": rng.normal(size=len(labels))})
    action = "class weighting is searched as a hyperparameter"
    found = run(frame, pd.Series(labels), imbalance_action=action)["class_imbalance"]
    assert found.status == status
    assert found.details["ratio"] == ratio
    assert found.details["counts"] == counts
    total = sum(counts.values())
    assert found.details["shares"] == {k: round(v / total, 4) for k, v in counts.items()}
    assert f"ratio {ratio:.3f}" in found.message
    assert (action in found.message) == (status == "alerted")


def test_class_imbalance_is_not_applicable_to_regression(rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"x": rng.normal(size=100)})
    found = run(frame, pd.Series(rng.normal(size=100)), "regression")["class_imbalance"]
    assert found.status == "passed"
    assert found.message.lower().startswith("not applicable to regression")


def test_missing_values_counted_per_column_and_imputed(rng: np.random.Generator) -> None:
    n = 200
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "city": rng.choice(["Lisbon", "Porto", "Braga"], n).astype(object),
            "score": rng.normal(size=n),
            "empty": np.full(n, np.nan),
        }
    )
    frame.loc[rng.choice(n, 17, replace=False), "age"] = np.nan
    frame.loc[rng.choice(n, 5, replace=False), "city"] = None
    found = run(frame, pd.Series(rng.choice(["a", "b"], n)))
    missing = found["missing_values"]
    assert missing.status == "fixed"
    assert missing.details["columns"] == {
        "age": {"count": 17, "fraction": 0.085},
        "city": {"count": 5, "fraction": 0.025},
    }
    assert "'age' 17 (8.5%)" in missing.message
    assert "imputed" in missing.message
    assert found["dropped_columns"].details["columns"] == {"empty": "all values missing"}


def test_high_cardinality_string_column_is_alerted(rng: np.random.Generator) -> None:
    n = 400
    frame = pd.DataFrame(
        {
            "city": [f"city_{i}" for i in rng.integers(0, 150, n)],
            "colour": rng.choice(["red", "green", "blue"], n),
        }
    )
    found = run(frame, pd.Series(rng.choice(["a", "b"], n)))["high_cardinality"]
    assert found.status == "alerted"
    distinct = frame["city"].nunique()
    assert distinct > 100
    assert found.details["columns"] == {
        "city": {
            "distinct": distinct,
            "rows": n,
            "share": round(distinct / n, 4),
            "kept": distinct,
            "kept_row_share": 1.0,
        }
    }
    assert f"'city' {distinct} distinct in 400 rows" in found.message


@pytest.mark.parametrize(
    ("rows", "distinct", "status"),
    [(80, 50, "alerted"), (80, 30, "passed"), (40, 30, "passed"), (400, 101, "alerted")],
)
def test_high_cardinality_by_count_or_share_of_rows(
    rng: np.random.Generator, rows: int, distinct: int, status: str
) -> None:
    codes = np.concatenate([np.arange(distinct), rng.integers(0, distinct, rows - distinct)])
    frame = pd.DataFrame({"code": [f"c{i}" for i in rng.permutation(codes)]})
    found = run(frame, pd.Series(rng.choice(["a", "b"], rows)))["high_cardinality"]
    assert found.status == status


def test_high_cardinality_keeps_only_the_most_frequent_categories(
    rng: np.random.Generator,
) -> None:
    values = np.repeat([f"v{i}" for i in range(1500)], 2)
    frame = pd.DataFrame({"code": rng.permutation(values)})
    found = run(frame, pd.Series(rng.choice(["a", "b"], len(values))))["high_cardinality"]
    entry = found.details["columns"]["code"]
    assert (entry["distinct"], entry["kept"]) == (1500, MAX_CATEGORIES)
    assert entry["kept_row_share"] == round(2 * MAX_CATEGORIES / len(values), 4)
    assert f"{MAX_CATEGORIES:,} most frequent" in found.message


def test_constant_id_like_and_empty_columns_are_reported_dropped(
    rng: np.random.Generator,
) -> None:
    n = 200
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=n),
            "const": np.full(n, 7),
            "customer_id": np.arange(1000, 1000 + n),
            "empty": np.full(n, np.nan),
        }
    )
    found = run(frame, pd.Series(rng.choice(["a", "b"], n)))
    dropped = found["dropped_columns"]
    assert dropped.status == "fixed"
    reasons = dropped.details["columns"]
    assert list(reasons) == ["const", "customer_id", "empty"]
    assert reasons["const"].startswith("constant")
    assert reasons["customer_id"].startswith("ID-like")
    assert reasons["empty"] == "all values missing"
    assert all(f"'{name}'" in dropped.message for name in reasons)
    assert list(found["target_leakage"].details["scores"]) == ["x"]
    assert found["missing_values"].status == "passed"


@pytest.mark.parametrize("as_text", [False, True])
def test_noisy_copy_of_the_target_is_flagged_and_kept(
    rng: np.random.Generator, as_text: bool
) -> None:
    n = 1000
    outcome = rng.integers(0, 2, n)
    copy = flip(rng, outcome, 0.03)
    frame = pd.DataFrame(
        {
            "copy": np.where(copy == 1, "won", "lost") if as_text else copy,
            "independent": rng.normal(size=n),
            "weak": outcome + 3.0 * rng.normal(size=n),
        }
    )
    found = run(frame, pd.Series(np.where(outcome == 1, "yes", "no")))
    leakage = found["target_leakage"]
    assert leakage.status == "alerted"
    assert leakage.details["flagged"] == ["copy"]
    assert leakage.details["scores"]["copy"] == pytest.approx(0.97, abs=0.01)
    assert leakage.details["scores"]["independent"] < 0.6
    assert leakage.message.startswith("Column 'copy' alone reaches AUC 0.97, almost perfect:")
    assert leakage.message.endswith("kept.")
    assert found["dropped_columns"].status == "passed"


def test_strong_column_that_rivals_all_others_is_flagged(rng: np.random.Generator) -> None:
    n = 2000
    signal = rng.normal(size=n)
    outcome = rng.random(n) < 1 / (1 + np.exp(-2.5 * signal))
    frame = pd.DataFrame({"signal": signal, "a": rng.normal(size=n), "b": rng.normal(size=n)})
    leakage = run(frame, pd.Series(outcome.astype(int)))["target_leakage"]
    assert 0.75 < leakage.details["scores"]["signal"] < 0.95
    assert leakage.details["flagged"] == ["signal"]
    assert "about as much as all other columns together" in leakage.message


def test_redundant_strong_columns_are_not_flagged(rng: np.random.Generator) -> None:
    n = 2000
    signal = rng.normal(size=n)
    outcome = rng.random(n) < 1 / (1 + np.exp(-2.5 * signal))
    frame = pd.DataFrame(
        {
            "rate": signal,
            "index": signal + 0.05 * rng.normal(size=n),
            "a": rng.normal(size=n),
        }
    )
    leakage = run(frame, pd.Series(outcome.astype(int)))["target_leakage"]
    assert leakage.details["scores"]["rate"] > 0.75
    assert leakage.details["scores"]["index"] > 0.75
    assert leakage.status == "passed"
    assert leakage.details["flagged"] == []


def test_strong_column_beaten_by_the_others_together_is_not_flagged(
    rng: np.random.Generator,
) -> None:
    n = 2000
    parts = rng.normal(size=(n, 3))
    outcome = (parts @ np.array([1.5, 2.0, 0.0]) > 0).astype(int)
    frame = pd.DataFrame(parts, columns=["s", "t", "z"])
    details = run(frame, pd.Series(outcome))["target_leakage"].details
    alone, rest = details["scores"]["s"], details["rest_scores"]["s"]
    assert alone > 0.75
    assert details["all_columns_score"] > rest + 0.05  # `s` adds to the others...
    assert rest > alone + 0.05  # ...but they do much better without it
    assert details["flagged"] == ["t"]


def test_regression_leak_is_flagged_by_r2(rng: np.random.Generator) -> None:
    n = 1000
    x = rng.normal(size=n)
    y = 2.0 * x + rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "leak": y + 0.05 * rng.normal(size=n), "z": rng.normal(size=n)})
    leakage = run(frame, pd.Series(y), "regression")["target_leakage"]
    assert leakage.details["metric"] == "R²"
    assert leakage.details["flagged"] == ["leak"]
    assert leakage.details["scores"]["leak"] >= 0.95
    assert 0.5 < leakage.details["scores"]["x"] < 0.95
    assert "R² 0.9" in leakage.message


def test_regression_without_leak_passes(rng: np.random.Generator) -> None:
    n = 1000
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=n)})
    leakage = run(frame, pd.Series(x + 2.0 * rng.normal(size=n)), "regression")["target_leakage"]
    assert leakage.status == "passed"
    assert 0.0 < leakage.details["scores"]["x"] < 0.5
    assert "best alone: 'x'" in leakage.message


def test_multiclass_leak_uses_weighted_one_vs_rest_auc(rng: np.random.Generator) -> None:
    n = 1500
    labels = rng.choice(["red", "green", "blue"], n, p=[0.5, 0.3, 0.2])
    copy = labels.copy()
    noisy = rng.choice(n, int(0.03 * n), replace=False)
    copy[noisy] = rng.choice(["red", "green", "blue"], len(noisy))
    frame = pd.DataFrame({"copy": copy, "x": rng.normal(size=n)})
    leakage = run(frame, pd.Series(labels))["target_leakage"]
    assert leakage.details["flagged"] == ["copy"]
    assert leakage.details["scores"]["copy"] > 0.95
    assert 0.4 < leakage.details["scores"]["x"] < 0.6


def test_boolean_and_datetime_columns_are_scored(rng: np.random.Generator) -> None:
    n = 600
    outcome = rng.integers(0, 2, n)
    frame = pd.DataFrame(
        {
            "flag": flip(rng, outcome, 0.02).astype(bool),
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 900, n), "D"),
            "day": rng.choice(["2024-01-05", "2024-02-11", "2024-03-20"], n),
        }
    )
    found = run(frame, pd.Series(outcome))
    assert [spec.kind.value for spec in infer_schema(frame).columns] == [
        "boolean",
        "datetime",
        "datetime",
    ]
    leakage = found["target_leakage"]
    assert leakage.details["flagged"] == ["flag"]
    assert set(leakage.details["scores"]) == {"flag", "when", "day"}
    assert leakage.details["scores"]["when"] < 0.6


def test_leakage_sample_is_capped_and_seeded(rng: np.random.Generator) -> None:
    n = 12_000
    x = rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "z": rng.normal(size=n)})
    target = pd.Series(np.where(x + rng.normal(size=n) > 0, "yes", "no"))
    schema = infer_schema(frame)
    first = check_data(frame, target, schema, "classification", seed=3)[-1]
    again = check_data(frame, target, schema, "classification", seed=3)[-1]
    other = check_data(frame, target, schema, "classification", seed=4)[-1]
    assert first.details["sample_rows"] == 10_000
    assert first.details == again.details
    assert first.details["scores"] != other.details["scores"]


def test_target_is_matched_to_rows_by_position(rng: np.random.Generator) -> None:
    n = 500
    outcome = rng.integers(0, 2, n)
    frame = pd.DataFrame({"copy": flip(rng, outcome, 0.01), "x": rng.normal(size=n)})
    frame.index = np.arange(10_000, 10_000 + n)
    leakage = run(frame, pd.Series(outcome))["target_leakage"]
    assert leakage.details["flagged"] == ["copy"]


def test_tiny_data_is_not_checked_for_leakage(rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"x": rng.normal(size=12)})
    leakage = run(frame, pd.Series(["a", "b"] * 6))["target_leakage"]
    assert leakage.status == "passed"
    assert leakage.message.startswith("Not checked: only 12 rows")


def test_invalid_input_is_refused(rng: np.random.Generator) -> None:
    frame = pd.DataFrame({"x": rng.normal(size=50)})
    schema = infer_schema(frame)
    with pytest.raises(InvalidInputError, match="Unknown task 'ranking'"):
        check_data(frame, pd.Series(rng.normal(size=50)), schema, "ranking")
    with pytest.raises(InvalidInputError, match="50 rows of features but 49 targets"):
        check_data(frame, pd.Series(rng.normal(size=49)), schema, "regression")
    with pytest.raises(DataError, match="single class"):
        check_data(frame, pd.Series(["yes"] * 50), schema, "classification")


@pytest.mark.slow
def test_bank_marketing_flags_duration_only() -> None:
    frame = load_bank_marketing()
    target = frame.pop(BANK_MARKETING_TARGET)
    found = run(frame, target, imbalance_action="no class weighting")
    imbalance = found["class_imbalance"]
    assert imbalance.status == "alerted"
    assert 0.12 < imbalance.details["ratio"] < 0.13
    assert "'yes'" in imbalance.message
    leakage = found["target_leakage"]
    assert leakage.status == "alerted"
    assert leakage.details["flagged"] == ["duration"]
    assert leakage.message.startswith("Column 'duration' alone reaches AUC 0.8")
    assert set(leakage.details["scores"]) == set(frame.columns)
    for macro in ["nr.employed", "euribor3m", "emp.var.rate", "cons.price.idx"]:
        assert leakage.details["scores"][macro] > 0.7
    for name in ["missing_values", "high_cardinality", "dropped_columns"]:
        assert found[name].status == "passed"

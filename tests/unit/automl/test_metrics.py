"""Tests for the metric registry and the best-model reports in `shipyard.automl.metrics`."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    matthews_corrcoef,
    mean_absolute_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    roc_curve,
    root_mean_squared_error,
)

from shipyard.automl import metrics
from shipyard.core.errors import InvalidInputError

Array = npt.NDArray[Any]

CLASSIFICATION = [
    "accuracy",
    "AUC_weighted",
    "average_precision_score_weighted",
    "f1_score_weighted",
    "balanced_accuracy",
    "norm_macro_recall",
    "log_loss",
    "precision_score_weighted",
    "recall_score_weighted",
]
REGRESSION = ["r2", "rmse", "normalized_rmse", "mae", "normalized_mae", "spearman_correlation"]


def _classification_data(seed: int, n: int, n_classes: int) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, n_classes, size=n)
    logits = rng.normal(size=(n, n_classes))
    logits[np.arange(n), y] += 1.0
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return y, proba


def _regression_data(seed: int, n: int) -> tuple[Array, Array]:
    rng = np.random.default_rng(seed)
    y = rng.normal(10.0, 3.0, size=n).round(1)  # rounding leaves ties for the rank metric
    return y, (y + rng.normal(0.0, 2.0, size=n)).round(1)


def _sklearn_classification(name: str, y: Array, proba: Array) -> float:
    k = proba.shape[1]
    pred = proba.argmax(axis=1)
    weighted = {"average": "weighted", "zero_division": 0}
    if name == "AUC_weighted" and k == 2:
        return float(roc_auc_score(y, proba[:, 1]))
    reference = {
        "accuracy": lambda: accuracy_score(y, pred),
        "AUC_weighted": lambda: roc_auc_score(
            y, proba, multi_class="ovr", average="weighted", labels=list(range(k))
        ),
        "average_precision_score_weighted": lambda: average_precision_score(
            np.eye(k)[y], proba, average="weighted"
        ),
        "f1_score_weighted": lambda: f1_score(y, pred, **weighted),
        "balanced_accuracy": lambda: balanced_accuracy_score(y, pred),
        "norm_macro_recall": lambda: (recall_score(y, pred, average="macro") - 1 / k) / (1 - 1 / k),
        "log_loss": lambda: log_loss(y, proba, labels=list(range(k))),
        "precision_score_weighted": lambda: precision_score(y, pred, **weighted),
        "recall_score_weighted": lambda: recall_score(y, pred, **weighted),
    }
    return float(reference[name]())


def _sklearn_regression(name: str, y: Array, pred: Array) -> float:
    span = float(y.max() - y.min())
    reference = {
        "r2": lambda: r2_score(y, pred),
        "rmse": lambda: root_mean_squared_error(y, pred),
        "normalized_rmse": lambda: root_mean_squared_error(y, pred) / span,
        "mae": lambda: mean_absolute_error(y, pred),
        "normalized_mae": lambda: mean_absolute_error(y, pred) / span,
        "spearman_correlation": lambda: spearmanr(y, pred).statistic,
    }
    return float(reference[name]())


@pytest.mark.parametrize("n_classes", [2, 3, 5])
@pytest.mark.parametrize("name", CLASSIFICATION)
def test_classification_metric_matches_sklearn(name: str, n_classes: int) -> None:
    y, proba = _classification_data(seed=n_classes, n=300, n_classes=n_classes)
    metric = metrics.get_metric(name, "classification")

    assert metrics.score(metric, y, proba) == pytest.approx(
        _sklearn_classification(name, y, proba), rel=1e-9
    )


@pytest.mark.parametrize("name", REGRESSION)
def test_regression_metric_matches_sklearn(name: str) -> None:
    y, pred = _regression_data(seed=3, n=400)
    metric = metrics.get_metric(name, "regression")

    assert metrics.score(metric, y, pred) == pytest.approx(
        _sklearn_regression(name, y, pred), rel=1e-9
    )


def test_metric_names_are_the_registry_in_order() -> None:
    assert metrics.metric_names("classification") == CLASSIFICATION
    assert metrics.metric_names("regression") == REGRESSION


def test_default_metric_per_task() -> None:
    assert metrics.default_metric("classification") == "accuracy"
    assert metrics.default_metric("regression") == "r2"


@pytest.mark.parametrize(
    ("y", "pred", "expected"),
    [
        # recalls 1/2, 1, 1/2 -> macro 2/3; chance 1/3 -> (2/3 - 1/3) / (2/3)
        ([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0], 0.5),
        # recalls 1/2, 1 -> macro 3/4; chance 1/2 -> (3/4 - 1/2) / (1/2)
        ([0, 0, 1, 1], [0, 1, 1, 1], 0.5),
        ([0, 1, 2], [0, 1, 2], 1.0),
        ([0, 0, 1, 1], [1, 1, 0, 0], -1.0),
    ],
)
def test_norm_macro_recall_by_hand(y: list[int], pred: list[int], expected: float) -> None:
    n_classes = max(y) + 1
    proba = np.eye(n_classes)[pred]
    metric = metrics.get_metric("norm_macro_recall", "classification")

    assert metrics.score(metric, np.array(y), proba) == pytest.approx(expected)


@pytest.mark.parametrize("name", CLASSIFICATION + REGRESSION)
def test_loss_is_minimized(name: str) -> None:
    task = "classification" if name in CLASSIFICATION else "regression"
    metric = metrics.get_metric(name, task)
    if task == "classification":
        y, pred = _classification_data(seed=7, n=200, n_classes=3)
    else:
        y, pred = _regression_data(seed=7, n=200)
    value = metrics.score(metric, y, pred)

    expected = -value if metric.greater_is_better else value
    assert metrics.loss(metric, y, pred) == pytest.approx(expected)


def test_loss_is_lower_for_the_better_model() -> None:
    y, good = _regression_data(seed=11, n=200)
    bad = good[::-1].copy()
    for name in REGRESSION:
        metric = metrics.get_metric(name, "regression")
        assert metrics.loss(metric, y, good) < metrics.loss(metric, y, bad), name


def test_direction_flags() -> None:
    lower = {"log_loss", "rmse", "normalized_rmse", "mae", "normalized_mae"}
    needs_proba = {"AUC_weighted", "average_precision_score_weighted", "log_loss"}
    for task, names in (("classification", CLASSIFICATION), ("regression", REGRESSION)):
        for name in names:
            metric = metrics.get_metric(name, task)
            assert metric.greater_is_better is (name not in lower)
            assert metric.needs_proba is (name in needs_proba)
            assert metric.task == task


def test_unknown_metric_names_valid_metrics() -> None:
    with pytest.raises(InvalidInputError, match="valid metrics") as info:
        metrics.get_metric("gini", "classification")
    for name in CLASSIFICATION:
        assert name in str(info.value)


def test_metric_of_the_other_task_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="regression metric") as info:
        metrics.get_metric("rmse", "classification")
    assert "AUC_weighted" in str(info.value)

    with pytest.raises(InvalidInputError, match="spearman_correlation"):
        metrics.get_metric("accuracy", "regression")


def test_unknown_task_is_rejected() -> None:
    with pytest.raises(InvalidInputError, match="forecasting"):
        metrics.get_metric("accuracy", "forecasting")
    with pytest.raises(InvalidInputError):
        metrics.metric_names("forecasting")


@pytest.mark.parametrize(
    ("alias", "task", "name"),
    [
        ("auc", "classification", "AUC_weighted"),
        ("ROC_AUC", "classification", "AUC_weighted"),
        ("auc_weighted", "classification", "AUC_weighted"),
        ("f1", "classification", "f1_score_weighted"),
        ("logloss", "classification", "log_loss"),
        ("Accuracy", "classification", "accuracy"),
        ("NORMALIZED_RMSE", "regression", "normalized_rmse"),
        (" r2 ", "regression", "r2"),
    ],
)
def test_aliases_and_case(alias: str, task: str, name: str) -> None:
    assert metrics.get_metric(alias, task).name == name


def test_absent_class_scores_over_present_classes() -> None:
    y, proba = _classification_data(seed=5, n=120, n_classes=3)
    y = np.where(y == 2, 0, y)  # class 2 never occurs in this fold
    support = np.array([(y == c).sum() for c in (0, 1)])

    auc = metrics.score(metrics.get_metric("AUC_weighted", "classification"), y, proba)
    ap = metrics.score(
        metrics.get_metric("average_precision_score_weighted", "classification"), y, proba
    )

    per_class_auc = [roc_auc_score(y == c, proba[:, c]) for c in (0, 1)]
    per_class_ap = [average_precision_score(y == c, proba[:, c]) for c in (0, 1)]
    assert auc == pytest.approx(np.average(per_class_auc, weights=support))
    assert ap == pytest.approx(np.average(per_class_ap, weights=support))


def test_single_class_fold_gives_nan_auc_not_an_error() -> None:
    _, proba = _classification_data(seed=6, n=20, n_classes=2)
    y = np.ones(20, dtype=np.int64)

    assert math.isnan(metrics.score(metrics.get_metric("auc", "classification"), y, proba))
    report = metrics.classification_report(y, proba, ["no", "yes"])
    json.dumps(report, allow_nan=False)
    assert report["metrics"]["AUC_weighted"] is None
    assert report["curves"]["roc"] == []


def test_log_loss_is_finite_for_confident_mistakes() -> None:
    y = np.array([0, 1])
    proba = np.array([[0.0, 1.0], [1.0, 0.0]])
    value = metrics.score(metrics.get_metric("log_loss", "classification"), y, proba)

    assert math.isfinite(value)
    assert value > 30


def test_spearman_of_constant_is_zero() -> None:
    metric = metrics.get_metric("spearman_correlation", "regression")

    assert metrics.score(metric, np.full(10, 3.0), np.arange(10.0)) == 0.0
    assert metrics.score(metric, np.arange(10.0), np.full(10, 3.0)) == 0.0


def test_normalized_errors_with_zero_range_fall_back_to_raw() -> None:
    y, pred = np.full(5, 2.0), np.array([1.0, 2.0, 3.0, 2.0, 4.0])
    for name in ("rmse", "mae"):
        raw = metrics.score(metrics.get_metric(name, "regression"), y, pred)
        normalized = metrics.score(metrics.get_metric(f"normalized_{name}", "regression"), y, pred)
        assert normalized == pytest.approx(raw)
        assert raw > 0


@pytest.mark.parametrize(
    ("y", "proba"),
    [
        (np.array([0, 1]), np.array([0.2, 0.8])),  # 1-D probabilities
        (np.array([0, 1, 1]), np.array([[0.5, 0.5], [0.5, 0.5]])),  # length mismatch
        (np.array([0, 2]), np.array([[0.5, 0.5], [0.5, 0.5]])),  # code out of range
        (np.array([0.0, 1.0]), np.array([[0.5, 0.5], [0.5, 0.5]])),  # float codes
    ],
)
def test_bad_classification_input_is_rejected(y: Array, proba: Array) -> None:
    with pytest.raises(InvalidInputError):
        metrics.score(metrics.get_metric("accuracy", "classification"), y, proba)


def test_bad_regression_input_is_rejected() -> None:
    with pytest.raises(InvalidInputError):
        metrics.score(metrics.get_metric("r2", "regression"), np.zeros(3), np.zeros(4))


def _check_curve_shapes(report: dict[str, Any], n: int) -> None:
    for kind in ("roc", "precision_recall"):
        for curve in report["curves"][kind]:
            assert 2 <= len(curve["x"]) <= metrics.MAX_CURVE_POINTS
            assert len(curve["x"]) == len(curve["y"]) == len(curve["thresholds"])
            assert all(math.isfinite(t) for t in curve["thresholds"])
    for curve in report["curves"]["calibration"]:
        assert len(curve["mean_predicted"]) == len(curve["fraction_positive"])
        assert len(curve["count"]) == len(curve["mean_predicted"])
        assert sum(curve["count"]) == n


def test_binary_report_structure() -> None:
    n = 5000
    y, proba = _classification_data(seed=8, n=n, n_classes=2)
    report = metrics.classification_report(y, proba, ["no", "yes"])

    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert set(report["metrics"]) == set(CLASSIFICATION) | {
        "precision_score_macro",
        "recall_score_macro",
        "f1_score_macro",
        "matthews_correlation",
    }
    matrix = report["confusion_matrix"]
    assert matrix["labels"] == ["no", "yes"]
    assert np.array(matrix["matrix"]).shape == (2, 2)
    assert sum(map(sum, matrix["matrix"])) == n
    for kind in ("roc", "precision_recall", "calibration"):
        assert [c["class"] for c in report["curves"][kind]] == ["yes"]
    _check_curve_shapes(report, n)


def test_roc_curve_is_downsampled_keeping_endpoints() -> None:
    y, proba = _classification_data(seed=9, n=5000, n_classes=2)
    fpr, tpr, _ = roc_curve(y, proba[:, 1])
    assert len(fpr) > metrics.MAX_CURVE_POINTS  # otherwise nothing is downsampled

    roc = metrics.classification_report(y, proba, ["a", "b"])["curves"]["roc"][0]

    assert len(roc["x"]) <= metrics.MAX_CURVE_POINTS
    assert len(roc["x"]) > metrics.MAX_CURVE_POINTS // 2
    assert (roc["x"][0], roc["y"][0]) == (fpr[0], tpr[0])
    assert (roc["x"][-1], roc["y"][-1]) == (1.0, 1.0)
    assert roc["x"] == sorted(roc["x"])
    assert roc["auc"] == pytest.approx(roc_auc_score(y, proba[:, 1]))


def test_multiclass_report_has_one_curve_per_class() -> None:
    n = 3000
    y, proba = _classification_data(seed=10, n=n, n_classes=3)
    classes = ["red", "green", "blue"]
    report = metrics.classification_report(y, proba, classes)
    pred = proba.argmax(axis=1)

    json.dumps(report, allow_nan=False)
    for kind in ("roc", "precision_recall", "calibration"):
        assert [c["class"] for c in report["curves"][kind]] == classes
    assert np.array_equal(
        np.array(report["confusion_matrix"]["matrix"]).sum(axis=1), np.bincount(y)
    )
    _check_curve_shapes(report, n)
    pr_green = report["curves"]["precision_recall"][1]
    assert pr_green["average_precision"] == pytest.approx(
        average_precision_score(y == 1, proba[:, 1])
    )
    assert report["metrics"]["f1_score_macro"] == pytest.approx(f1_score(y, pred, average="macro"))
    assert report["metrics"]["matthews_correlation"] == pytest.approx(matthews_corrcoef(y, pred))


def test_report_rejects_wrong_class_count() -> None:
    y, proba = _classification_data(seed=12, n=50, n_classes=3)
    with pytest.raises(InvalidInputError):
        metrics.classification_report(y, proba, ["a", "b"])


def test_regression_report_samples_deterministically() -> None:
    y, pred = _regression_data(seed=13, n=2000)
    report = metrics.regression_report(y, pred)

    assert json.loads(json.dumps(report, allow_nan=False)) == report
    assert set(report["metrics"]) == set(REGRESSION)
    sample = report["predicted_vs_true"]
    assert len(sample["true"]) == len(sample["predicted"]) == metrics.MAX_SCATTER_POINTS
    pairs = set(zip(y.tolist(), pred.tolist(), strict=True))
    assert all(p in pairs for p in zip(sample["true"], sample["predicted"], strict=True))
    assert metrics.regression_report(y, pred)["predicted_vs_true"] == sample
    residuals = report["residuals"]
    assert len(residuals["edges"]) == len(residuals["counts"]) + 1 == 21
    assert sum(residuals["counts"]) == len(y)


def test_small_regression_report_keeps_every_point() -> None:
    y, pred = _regression_data(seed=14, n=40)
    sample = metrics.regression_report(y, pred)["predicted_vs_true"]

    assert sample == {"true": y.tolist(), "predicted": pred.tolist()}


@pytest.mark.parametrize(
    ("name", "task", "ranked_by"),
    [
        ("accuracy", "classification", "log_loss"),
        ("f1_score_weighted", "classification", "log_loss"),
        ("AUC_weighted", "classification", "AUC_weighted"),
        ("balanced_accuracy", "classification", "balanced_accuracy"),
        ("r2", "regression", "r2"),
    ],
)
def test_search_objective_stands_in_for_accuracy_like_metrics(
    name: str, task: str, ranked_by: str
) -> None:
    assert metrics.search_objective(metrics.get_metric(name, task)).name == ranked_by

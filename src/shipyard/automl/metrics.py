"""Metrics: the registry the search scores trials with, and reports on the best model.

Classification metrics take integer class codes ``0..K-1`` and an ``(n, K)`` probability
matrix; label metrics use its argmax. Regression metrics take two 1-D float arrays. Names
follow Azure AutoML so that leaderboards read the same. A metric that is undefined on the
given fold (AUC when only one class is present) scores ``nan``; reports write it as ``None``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
from sklearn.calibration import calibration_curve
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    confusion_matrix,
    f1_score,
    log_loss,
    matthews_corrcoef,
    mean_absolute_error,
    precision_recall_curve,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    roc_curve,
    root_mean_squared_error,
)

from shipyard.automl.catalog import DEFAULT_METRICS, METRIC_ALIASES, METRICS, TASKS, Task
from shipyard.core.errors import InvalidInputError

Array: TypeAlias = npt.NDArray[Any]
ScoreFn: TypeAlias = Callable[[Array, Array], float]

MAX_CURVE_POINTS = 101
"""Most points kept per ROC or precision-recall curve in a report."""
MAX_SCATTER_POINTS = 500
"""Most points kept in a regression report's predicted-vs-true sample."""
CALIBRATION_BINS = 10
RESIDUAL_BINS = 20
# Keeps log(p) finite for a model that is certain and wrong.
_PROBA_EPS = 1e-15


@dataclass(frozen=True)
class Metric:
    """A named score: its task, its direction and the function that computes it."""

    name: str
    task: Task
    greater_is_better: bool
    needs_proba: bool
    score_fn: ScoreFn = field(repr=False, compare=False)


# --- classification -------------------------------------------------------------------------


def _labels(proba: Array) -> list[int]:
    return list(range(proba.shape[1]))


def _predicted(proba: Array) -> Array:
    return np.asarray(np.argmax(proba, axis=1))


def _accuracy(y: Array, proba: Array) -> float:
    return float(accuracy_score(y, _predicted(proba)))


def _averaged(fn: Callable[..., Any], average: str) -> ScoreFn:
    def scorer(y: Array, proba: Array) -> float:
        labels = _labels(proba) if average == "weighted" else None
        return float(fn(y, _predicted(proba), labels=labels, average=average, zero_division=0))

    return scorer


def _balanced_accuracy(y: Array, proba: Array) -> float:
    # Macro recall over the classes present: sklearn's balanced_accuracy_score warns when
    # a fold predicts a class its y_true lacks, and tests turn warnings into errors.
    present = np.unique(y).tolist()
    return float(
        recall_score(y, _predicted(proba), labels=present, average="macro", zero_division=0)
    )


def _norm_macro_recall(y: Array, proba: Array) -> float:
    chance = 1.0 / int(proba.shape[1])
    return (_balanced_accuracy(y, proba) - chance) / (1.0 - chance)


def _ovr_weighted(binary_fn: Callable[..., Any], y: Array, proba: Array, both: bool) -> float:
    """Support-weighted mean of a one-vs-rest score over the classes that make it defined."""
    scores: list[float] = []
    weights: list[int] = []
    for code in _labels(proba):
        is_pos = y == code
        n_pos = int(is_pos.sum())
        if n_pos == 0 or (both and n_pos == len(y)):
            continue
        scores.append(float(binary_fn(is_pos, proba[:, code])))
        weights.append(n_pos)
    if not scores:
        return math.nan
    return float(np.average(scores, weights=weights))


def _auc_weighted(y: Array, proba: Array) -> float:
    # For two classes both one-vs-rest AUCs equal the positive class's AUC.
    return _ovr_weighted(roc_auc_score, y, proba, both=True)


def _ap_weighted(y: Array, proba: Array) -> float:
    return _ovr_weighted(average_precision_score, y, proba, both=False)


def _log_loss(y: Array, proba: Array) -> float:
    clipped = np.clip(proba, _PROBA_EPS, 1.0 - _PROBA_EPS)
    clipped = clipped / clipped.sum(axis=1, keepdims=True)
    return float(log_loss(y, clipped, labels=_labels(proba)))


# --- regression -----------------------------------------------------------------------------


def _rmse(y: Array, pred: Array) -> float:
    return float(root_mean_squared_error(y, pred))


def _mae(y: Array, pred: Array) -> float:
    return float(mean_absolute_error(y, pred))


def _normalized(fn: ScoreFn) -> ScoreFn:
    def scorer(y: Array, pred: Array) -> float:
        span = float(np.max(y) - np.min(y))
        value = fn(y, pred)
        return value / span if span > 0 else value

    return scorer


def _r2(y: Array, pred: Array) -> float:
    return float(r2_score(y, pred))


def _average_ranks(values: Array) -> Array:
    """Ranks from 1, ties sharing their mean rank (scipy's rankdata 'average')."""
    order = np.argsort(values, kind="mergesort")
    inverse = np.empty(len(values), dtype=np.intp)
    inverse[order] = np.arange(len(values))
    ordered = values[order]
    is_new = np.r_[True, ordered[1:] != ordered[:-1]]
    dense = np.cumsum(is_new)[inverse]
    starts = np.r_[np.nonzero(is_new)[0], len(values)]
    return np.asarray(0.5 * (starts[dense] + starts[dense - 1] + 1))


def _spearman(y: Array, pred: Array) -> float:
    rank_true, rank_pred = _average_ranks(y), _average_ranks(pred)
    if np.ptp(rank_true) == 0 or np.ptp(rank_pred) == 0:
        return 0.0
    return float(np.corrcoef(rank_true, rank_pred)[0, 1])


# --- registry -------------------------------------------------------------------------------


@functools.cache
def _registry() -> Mapping[str, Metric]:
    """Every metric, in the order of the names table (`catalog.METRICS`)."""
    # name: (score function, greater is better, needs probabilities)
    scorers: dict[str, tuple[ScoreFn, bool, bool]] = {
        "accuracy": (_accuracy, True, False),
        "AUC_weighted": (_auc_weighted, True, True),
        "average_precision_score_weighted": (_ap_weighted, True, True),
        "f1_score_weighted": (_averaged(f1_score, "weighted"), True, False),
        "balanced_accuracy": (_balanced_accuracy, True, False),
        "norm_macro_recall": (_norm_macro_recall, True, False),
        "log_loss": (_log_loss, False, True),
        "precision_score_weighted": (_averaged(precision_score, "weighted"), True, False),
        "recall_score_weighted": (_averaged(recall_score, "weighted"), True, False),
        "r2": (_r2, True, False),
        "rmse": (_rmse, False, False),
        "normalized_rmse": (_normalized(_rmse), False, False),
        "mae": (_mae, False, False),
        "normalized_mae": (_normalized(_mae), False, False),
        "spearman_correlation": (_spearman, True, False),
    }
    metrics = {}
    for task in TASKS:
        for name in METRICS[task]:
            score_fn, greater, proba = scorers[name]
            metrics[name] = Metric(name, task, greater, proba, score_fn)
    return MappingProxyType(metrics)


def _check_task(task: str) -> Task:
    if task in TASKS:
        return task
    raise InvalidInputError(f"Unknown task {task!r}; expected one of: {', '.join(TASKS)}.")


def metric_names(task: str) -> list[str]:
    """Names of the metrics available for a task, in registry order."""
    return list(METRICS[_check_task(task)])


def get_metric(name: str, task: str) -> Metric:
    """The metric called `name` (case-insensitive, or an alias such as `auc`) for `task`."""
    valid = metric_names(task)
    by_lower = {key.lower(): key for key in _registry()} | dict(METRIC_ALIASES)
    canonical = by_lower.get(name.strip().lower())
    if canonical is None:
        raise InvalidInputError(
            f"Unknown metric {name!r} for {task}; valid metrics: {', '.join(valid)}."
        )
    metric = _registry()[canonical]
    if metric.task != task:
        raise InvalidInputError(
            f"Metric {canonical!r} is a {metric.task} metric and cannot score {task}; "
            f"valid metrics: {', '.join(valid)}."
        )
    return metric


_RANKED_BY_LOG_LOSS = frozenset(
    {"accuracy", "f1_score_weighted", "precision_score_weighted", "recall_score_weighted"}
)


def search_objective(metric: Metric) -> Metric:
    """The metric the search ranks trials and builds ensembles by, for a primary metric.

    Accuracy-like metrics are step functions of the probabilities: ranking many
    configurations and ensemble weights by them on validation folds picks the lucky ones,
    and those lose to a default LightGBM on new rows (measured on Bank Marketing: a 300 s
    run ranked by accuracy scored 0.9150 on unseen rows against default LightGBM's 0.9155).
    Log loss is a proper scoring rule whose best model is also the most accurate one in
    expectation, so it stands in for them; scores are still reported in the primary metric.
    """
    if metric.name in _RANKED_BY_LOG_LOSS:
        return get_metric("log_loss", metric.task)
    return metric


def default_metric(task: str) -> str:
    """Name of the metric the search optimizes when the settings name none."""
    return DEFAULT_METRICS[_check_task(task)]


def _check_classification(y_true: Array, proba: Array) -> tuple[Array, Array]:
    y = np.asarray(y_true)
    p = np.asarray(proba, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2 or y.ndim != 1 or len(y) != len(p) or len(y) == 0:
        raise InvalidInputError(
            f"Classification needs 1-D codes and an (n, K>=2) probability matrix; "
            f"got shapes {y.shape} and {p.shape}."
        )
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= p.shape[1]:
        raise InvalidInputError(f"Class codes must be integers in 0..{p.shape[1] - 1}.")
    return y.astype(np.int64), p


def _check_regression(y_true: Array, y_pred: Array) -> tuple[Array, Array]:
    y = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if y.ndim != 1 or y.shape != p.shape or len(y) == 0:
        raise InvalidInputError(
            f"Regression needs two 1-D arrays of one length; got {y.shape} and {p.shape}."
        )
    return y, p


def score(metric: Metric, y_true: Array, pred: Array) -> float:
    """The metric's value: `pred` is an (n, K) probability matrix or 1-D predictions."""
    if metric.task == "classification":
        return metric.score_fn(*_check_classification(y_true, pred))
    return metric.score_fn(*_check_regression(y_true, pred))


def loss(metric: Metric, y_true: Array, pred: Array) -> float:
    """A value to minimize: the score, negated when greater is better."""
    value = score(metric, y_true, pred)
    return -value if metric.greater_is_better else value


# --- reports --------------------------------------------------------------------------------


def _json_float(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _floats(values: Array) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float64)]


def _curve_indices(x: Array, y: Array) -> Array:
    """At most MAX_CURVE_POINTS indices, spread evenly by arc length, endpoints kept."""
    if len(x) <= MAX_CURVE_POINTS:
        return np.arange(len(x))
    arc = np.r_[0.0, np.cumsum(np.hypot(np.diff(x), np.diff(y)))]
    if arc[-1] > 0:
        targets = np.linspace(0.0, arc[-1], MAX_CURVE_POINTS)
        picked = np.clip(np.searchsorted(arc, targets), 0, len(x) - 1)
    else:
        picked = np.linspace(0, len(x) - 1, MAX_CURVE_POINTS).round().astype(np.intp)
    return np.unique(np.r_[0, picked, len(x) - 1])


def _curve(name: str, x: Array, y: Array, thresholds: Array) -> dict[str, Any]:
    keep = _curve_indices(x, y)
    finite = np.where(np.isfinite(thresholds), thresholds, 1.0)
    return {
        "class": name,
        "x": _floats(x[keep]),
        "y": _floats(y[keep]),
        "thresholds": _floats(finite[keep]),
    }


def _roc(name: str, is_pos: Array, scores: Array) -> dict[str, Any]:
    fpr, tpr, thresholds = roc_curve(is_pos, scores)
    curve = _curve(name, fpr, tpr, thresholds)
    curve["auc"] = float(roc_auc_score(is_pos, scores))
    return curve


def _precision_recall(name: str, is_pos: Array, scores: Array) -> dict[str, Any]:
    precision, recall, thresholds = precision_recall_curve(is_pos, scores)
    # The last point (recall 0, precision 1) has no threshold; above every score is 1.0.
    curve = _curve(name, recall, precision, np.r_[thresholds, 1.0])
    curve["average_precision"] = float(average_precision_score(is_pos, scores))
    return curve


def _calibration(name: str, is_pos: Array, scores: Array) -> dict[str, Any]:
    fraction, mean = calibration_curve(is_pos, scores, n_bins=CALIBRATION_BINS, pos_label=1)
    # The same binning as calibration_curve's "uniform" strategy, to report bin sizes.
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    counts = np.bincount(np.searchsorted(edges[1:-1], scores), minlength=CALIBRATION_BINS)
    return {
        "class": name,
        "mean_predicted": _floats(mean),
        "fraction_positive": _floats(fraction),
        "count": [int(c) for c in counts[counts > 0]],
    }


def _class_curves(y: Array, proba: Array, classes: list[str]) -> dict[str, list[dict[str, Any]]]:
    curves: dict[str, list[dict[str, Any]]] = {
        "roc": [],
        "precision_recall": [],
        "calibration": [],
    }
    codes = [1] if len(classes) == 2 else range(len(classes))
    for code in codes:
        is_pos = (y == code).astype(np.int64)
        n_pos = int(is_pos.sum())
        scores = np.clip(proba[:, code], 0.0, 1.0)
        if 0 < n_pos < len(y):
            curves["roc"].append(_roc(classes[code], is_pos, scores))
        if n_pos > 0:
            curves["precision_recall"].append(_precision_recall(classes[code], is_pos, scores))
        curves["calibration"].append(_calibration(classes[code], is_pos, scores))
    return curves


def classification_report(y_true: Array, proba: Array, classes: list[str]) -> dict[str, Any]:
    """Metrics, confusion matrix and per-class curves for out-of-fold probabilities."""
    y, p = _check_classification(y_true, proba)
    if len(classes) != p.shape[1]:
        raise InvalidInputError(f"Got {len(classes)} class names for {p.shape[1]} columns.")
    metrics = {
        name: _json_float(score(get_metric(name, "classification"), y, p))
        for name in metric_names("classification")
    }
    macro = {"precision": precision_score, "recall": recall_score, "f1": f1_score}
    for short, fn in macro.items():
        metrics[f"{short}_score_macro"] = _json_float(_averaged(fn, "macro")(y, p))
    pred = _predicted(p)
    metrics["matthews_correlation"] = _json_float(float(matthews_corrcoef(y, pred)))
    matrix = confusion_matrix(y, pred, labels=_labels(p))
    return {
        "metrics": metrics,
        "confusion_matrix": {
            "labels": list(classes),
            "matrix": matrix.astype(int).tolist(),
        },
        "curves": _class_curves(y, p, classes),
    }


def regression_report(y_true: Array, y_pred: Array) -> dict[str, Any]:
    """Metrics, a residual histogram and a predicted-vs-true sample for regression."""
    y, p = _check_regression(y_true, y_pred)
    metrics = {
        name: _json_float(score(get_metric(name, "regression"), y, p))
        for name in metric_names("regression")
    }
    counts, edges = np.histogram(y - p, bins=RESIDUAL_BINS)  # residual = true - predicted
    keep = np.arange(len(y))
    if len(y) > MAX_SCATTER_POINTS:
        rng = np.random.default_rng(0)
        keep = np.sort(rng.choice(len(y), size=MAX_SCATTER_POINTS, replace=False))
    return {
        "metrics": metrics,
        "residuals": {"edges": _floats(edges), "counts": [int(c) for c in counts]},
        "predicted_vs_true": {"true": _floats(y[keep]), "predicted": _floats(p[keep])},
    }

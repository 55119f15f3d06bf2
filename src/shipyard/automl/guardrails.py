"""Data guardrails: checks on a training frame, reported before training and kept in the result.

Five checks, always reported in this order: class imbalance, missing values,
high-cardinality categoricals, dropped columns and suspected target leakage. Each ends
"passed" (nothing found), "fixed" (found and handled by the engine) or "alerted" (found;
the user should look). Pure: pandas, NumPy and scikit-learn, plus the column schema.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.preprocessing import TargetEncoder

from shipyard.automl.columns import MAX_CATEGORIES, ColumnKind, ColumnSpec, InputSchema, to_boolean
from shipyard.core.errors import DataError, InvalidInputError

PASSED = "passed"
FIXED = "fixed"
ALERTED = "alerted"

IMBALANCE_RATIO = 0.2  # smallest / largest class count below this is imbalanced
HIGH_CARDINALITY = 100  # a categorical column with more distinct values is high-cardinality,
HIGH_CARDINALITY_SHARE = 0.5  # as is one (50+ rows) whose distinct values exceed this share
LEAKAGE_SAMPLE_ROWS = 10_000  # the leakage check scores columns on a seeded sample

_TASKS = ("classification", "regression")
_MIN_CARDINALITY_ROWS = 50
_MIN_LEAKAGE_ROWS = 30
_FOLDS = 3
_BINS = 32
_LISTED = 5

Splits = list[tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class Guardrail:
    """One data check: what it found, how it ended, and its figures."""

    name: str
    status: str
    message: str
    details: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form for the run result."""
        return asdict(self)


def check_data(
    features: pd.DataFrame,
    target: pd.Series,
    schema: InputSchema,
    task: str,
    *,
    imbalance_action: str = "no class weighting",
    seed: int = 0,
) -> list[Guardrail]:
    """Run the five data guardrails on a training frame, always all five, in a fixed order."""
    if task not in _TASKS:
        raise InvalidInputError(f"Unknown task {task!r}; expected one of: {', '.join(_TASKS)}.")
    if len(features) != len(target):
        raise InvalidInputError(f"{len(features)} rows of features but {len(target)} targets")
    y = target.to_numpy()  # by position: the engine's target carries a fresh index
    return [
        _class_imbalance(y, task, imbalance_action),
        _missing_values(features, schema),
        _high_cardinality(features, schema),
        _dropped_columns(schema),
        _target_leakage(features, y, schema, task, seed),
    ]


def _class_imbalance(y: np.ndarray, task: str, action: str) -> Guardrail:
    name = "class_imbalance"
    if task == "regression":
        return Guardrail(name, PASSED, "Not applicable to regression.", {})
    counts = pd.Series(y).dropna().value_counts()
    if len(counts) < 2:
        raise DataError("the target has a single class; classification needs two or more")
    total = int(counts.sum())
    ratio = float(counts.iloc[-1] / counts.iloc[0])
    details = {
        "counts": {str(k): int(v) for k, v in counts.items()},
        "shares": {str(k): round(float(v) / total, 4) for k, v in counts.items()},
        "ratio": round(ratio, 4),
        "threshold": IMBALANCE_RATIO,
        "action": action,
    }
    small, large = str(counts.index[-1]), str(counts.index[0])
    figures = (
        f"the smallest class {small!r} has {int(counts.iloc[-1]):,} rows against "
        f"{int(counts.iloc[0]):,} for {large!r} (ratio {ratio:.3f}"
    )
    if ratio >= IMBALANCE_RATIO:
        return Guardrail(name, PASSED, f"Classes are balanced enough: {figures}).", details)
    message = f"Classes are imbalanced: {figures}, below {IMBALANCE_RATIO}); {action}."
    return Guardrail(name, ALERTED, message, details)


def _missing_values(features: pd.DataFrame, schema: InputSchema) -> Guardrail:
    name, rows = "missing_values", len(features)
    counts = {spec.name: int(features[spec.name].isna().sum()) for spec in schema.used}
    found = {k: {"count": n, "fraction": round(n / rows, 4)} for k, n in counts.items() if n}
    details: dict[str, Any] = {"rows": rows, "columns": found}
    if not found:
        return Guardrail(name, PASSED, "No missing values in the columns the model uses.", details)
    details["imputation"] = {
        "numeric, boolean and datetime": "the learners' native handling or the median",
        "categorical": "its own 'missing' value",
    }
    listed = _listing(f"{k!r} {v['count']:,} ({v['fraction']:.1%})" for k, v in found.items())
    message = (
        f"{len(found)} column(s) have missing values: {listed}; imputed inside the model "
        "(numeric, boolean and datetime by the learners' native handling or the median, "
        "categorical as its own 'missing' value)."
    )
    return Guardrail(name, FIXED, message, details)


def _high_cardinality(features: pd.DataFrame, schema: InputSchema) -> Guardrail:
    name = "high_cardinality"
    found: dict[str, dict[str, Any]] = {}
    for spec in schema.used:
        if spec.kind is not ColumnKind.CATEGORICAL:
            continue
        counts = features[spec.name].dropna().astype(str).value_counts()
        distinct, rows = len(counts), int(counts.sum())
        share = distinct / rows if rows else 0.0
        if distinct > HIGH_CARDINALITY or (
            rows >= _MIN_CARDINALITY_ROWS and share > HIGH_CARDINALITY_SHARE
        ):
            kept = min(distinct, MAX_CATEGORIES)
            found[spec.name] = {
                "distinct": distinct,
                "rows": rows,
                "share": round(share, 4),
                "kept": kept,
                "kept_row_share": round(int(counts.iloc[:kept].sum()) / rows, 4),
            }
    details: dict[str, Any] = {"columns": found, "max_categories": MAX_CATEGORIES}
    if not found:
        return Guardrail(
            name, PASSED, "No categorical column has too many distinct values.", details
        )
    listed = _listing(
        f"{k!r} {v['distinct']:,} distinct in {v['rows']:,} rows" for k, v in found.items()
    )
    message = (
        f"{len(found)} categorical column(s) have many distinct values: {listed}; "
        f"only the {MAX_CATEGORIES:,} most frequent values of a column are kept, "
        "rarer ones share one 'other' code."
    )
    return Guardrail(name, ALERTED, message, details)


def _dropped_columns(schema: InputSchema) -> Guardrail:
    name = "dropped_columns"
    dropped = {
        c.name: c.drop_reason or "unusable" for c in schema.columns if c.kind is ColumnKind.DROPPED
    }
    if not dropped:
        return Guardrail(name, PASSED, "No column was dropped.", {"columns": {}})
    listed = _listing(f"{k!r} ({v})" for k, v in dropped.items())
    return Guardrail(
        name, FIXED, f"{len(dropped)} column(s) dropped: {listed}.", {"columns": dropped}
    )


def _listing(items: Iterable[str]) -> str:
    shown = list(items)
    more = len(shown) - _LISTED
    return ", ".join(shown[:_LISTED]) + (f" and {more} more" if more > 0 else "")


# Target leakage. Each used column gets a single-column model: its codes (categories, or
# up to 32 quantile bins; missing is a code of its own) and a target encoder cross-fitted
# on 3 folds, scored out of fold by AUC (weighted one-vs-rest) or R². A ridge model over
# the out-of-fold encodings scores all columns together ("all") and all but one ("rest").
# Flagged: a column almost perfect alone (>= 0.95), or one strong alone (AUC >= 0.75,
# R² >= 0.5) that is about as good as the rest together (alone >= rest - 0.05) and adds
# what no other column has (all >= rest + 0.05), the mark of a value recorded after the
# outcome. The last test spares redundant columns that stand for one real factor.
# Bank Marketing (10,000-row samples, seeds 0-9): `duration` alone 0.806-0.818 AUC, rest
# 0.774-0.804, all 0.928-0.937 (alone - rest +0.003..+0.043, all - rest 0.128-0.160):
# flagged. Macro-economic columns (cons.price.idx, cons.conf.idx, euribor3m, nr.employed,
# emp.var.rate) alone 0.743-0.792, rest 0.927-0.937: not flagged; without `duration` in the
# data their rest is within 0.005 of all. Every other column is below 0.67 alone.
# `duration` leads the next-best column by only 0.014-0.045: a gap rule cannot single it out.
@dataclass(frozen=True)
class _Bar:
    metric: str
    perfect: float
    strong: float


_AUC_BAR = _Bar("AUC", perfect=0.95, strong=0.75)
_R2_BAR = _Bar("R²", perfect=0.95, strong=0.5)
_MARGIN = 0.05
_MAX_CANDIDATES = 10


@dataclass(frozen=True)
class _Scores:
    alone: dict[str, float]
    rest: dict[str, float]  # strong columns only
    together: float | None  # every column; None when no column is strong

    def is_leaky(self, name: str, bar: _Bar) -> bool:
        alone = self.alone[name]
        if alone >= bar.perfect:
            return True
        if name not in self.rest or self.together is None:
            return False
        rest = self.rest[name]
        return alone >= rest - _MARGIN and self.together >= rest + _MARGIN


def _target_leakage(
    features: pd.DataFrame, y: np.ndarray, schema: InputSchema, task: str, seed: int
) -> Guardrail:
    name, bar, used = "target_leakage", _R2_BAR if task == "regression" else _AUC_BAR, schema.used
    rows, target = _leakage_sample(y, task, seed)
    reason = _unchecked_reason(used, target, task)
    if reason:
        details: dict[str, Any] = {"metric": bar.metric, "scores": {}, "flagged": []}
        return Guardrail(name, PASSED, f"Not checked: {reason}.", details)
    codes = np.column_stack([_codes(spec, features[spec.name].iloc[rows]) for spec in used])
    names = [spec.name for spec in used]
    scores = _leakage_scores(names, codes, target, task, bar, _splits(target, task, seed))
    flagged = [k for k in names if scores.is_leaky(k, bar)]
    ranked = sorted(scores.alone.items(), key=lambda kv: -kv[1])
    details = {
        "metric": bar.metric,
        "sample_rows": len(rows),
        "scores": {k: round(v, 4) for k, v in ranked},
        "rest_scores": {k: round(v, 4) for k, v in scores.rest.items()},
        "all_columns_score": None if scores.together is None else round(scores.together, 4),
        "flagged": flagged,
        "thresholds": {"perfect": bar.perfect, "strong": bar.strong, "margin": _MARGIN},
    }
    message = _leakage_message(bar, scores, flagged)
    return Guardrail(name, ALERTED if flagged else PASSED, message, details)


def _leakage_scores(
    names: list[str], codes: np.ndarray, target: np.ndarray, task: str, bar: _Bar, splits: Splits
) -> _Scores:
    """Each column's score alone; for strong columns, also the others' and everyone's."""
    blocks = _encodings(codes, target, task, splits)
    alone = {k: _score(target, b, task) for k, b in zip(names, blocks, strict=True)}
    strong = [j for j, k in enumerate(names) if bar.strong <= alone[k] < bar.perfect]
    # bounded work on wide data: a weaker strong column has the strongest in its rest
    strong = sorted(strong, key=lambda j: -alone[names[j]])[:_MAX_CANDIDATES]
    if len(names) < 2 or not strong:
        return _Scores(alone, {}, None)
    rest = {
        names[j]: _stacked_score(blocks[:j] + blocks[j + 1 :], target, task, splits) for j in strong
    }
    return _Scores(alone, rest, _stacked_score(blocks, target, task, splits))


def _leakage_message(bar: _Bar, scores: _Scores, flagged: list[str]) -> str:
    alone = scores.alone
    if not flagged:
        best = max(alone, key=lambda k: alone[k])
        return (
            f"No single column predicts the target suspiciously well (best alone: {best!r}, "
            f"{bar.metric} {alone[best]:.2f})."
        )
    parts = []
    for k in flagged:
        why = (
            "almost perfect"
            if alone[k] >= bar.perfect
            else f"about as much as all other columns together ({scores.rest[k]:.2f})"
        )
        parts.append(f"column {k!r} alone reaches {bar.metric} {alone[k]:.2f}, {why}")
    it = "it" if len(flagged) == 1 else "each"
    text = "; ".join(parts)
    return (
        f"{text[0].upper()}{text[1:]}: {it} may leak the outcome (for example, a value "
        "known only after the fact); kept."
    )


def _leakage_sample(y: np.ndarray, task: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rows = np.flatnonzero(pd.notna(y))
    if len(rows) > LEAKAGE_SAMPLE_ROWS:
        rng = np.random.default_rng(seed)
        rows = np.sort(rng.choice(rows, LEAKAGE_SAMPLE_ROWS, replace=False))
    if task == "regression":
        return rows, pd.to_numeric(pd.Series(y[rows]), errors="coerce").to_numpy(dtype=float)
    return rows, pd.factorize(y[rows])[0]


def _unchecked_reason(used: list[ColumnSpec], target: np.ndarray, task: str) -> str | None:
    if not used:
        return "no usable column"
    if len(target) < _MIN_LEAKAGE_ROWS:
        return f"only {len(target)} rows with a target"
    if task == "regression" and not (np.all(np.isfinite(target)) and np.ptp(target) > 0):
        return "the target is constant or not a finite number"
    if task == "classification" and len(np.unique(target)) < 2:
        return "a single class in the sample"
    return None


def _codes(spec: ColumnSpec, values: pd.Series) -> np.ndarray:
    """Small integer codes: the column's categories, or quantile bins; -1 for missing."""
    if spec.kind is ColumnKind.CATEGORICAL:
        known = pd.Index(list(spec.categories))
        codes: np.ndarray = known.get_indexer(pd.Index(values.astype(str))).astype(np.int64)
        codes[codes < 0] = len(known)  # rarer values share one code, as in the model
        codes[values.isna().to_numpy()] = -1
        return codes
    x = _as_float(spec, values)
    finite = x[np.isfinite(x)]
    distinct = np.unique(finite)
    if len(distinct) <= _BINS:
        edges = distinct[1:]
    else:
        edges = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, _BINS + 1)[1:-1]))
    codes = np.searchsorted(edges, x, side="right").astype(np.int64)
    codes[np.isnan(x)] = -1
    return codes


def _as_float(spec: ColumnSpec, values: pd.Series) -> np.ndarray:
    if spec.kind is ColumnKind.BOOLEAN:
        return np.asarray(to_boolean(spec.name, values), dtype=float)
    if spec.kind is ColumnKind.DATETIME:
        stamps = pd.to_datetime(values, errors="coerce", format="mixed", utc=True)
        seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        return seconds.to_numpy(dtype=float, na_value=np.nan)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _splits(target: np.ndarray, task: str, seed: int) -> Splits:
    stratify = task == "classification" and np.bincount(target).min() >= _FOLDS
    splitter = (StratifiedKFold if stratify else KFold)(_FOLDS, shuffle=True, random_state=seed)
    return list(splitter.split(np.zeros(len(target)), target))


def _encodings(
    codes: np.ndarray, target: np.ndarray, task: str, splits: Splits
) -> list[np.ndarray]:
    """Out-of-fold single-column predictions, one block (rows x outputs) per column."""
    if task == "regression":
        kind = "continuous"
    else:
        kind = "binary" if len(np.unique(target)) == 2 else "multiclass"
    encoded = TargetEncoder(target_type=kind, cv=splits).fit_transform(codes, target)
    return list(np.split(np.asarray(encoded, dtype=float), codes.shape[1], axis=1))


def _stacked_score(
    blocks: list[np.ndarray], target: np.ndarray, task: str, splits: Splits
) -> float:
    """Out-of-fold score of a ridge model over several columns' encodings."""
    encodings = np.hstack(blocks)
    width = blocks[0].shape[1]
    if task == "regression" or width == 1:
        goal = target.astype(float).reshape(-1, 1)
    else:
        goal = np.eye(width)[target]
    predicted = np.empty_like(goal)
    for train, test in splits:
        model = Ridge(alpha=1.0).fit(encodings[train], goal[train])
        predicted[test] = np.asarray(model.predict(encodings[test])).reshape(len(test), -1)
    return _score(target, predicted, task)


def _score(target: np.ndarray, predicted: np.ndarray, task: str) -> float:
    if task == "regression":
        return float(r2_score(target, predicted[:, 0]))
    if predicted.shape[1] == 1:
        positive = (target == 1).reshape(-1, 1)
    else:
        positive = target.reshape(-1, 1) == np.arange(predicted.shape[1])
    # AUC by the rank-sum formula, ties averaged; weighted one-vs-rest over the classes
    ranks = pd.DataFrame(predicted).rank(method="average").to_numpy()
    n_pos = positive.sum(axis=0).astype(float)
    n_neg = len(target) - n_pos
    valid = (n_pos > 0) & (n_neg > 0)
    if not valid.any():
        return 0.5
    rank_sum = (ranks * positive).sum(axis=0)[valid]
    auc = (rank_sum - n_pos[valid] * (n_pos[valid] + 1) / 2) / (n_pos[valid] * n_neg[valid])
    return float(np.average(auc, weights=n_pos[valid]))

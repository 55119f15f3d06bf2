"""Ensembles built on out-of-fold predictions: greedy selection (voting) and stacking.

Voting follows Caruana et al. (2004), "Ensemble selection from libraries of models":
start from the best single model, then repeatedly add, with replacement, the model
whose addition most improves the metric of the averaged predictions, and keep the best
prefix. Stacking fits a regularized linear model on the members' out-of-fold outputs,
its own score measured by cross-validation over those outputs. Both cap how many distinct
models they hold and how long those take to score a row, so ensembles stay lean.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold

from shipyard.automl import metrics

_TIE_BREAK = 1e-4  # thresholded metrics (accuracy) tie often: prefer the better log loss


@dataclass(frozen=True)
class Candidate:
    """A model the ensemble may use: its out-of-fold predictions and its row latency."""

    key: int
    predictions: np.ndarray
    latency_ms: float


@dataclass(frozen=True)
class SelectionLimits:
    """How large an ensemble may grow."""

    rounds: int = 25
    max_members: int = 5
    max_latency_ms: float = float("inf")


def greedy_selection(
    candidates: list[Candidate], y: np.ndarray, metric: metrics.Metric, limits: SelectionLimits
) -> dict[int, float]:
    """Caruana's ensemble selection with replacement; returns member key -> weight."""
    if not candidates:
        return {}
    losses = [_loss(metric, y, c.predictions) for c in candidates]
    first = int(np.argmin(losses))
    counts: Counter[int] = Counter({first: 1})
    total = candidates[first].predictions.astype(float).copy()
    best_loss, best_counts = losses[first], Counter(counts)
    for size in range(2, limits.rounds + 1):
        choice, choice_loss = -1, np.inf
        for i, cand in enumerate(candidates):
            if i not in counts and not _fits(counts, i, candidates, limits):
                continue
            loss = _loss(metric, y, (total + cand.predictions) / size)
            if loss < choice_loss:
                choice, choice_loss = i, loss
        if choice < 0:
            break
        counts[choice] += 1
        total += candidates[choice].predictions
        if choice_loss < best_loss:
            best_loss, best_counts = choice_loss, Counter(counts)
    n = sum(best_counts.values())
    return {candidates[i].key: c / n for i, c in sorted(best_counts.items())}


def blend(predictions: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """Weighted average of member predictions."""
    out = np.zeros_like(predictions[0], dtype=float)
    for pred, w in zip(predictions, weights, strict=True):
        out += w * pred
    return out


def _fits(counts: Counter[int], i: int, candidates: list[Candidate], lim: SelectionLimits) -> bool:
    if len(counts) >= lim.max_members:
        return False
    latency = sum(candidates[j].latency_ms for j in counts) + candidates[i].latency_ms
    return latency <= lim.max_latency_ms


def _loss(metric: metrics.Metric, y: np.ndarray, pred: np.ndarray) -> float:
    loss = metrics.loss(metric, y, pred)
    if metric.task == "classification" and metric.name != "log_loss":
        loss += _TIE_BREAK * metrics.score(
            metrics.get_metric("log_loss", "classification"), y, pred
        )
    return loss


class Stacker:
    """A linear model over member outputs (log-odds for classification)."""

    def __init__(self, task: str, seed: int) -> None:
        self.task = task
        self.seed = seed
        self.model: LogisticRegression | Ridge | None = None

    def features(self, predictions: list[np.ndarray]) -> np.ndarray:
        """The meta-features: members' outputs, side by side."""
        if self.task == "regression":
            return np.column_stack(predictions)
        cols = [p[:, 1:] if p.shape[1] == 2 else p for p in predictions]
        clipped = np.clip(np.column_stack(cols), 1e-6, 1 - 1e-6)
        return np.asarray(np.log(clipped / (1 - clipped)))

    def cross_validate(self, predictions: list[np.ndarray], y: np.ndarray) -> np.ndarray:
        """Out-of-fold meta predictions over the members' out-of-fold predictions."""
        Z = self.features(predictions)
        out = (
            np.zeros((len(y), predictions[0].shape[1]))
            if self.task != "regression"
            else np.zeros(len(y))
        )
        folds = (
            StratifiedKFold(5, shuffle=True, random_state=self.seed)
            if self.task != "regression"
            else KFold(5, shuffle=True, random_state=self.seed)
        )
        for tr, va in folds.split(Z, y):
            out[va] = self._predict(self._new().fit(Z[tr], y[tr]), Z[va])
        return out

    def fit(self, predictions: list[np.ndarray], y: np.ndarray) -> Stacker:
        """Fit the meta model on every row."""
        self.model = self._new().fit(self.features(predictions), y)
        return self

    def predict(self, predictions: list[np.ndarray]) -> np.ndarray:
        """Combine member predictions into the ensemble's prediction."""
        if self.model is None:
            raise RuntimeError("the stacker is not fitted")
        return self._predict(self.model, self.features(predictions))

    def _new(self) -> LogisticRegression | Ridge:
        if self.task == "regression":
            return Ridge(alpha=1.0, random_state=self.seed)
        return LogisticRegression(C=1.0, max_iter=1000)

    def _predict(self, model: LogisticRegression | Ridge, Z: np.ndarray) -> np.ndarray:
        if self.task == "regression":
            return np.asarray(model.predict(Z))
        return np.asarray(model.predict_proba(Z))

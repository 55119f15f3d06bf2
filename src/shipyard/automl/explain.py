"""Global feature importance over the raw input columns, for any model or ensemble.

Permutation importance: shuffle one raw column's encoded features (the same permutation
for all of a column's features, so a datetime's parts move together) and measure how much
the loss grows. It works the same for a single model, a voting or a stacking ensemble,
and answers in the user's columns rather than the encoded ones.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shipyard.automl.featurize import Feature

_MAX_ROWS = 2000


def permutation_importance(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    features: list[Feature],
    loss: Callable[[np.ndarray, np.ndarray], float],
    *,
    seed: int,
    repeats: int = 2,
) -> list[dict[str, float | str]]:
    """Importance of each raw column, largest first; shares sum to 1 over positive ones.

    Args:
        predict: encoded rows to predictions.
        X, y: encoded rows and targets to measure on (sampled to 2,000 rows).
        features: the featurizer's features, naming each column's raw source.
        loss: (y, predictions) to a loss, lower is better.
    """
    rng = np.random.default_rng(seed)
    if len(y) > _MAX_ROWS:
        rows = rng.choice(len(y), _MAX_ROWS, replace=False)
        X, y = X[rows], y[rows]
    base = loss(y, predict(X))
    sources: dict[str, list[int]] = {}
    for i, feature in enumerate(features):
        sources.setdefault(feature.source, []).append(i)
    drops: dict[str, float] = {}
    for source, cols in sources.items():
        increases = []
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[:, cols] = X[rng.permutation(len(X))][:, cols]
            increases.append(loss(y, predict(shuffled)) - base)
        drops[source] = float(np.mean(increases))
    total = sum(max(d, 0.0) for d in drops.values()) or 1.0
    ranked = sorted(drops.items(), key=lambda kv: kv[1], reverse=True)
    return [
        {"column": name, "importance": max(d, 0.0) / total, "loss_increase": d}
        for name, d in ranked
    ]

"""What every learner provides: a search space, a cheap first configuration, and a fit.

A learner fits on the shared float matrix of `featurize.Featurizer` and returns a
`Predictor` whose `predict` gives class probabilities (n, k) for classification and values
(n,) for regression. Fits take a deadline and raise `TrialTimeout` past it, which is how
the search keeps its hard stop.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
import optuna

Params = dict[str, Any]


class TrialTimeout(Exception):
    """A fit passed its deadline and was abandoned."""


@dataclass(frozen=True)
class FitContext:
    """What a learner needs to know about the data and the machine."""

    task: str
    n_classes: int
    n_rows: int
    n_features: int
    categorical: tuple[int, ...]
    cardinalities: tuple[int, ...]
    n_jobs: int
    seed: int

    @property
    def is_classification(self) -> bool:
        return self.task == "classification"


class Predictor(Protocol):
    """A fitted learner."""

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, k) for classification, values (n,) for regression."""
        ...


class Learner(ABC):
    """A learner family with its search space."""

    name: ClassVar[str]
    tasks: ClassVar[frozenset[str]] = frozenset({"classification", "regression"})
    cost_rank: ClassVar[int] = 0  # cheaper learners are tried first

    @abstractmethod
    def initial(self, ctx: FitContext) -> Params:
        """A cheap configuration that is usually good: the first point of the search."""

    @abstractmethod
    def suggest(self, trial: optuna.Trial, ctx: FitContext) -> Params:
        """A configuration drawn from the search space, scaled by the data size."""

    @abstractmethod
    def fit(
        self,
        params: Params,
        X: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray | None,
        ctx: FitContext,
        deadline: float | None,
    ) -> Predictor:
        """Fit on encoded rows; raise `TrialTimeout` once `deadline` (monotonic) passes."""


def check_deadline(deadline: float | None) -> None:
    """Raise `TrialTimeout` if the monotonic clock is past `deadline`."""
    if deadline is not None and time.monotonic() > deadline:
        raise TrialTimeout


def binary_to_two_columns(p: np.ndarray) -> np.ndarray:
    """(n,) positive-class probabilities as an (n, 2) matrix."""
    p = np.asarray(p, dtype=float).reshape(-1)
    return np.column_stack([1.0 - p, p])


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Sample weights that give every class the same total weight."""
    classes, counts = np.unique(y, return_counts=True)
    per_class = len(y) / (len(classes) * counts)
    lookup = dict(zip(classes.tolist(), per_class.tolist(), strict=True))
    return np.array([lookup[v] for v in y.tolist()])

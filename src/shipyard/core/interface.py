"""Protocols shared across layers, so a layer can use what another builds without importing it.

`ScoringModel` is what the scoring service needs of a model: the AutoML engine's
`TabularModel` satisfies it, and `serving` depends on this protocol, never on `automl`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class ScoringModel(Protocol):
    """A fitted model that scores JSON-like records."""

    task: str
    classes_: np.ndarray | None
    descriptor: dict[str, Any]

    def predict_records(
        self, records: Sequence[Mapping[str, Any]], *, proba: bool = False
    ) -> np.ndarray:
        """Labels or values (or class probabilities with `proba`) for the records."""
        ...

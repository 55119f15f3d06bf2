"""AutoML fixtures: 200-row synthetic frames, fast settings and one tiny model per session.

Every AutoML run here caps its trials (`max_trials`) and uses one core; `budget_s` is only
a generous backstop, so outcomes never depend on how fast the machine is.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from shipyard.automl import AutoMLResult, AutoMLSettings, run_automl
from shipyard.automl.columns import infer_schema
from shipyard.automl.estimators.base import FitContext
from shipyard.automl.featurize import Featurizer
from tests.fixtures.automl import FAST_SETTINGS, ROWS, TASKS, MakeFrame, fast_settings, make_frame

__all__ = ["FAST_SETTINGS", "ROWS", "TASKS", "MakeFrame", "fast_settings", "make_frame"]


def encoded(frame: pd.DataFrame, kind: str) -> tuple[np.ndarray, np.ndarray, FitContext]:
    """Featurize a `make_frame` table as the engine does: rows, target codes and context."""
    features = frame.drop(columns=["y"])
    featurizer = Featurizer(infer_schema(features))
    X = featurizer.transform(features)
    if kind == "regression":
        y = frame["y"].to_numpy(dtype=float)
        task, n_classes = "regression", 0
    else:
        _, y = np.unique(frame["y"].to_numpy(), return_inverse=True)
        task, n_classes = "classification", int(y.max()) + 1
    ctx = FitContext(
        task=task,
        n_classes=n_classes,
        n_rows=len(y),
        n_features=X.shape[1],
        categorical=tuple(featurizer.categorical_indices),
        cardinalities=tuple(f.cardinality for f in featurizer.features if f.cardinality),
        n_jobs=1,
        seed=0,
    )
    return X, y.astype(np.int64) if n_classes else y, ctx


@pytest.fixture(name="fast_settings")
def fast_settings_fixture() -> Callable[..., AutoMLSettings]:
    """`fast_settings(**overrides)`: see `fast_settings`."""
    return fast_settings


@pytest.fixture(name="encoded")
def encoded_fixture() -> Callable[[pd.DataFrame, str], tuple[np.ndarray, np.ndarray, FitContext]]:
    """`encoded(frame, kind)`: see `encoded`."""
    return encoded


@pytest.fixture
def frame_of(seed: int) -> MakeFrame:
    """`frame_of(kind, rows=200)`: a synthetic table (see `make_frame`) for this test's seed."""

    def build(kind: str, rows: int = ROWS) -> pd.DataFrame:
        return make_frame(kind, seed, rows)

    return build


@pytest.fixture(scope="session")
def tiny_frame() -> pd.DataFrame:
    """The binary table the session's tiny model is trained on."""
    return make_frame("binary", seed=0)


@pytest.fixture(scope="session")
def tiny_result(tiny_frame: pd.DataFrame) -> AutoMLResult:
    """One quick binary run (linear and XGBoost, 3 trials), shared by the whole session.

    LightGBM is left out on purpose: on fewer than 620 rows its first configuration is out
    of its own search space and Optuna warns (see test_search.py); the model tests must not
    hinge on that.
    """
    settings = fast_settings(allowed_learners=("linear", "xgboost"), seed=0)
    return run_automl(tiny_frame, settings)

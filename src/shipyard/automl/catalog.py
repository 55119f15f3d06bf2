"""What the engine offers, with no library behind it: tasks, metrics, learners, bounds.

The engine builds its metrics and learners from these tables and checks its settings
against these bounds; the command line reads them to write its help texts without
loading scikit-learn, LightGBM or XGBoost.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal, TypeAlias

Task: TypeAlias = Literal["classification", "regression"]

TASKS: tuple[Task, ...] = ("classification", "regression")

METRICS: MappingProxyType[Task, tuple[str, ...]] = MappingProxyType(
    {
        "classification": (
            "accuracy",
            "AUC_weighted",
            "average_precision_score_weighted",
            "f1_score_weighted",
            "balanced_accuracy",
            "norm_macro_recall",
            "log_loss",
            "precision_score_weighted",
            "recall_score_weighted",
        ),
        "regression": (
            "r2",
            "rmse",
            "normalized_rmse",
            "mae",
            "normalized_mae",
            "spearman_correlation",
        ),
    }
)
"""Metric names by task, in the order they are listed."""

METRIC_ALIASES = MappingProxyType(
    {
        "auc": "AUC_weighted",
        "roc_auc": "AUC_weighted",
        "f1": "f1_score_weighted",
        "logloss": "log_loss",
    }
)

DEFAULT_METRICS: MappingProxyType[Task, str] = MappingProxyType(
    {"classification": "accuracy", "regression": "r2"}
)

LEARNERS: tuple[str, ...] = ("lightgbm", "linear", "xgboost", "extra_trees", "random_forest")
"""Learner names, cheapest first: the order the search tries them in."""

# A saved model's folder: its format name and version, and the files the workspace checks.
FORMAT = "shipyard-model"
FORMAT_VERSION = 1
MODEL_FILE = "model.joblib"
DESCRIPTOR_FILE = "descriptor.json"
RESULT_FILE = "automl_result.json"

# The engine's ceilings for a search; a server caps budgets and trials lower (its job limits).
MAX_BUDGET_S = 366 * 86_400.0
"""The longest time budget a search takes, in seconds."""
MAX_TRIALS = 1_000_000

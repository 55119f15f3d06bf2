"""The AutoML engine: from a DataFrame and settings to a leaderboard and the best model.

A pure library: pandas, NumPy, scikit-learn, LightGBM, XGBoost and Optuna. It imports
`shipyard.core` only, never the store, a web framework or an HTTP client, and reports
progress through callbacks so the layers above can record runs.

    from shipyard.automl import AutoMLSettings, run_automl
    result = run_automl(frame, AutoMLSettings(target="y", budget_s=60))
    result.model.predict(rows)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.automl.engine import run_automl
    from shipyard.automl.model import TabularModel, load_model
    from shipyard.automl.result import AutoMLResult
    from shipyard.automl.settings import AutoMLSettings
    from shipyard.automl.trial import ProgressCallback, Trial

# Loaded on first use, so that importing a light module of the package (`automl.names`)
# does not load scikit-learn, LightGBM, XGBoost and Optuna.
_EXPORTS = {
    "AutoMLResult": "shipyard.automl.result",
    "AutoMLSettings": "shipyard.automl.settings",
    "ProgressCallback": "shipyard.automl.trial",
    "TabularModel": "shipyard.automl.model",
    "Trial": "shipyard.automl.trial",
    "load_model": "shipyard.automl.model",
    "run_automl": "shipyard.automl.engine",
}


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard.automl' has no attribute {name!r}")
    value: object = getattr(importlib.import_module(module), name)
    return value


__all__ = [
    "AutoMLResult",
    "AutoMLSettings",
    "ProgressCallback",
    "TabularModel",
    "Trial",
    "load_model",
    "run_automl",
]

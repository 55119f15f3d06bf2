"""The AutoML engine: from a DataFrame and settings to a leaderboard and the best model.

A pure library: pandas, NumPy, scikit-learn, LightGBM, XGBoost and Optuna. It imports
`shipyard.core` only, never the store, a web framework or an HTTP client, and reports
progress through callbacks so the layers above can record runs.

    from shipyard.automl import AutoMLSettings, run_automl
    result = run_automl(frame, AutoMLSettings(target="y", budget_s=60))
    result.model.predict(rows)
"""

from shipyard.automl.engine import run_automl
from shipyard.automl.model import TabularModel, load_model
from shipyard.automl.result import AutoMLResult
from shipyard.automl.settings import AutoMLSettings
from shipyard.automl.trial import ProgressCallback, Trial

__all__ = [
    "AutoMLResult",
    "AutoMLSettings",
    "ProgressCallback",
    "TabularModel",
    "Trial",
    "load_model",
    "run_automl",
]

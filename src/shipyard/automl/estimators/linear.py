"""Linear models: logistic regression and elastic net on one-hot, scaled features."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import ElasticNet, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from shipyard.automl.estimators.base import FitContext, Learner, Params, check_deadline


class LinearPredictor:
    """A fitted scikit-learn pipeline: encoding, scaling and the linear model."""

    def __init__(self, pipeline: Pipeline, task: str) -> None:
        self.pipeline = pipeline
        self.task = task

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.task == "classification":
            return np.asarray(self.pipeline.predict_proba(X))
        return np.asarray(self.pipeline.predict(X))


class LinearLearner(Learner):
    """Logistic regression (classification) or elastic net (regression)."""

    name = "linear"
    cost_rank = 1

    def initial(self, ctx: FitContext) -> Params:
        return {"C": 1.0} if ctx.is_classification else {"alpha": 1e-3, "l1_ratio": 0.5}

    def suggest(self, trial: optuna.Trial, ctx: FitContext) -> Params:
        if ctx.is_classification:
            return {"C": trial.suggest_float("C", 1e-3, 100.0, log=True)}
        return {
            "alpha": trial.suggest_float("alpha", 1e-5, 10.0, log=True),
            "l1_ratio": trial.suggest_float("l1_ratio", 0.0, 1.0),
        }

    def fit(
        self,
        params: Params,
        X: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray | None,
        ctx: FitContext,
        deadline: float | None,
    ) -> LinearPredictor:
        check_deadline(deadline)
        model: LogisticRegression | ElasticNet
        if ctx.is_classification:
            model = LogisticRegression(C=params["C"], max_iter=500)
        else:
            model = ElasticNet(
                alpha=params["alpha"],
                l1_ratio=params["l1_ratio"],
                max_iter=2000,
                random_state=ctx.seed,
            )
        pipeline = Pipeline([("encode", _encoder(ctx, X.shape[1])), ("model", model)])
        with warnings.catch_warnings():
            # a capped iteration count is a search decision, not a user problem
            warnings.simplefilter("ignore", ConvergenceWarning)
            pipeline.fit(X, y, model__sample_weight=weight)
        check_deadline(deadline)
        return LinearPredictor(pipeline, ctx.task)


def _encoder(ctx: FitContext, n_features: int) -> ColumnTransformer:
    categorical = list(ctx.categorical)
    numeric = [i for i in range(n_features) if i not in set(categorical)]
    one_hot = make_pipeline(
        SimpleImputer(strategy="constant", fill_value=-1.0),
        OneHotEncoder(handle_unknown="ignore", min_frequency=5, sparse_output=False),
    )
    scaled = make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler())
    return ColumnTransformer([("categorical", one_hot, categorical), ("numeric", scaled, numeric)])

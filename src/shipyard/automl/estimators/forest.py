"""Random forest and extra trees: bagged deep trees, strong ensemble members."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import optuna
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from shipyard.automl.estimators.base import FitContext, Learner, Params, check_deadline

_MISSING = -1e9  # below any real value: missing gets its own side of every split
_GROW_STEP = 25

Forest = Any  # one of the four scikit-learn forests; sklearn ships no type hints


class ForestPredictor:
    """A fitted scikit-learn forest on the shared matrix."""

    def __init__(self, model: Forest, task: str) -> None:
        self.model = model
        self.task = task

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.nan_to_num(X, nan=_MISSING)
        # one thread: sklearn sums trees in whatever order threads finish, which changes the
        # last bits of a probability and breaks exact save/load reproducibility
        self.model.n_jobs = 1
        if self.task == "classification":
            return np.asarray(self.model.predict_proba(X))
        return np.asarray(self.model.predict(X))


class _ForestLearner(Learner):
    classifier: ClassVar[type[RandomForestClassifier] | type[ExtraTreesClassifier]]
    regressor: ClassVar[type[RandomForestRegressor] | type[ExtraTreesRegressor]]

    def initial(self, ctx: FitContext) -> Params:
        return {"n_estimators": 100, "max_features": 0.5, "min_samples_leaf": 2}

    def suggest(self, trial: optuna.Trial, ctx: FitContext) -> Params:
        return {
            "n_estimators": trial.suggest_int("n_estimators", 50, 500, log=True),
            "max_features": trial.suggest_float("max_features", 0.1, 1.0),
            "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 32, log=True),
        }

    def fit(
        self,
        params: Params,
        X: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray | None,
        ctx: FitContext,
        deadline: float | None,
    ) -> ForestPredictor:
        cls = self.classifier if ctx.is_classification else self.regressor
        total = int(params["n_estimators"])
        model = cls(
            n_estimators=min(_GROW_STEP, total),
            max_features=params["max_features"],
            min_samples_leaf=params["min_samples_leaf"],
            n_jobs=ctx.n_jobs,
            random_state=ctx.seed,
            warm_start=True,
        )
        X = np.nan_to_num(X, nan=_MISSING)
        # grown in steps so that a deadline stops a large forest part-way
        while True:
            model.fit(X, y, sample_weight=weight)
            check_deadline(deadline)
            if model.n_estimators >= total:
                break
            model.n_estimators = min(total, model.n_estimators + _GROW_STEP)
        return ForestPredictor(model, ctx.task)


class RandomForestLearner(_ForestLearner):
    """Random forest: bootstrap samples, best splits."""

    name = "random_forest"
    cost_rank = 3
    classifier = RandomForestClassifier
    regressor = RandomForestRegressor


class ExtraTreesLearner(_ForestLearner):
    """Extra trees: random splits, lower variance, faster than a random forest."""

    name = "extra_trees"
    cost_rank = 3
    classifier = ExtraTreesClassifier
    regressor = ExtraTreesRegressor

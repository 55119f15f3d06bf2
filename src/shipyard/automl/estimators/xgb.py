"""XGBoost: gradient-boosted trees grown depth-wise, a different bias from LightGBM."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import optuna
import xgboost

from shipyard.automl.estimators.base import (
    FitContext,
    Learner,
    Params,
    binary_to_two_columns,
    check_deadline,
)

_SMALL_BATCH = 64


class XGBPredictor:
    """A trained XGBoost booster."""

    def __init__(self, booster: xgboost.Booster, task: str, n_classes: int) -> None:
        self.booster = booster
        self.task = task
        self.n_classes = n_classes

    def predict(self, X: np.ndarray) -> np.ndarray:
        self._use_threads(1 if len(X) <= _SMALL_BATCH else self._trained_threads())
        out = np.asarray(self.booster.inplace_predict(X))
        if self.task == "classification" and self.n_classes == 2:
            return binary_to_two_columns(out)
        return out

    def _use_threads(self, threads: int) -> None:
        # One thread on a handful of rows: XGBoost's fixed cost per call does not shrink
        # with threads, and an OpenMP team's idle threads spin on the cores that a busy
        # scoring process (and its neighbours) need. Set only on a change (2 us).
        if self.__dict__.get("_threads") != threads:
            self.booster.set_param({"nthread": threads})
            self.__dict__["_threads"] = threads

    def _trained_threads(self) -> int:
        if "_trained" not in self.__dict__:
            config = json.loads(self.booster.save_config())
            self.__dict__["_trained"] = int(config["learner"]["generic_param"]["nthread"])
        return int(self.__dict__["_trained"])

    def __getstate__(self) -> dict[str, Any]:
        # the thread setting belongs to this process, not to the saved model
        state = dict(self.__dict__)
        state.pop("_threads", None)
        return state


class _Deadline(xgboost.callback.TrainingCallback):
    def __init__(self, deadline: float | None) -> None:
        self.deadline = deadline

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        check_deadline(self.deadline)
        return False


class XGBoostLearner(Learner):
    """XGBoost with histogram trees and native categorical splits."""

    name = "xgboost"
    cost_rank = 2

    def initial(self, ctx: FitContext) -> Params:
        return {
            "n_estimators": 100,
            "learning_rate": 0.1,
            "max_depth": 6,
            "min_child_weight": 1.0,
            "subsample": 1.0,
            "colsample_bytree": 1.0,
            "reg_lambda": 1.0,
            "reg_alpha": 1e-3,
        }

    def suggest(self, trial: optuna.Trial, ctx: FitContext) -> Params:
        return {
            "n_estimators": trial.suggest_int("n_estimators", 20, 1500, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "max_depth": trial.suggest_int("max_depth", 2, 10),
            "min_child_weight": trial.suggest_float("min_child_weight", 0.1, 50.0, log=True),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 30.0, log=True),
            "reg_alpha": trial.suggest_float("reg_alpha", 1e-3, 10.0, log=True),
        }

    def fit(
        self,
        params: Params,
        X: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray | None,
        ctx: FitContext,
        deadline: float | None,
    ) -> XGBPredictor:
        types = ["c" if i in set(ctx.categorical) else "q" for i in range(X.shape[1])]
        data = xgboost.DMatrix(
            X, y, weight=weight, feature_types=types, enable_categorical=True, nthread=ctx.n_jobs
        )
        booster_params = {k: v for k, v in params.items() if k not in {"n_estimators", "balanced"}}
        booster_params.update(
            _objective(ctx),
            tree_method="hist",
            nthread=ctx.n_jobs,
            seed=ctx.seed,
            max_cat_to_onehot=4,
            verbosity=0,
        )
        booster = xgboost.train(
            booster_params,
            data,
            num_boost_round=int(params["n_estimators"]),
            callbacks=[_Deadline(deadline)],
        )
        return XGBPredictor(booster, ctx.task, ctx.n_classes)


def _objective(ctx: FitContext) -> dict[str, Any]:
    if ctx.task == "regression":
        return {"objective": "reg:squarederror"}
    if ctx.n_classes == 2:
        return {"objective": "binary:logistic"}
    return {"objective": "multi:softprob", "num_class": ctx.n_classes}

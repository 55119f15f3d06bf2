"""LightGBM: gradient-boosted trees with native categorical splits; usually the strongest."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import optuna

from shipyard.automl.estimators.base import (
    FitContext,
    Learner,
    Params,
    binary_to_two_columns,
    check_deadline,
)

_SMALL_BATCH = 64


class LGBMPredictor:
    """A trained LightGBM booster."""

    def __init__(self, booster: lgb.Booster, task: str, n_classes: int) -> None:
        self.booster = booster
        self.task = task
        self.n_classes = n_classes

    def predict(self, X: np.ndarray) -> np.ndarray:
        # threads cost more than they save on a handful of rows
        threads = 1 if len(X) <= _SMALL_BATCH else 0
        out = np.asarray(self.booster.predict(X, num_threads=threads))
        if self.task == "classification" and self.n_classes == 2:
            return binary_to_two_columns(out)
        return out


class LightGBMLearner(Learner):
    """LightGBM with a FLAML-like space: tree count and leaves scale with the data."""

    name = "lightgbm"
    cost_rank = 0

    def initial(self, ctx: FitContext) -> Params:
        return {
            "n_estimators": 100,
            "learning_rate": 0.1,
            "num_leaves": min(31, _max_leaves(ctx)),
            "min_child_samples": 20,
            "colsample_bytree": 1.0,
            "subsample": 1.0,
            "cat_smooth": 10.0,
            "min_data_per_group": 100,
            "max_bin": 255,
            "extra_trees": False,
            "reg_lambda": 1e-3,
            "reg_alpha": 1e-3,
        }

    def suggest(self, trial: optuna.Trial, ctx: FitContext) -> Params:
        max_leaves = _max_leaves(ctx)
        return {
            "n_estimators": trial.suggest_int("n_estimators", 20, 1500, log=True),
            "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
            "num_leaves": trial.suggest_int("num_leaves", 4, max_leaves, log=True),
            "min_child_samples": trial.suggest_int("min_child_samples", 2, 200, log=True),
            "colsample_bytree": trial.suggest_float("colsample_bytree", 0.3, 1.0),
            "subsample": trial.suggest_float("subsample", 0.5, 1.0),
            "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 30.0, log=True),
            "reg_alpha": trial.suggest_float("reg_alpha", 1e-3, 10.0, log=True),
            "cat_smooth": trial.suggest_float("cat_smooth", 1.0, 50.0, log=True),
            "min_data_per_group": trial.suggest_int("min_data_per_group", 5, 200, log=True),
            "max_bin": trial.suggest_categorical("max_bin", [63, 255]),
            # randomized split thresholds: a different bias, useful to ensembles
            "extra_trees": trial.suggest_categorical("extra_trees", [False, True]),
        }

    def fit(
        self,
        params: Params,
        X: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray | None,
        ctx: FitContext,
        deadline: float | None,
    ) -> LGBMPredictor:
        booster_params, rounds = _booster_params(params, ctx)
        data = lgb.Dataset(
            X,
            y,
            weight=weight,
            categorical_feature=list(ctx.categorical),
            params={"max_bin": booster_params.pop("max_bin", 255), "verbose": -1},
            free_raw_data=True,
        )

        def stop_at_deadline(_env: Any) -> None:
            check_deadline(deadline)

        booster = lgb.train(
            booster_params, data, num_boost_round=rounds, callbacks=[stop_at_deadline]
        )
        return LGBMPredictor(booster, ctx.task, ctx.n_classes)


def _max_leaves(ctx: FitContext) -> int:
    """Leaves grow with the data: a tree needs ~20 rows a leaf to mean anything."""
    return int(max(8, min(256, ctx.n_rows // 20)))


def _booster_params(params: Params, ctx: FitContext) -> tuple[dict[str, Any], int]:
    p = {k: v for k, v in params.items() if k not in {"n_estimators", "balanced"}}
    rounds = int(params["n_estimators"])
    if p.get("subsample", 1.0) < 1.0:
        p["subsample_freq"] = 1
    if ctx.task == "regression":
        p["objective"] = "regression"
    elif ctx.n_classes == 2:
        p["objective"] = "binary"
    else:
        p.update(objective="multiclass", num_class=ctx.n_classes)
    p.update(
        verbose=-1,
        num_threads=ctx.n_jobs,
        seed=ctx.seed,
        deterministic=True,
        force_col_wise=True,
        max_cat_to_onehot=4,
    )
    return p, rounds

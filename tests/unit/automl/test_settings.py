"""Tests for `shipyard.automl.settings.AutoMLSettings`: validation and round trips."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

import pytest

from shipyard.automl.settings import AutoMLSettings
from shipyard.core.errors import InvalidInputError


def test_defaults() -> None:
    settings = AutoMLSettings(target="y")
    assert settings.task is None
    assert settings.primary_metric is None
    assert settings.n_folds == 5
    assert settings.holdout_fraction is None
    assert settings.enable_voting_ensemble
    assert settings.enable_stacking_ensemble
    assert settings.cores >= 1
    assert AutoMLSettings(target="y", n_jobs=3).cores == 3


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target": ""}, "target must name a column"),
        ({"task": "ranking"}, "task must be one of classification, regression"),
        ({"budget_s": 0}, "budget_s must be a number above 0"),
        ({"budget_s": -5.0}, "budget_s must be a number above 0"),
        ({"max_trials": 0}, "max_trials must be a whole number between 1 and"),
        ({"n_folds": 1}, "n_folds must be a whole number between 2 and 20"),
        ({"n_folds": 21}, "n_folds must be a whole number between 2 and 20"),
        ({"holdout_fraction": 0.01}, "holdout_fraction must be a number between 0.05 and 0.5"),
        ({"holdout_fraction": 0.9}, "holdout_fraction must be a number between 0.05 and 0.5"),
        ({"class_balancing": "maybe"}, "class_balancing must be one of auto, on, off"),
        ({"max_concurrent_trials": 0}, "max_concurrent_trials must be a whole number between 1"),
        ({"n_jobs": 0}, "n_jobs must be a whole number between 1"),
        ({"ensemble_size": 0}, "ensemble_size must be a whole number between 1"),
        ({"max_ensemble_latency_ms": 0}, "max_ensemble_latency_ms must be a number above 0"),
    ],
)
def test_bad_values_are_invalid_input(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        AutoMLSettings(**{"target": "y", **overrides})


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_trials": 1, "n_folds": 2, "holdout_fraction": 0.05},
        {"n_folds": 20, "holdout_fraction": 0.5, "class_balancing": "off"},
    ],
)
def test_boundary_values_are_accepted(overrides: dict[str, Any]) -> None:
    AutoMLSettings(**{"target": "y", **overrides})


def test_settings_are_frozen() -> None:
    settings = AutoMLSettings(target="y")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.target = "z"  # type: ignore[misc]


@pytest.mark.parametrize(
    "settings",
    [
        AutoMLSettings(target="y"),
        AutoMLSettings(
            target="price",
            task="regression",
            primary_metric="rmse",
            budget_s=30.5,
            max_trials=7,
            exit_score=0.1,
            holdout_fraction=0.2,
            allowed_learners=("lightgbm", "linear"),
            blocked_learners=("xgboost",),
            enable_stacking_ensemble=False,
            class_balancing="off",
            max_concurrent_trials=2,
            n_jobs=1,
            seed=3,
            ensemble_size=3,
            max_ensemble_latency_ms=5.0,
        ),
    ],
    ids=["defaults", "everything-set"],
)
def test_round_trip_through_json(settings: AutoMLSettings) -> None:
    data = json.loads(json.dumps(settings.to_dict()))
    assert AutoMLSettings.from_dict(data) == settings


def test_to_dict_lists_learners() -> None:
    data = AutoMLSettings(target="y", allowed_learners=("linear",)).to_dict()
    assert data["allowed_learners"] == ["linear"]
    assert data["blocked_learners"] == []


def test_unknown_keys_are_an_error() -> None:
    data = {**AutoMLSettings(target="y").to_dict(), "budget": 10, "colour": "red"}
    with pytest.raises(InvalidInputError, match="unknown AutoML setting\\(s\\): budget, colour"):
        AutoMLSettings.from_dict(data)


def test_from_dict_validates_values() -> None:
    with pytest.raises(InvalidInputError, match="n_folds"):
        AutoMLSettings.from_dict({"target": "y", "n_folds": 50})


@pytest.mark.parametrize(
    "data",
    [
        {"target": "y", "budget_s": "fast"},
        {"target": "y", "n_folds": None},
        {"budget_s": 10},
    ],
    ids=["text-for-a-number", "none-for-a-number", "no-target"],
)
def test_from_dict_turns_bad_input_into_invalid_input(data: dict[str, Any]) -> None:
    # settings read from a file or a request are the caller's input: never a TypeError
    with pytest.raises(InvalidInputError):
        AutoMLSettings.from_dict(data)


# issue 10 finding 9: values the worker used to meet first (or never), refused when built
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"allowed_learners": "lightgbm"}, "allowed_learners must be a list of learner names"),
        ({"blocked_learners": "xgboost"}, "blocked_learners must be a list of learner names"),
        ({"allowed_learners": ["lightgbm", 3]}, "allowed_learners must be a list"),
        ({"allowed_learners": ["catboost"]}, "unknown learner 'catboost'"),
        ({"allowed_learners": []}, "leave nothing to train"),
        ({"seed": 2**70}, "seed must be a whole number between 0 and 4294967295"),
        ({"seed": -1}, "seed must be a whole number between 0"),
        ({"n_jobs": 1e9}, "n_jobs must be a whole number between 1 and 1024, got 1000000000.0"),
        ({"n_jobs": 10**9}, "n_jobs must be a whole number between 1 and 1024"),
        ({"max_trials": 2.5}, "max_trials must be a whole number"),
        ({"max_trials": True}, "max_trials must be a whole number"),
        ({"budget_s": 1e308}, "budget_s must be a number above 0 and at most 31622400"),
        ({"budget_s": float("inf")}, "budget_s must be a number above 0"),
        ({"budget_s": float("nan")}, "budget_s must be a number above 0"),
        ({"budget_s": "60"}, "budget_s must be a number"),
        ({"exit_score": float("nan")}, "exit_score must be a finite number"),
        ({"enable_voting_ensemble": "no"}, "enable_voting_ensemble must be true or false"),
        ({"primary_metric": "speed"}, "primary_metric 'speed' is not a metric; choose from"),
        ({"primary_metric": 3}, "primary_metric must be a metric name"),
        ({"task": "regression", "primary_metric": "accuracy"}, "primary_metric: Metric 'accuracy'"),
        ({"class_balancing": ["on"]}, "class_balancing must be one of"),
    ],
)
def test_hostile_settings_name_the_field(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        AutoMLSettings.from_dict({"target": "y", **data})


def test_lists_become_tuples_and_aliases_pass() -> None:
    settings = AutoMLSettings.from_dict(
        {"target": "y", "allowed_learners": ["linear"], "primary_metric": "auc", "seed": 2**32 - 1}
    )
    assert settings.allowed_learners == ("linear",)
    assert hash(settings) == hash(AutoMLSettings.from_dict(settings.to_dict()))


def test_settings_must_be_an_object() -> None:
    with pytest.raises(InvalidInputError, match="must be an object"):
        AutoMLSettings.from_dict(["target", "y"])  # type: ignore[arg-type]


def test_a_huge_value_is_not_echoed_whole() -> None:
    with pytest.raises(InvalidInputError, match="primary_metric must be a metric name") as refused:
        AutoMLSettings(target="y", primary_metric="x" * 100_000)
    assert len(str(refused.value)) < 200

"""The learners the search may use, by name."""

from __future__ import annotations

from collections.abc import Iterable

from shipyard.automl.catalog import LEARNERS
from shipyard.automl.estimators.base import Learner
from shipyard.automl.estimators.forest import ExtraTreesLearner, RandomForestLearner
from shipyard.automl.estimators.lgbm import LightGBMLearner
from shipyard.automl.estimators.linear import LinearLearner
from shipyard.automl.estimators.xgb import XGBoostLearner
from shipyard.core.errors import InvalidInputError


def all_learners() -> dict[str, Learner]:
    """Every learner, by name, cheapest first (the order of `catalog.LEARNERS`)."""
    learners: list[Learner] = [
        LightGBMLearner(),
        LinearLearner(),
        XGBoostLearner(),
        ExtraTreesLearner(),
        RandomForestLearner(),
    ]
    by_name = {learner.name: learner for learner in learners}
    return {name: by_name[name] for name in LEARNERS}


def select_learners(
    task: str, allowed: Iterable[str] | None = None, blocked: Iterable[str] = ()
) -> list[Learner]:
    """The learners for a task after allow and block lists; names are checked."""
    known = all_learners()
    for name in [*(allowed or ()), *blocked]:
        if name not in known:
            raise InvalidInputError(f"unknown learner {name!r}; choose from {', '.join(known)}")
    chosen = [
        learner
        for name, learner in known.items()
        if (allowed is None or name in set(allowed))
        and name not in set(blocked)
        and task in learner.tasks
    ]
    if not chosen:
        raise InvalidInputError("the allowed and blocked learners leave nothing to train")
    return chosen

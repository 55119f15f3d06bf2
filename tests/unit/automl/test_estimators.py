"""Tests for the learners in `shipyard.automl.estimators` on 200-row synthetic frames."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import optuna
import pandas as pd
import pytest

from shipyard.automl.estimators.base import (
    FitContext,
    Learner,
    TrialTimeout,
    balanced_weights,
    binary_to_two_columns,
    check_deadline,
)
from shipyard.automl.estimators.registry import all_learners, select_learners
from shipyard.core.errors import InvalidInputError

LEARNERS = list(all_learners())
KINDS = ("binary", "multiclass", "regression")

Encoded = Callable[[pd.DataFrame, str], tuple[np.ndarray, np.ndarray, FitContext]]
MakeFrame = Callable[..., pd.DataFrame]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", LEARNERS)
def test_learner_fits_and_predicts(
    name: str, kind: str, frame_of: MakeFrame, encoded: Encoded
) -> None:
    learner = all_learners()[name]
    X, y, ctx = encoded(frame_of(kind), kind)
    assert ctx.categorical  # the native categorical paths are exercised
    model = learner.fit(learner.initial(ctx), X[:150], y[:150], None, ctx, None)
    out = model.predict(X[150:])
    one = model.predict(X[150:151])
    if kind == "regression":
        assert out.shape == (50,)
        assert one.shape == (1,)
        assert np.isfinite(out).all()
    else:
        k = ctx.n_classes
        assert out.shape == (50, k)
        assert one.shape == (1, k)
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
        assert ((out >= 0.0) & (out <= 1.0)).all()
        assert (out.argmax(axis=1) == y[150:]).mean() > 1.0 / k  # it learned something
    np.testing.assert_allclose(one, out[:1], rtol=1e-9)  # batch size does not change output


@pytest.mark.parametrize("name", LEARNERS)
def test_learner_handles_missing_values_and_weights(
    name: str, frame_of: MakeFrame, encoded: Encoded
) -> None:
    learner = all_learners()[name]
    X, y, ctx = encoded(frame_of("binary"), "binary")
    X = X.copy()
    X[::7, 0] = np.nan
    X[::11, ctx.categorical[0]] = np.nan
    model = learner.fit(learner.initial(ctx), X, y, balanced_weights(y), ctx, None)
    out = model.predict(X[:20])
    assert out.shape == (20, 2)
    assert np.isfinite(out).all()


@pytest.mark.parametrize("name", LEARNERS)
def test_predictions_are_repeatable(name: str, frame_of: MakeFrame, encoded: Encoded) -> None:
    # a saved model must score the same rows the same way, bit for bit, call after call
    learner = all_learners()[name]
    X, y, ctx = encoded(frame_of("binary"), "binary")
    model = learner.fit(learner.initial(ctx), X, y, None, ctx, None)
    first = model.predict(X)
    for _ in range(3):
        assert np.array_equal(model.predict(X), first)


@pytest.mark.parametrize("name", LEARNERS)
def test_deadline_in_the_past_raises_trial_timeout(
    name: str, frame_of: MakeFrame, encoded: Encoded
) -> None:
    learner = all_learners()[name]
    X, y, ctx = encoded(frame_of("binary"), "binary")
    with pytest.raises(TrialTimeout):
        learner.fit(learner.initial(ctx), X, y, None, ctx, time.monotonic() - 1.0)


@pytest.mark.parametrize("name", LEARNERS)
def test_suggestions_are_fittable(name: str, frame_of: MakeFrame, encoded: Encoded) -> None:
    learner = all_learners()[name]
    X, y, ctx = encoded(frame_of("multiclass"), "multiclass")
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    params = learner.suggest(study.ask(), ctx)
    assert set(learner.initial(ctx)) <= set(params)
    params = {**params, "n_estimators": min(int(params.get("n_estimators", 50)), 50)}
    assert learner.fit(params, X, y, None, ctx, None).predict(X[:5]).shape == (5, 3)


# --- registry and helpers ---------------------------------------------------------------------


def test_learners_are_listed_cheapest_first() -> None:
    ranks = [learner.cost_rank for learner in all_learners().values()]
    assert ranks == sorted(ranks)
    assert LEARNERS[0] == "lightgbm"
    assert all(isinstance(learner, Learner) for learner in all_learners().values())


def test_select_learners_applies_allow_and_block_lists() -> None:
    names = [lrn.name for lrn in select_learners("regression", ["linear", "xgboost"], ["xgboost"])]
    assert names == ["linear"]
    with pytest.raises(InvalidInputError, match="unknown learner 'svm'"):
        select_learners("classification", ["svm"])
    with pytest.raises(InvalidInputError, match="leave nothing to train"):
        select_learners("classification", ["linear"], ["linear"])


def test_check_deadline() -> None:
    check_deadline(None)
    check_deadline(time.monotonic() + 60.0)
    with pytest.raises(TrialTimeout):
        check_deadline(time.monotonic() - 0.001)


def test_binary_to_two_columns() -> None:
    np.testing.assert_array_equal(
        binary_to_two_columns(np.array([0.25, 1.0])), [[0.75, 0.25], [0.0, 1.0]]
    )


def test_balanced_weights_give_each_class_the_same_total() -> None:
    y = np.array([0] * 30 + [1] * 10 + [2] * 5)
    w = balanced_weights(y)
    totals = [w[y == k].sum() for k in range(3)]
    np.testing.assert_allclose(totals, [15.0, 15.0, 15.0])


def test_xgboost_scores_small_batches_on_one_thread(frame_of: MakeFrame, encoded: Encoded) -> None:
    # idle OpenMP threads spin on the cores of a busy scoring process (see XGBPredictor)
    learner = all_learners()["xgboost"]
    X, y, ctx = encoded(frame_of("binary", rows=200), "binary")
    model = learner.fit(learner.initial(ctx), X, y, None, ctx, None)
    large = np.vstack([X] * 2)  # over the small-batch size
    out_large = model.predict(large)
    assert model.__dict__["_threads"] == ctx.n_jobs
    out_small = model.predict(X[:5])
    assert model.__dict__["_threads"] == 1
    np.testing.assert_allclose(out_small, out_large[:5], rtol=1e-9)
    state = model.__getstate__()
    assert "_threads" not in state

"""Tests for the trial search in `shipyard.automl.search`.

Small learners written here (Gaussian naive Bayes, one that always fails, one that always
runs out of time) keep each search to a fraction of a second; limits are trial counts and
`exit_score`, never the clock.
"""

# The test learners implement the `Learner` interface and ignore most of its arguments.

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import ClassVar

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import GaussianNB

from shipyard.automl import metrics, search
from shipyard.automl.estimators.base import (
    FitContext,
    Learner,
    Params,
    TrialTimeout,
    check_deadline,
)
from shipyard.automl.estimators.lgbm import LightGBMLearner
from shipyard.automl.search import Search, SearchLimits, TrainingData
from shipyard.automl.trial import ProgressCallback, Trial

ACCURACY = metrics.get_metric("accuracy", "classification")
RMSE = metrics.get_metric("rmse", "regression")
LOG_LOSS = metrics.get_metric("log_loss", "classification")

Encoded = Callable[[pd.DataFrame, str], tuple[np.ndarray, np.ndarray, FitContext]]
MakeFrame = Callable[..., pd.DataFrame]


class _Proba:
    def __init__(self, model: GaussianNB, flip: bool = False) -> None:
        self.model = model
        self.flip = flip

    def predict(self, X: np.ndarray) -> np.ndarray:
        proba = np.asarray(self.model.predict_proba(np.nan_to_num(X)))
        return proba[:, ::-1] if self.flip else proba


class NaiveBayes(Learner):
    """Fast and decent on the synthetic frames."""

    name = "naive_bayes"
    tasks: ClassVar[frozenset[str]] = frozenset({"classification"})

    def initial(self, ctx: FitContext) -> Params:
        return {"var_smoothing": 1e-9}

    def suggest(self, trial: optuna.Trial, ctx: FitContext) -> Params:
        return {"var_smoothing": trial.suggest_float("var_smoothing", 1e-12, 1.0, log=True)}

    def fit(
        self,
        params: Params,
        X: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray | None,
        ctx: FitContext,
        deadline: float | None,
    ) -> _Proba:
        check_deadline(deadline)
        model = GaussianNB(var_smoothing=params["var_smoothing"])
        return _Proba(model.fit(np.nan_to_num(X), y, sample_weight=weight))


class Contrarian(NaiveBayes):
    """Naive Bayes with its answers swapped: always behind, so it gets pruned."""

    name = "contrarian"

    def fit(
        self,
        params: Params,
        X: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray | None,
        ctx: FitContext,
        deadline: float | None,
    ) -> _Proba:
        return _Proba(super().fit(params, X, y, weight, ctx, deadline).model, flip=True)


class Broken(NaiveBayes):
    name = "broken"

    def fit(
        self,
        params: Params,
        X: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray | None,
        ctx: FitContext,
        deadline: float | None,
    ) -> _Proba:
        raise ValueError("boom: this learner always fails")


class OutOfTime(NaiveBayes):
    name = "out_of_time"

    def fit(
        self,
        params: Params,
        X: np.ndarray,
        y: np.ndarray,
        weight: np.ndarray | None,
        ctx: FitContext,
        deadline: float | None,
    ) -> _Proba:
        raise TrialTimeout


class Recorder(ProgressCallback):
    def __init__(self) -> None:
        self.events: list[tuple[str, int, str]] = []

    def on_trial_start(self, trial: Trial) -> None:
        self.events.append(("start", trial.number, trial.status))

    def on_trial_end(self, trial: Trial) -> None:
        self.events.append(("end", trial.number, trial.status))


@pytest.fixture
def data_and_ctx(
    frame_of: MakeFrame, encoded: Encoded, seed: int
) -> tuple[TrainingData, FitContext]:
    X, y, ctx = encoded(frame_of("binary"), "binary")
    splits = list(StratifiedKFold(5, shuffle=True, random_state=seed).split(X, y))
    return TrainingData(X, y, splits), ctx


def make_search(
    learners: list[Learner],
    data_and_ctx: tuple[TrainingData, FitContext],
    callback: ProgressCallback | None = None,
    concurrency: int = 1,
    balance: str = "off",
) -> Search:
    data, ctx = data_and_ctx
    return Search(
        learners,
        data,
        ctx,
        ACCURACY,
        balance=balance,
        concurrency=concurrency,
        callback=callback or ProgressCallback(),
    )


def limits(max_trials: int | None = None, exit_score: float | None = None) -> SearchLimits:
    far = time.monotonic() + 600.0  # a backstop only: the trial count ends these searches
    return SearchLimits(deadline=lambda: far, max_trials=max_trials, exit_score=exit_score)


@pytest.mark.parametrize("concurrency", [1, 2])
def test_max_trials_is_respected(
    data_and_ctx: tuple[TrainingData, FitContext], concurrency: int
) -> None:
    recorder = Recorder()
    s = make_search([NaiveBayes()], data_and_ctx, recorder, concurrency=concurrency)
    s.run(limits(max_trials=5))
    assert len(s.trials) == 5
    assert [t.number for t in s.trials] == list(range(5))
    assert sorted(n for kind, n, _ in recorder.events if kind == "end") == list(range(5))
    for number in range(5):  # each trial starts before it ends
        assert recorder.events.index(("start", number, "running")) < next(
            i for i, e in enumerate(recorder.events) if e[:2] == ("end", number)
        )


def test_completed_trials_carry_scores(data_and_ctx: tuple[TrainingData, FitContext]) -> None:
    data, _ = data_and_ctx
    s = make_search([NaiveBayes()], data_and_ctx)
    s.run(limits(max_trials=3))
    first = s.trials[0]
    assert first.params == {"var_smoothing": 1e-9}  # the learner's initial configuration
    for trial in s.completed():
        assert trial.status == "completed"
        assert len(trial.fold_scores) == 5
        assert trial.oof is not None
        assert trial.oof.shape == (len(data.y), 2)
        assert trial.score is not None
        # every row is validated once, so the score is that of all out-of-fold predictions
        assert trial.score == pytest.approx(metrics.score(ACCURACY, data.y, trial.oof))
        # accuracy is reported; trials are ranked by log loss, its proper-scoring stand-in
        assert trial.loss == pytest.approx(metrics.score(LOG_LOSS, data.y, trial.oof))
        assert len(trial.fold_losses) == 5
        assert trial.latency_ms is not None
        assert trial.latency_ms > 0
    best = s.best
    assert best is s.completed()[0]
    assert best.score is not None
    assert best.score > 0.7


def test_exit_score_stops_early(data_and_ctx: tuple[TrainingData, FitContext]) -> None:
    s = make_search([NaiveBayes()], data_and_ctx)
    s.run(limits(max_trials=10, exit_score=0.5))
    [trial] = s.trials
    assert trial.score is not None
    assert trial.score >= 0.5


def test_a_failing_learner_is_recorded_and_the_run_goes_on(
    data_and_ctx: tuple[TrainingData, FitContext],
) -> None:
    recorder = Recorder()
    s = make_search([Broken(), NaiveBayes()], data_and_ctx, recorder)
    s.run(limits(max_trials=6))
    assert len(s.trials) == 6
    failed = [t for t in s.trials if t.learner == "broken"]
    assert failed
    assert failed[0].number == 0  # untried learners go first, in the order given
    for trial in failed:
        assert trial.status == "failed"
        assert trial.error is not None
        assert trial.error.startswith("ValueError: boom: this learner always fails")
        assert trial.score is None
    assert s.trials[1].learner == "naive_bayes"
    assert s.completed()
    assert ("end", 0, "failed") in recorder.events


def test_a_learner_failing_three_times_is_dropped(
    data_and_ctx: tuple[TrainingData, FitContext],
) -> None:
    s = make_search([Broken()], data_and_ctx)
    s.run(limits(max_trials=10))
    assert [t.status for t in s.trials] == ["failed"] * 3
    assert s.best is None


def test_timeouts_are_recorded_and_not_counted_as_failures(
    data_and_ctx: tuple[TrainingData, FitContext],
) -> None:
    s = make_search([OutOfTime()], data_and_ctx)
    s.run(limits(max_trials=4))
    assert [t.status for t in s.trials] == ["timeout"] * 4
    assert s.completed() == []


def test_no_trial_starts_past_the_deadline(data_and_ctx: tuple[TrainingData, FitContext]) -> None:
    s = make_search([NaiveBayes()], data_and_ctx)
    past = time.monotonic() - 1.0
    s.run(SearchLimits(deadline=lambda: past, max_trials=None, exit_score=None))
    assert s.trials == []


def test_a_trial_clearly_behind_is_pruned(data_and_ctx: tuple[TrainingData, FitContext]) -> None:
    s = make_search([NaiveBayes(), Contrarian()], data_and_ctx)
    s.run(limits(max_trials=2))
    good, bad = s.trials
    assert good.status == "completed"
    assert bad.learner == "contrarian"
    assert bad.status == "pruned"
    assert len(bad.fold_scores) == 2  # stopped after the second of five folds
    assert bad.score is None
    assert s.completed() == [good]


def test_weak_predictions_are_forgotten(
    data_and_ctx: tuple[TrainingData, FitContext], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "_KEEP_OOF", 2)
    s = make_search([NaiveBayes()], data_and_ctx)
    s.run(limits(max_trials=5))
    done = s.completed()
    assert all(t.oof is not None for t in done[:2])
    assert all(t.oof is None for t in done[2:])


def test_class_balancing_is_searched_when_auto(
    data_and_ctx: tuple[TrainingData, FitContext],
) -> None:
    data, ctx = data_and_ctx
    weighted = TrainingData(data.X, data.y, data.splits, np.ones(len(data.y)))
    s = make_search([NaiveBayes()], (weighted, ctx), balance="auto")
    s.run(limits(max_trials=3))
    assert s.trials[0].params["balanced"] is False  # the initial configuration is unweighted
    assert all(isinstance(t.params["balanced"], bool) for t in s.trials)
    on = make_search([NaiveBayes()], (weighted, ctx), balance="on")
    on.run(limits(max_trials=2))
    assert all(t.params["balanced"] is True for t in on.trials)


def test_lightgbm_first_trial_on_a_small_frame(
    data_and_ctx: tuple[TrainingData, FitContext],
) -> None:
    # 200 rows: the search space caps num_leaves at 10, the initial configuration has 31;
    # the run must neither warn (filterwarnings = error) nor fail
    s = make_search([LightGBMLearner()], data_and_ctx)
    s.run(limits(max_trials=1))
    assert s.trials[0].status == "completed"


# --- pruning rule -----------------------------------------------------------------------------


def trial_with(losses: list[float]) -> Trial:
    return Trial(number=0, learner="x", params={}, fold_losses=list(losses))


BEST = trial_with([0.10, 0.09, 0.11, 0.10, 0.08])  # fold losses of the search objective


@pytest.mark.parametrize(
    ("losses", "best", "n_folds", "hopeless"),
    [
        ([0.40, 0.38], BEST, 5, True),
        ([0.40, 0.38, 0.39], BEST, 5, True),
        ([0.10, 0.10], BEST, 5, False),  # level with the best
        ([0.105, 0.10], BEST, 5, False),  # behind, but within the best's noise
        ([0.40], BEST, 5, False),  # one fold is not enough to judge
        ([0.40, 0.38], None, 5, False),  # nothing to compare with
        ([0.40, 0.38], BEST, 2, False),  # two folds: never pruned
        ([0.4, 0.4, 0.4, 0.4, 0.4], BEST, 5, False),  # every fold seen: it completes
        ([0.01, 0.02], BEST, 5, False),  # ahead of the best
    ],
)
def test_hopeless(losses: list[float], best: Trial | None, n_folds: int, hopeless: bool) -> None:
    assert search._hopeless(trial_with(losses), best, n_folds) is hopeless


def test_predict_latency_is_positive_milliseconds() -> None:
    class Sleepy:
        def predict(self, X: np.ndarray) -> np.ndarray:
            time.sleep(0.002)
            return X

    latency = search.predict_latency_ms(Sleepy(), np.zeros((1, 3)), repeats=3)
    assert math.isfinite(latency)
    assert latency >= 2.0

"""The search: which learner to try next, with which parameters, until the budget runs out.

Every learner first runs its cheap initial configuration, cheapest learner first. After
that the next learner is drawn with probability inversely proportional to its estimated
time to reach the current best (a learner's mean trial time, inflated by how far behind it
is over how fast it has been improving: cost-aware choice as in FLAML's ECI). Its
parameters come from a per-learner Optuna TPE study. A k-fold trial that is clearly behind
the best trial on the folds seen so far is stopped early (pruned); every fit carries the
search deadline and is abandoned past it, which keeps the run's hard stop.
"""

from __future__ import annotations

import math
import statistics
import time
import traceback
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import optuna

from shipyard.automl import metrics
from shipyard.automl.estimators.base import FitContext, Learner, Predictor, TrialTimeout
from shipyard.automl.trial import ProgressCallback, Trial

_KEEP_OOF = 40  # out-of-fold predictions kept for the best trials only: memory stays flat


class _Pruned(Exception):
    """The trial is clearly behind the best one."""


@dataclass
class TrainingData:
    """Encoded rows, targets and validation splits shared by every trial."""

    X: np.ndarray
    y: np.ndarray
    splits: list[tuple[np.ndarray, np.ndarray]]
    balanced_weight: np.ndarray | None = None

    @cached_property
    def validated_rows(self) -> np.ndarray:
        """Rows that receive an out-of-fold prediction (computed once: every trial asks)."""
        return np.unique(np.concatenate([va for _, va in self.splits]))


@dataclass
class SearchLimits:
    """When the search stops starting trials."""

    deadline: Callable[[], float]  # monotonic time; recomputed as the reserve changes
    max_trials: int | None
    exit_score: float | None


@dataclass
class _LearnerState:
    learner: Learner
    study: optuna.Study
    trials: int = 0
    failures: int = 0
    pruned: int = 0
    first_loss: float = math.inf
    best_loss: float = math.inf
    durations: list[float] = field(default_factory=list)

    def time_to_best(self, global_best: float, eps: float) -> float:
        cost = statistics.fmean(self.durations) if self.durations else 1.0
        if not math.isfinite(self.best_loss):
            # nothing completed: every pruned trial halves the learner's chances
            return cost * 10.0 * 2.0 ** min(self.pruned, 20)
        rate = max((self.first_loss - self.best_loss) / max(self.trials, 1), eps)
        return cost * (1.0 + (self.best_loss - global_best) / rate)


class Search:
    """Runs trials for a set of learners and keeps the leaderboard."""

    def __init__(
        self,
        learners: list[Learner],
        data: TrainingData,
        ctx: FitContext,
        metric: metrics.Metric,
        *,
        balance: str,
        concurrency: int,
        callback: ProgressCallback,
    ) -> None:
        self.data = data
        self.ctx = ctx
        self.metric = metric
        self.objective = metrics.search_objective(metric)
        self.balance = balance
        self.concurrency = concurrency
        self.callback = callback
        self.trials: list[Trial] = []
        optuna.logging.set_verbosity(optuna.logging.WARNING)  # trials are reported by callbacks
        self._rng = np.random.default_rng(ctx.seed)
        self._states = {lrn.name: _LearnerState(lrn, _study(lrn, ctx, balance)) for lrn in learners}
        self._asked: dict[int, tuple[_LearnerState, optuna.trial.Trial]] = {}

    @property
    def best(self) -> Trial | None:
        done = [t for t in self.trials if t.status == "completed"]
        return min(done, key=lambda t: t.loss) if done else None

    def completed(self) -> list[Trial]:
        """Completed trials, best first."""
        return sorted((t for t in self.trials if t.status == "completed"), key=lambda t: t.loss)

    def run(self, limits: SearchLimits) -> None:
        """Start trials until a limit is reached, then wait for the running ones."""
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            running: dict[Future[Trial], Trial] = {}
            while True:
                while len(running) < self.concurrency and self._may_start(limits):
                    trial = self._next_trial()
                    self.callback.on_trial_start(trial)
                    future = pool.submit(self._evaluate, trial, limits.deadline())
                    running[future] = trial
                if not running:
                    return
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    self._record(running.pop(future))

    def _may_start(self, limits: SearchLimits) -> bool:
        if limits.max_trials is not None and len(self.trials) >= limits.max_trials:
            return False
        best = self.best
        if limits.exit_score is not None and best is not None and best.score is not None:
            reached = (
                best.score >= limits.exit_score
                if self.metric.greater_is_better
                else best.score <= limits.exit_score
            )
            if reached:
                return False
        active = [s for s in self._states.values() if s.failures < 3]
        return bool(active) and time.monotonic() < limits.deadline()

    def _next_trial(self) -> Trial:
        state = self._choose_learner()
        optuna_trial = state.study.ask()
        params = state.learner.suggest(optuna_trial, self.ctx)
        if self.balance == "auto":
            params["balanced"] = optuna_trial.suggest_categorical("balanced", [False, True])
        elif self.balance == "on":
            params["balanced"] = True
        trial = Trial(number=len(self.trials), learner=state.learner.name, params=params)
        state.trials += 1
        self.trials.append(trial)
        self._asked[trial.number] = (state, optuna_trial)
        return trial

    def _choose_learner(self) -> _LearnerState:
        active = [s for s in self._states.values() if s.failures < 3]
        untried = [s for s in active if s.trials == 0]
        if untried:
            return untried[0]  # cheapest first: the states keep the learners' cost order
        best = self.best
        global_best = best.loss if best else 0.0
        eps = 1e-4 * abs(global_best) + 1e-6
        weights = np.array([1.0 / max(s.time_to_best(global_best, eps), 1e-6) for s in active])
        return active[int(self._rng.choice(len(active), p=weights / weights.sum()))]

    def _evaluate(self, trial: Trial, deadline: float) -> Trial:
        started = time.monotonic()
        state, _ = self._asked[trial.number]
        try:
            self._cross_validate(state.learner, trial, deadline)
            trial.status = "completed"
        except _Pruned:
            trial.status = "pruned"
        except TrialTimeout:
            trial.status = "timeout"
        except Exception as exc:  # a learner's own failure must not end the run
            trial.status = "failed"
            trial.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        trial.duration_s = time.monotonic() - started
        return trial

    def _cross_validate(self, learner: Learner, trial: Trial, deadline: float) -> None:
        data, params = self.data, trial.params
        weight = data.balanced_weight if params.get("balanced") else None
        oof = _empty_predictions(len(data.y), self.ctx)
        reference = self.best
        fit_times: list[float] = []
        model: Predictor | None = None
        for tr, va in data.splits:
            started = time.monotonic()
            model = learner.fit(
                params,
                data.X[tr],
                data.y[tr],
                None if weight is None else weight[tr],
                self.ctx,
                deadline,
            )
            fit_times.append(time.monotonic() - started)
            oof[va] = model.predict(data.X[va])
            trial.fold_scores.append(metrics.score(self.metric, data.y[va], oof[va]))
            trial.fold_losses.append(metrics.loss(self.objective, data.y[va], oof[va]))
            if _hopeless(trial, reference, len(data.splits)):
                raise _Pruned
        rows = data.validated_rows
        trial.fit_time_s = statistics.fmean(fit_times)
        trial.score = metrics.score(self.metric, data.y[rows], oof[rows])
        trial.loss = metrics.loss(self.objective, data.y[rows], oof[rows])
        trial.oof = oof
        if model is not None:
            trial.latency_ms = predict_latency_ms(model, data.X[:1])

    def _record(self, trial: Trial) -> None:
        state, optuna_trial = self._asked.pop(trial.number)
        state.durations.append(trial.duration_s)
        if trial.status == "completed":
            state.study.tell(optuna_trial, trial.loss)
            if not math.isfinite(state.first_loss):
                state.first_loss = trial.loss
            state.best_loss = min(state.best_loss, trial.loss)
            state.failures = 0
        elif trial.status == "pruned":
            state.pruned += 1
            state.study.tell(optuna_trial, state=optuna.trial.TrialState.PRUNED)
        else:
            state.study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)
            state.failures += trial.status == "failed"
        self._forget_weak_predictions()
        self.callback.on_trial_end(trial)

    def _forget_weak_predictions(self) -> None:
        for trial in self.completed()[_KEEP_OOF:]:
            trial.oof = None


def _study(learner: Learner, ctx: FitContext, balance: str) -> optuna.Study:
    sampler = optuna.samplers.TPESampler(seed=ctx.seed, n_startup_trials=5)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    first = dict(learner.initial(ctx))
    if balance == "auto":
        first["balanced"] = False
    study.enqueue_trial(first)
    return study


def _hopeless(trial: Trial, best: Trial | None, n_folds: int) -> bool:
    """True when, after two or more folds, the trial trails the best one beyond noise."""
    k = len(trial.fold_losses)
    if best is None or n_folds < 3 or k < 2 or k >= n_folds:
        return False
    mine = statistics.fmean(trial.fold_losses[:k])
    theirs = statistics.fmean(best.fold_losses[:k])
    noise = statistics.stdev(best.fold_losses) / math.sqrt(k)
    return mine > theirs + 2.0 * noise


def _empty_predictions(n: int, ctx: FitContext) -> np.ndarray:
    if ctx.is_classification:
        return np.full((n, ctx.n_classes), np.nan)
    return np.full(n, np.nan)


def predict_latency_ms(model: Predictor, row: np.ndarray, repeats: int = 5) -> float:
    """Median time for the model to score one encoded row, in milliseconds."""
    model.predict(row)  # warm-up: first calls allocate
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict(row)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000.0

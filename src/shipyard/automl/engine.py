"""`run_automl`: data checks, guardrails, search, ensembles, refit, report and explanation.

Time is kept in one place: the run ends by `budget_s` plus at most 10%. The search stops
starting trials early enough to leave a reserve for the ensembles and the final refit
(estimated from the fit times of the best trials), and every fit carries a deadline.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from shipyard.automl import metrics
from shipyard.automl.columns import InputSchema, infer_schema
from shipyard.automl.ensemble import Candidate, SelectionLimits, Stacker, blend, greedy_selection
from shipyard.automl.estimators.base import (
    FitContext,
    Learner,
    Predictor,
    TrialTimeout,
    balanced_weights,
)
from shipyard.automl.estimators.registry import all_learners, select_learners
from shipyard.automl.explain import permutation_importance
from shipyard.automl.featurize import Featurizer
from shipyard.automl.guardrails import IMBALANCE_RATIO, Guardrail, check_data
from shipyard.automl.model import TabularModel
from shipyard.automl.prepare import PreparedData, prepare
from shipyard.automl.result import AutoMLResult
from shipyard.automl.search import Search, SearchLimits, TrainingData
from shipyard.automl.settings import AutoMLSettings
from shipyard.automl.trial import ProgressCallback, Trial
from shipyard.core.errors import DataError, ModelError

_ENSEMBLE_POOL = 20
_REFIT_SAFETY = 1.5


@dataclass
class _Setup:
    """A checked, featurized training set and what the search needs to run on it."""

    prepared: PreparedData
    metric: metrics.Metric
    schema: InputSchema
    training: TrainingData
    ctx: FitContext
    balance: str
    guardrails: list[Guardrail]


class _Phases:
    """Announces each phase to the callback and keeps how long each one took."""

    def __init__(self, callback: ProgressCallback) -> None:
        self.callback = callback
        self.timings_s: dict[str, float] = {}
        self._current: tuple[str, float] | None = None

    def enter(self, phase: str, message: str) -> None:
        now = time.monotonic()
        if self._current is not None:
            name, since = self._current
            self.timings_s[name] = round(now - since, 3)
        self._current = (phase, now)
        self.callback.on_phase(phase, message)


def run_automl(
    data: pd.DataFrame,
    settings: AutoMLSettings,
    *,
    validation_data: pd.DataFrame | None = None,
    callback: ProgressCallback | None = None,
) -> AutoMLResult:
    """Find the best model for `settings.target` within the settings' budget and limits."""
    started = time.monotonic()
    cb = callback or ProgressCallback()
    phases = _Phases(cb)
    phases.enter("prepare", "checking the data and the guardrails")
    setup = _setup(data, settings, validation_data, cb)
    cb.on_setup(setup.prepared.task, setup.metric.name)
    learners = select_learners(
        setup.prepared.task, settings.allowed_learners, settings.blocked_learners
    )
    search = Search(
        learners,
        setup.training,
        setup.ctx,
        setup.metric,
        balance=setup.balance,
        concurrency=settings.max_concurrent_trials,
        callback=cb,
    )
    phases.enter("search", f"searching with {len(learners)} learners, {setup.prepared.validation}")
    search.run(
        SearchLimits(
            _search_deadline(search, started, settings), settings.max_trials, settings.exit_score
        )
    )
    if not search.completed():
        raise ModelError(f"no trial completed within the budget: {_first_error(search.trials)}")

    phases.enter("ensemble", "building ensembles from out-of-fold predictions")
    ensembles = _ensembles(search, setup.training, setup.metric, settings, cb)
    best = min(search.completed() + ensembles, key=lambda t: (t.loss, t.latency_ms or 0.0))
    phases.enter("refit", f"training the best model ({best.learner}) on all rows")
    model, best, notes = _final_model(best, search, setup, started + settings.budget_s, settings)
    phases.enter("explain", "measuring feature importance")
    importance = _importance(model, setup, settings.seed)
    phases.enter("done", f"best: {best.learner}, {setup.metric.name} {best.score:.5f}")
    result = AutoMLResult(
        settings=settings,
        task=setup.prepared.task,
        metric=setup.metric.name,
        validation=setup.prepared.validation,
        trials=sorted(search.trials + ensembles, key=lambda t: (t.status != "completed", t.loss)),
        best=best,
        model=model,
        report=_report(setup.prepared, best, setup.training.validated_rows),
        importance=importance,
        guardrails=_note_balancing(setup.guardrails, best, search),
        notes=notes,
        duration_s=time.monotonic() - started,
        timings_s=phases.timings_s,
        ranked_by=search.objective.name,
    )
    model.descriptor = result.descriptor()
    return result


def _setup(
    data: pd.DataFrame,
    settings: AutoMLSettings,
    validation_data: pd.DataFrame | None,
    cb: ProgressCallback,
) -> _Setup:
    prepared = prepare(data, settings, validation_data)
    metric = metrics.get_metric(
        settings.primary_metric or metrics.default_metric(prepared.task), prepared.task
    )
    schema = infer_schema(prepared.features)
    if not schema.used:
        raise DataError("no usable feature column: every column is constant, empty or an ID")
    balance = _balance_mode(settings, prepared)
    guardrails = check_data(
        prepared.features,
        _raw_target(prepared),
        schema,
        prepared.task,
        imbalance_action=_imbalance_action(balance),
        seed=settings.seed,
    )
    cb.on_guardrails(guardrails)
    featurizer = Featurizer(schema)
    training = TrainingData(
        featurizer.transform(prepared.features),
        prepared.y,
        prepared.splits,
        balanced_weights(prepared.y) if balance != "off" else None,
    )
    ctx = FitContext(
        task=prepared.task,
        n_classes=prepared.n_classes,
        n_rows=len(prepared.y),
        n_features=training.X.shape[1],
        categorical=tuple(featurizer.categorical_indices),
        cardinalities=tuple(f.cardinality for f in featurizer.features if f.cardinality),
        n_jobs=max(1, settings.cores // settings.max_concurrent_trials),
        seed=settings.seed,
    )
    return _Setup(prepared, metric, schema, training, ctx, balance, guardrails)


def _balance_mode(settings: AutoMLSettings, prepared: PreparedData) -> str:
    if prepared.task != "classification" or settings.class_balancing == "off":
        return "off"
    if settings.class_balancing == "on":
        return "on"
    counts = np.bincount(prepared.y)
    return "auto" if counts.min() / counts.max() < IMBALANCE_RATIO else "off"


def _imbalance_action(balance: str) -> str:
    return {
        "auto": "class weighting is searched as a hyperparameter; the best model's choice "
        "is reported after training",
        "on": "every class is weighted equally in training (class_balancing=on)",
        "off": "no class weighting",
    }[balance]


def _note_balancing(guardrails: list[Guardrail], best: Trial, search: Search) -> list[Guardrail]:
    members = best.members or {best.number: 1.0}
    used = [search.trials[n].params.get("balanced", False) for n in members]
    out = []
    for g in guardrails:
        if g.name == "class_imbalance" and g.status == "alerted":
            choice = "weighted classes" if any(used) else "unweighted classes (better here)"
            g = dataclasses.replace(
                g,
                message=f"{g.message} The best model uses {choice}.",
                details={**g.details, "best_model_weighted": any(used)},
            )
        out.append(g)
    return out


def _raw_target(prepared: PreparedData) -> pd.Series:
    if prepared.classes is None:
        return pd.Series(prepared.y)
    return pd.Series(prepared.classes[prepared.y])


def _search_deadline(
    search: Search, started: float, settings: AutoMLSettings
) -> Callable[[], float]:
    budget = settings.budget_s

    def deadline() -> float:
        top = search.completed()[: settings.ensemble_size]
        refit = sum(t.fit_time_s for t in top) * 1.25 * _REFIT_SAFETY
        # refit, plus ensemble selection, stacking and importance: ~1.5 s on 33k rows
        reserve = min(refit + 2.0 + 0.01 * budget, 0.5 * budget)
        if not top:  # nothing yet: let the first trial use most of the budget
            reserve = 0.1 * budget
        return started + budget - reserve

    return deadline


def _ensembles(
    search: Search,
    data: TrainingData,
    metric: metrics.Metric,
    settings: AutoMLSettings,
    cb: ProgressCallback,
) -> list[Trial]:
    pool = [t for t in search.completed()[:_ENSEMBLE_POOL] if t.oof is not None]
    if len(pool) < 2:
        return []
    rows = data.validated_rows
    out = []
    limits = SelectionLimits(
        max_members=settings.ensemble_size, max_latency_ms=settings.max_ensemble_latency_ms
    )
    number = len(search.trials)
    if settings.enable_voting_ensemble:
        cands = [Candidate(t.number, _rows(t, rows), t.latency_ms or 0.0) for t in pool]
        weights = greedy_selection(cands, data.y[rows], search.objective, limits)
        if len(weights) >= 2:
            preds = [_rows(search.trials[k], rows) for k in weights]
            out.append(
                _ensemble_trial(
                    number,
                    "voting_ensemble",
                    weights,
                    blend(preds, list(weights.values())),
                    search,
                    data,
                    metric,
                    cb,
                )
            )
            number += 1
    if settings.enable_stacking_ensemble:
        members = _diverse(pool, limits)
        if len(members) >= 2:
            stacker = Stacker(search.ctx.task, settings.seed)
            oof_rows = stacker.cross_validate([_rows(t, rows) for t in members], data.y[rows])
            weights = {t.number: 1.0 / len(members) for t in members}
            out.append(
                _ensemble_trial(
                    number, "stacking_ensemble", weights, oof_rows, search, data, metric, cb
                )
            )
    return out


def _rows(trial: Trial, rows: np.ndarray) -> np.ndarray:
    assert trial.oof is not None  # the pool holds trials with predictions only
    return np.asarray(trial.oof[rows])


def _diverse(pool: list[Trial], limits: SelectionLimits) -> list[Trial]:
    """The best trial of each learner, best first, within the ensemble's limits."""
    chosen: list[Trial] = []
    latency = 0.0
    for trial in pool:
        if any(t.learner == trial.learner for t in chosen):
            continue
        if (
            len(chosen) < limits.max_members
            and latency + (trial.latency_ms or 0.0) <= limits.max_latency_ms
        ):
            chosen.append(trial)
            latency += trial.latency_ms or 0.0
    return chosen


def _ensemble_trial(
    number: int,
    name: str,
    weights: dict[int, float],
    pred_rows: np.ndarray,
    search: Search,
    data: TrainingData,
    metric: metrics.Metric,
    cb: ProgressCallback,
) -> Trial:
    members = [search.trials[k] for k in weights]
    trial = Trial(
        number=number,
        learner=name,
        params={"members": [f"{t.learner}#{t.number}" for t in members]},
        members=weights,
    )
    cb.on_trial_start(trial)
    rows = data.validated_rows
    trial.score = metrics.score(metric, data.y[rows], pred_rows)
    trial.loss = metrics.loss(search.objective, data.y[rows], pred_rows)
    trial.fold_scores = [
        metrics.score(metric, data.y[va], _fold(pred_rows, rows, va)) for _, va in data.splits
    ]
    trial.fit_time_s = sum(t.fit_time_s for t in members)
    trial.latency_ms = sum(t.latency_ms or 0.0 for t in members)
    full = np.full((len(data.y), *pred_rows.shape[1:]), np.nan)
    full[rows] = pred_rows
    trial.oof = full
    trial.status = "completed"
    cb.on_trial_end(trial)
    return trial


def _fold(pred_rows: np.ndarray, rows: np.ndarray, va: np.ndarray) -> np.ndarray:
    return pred_rows[np.searchsorted(rows, va)]


def _final_model(
    best: Trial, search: Search, setup: _Setup, hard_end: float, settings: AutoMLSettings
) -> tuple[TabularModel, Trial, list[str]]:
    """The best model refitted; past the deadline, the fastest good single model instead."""
    data, prepared, ctx, schema = setup.training, setup.prepared, setup.ctx, setup.schema
    learners = all_learners()
    members = best.members or {best.number: 1.0}
    deadline = hard_end + 0.05 * settings.budget_s
    notes: list[str] = []
    try:
        fitted = [
            _refit(
                learners[search.trials[k].learner], search.trials[k], data, prepared, ctx, deadline
            )
            for k in members
        ]
    except TrialTimeout:
        fallback = min(search.completed()[: settings.ensemble_size], key=lambda t: t.fit_time_s)
        if fallback.number == best.number:
            notes.append(f"the refit of {best.learner} ran past the budget")
        else:
            notes.append(
                f"the refit of {best.learner}#{best.number} would pass the budget; the model "
                f"is {fallback.learner}#{fallback.number} instead"
            )
        best, members = fallback, {fallback.number: 1.0}
        fitted = [_refit(learners[fallback.learner], fallback, data, prepared, ctx, None)]
    stacker = None
    if best.learner == "stacking_ensemble":
        rows = data.validated_rows
        stacker = Stacker(ctx.task, settings.seed).fit(
            [_rows(search.trials[k], rows) for k in members], data.y[rows]
        )
    model = TabularModel(
        schema=schema,
        task=ctx.task,
        classes=prepared.classes,
        members=fitted,
        weights=list(members.values()),
        stacker=stacker,
    )
    return model, best, notes


def _refit(
    learner: Learner,
    trial: Trial,
    data: TrainingData,
    prepared: PreparedData,
    ctx: FitContext,
    deadline: float | None,
) -> Predictor:
    rows = prepared.fit_rows
    weight = (
        data.balanced_weight[rows]
        if trial.params.get("balanced") and data.balanced_weight is not None
        else None
    )
    return learner.fit(trial.params, data.X[rows], data.y[rows], weight, ctx, deadline)


def _report(prepared: PreparedData, best: Trial, rows: np.ndarray) -> dict[str, Any]:
    assert best.oof is not None  # completed trials keep their predictions
    if prepared.classes is None:
        return metrics.regression_report(prepared.y[rows], best.oof[rows])
    return metrics.classification_report(
        prepared.y[rows], best.oof[rows], [str(c) for c in prepared.classes]
    )


def _importance(model: TabularModel, setup: _Setup, seed: int) -> list[dict[str, Any]]:
    data, prepared = setup.training, setup.prepared
    name = "log_loss" if prepared.task == "classification" else "rmse"
    metric = metrics.get_metric(name, prepared.task)
    rows = prepared.fit_rows
    return permutation_importance(
        model.predict_encoded,
        data.X[rows],
        data.y[rows],
        model.featurizer.features,
        lambda y, p: metrics.loss(metric, y, p),
        seed=seed,
    )


def _first_error(trials: list[Trial]) -> str:
    for trial in trials:
        if trial.error:
            return trial.error.splitlines()[0]
    return "every trial ran out of time; raise the budget"

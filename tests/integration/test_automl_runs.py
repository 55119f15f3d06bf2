"""Whole AutoML runs: a Bank Marketing sample, and datasets that ship inside scikit-learn.

Every run caps its trials (`max_trials`) and uses one core; `budget_s` is a generous
backstop that never decides an outcome. Nothing is downloaded: Bank Marketing is bundled
with Shipyard and the scikit-learn datasets are part of the scikit-learn package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes, load_iris, load_wine
from sklearn.model_selection import train_test_split

from shipyard.automl import AutoMLResult, AutoMLSettings, ProgressCallback, load_model, run_automl
from shipyard.automl.guardrails import Guardrail
from shipyard.automl.trial import Trial
from shipyard.datasets import BANK_MARKETING_TARGET, load_bank_marketing

pytestmark = pytest.mark.slow

PHASES = ["search", "ensemble", "refit", "explain", "done"]
SAMPLE_ROWS = 3000
SCORED_ROWS = 500


@dataclass
class Recorder(ProgressCallback):
    """Every callback, in the order received: ("start", 3), ("phase", "search"), ..."""

    events: list[tuple[str, int | str]] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    phases: list[str] = field(default_factory=list)

    def on_guardrails(self, guardrails: list[Guardrail]) -> None:
        self.events.append(("guardrails", len(guardrails)))

    def on_trial_start(self, trial: Trial) -> None:
        self.events.append(("start", trial.number))
        self.starts.append(trial.number)

    def on_trial_end(self, trial: Trial) -> None:
        self.events.append(("end", trial.number))
        self.ends.append(trial.number)

    def on_phase(self, phase: str, message: str) -> None:
        self.events.append(("phase", phase))
        self.phases.append(phase)


@dataclass
class BankRun:
    result: AutoMLResult
    recorder: Recorder
    unseen: pd.DataFrame  # rows of Bank Marketing outside the training sample


@pytest.fixture(scope="module")
def bank() -> BankRun:
    frame = load_bank_marketing()
    sample, rest = train_test_split(
        frame, train_size=SAMPLE_ROWS, stratify=frame[BANK_MARKETING_TARGET], random_state=0
    )
    recorder = Recorder()
    settings = AutoMLSettings(target="y", budget_s=120, max_trials=8, seed=0, n_jobs=1)
    result = run_automl(sample.reset_index(drop=True), settings, callback=recorder)
    return BankRun(result, recorder, rest.head(SCORED_ROWS).reset_index(drop=True))


def test_bank_leaderboard_holds_the_trials_and_an_ensemble(bank: BankRun) -> None:
    result = bank.result
    board = result.leaderboard()
    assert result.task == "classification"
    assert result.metric == "accuracy"
    assert "accuracy" in board.columns
    searched = board[~board["learner"].str.endswith("_ensemble")]
    assert sorted(searched["number"]) == list(range(8))
    ensembles = board[board["learner"].isin(["voting_ensemble", "stacking_ensemble"])]
    assert len(ensembles) >= 1
    completed = set(board.loc[board["status"] == "completed", "number"])
    for members in ensembles["members"]:
        assert len(members) >= 2
        assert {int(k) for k in members} <= completed
        assert sum(members.values()) == pytest.approx(1.0)
    # completed rows first, best first: ranked by log loss, accuracy's proper stand-in
    assert result.ranked_by == "log_loss"
    done = board[board["status"] == "completed"]
    assert list(board.index[: len(done)]) == list(done.index)
    assert done["log_loss loss"].is_monotonic_increasing


def test_bank_best_score_is_sensible(bank: BankRun) -> None:
    result = bank.result
    assert 0.85 <= result.best_score <= 1.0
    completed = [t for t in result.trials if t.status == "completed"]
    assert result.best.loss == min(t.loss for t in completed)
    assert result.best_score == result.best.score
    predicted = result.model.predict(bank.unseen)
    assert (predicted == bank.unseen[BANK_MARKETING_TARGET].to_numpy()).mean() > 0.85


def test_bank_save_and_load_reproduce_predictions_exactly(bank: BankRun, tmp_path: Path) -> None:
    result = bank.result
    folder = result.save(tmp_path / "bank")
    expected = result.model.predict_proba(bank.unseen)
    assert expected.shape == (SCORED_ROWS, 2)

    loaded = AutoMLResult.load(folder)
    assert np.array_equal(loaded.model.predict_proba(bank.unseen), expected)
    assert np.array_equal(load_model(folder).predict_proba(bank.unseen), expected)
    pd.testing.assert_frame_equal(loaded.leaderboard(), result.leaderboard())
    assert loaded.best.number == result.best.number
    assert loaded.settings == result.settings


def test_bank_report_has_curves_and_a_confusion_matrix(bank: BankRun) -> None:
    report = bank.result.report
    matrix = report["confusion_matrix"]
    assert matrix["labels"] == ["no", "yes"]
    assert np.array(matrix["matrix"]).sum() == SAMPLE_ROWS
    assert {"roc", "precision_recall", "calibration"} <= set(report["curves"])
    assert report["metrics"]["accuracy"] == pytest.approx(bank.result.best_score)


def test_bank_importance_names_raw_columns(bank: BankRun) -> None:
    importance = bank.result.importance
    raw = set(load_bank_marketing().columns) - {BANK_MARKETING_TARGET}
    names = [row["column"] for row in importance]
    assert set(names) == raw
    assert "duration" in names[:3]
    assert sum(row["importance"] for row in importance) == pytest.approx(1.0)


def test_bank_guardrails_flag_duration_as_a_leak(bank: BankRun) -> None:
    guardrails = {g.name: g for g in bank.result.guardrails if isinstance(g, Guardrail)}
    assert len(guardrails) == 5
    leak = guardrails["target_leakage"]
    assert leak.status == "alerted"
    assert "duration" in leak.message
    assert guardrails["class_imbalance"].status == "alerted"  # about 11% "yes"


def test_bank_progress_callback(bank: BankRun) -> None:
    recorder = bank.recorder
    # the documented phases, in order (a run may announce more, e.g. a first "prepare")
    assert [p for p in recorder.phases if p in PHASES] == PHASES
    assert len(set(recorder.phases)) == len(recorder.phases)
    assert recorder.events.index(("guardrails", 5)) < recorder.events.index(("phase", "search"))
    assert recorder.events.index(("phase", "search")) < recorder.events.index(("start", 0))
    numbers = [t.number for t in bank.result.trials]
    assert sorted(recorder.starts) == sorted(numbers)
    assert sorted(recorder.ends) == sorted(numbers)
    for number in numbers:
        assert recorder.events.index(("start", number)) < recorder.events.index(("end", number))
    # search trials run in the search phase, ensembles in the ensemble phase
    ensemble_phase = recorder.events.index(("phase", "ensemble"))
    for trial in bank.result.trials:
        started = recorder.events.index(("start", trial.number))
        assert (started > ensemble_phase) == trial.is_ensemble


# --- datasets that ship inside scikit-learn ----------------------------------------------------


def test_regression_on_diabetes() -> None:
    frame = load_diabetes(as_frame=True).frame
    settings = AutoMLSettings(target="target", budget_s=120, max_trials=6, seed=0, n_jobs=1)
    result = run_automl(frame, settings)
    assert result.task == "regression"
    assert result.metric == "r2"
    assert result.best_score > 0.3
    predicted = result.model.predict(frame.drop(columns=["target"]))
    assert predicted.shape == (len(frame),)
    assert np.isfinite(predicted).all()
    assert {"residuals", "predicted_vs_true"} <= set(result.report)


@pytest.mark.parametrize("load", [load_wine, load_iris], ids=["wine", "iris"])
def test_multiclass(load: Callable[..., Any]) -> None:
    frame = load(as_frame=True).frame
    settings = AutoMLSettings(target="target", budget_s=120, max_trials=6, seed=0, n_jobs=1)
    result = run_automl(frame, settings)
    assert result.task == "classification"
    assert result.best_score > 0.85
    features = frame.drop(columns=["target"])
    proba = result.model.predict_proba(features)
    assert proba.shape == (len(frame), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    predicted = result.model.predict(features)
    assert predicted.shape == (len(frame),)
    assert set(predicted) <= {0, 1, 2}
    assert result.report["confusion_matrix"]["labels"] == ["0", "1", "2"]

"""Rich renderables: what they show, on a plain (non-terminal) console."""

from __future__ import annotations

import io
import math

from rich.console import Console, RenderableType

from shipyard.automl import Trial
from shipyard.cli import render


def text_of(renderable: RenderableType) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=120, color_system=None).print(renderable)
    return buffer.getvalue()


def trial(
    number: int,
    learner: str,
    status: str = "completed",
    score: float | None = None,
    loss: float = math.inf,
) -> Trial:
    return Trial(
        number=number,
        learner=learner,
        params={},
        status=status,
        score=score,
        loss=loss,
        fit_time_s=0.25,
    )


def test_leaderboard_puts_completed_trials_first_best_first_and_caps_rows():
    trials = [
        trial(0, "linear", score=0.7, loss=0.3),
        trial(1, "lightgbm", "failed"),
        trial(2, "xgboost", score=0.9, loss=0.1),
    ]
    trials += [trial(n, "extra_trees", score=0.5, loss=0.5) for n in range(3, 20)]
    lines = text_of(render.leaderboard_table(trials, "accuracy")).splitlines()
    rows = [line for line in lines if line.startswith("│")]
    assert len(rows) == render.LEADERBOARD_ROWS
    assert "xgboost" in rows[0]
    assert "0.90000" in rows[0]
    assert "linear" in rows[1]
    assert not any("failed" in row for row in rows)


def test_run_display_shows_time_against_budget_and_the_trials_so_far():
    display = render.RunDisplay("score", budget_s=60)
    display.update_trial(trial(0, "lightgbm"), running=True)
    assert "trial 0: lightgbm" in text_of(display)
    finished = trial(0, "lightgbm", score=0.88, loss=0.12)
    display.update_trial(finished, running=False)
    display.set_phase("done", "accuracy")
    shown = text_of(display)
    assert "/ 60s" in shown
    assert "done" in shown
    assert "trial 0:" not in shown
    assert "accuracy" in shown
    assert "0.88000" in shown
    assert "1 trials, 1 completed" in shown


def test_guardrails_table_colours_nothing_away():
    guardrails = [
        {"name": "missing_values", "status": "fixed", "message": "2 columns"},
        {"name": "target_leakage", "status": "alerted", "message": "'duration'"},
    ]
    shown = text_of(render.guardrails_table(guardrails))
    assert "missing_values" in shown
    assert "fixed" in shown
    assert "'duration'" in shown
    assert render.status_text("alerted").style == "yellow"
    assert render.status_text("failed").style == "red"


def test_importance_bars_scale_to_the_largest_share():
    importance = [
        {"column": "duration", "importance": 0.6, "loss_increase": 0.1},
        {"column": "age", "importance": 0.3, "loss_increase": 0.05},
        {"column": "job", "importance": 0.0, "loss_increase": -0.01},
    ]
    lines = text_of(render.importance_table(importance)).splitlines()
    bars = {
        name: next(line.count("█") for line in lines if name in line)
        for name in ("duration", "age", "job")
    }
    assert bars == {"duration": 30, "age": 15, "job": 0}


def test_confusion_matrix_and_its_limit():
    shown = text_of(render.confusion_table({"labels": ["no", "yes"], "matrix": [[50, 3], [7, 40]]}))
    assert "true \\ predicted" in shown
    assert "50" in shown
    assert "40" in shown
    many = {"labels": [str(i) for i in range(25)], "matrix": [[0] * 25] * 25}
    assert "25 classes" in text_of(render.confusion_table(many))


def test_metrics_table_shows_missing_values_as_a_dash():
    shown = text_of(render.metrics_table({"AUC_weighted": None, "accuracy": 0.912346}))
    assert "—" in shown
    assert "0.91235" in shown

"""How `automl run --dataset` reports a server's run: from the run's stored metrics and
tags, without downloading its model unless a copy is asked for."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from shipyard.cli._automl_run import report_recorded
from shipyard.core.schemas import Run, RunStatus
from shipyard.workspace import LocalWorkspace
from shipyard.workspace.automl import AutoMLRun

RUN = Run(
    id="run_remote",
    experiment_id="exp_1",
    experiment="by-sdk",
    kind="automl",
    status=RunStatus.COMPLETED,
    metrics={"accuracy": 0.9, "AUC_weighted": 0.95},
    tags={"primary_metric": "accuracy", "best_learner": "linear", "best_trial": "1"},
    dataset="toy:1",
    created_at=datetime(2026, 1, 1, tzinfo=UTC),
)


def _never():
    raise AssertionError("the model was downloaded to report the run")


@pytest.fixture
def ws(tmp_path):
    with LocalWorkspace.open(tmp_path / "ws") as workspace:
        yield workspace


def test_a_servers_run_is_reported_from_what_it_stored(capsys, ws):
    recorded = AutoMLRun(RUN, load=_never)
    report_recorded(ws, recorded, None, " --server http://h", as_json=True)
    document = json.loads(capsys.readouterr().out)
    assert document["primary_metric"] == "accuracy"
    assert (document["best_score"], document["best_learner"]) == (0.9, "linear")
    assert document["metrics"] == RUN.metrics
    assert document["output"] is None

    report_recorded(ws, recorded, None, " --server http://h", as_json=False)
    shown = capsys.readouterr().out
    assert "Best model: linear (trial 1), accuracy 0.90000" in shown
    assert "AUC_weighted" in shown
    assert "shipyard run show run_remote --server http://h" in shown
    assert not recorded.has_result


def test_the_top_features_and_confusion_matrix_come_from_the_runs_json(capsys, ws):
    run = ws.create_run("by-sdk", kind="automl")
    ws.log_json(run.id, "importance.json", [{"column": "duration", "importance": 0.3}])
    matrix = {"labels": ["no", "yes"], "matrix": [[90, 3], [7, 11]]}
    ws.log_json(run.id, "report.json", {"confusion_matrix": matrix})
    recorded = AutoMLRun(RUN.model_copy(update={"id": run.id}), load=_never)
    report_recorded(ws, recorded, None, "", as_json=False)
    shown = capsys.readouterr().out
    assert "Top 10 features" in shown
    assert "duration" in shown
    assert "Confusion matrix" in shown


def test_a_copy_of_the_model_is_what_downloads_it(tmp_path, ws):
    recorded = AutoMLRun(RUN, load=_never)
    with pytest.raises(AssertionError, match="downloaded"):
        report_recorded(ws, recorded, tmp_path / "copy", "", as_json=True)


def test_an_automl_run_takes_a_result_or_a_way_to_load_it():
    with pytest.raises(TypeError, match="not both"):
        AutoMLRun(RUN)

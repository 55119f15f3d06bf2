"""AutoML recorded in the workspace, and the model registry on top of it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shipyard.automl import AutoMLSettings
from shipyard.core.errors import (
    ConflictError,
    DataError,
    InvalidInputError,
    NotFoundError,
)
from shipyard.core.schemas import RunStatus
from tests.fixtures.automl import fast_settings, make_frame

pytestmark = pytest.mark.slow


@pytest.fixture
def recorded(workspace):
    """A small recorded AutoML run (linear and XGBoost, 3 trials) on a registered dataset."""
    frame = make_frame("binary", seed=0)
    workspace.register_dataset("toy", frame, target="y")
    settings = fast_settings(allowed_learners=("linear", "xgboost"), seed=0)
    return workspace.automl("toy", settings, experiment="toy-exp"), frame


def test_an_automl_run_is_a_parent_with_one_child_per_trial(workspace, recorded):
    automl_run, _ = recorded
    run = workspace.get_run(automl_run.id)
    result = automl_run.result

    assert run.status is RunStatus.COMPLETED
    assert (run.kind, run.experiment, run.dataset) == ("automl", "toy-exp", "toy:1")
    assert run.has_model
    assert run.metrics["accuracy"] == pytest.approx(result.report["metrics"]["accuracy"])
    assert run.tags["primary_metric"] == "accuracy"
    assert run.params["target"] == "y"

    children = workspace.list_runs(parent_id=run.id, order_by="created_at asc").items
    assert len(children) == len(result.trials)
    assert all(c.kind == "trial" and c.is_finished for c in children)
    by_trial = {int(c.tags["trial"]): c for c in children}
    for trial in result.trials:
        child = by_trial[trial.number]
        assert child.tags["learner"] == trial.learner
        if trial.status == "completed":
            assert child.status is RunStatus.COMPLETED
            assert child.metrics["accuracy"] == pytest.approx(trial.score)
    assert run.tags["best_run_id"] == by_trial[result.best.number].id


def test_guardrails_report_and_model_are_artifacts(workspace, recorded):
    automl_run, _ = recorded
    artifacts = workspace.list_artifacts(automl_run.id)
    for name in ("guardrails.json", "report.json", "importance.json", "leaderboard.csv"):
        assert name in artifacts
    assert "model/descriptor.json" in artifacts
    report = json.loads(workspace.read_artifact(automl_run.id, "report.json"))
    assert {"metrics", "confusion_matrix", "curves"} <= set(report)
    assert report["curves"]["roc"]
    guardrails = json.loads(workspace.read_artifact(automl_run.id, "guardrails.json"))
    assert {g["name"] for g in guardrails} >= {"class_imbalance", "missing_values"}
    logs = [line.message for line in workspace.get_run_logs(automl_run.id)]
    assert any(m.startswith("search:") for m in logs)


def test_a_failed_automl_run_is_recorded_as_failed(workspace):
    workspace.register_dataset("toy", make_frame("binary", seed=0))
    with pytest.raises(DataError):
        workspace.automl("toy", AutoMLSettings(target="missing", max_trials=2), experiment="e")
    (run,) = workspace.list_runs(experiment="e").items
    assert run.status is RunStatus.FAILED
    assert "missing" in run.failure_reason
    assert not run.has_model


def test_register_a_model_from_a_run_and_load_it(workspace, recorded, tmp_path):
    automl_run, frame = recorded
    version = workspace.register_model(
        "toy-model", automl_run.id, description="first", tags={"stage": "dev"}
    )
    assert (version.name, version.version, version.ref) == ("toy-model", 1, "toy-model:1")
    assert (version.run_id, version.dataset, version.target) == (automl_run.id, "toy:1", "y")
    assert version.learner == automl_run.result.best.learner
    assert version.descriptor["classes"] == ["no", "yes"]
    assert set(version.descriptor["input_schema"]["columns"][0]) >= {"name", "kind"}
    assert version.metrics["accuracy"] == pytest.approx(automl_run.run.metrics["accuracy"])
    assert version.tags == {"stage": "dev"}

    rows = frame.drop(columns="y").head(20)
    loaded = workspace.load_model("toy-model")
    np.testing.assert_array_equal(loaded.predict(rows), automl_run.result.model.predict(rows))
    folder = workspace.download_model("toy-model:1", tmp_path / "download")
    assert {p.name for p in folder.iterdir()} >= {"descriptor.json", "model.joblib"}
    with pytest.raises(ConflictError, match="not empty"):
        workspace.download_model("toy-model:1", tmp_path / "download")

    second = workspace.register_model("toy-model", automl_run.id)
    assert second.version == 2
    assert [v.version for v in workspace.list_model_versions("toy-model")] == [1, 2]
    (listed,) = workspace.list_models().items
    assert (listed.name, listed.latest_version, listed.versions) == ("toy-model", 2, 2)
    assert workspace.get_model("toy-model").version == 2
    assert workspace.get_model("toy-model", version=1).description == "first"


def test_registering_needs_a_run_with_a_model(workspace, recorded):
    automl_run, _ = recorded
    trial = workspace.list_runs(parent_id=automl_run.id, max_results=1).items[0]
    with pytest.raises(InvalidInputError, match="has no model"):
        workspace.register_model("toy-model", trial.id)
    with pytest.raises(NotFoundError, match="no run with id"):
        workspace.register_model("toy-model", "run_nope")
    with pytest.raises(InvalidInputError, match="slashes"):
        workspace.register_model("a/b", automl_run.id)
    assert workspace.list_models().total == 0
    with pytest.raises(NotFoundError, match="no model named 'toy-model'"):
        workspace.get_model("toy-model")
    workspace.register_model("toy-model", automl_run.id)
    with pytest.raises(NotFoundError, match=r"no version 3 \(versions: 1\)"):
        workspace.load_model("toy-model:3")

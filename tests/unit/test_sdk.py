from __future__ import annotations

import json
import threading
from pathlib import Path
from unittest.mock import ANY

import pytest
from fastapi import FastAPI

import shipyard
from shipyard.automl import ProgressCallback, Trial
from shipyard.core.errors import (
    ConflictError,
    DataError,
    InvalidInputError,
    PermissionDeniedError,
    ServiceUnavailableError,
    ShipyardError,
)
from shipyard.core.interface import WorkspaceAPI
from shipyard.core.schemas import JobEventKind, JobStatus, RunStatus
from shipyard.sdk import (
    JobFailedError,
    JobFollower,
    ServerWorkspace,
    Workspace,
    job_error,
    read_config,
)
from shipyard.server import ServerSettings, create_app
from shipyard.workspace import LocalWorkspace
from shipyard.workspace.worker import run_worker
from tests.fixtures.automl import fast_settings, make_frame
from tests.fixtures.servers import in_process

SERVER = "http://shipyard.test"


def test_workspace_local_opens_a_folder(tmp_path):
    with shipyard.Workspace.local(tmp_path / "ws") as ws:
        assert isinstance(ws, LocalWorkspace)
        assert (tmp_path / "ws" / "shipyard.db").exists()
        assert ws.list_datasets().total == 0


def test_workspace_is_a_factory_only():
    with pytest.raises(TypeError, match=r"Workspace\.local"):
        shipyard.Workspace()
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = shipyard.Nope


def test_the_local_workspace_offers_the_whole_workspace_api(tmp_path):
    from shipyard.core.interface import WorkspaceAPI

    with shipyard.Workspace.local(tmp_path / "ws") as ws:
        assert isinstance(ws, WorkspaceAPI)


# --- the remote workspace of the SDK -------------------------------------------------------


def _config(path: Path, **values: str) -> Path:
    path.write_text(json.dumps(values))
    return path


def _principal_config(app: FastAPI, path: Path, name: str, role: str) -> tuple[Path, str]:
    """A config file for a new principal of the in-process app's workspace."""
    created = app.state.workspace.create_principal(name, role)
    secrets = {"client_id": created.client_id, "client_secret": created.client_secret}
    return _config(path, server=SERVER, **secrets), created.client_secret


def test_read_config_says_what_is_wrong(tmp_path):
    with pytest.raises(InvalidInputError, match="no config file at"):
        read_config(tmp_path / "absent.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InvalidInputError, match="is not valid JSON"):
        read_config(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(InvalidInputError, match="must hold a JSON object"):
        read_config(tmp_path / "list.json")
    partial = _config(tmp_path / "partial.json", client_id="sp_1", client_secret="s")
    with pytest.raises(InvalidInputError, match="lacks server"):
        read_config(partial)
    given = read_config(partial, server="http://h:1")
    assert given == {"server": "http://h:1", "client_id": "sp_1", "client_secret": "s"}


def test_from_config_talks_to_the_server_as_its_principal(tmp_path):
    app = create_app(ServerSettings(workspace=tmp_path / "ws", supervise=False))
    with in_process(app, SERVER) as client:
        config, secret = _principal_config(app, tmp_path / "config.json", "sdk-reader", "reader")
        with Workspace.from_config(config, http=client) as ws:
            assert isinstance(ws, ServerWorkspace)
            assert isinstance(ws, WorkspaceAPI)
            assert ws.list_datasets().total == 0
            with pytest.raises(PermissionDeniedError, match="contributor"):
                ws.create_experiment("not-for-readers")
            assert secret not in repr(ws)


def test_a_job_error_event_names_the_error_to_raise():
    named = job_error("job_1", "DataError", "the target has one class")
    assert type(named) is DataError
    assert str(named) == "the target has one class"
    other = job_error("job_1", "ValueError", "bad")
    assert type(other) is JobFailedError
    assert isinstance(other, ShipyardError)
    assert (other.job_id, other.error_type, other.message) == ("job_1", "ValueError", "bad")
    assert str(other) == "job job_1 failed: ValueError: bad"
    not_an_error = job_error("job_1", "Path", "x")  # a name in errors' module, not an error
    assert type(not_an_error) is JobFailedError
    derived = ["ServiceUnavailableError", "ShipyardError"]
    nearest = job_error("job_1", "StoreUnavailableError", "the database is down", derived)
    assert type(nearest) is ServiceUnavailableError
    assert str(nearest) == "the database is down"
    only_the_base = job_error("job_1", "RunnerError", "no runner", ["ShipyardError"])
    assert (type(only_the_base), only_the_base.error_type) == (JobFailedError, "RunnerError")


class Recorder(ProgressCallback):
    """What a progress callback heard."""

    def __init__(self) -> None:
        self.guardrails: list[str] = []
        self.setup: tuple[str, str] | None = None
        self.started: set[tuple[int, str]] = set()
        self.ended: dict[int, Trial] = {}
        self.phases: list[str] = []

    def on_guardrails(self, guardrails):
        self.guardrails = [g.name for g in guardrails]

    def on_setup(self, task, metric):
        self.setup = (task, metric)

    def on_trial_start(self, trial):
        self.started.add((trial.number, trial.learner))

    def on_trial_end(self, trial):
        self.ended[trial.number] = trial

    def on_phase(self, phase, message):
        self.phases.append(phase)


@pytest.mark.slow
def test_automl_on_a_server_is_a_followed_job(tmp_path):
    """The callback hears the run as the engine told the worker; the result comes back whole."""
    folder = tmp_path / "ws"
    with LocalWorkspace.open(folder) as local:
        local.register_dataset("toy", make_frame("binary", seed=0))
    app = create_app(ServerSettings(workspace=folder, supervise=False))
    stop = threading.Event()

    def work():
        with LocalWorkspace.open(folder) as worker_ws:  # as a worker process would
            run_worker(worker_ws, stop, poll_s=0.05, max_jobs=1)

    worker = threading.Thread(target=work, daemon=True)
    with in_process(app, SERVER) as client:
        config, _ = _principal_config(app, tmp_path / "config.json", "sdk-owner", "owner")
        ws = Workspace.from_config(config, http=client)
        ws.wait_s = 1.0
        sent: list[str] = []
        client.event_hooks["request"].append(lambda request: sent.append(request.url.path))
        worker.start()
        heard = Recorder()
        settings = fast_settings(allowed_learners=("linear",), max_trials=2, seed=0)
        recorded = ws.automl("toy", settings, experiment="remote", callback=heard)
        stop.set()
        worker.join(30)
        # followed through its events, and no model downloaded to say how it went
        assert any(path.endswith("/events") for path in sent)
        assert not any("/artifacts" in path or path.endswith("/logs") for path in sent)
        assert recorded.run.metrics[recorded.run.tags["primary_metric"]] > 0

        result = recorded.result
        assert (recorded.run.status, recorded.run.experiment) == (RunStatus.COMPLETED, "remote")
        assert heard.guardrails == [g["name"] for g in result.to_dict()["guardrails"]]
        assert heard.setup == (result.task, result.metric)
        assert heard.started == {(t.number, t.learner) for t in result.trials}
        for trial in result.trials:
            assert heard.ended[trial.number].status == trial.status
            assert heard.ended[trial.number].score == pytest.approx(trial.score)
        assert heard.phases[0] == "prepare"
        assert heard.phases[-1] == "done"
        assert recorded.run.tags["best_learner"] == result.best.learner

        version = ws.register_model("remote-model", recorded.id)
        model = ws.load_model(version.ref)
        rows = make_frame("binary", seed=1, rows=3).drop(columns="y")
        assert list(model.predict(rows)) == list(result.model.predict(rows))


def _toy_server(tmp_path: Path) -> FastAPI:
    folder = tmp_path / "ws"
    with LocalWorkspace.open(folder) as ws:
        ws.register_dataset("toy", make_frame("binary", seed=0, rows=40))
    return create_app(ServerSettings(workspace=folder, supervise=False))


def test_a_job_nobody_takes_is_said_to_wait_and_a_cancel_ends_the_follow(tmp_path):
    app = _toy_server(tmp_path)
    with in_process(app, SERVER) as client:
        config, _ = _principal_config(app, tmp_path / "config.json", "waiter", "contributor")
        ws = Workspace.from_config(config, http=client)
        job = ws.submit_automl_job("toy", fast_settings(max_trials=1))
        messages: list[tuple[str, str]] = []

        class Listen(ProgressCallback):
            def on_phase(self, phase: str, message: str) -> None:
                messages.append((phase, message))
                ws.cancel_job(job.id)  # the next read of the events finds it canceled

        with pytest.raises(ConflictError, match=f"job {job.id} was canceled"):
            JobFollower(ws, job, Listen()).follow(0.05)
        assert messages == [("queued", ANY)]
        assert "waits for a worker" in messages[0][1]
        assert "--workers N" in messages[0][1]


def test_interrupting_a_followed_run_cancels_its_job(tmp_path):
    app = _toy_server(tmp_path)
    with in_process(app, SERVER) as client:
        config, _ = _principal_config(app, tmp_path / "config.json", "quitter", "contributor")
        ws = Workspace.from_config(config, http=client)
        ws.wait_s = 0.0

        class Quit(ProgressCallback):
            def on_phase(self, phase, message):
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            ws.automl("toy", fast_settings(max_trials=1), experiment="quit", callback=Quit())
        (job,) = ws.list_jobs().items
        assert job.status is JobStatus.CANCELED
        assert job.run_id is not None
        assert ws.get_run(job.run_id).status is RunStatus.CANCELED
        with pytest.raises(InvalidInputError, match="has no artifacts under model/"):
            ws.automl_result(job.run_id)


@pytest.mark.slow
def test_a_failed_job_raises_the_error_a_local_run_would(tmp_path):
    folder = tmp_path / "ws"
    one_class = make_frame("binary", seed=0, rows=40).assign(y="yes")
    with LocalWorkspace.open(folder) as local:
        local.register_dataset("one-class", one_class)
        with pytest.raises(DataError) as raised_here:
            local.automl("one-class", fast_settings(max_trials=1), experiment="here")
    app = create_app(ServerSettings(workspace=folder, supervise=False))
    stop = threading.Event()

    def work():
        with LocalWorkspace.open(folder) as worker_ws:
            run_worker(worker_ws, stop, poll_s=0.05, max_jobs=1)

    worker = threading.Thread(target=work, daemon=True)
    with in_process(app, SERVER) as client:
        config, _ = _principal_config(app, tmp_path / "config.json", "failer", "contributor")
        ws = Workspace.from_config(config, http=client)
        ws.wait_s = 1.0
        worker.start()
        with pytest.raises(DataError) as raised_there:
            ws.automl("one-class", fast_settings(max_trials=1), experiment="there")
        stop.set()
        worker.join(30)
        assert str(raised_there.value) == str(raised_here.value)
        (job,) = ws.list_jobs().items
        kinds = [e.kind for e in ws.job_events(job.id)]
        assert kinds[-2:] == [JobEventKind.ERROR, JobEventKind.STATUS]


def test_a_follower_replays_a_retried_jobs_events_as_callbacks(tmp_path):
    with LocalWorkspace.open(tmp_path / "ws") as ws:
        ws.register_dataset("toy", make_frame("binary", seed=0, rows=40))
        job = ws.submit_automl_job("toy", fast_settings(max_trials=1))
        first_run = ws.claim_job().run_id
        ws.release_job(job.id, "the worker was stopped")  # queued again with a fresh run
        again = ws.claim_job()
        assert again.run_id != first_run
        trial = Trial(3, "linear", {"C": 0.5}, "completed", score=0.75, loss=0.25, fit_time_s=0.1)
        ws.record_job_event(job.id, JobEventKind.SETUP, {"task": "classification", "metric": "m"})
        ws.record_job_event(job.id, JobEventKind.TRIAL_STARTED, {**trial.to_dict(), "params": {}})
        ws.record_job_event(job.id, JobEventKind.TRIAL_FINISHED, trial.to_dict())
        ws.record_job_event(job.id, JobEventKind.PHASE, {"phase": "done", "message": "ok"})
        ws.finish_job(job.id, JobStatus.COMPLETED)

        heard = Recorder()
        run = JobFollower(ws, job, heard).follow(0.0)
        assert run.id == again.run_id
        assert heard.phases == ["retry", "done"]
        assert heard.setup == ("classification", "m")
        assert heard.started == {(3, "linear")}
        replayed = heard.ended[3]
        assert (replayed.status, replayed.score, replayed.loss) == ("completed", 0.75, 0.25)
        assert replayed.params == {"C": 0.5}

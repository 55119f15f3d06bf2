from __future__ import annotations

import threading

import pytest

from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.schemas import JobEventKind, JobStatus, RunStatus
from shipyard.store.tables import JobRow, RunRow
from shipyard.workspace.jobs import JobLimits
from shipyard.workspace.worker import execute, run_worker
from tests.fixtures.automl import FAST_SETTINGS, make_frame

SETTINGS = {"target": "y", **FAST_SETTINGS, "allowed_learners": ["linear"], "max_trials": 2}


@pytest.fixture
def toy(workspace):
    workspace.register_dataset("toy", make_frame("binary", seed=0))
    return workspace


def _dead_worker(ws, job_id: str) -> None:
    """Make the job and its run look owned by a process of this host that is gone."""
    ghost = f"{ws.owner.split(':')[0]}:999999999:1"
    with ws.store.write() as session:
        job = session.get(JobRow, job_id)
        job.worker = ghost
        run = session.get(RunRow, job.run_id)
        run.owner = ghost


def test_a_submitted_job_is_queued_with_a_queued_run(toy):
    job = toy.submit_automl_job("toy", SETTINGS, experiment="bg", created_by="sp_x")
    assert job.status is JobStatus.QUEUED
    run = toy.get_run(job.run_id)
    assert (run.status, run.kind, run.experiment) == (RunStatus.QUEUED, "automl", "bg")
    assert job.payload["dataset"] == "toy:1"
    assert [j.id for j in toy.list_jobs(status="queued").items] == [job.id]


def test_jobs_are_claimed_once_oldest_first(toy):
    first = toy.submit_automl_job("toy", SETTINGS)
    second = toy.submit_automl_job("toy", SETTINGS)
    claimed = toy.claim_job()
    assert claimed.id == first.id
    assert claimed.status is JobStatus.RUNNING
    assert claimed.attempts == 1
    assert toy.claim_job().id == second.id
    assert toy.claim_job() is None


@pytest.mark.slow
def test_a_worker_runs_a_job_to_completion(toy):
    job = toy.submit_automl_job("toy", SETTINGS)
    assert run_worker(toy, threading.Event(), max_jobs=1) == 1
    done = toy.get_job(job.id)
    assert done.status is JobStatus.COMPLETED
    run = toy.get_run(done.run_id)
    assert run.status is RunStatus.COMPLETED
    assert run.has_model
    assert toy.list_runs(parent_id=run.id).total >= 2

    events = toy.job_events(job.id, limit=1000)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    statuses = [e.payload for e in events if e.kind is JobEventKind.STATUS]
    assert statuses[0] == {"status": "queued"}
    assert statuses[1] == {"status": "running", "attempt": 1, "run_id": run.id}
    assert statuses[-1] == {"status": "completed"}
    kinds = [e.kind for e in events]
    assert kinds.index(JobEventKind.GUARDRAILS) < kinds.index(JobEventKind.SETUP)
    (setup,) = [e.payload for e in events if e.kind is JobEventKind.SETUP]
    assert setup["metric"] == run.tags["primary_metric"]
    finished = [e.payload for e in events if e.kind is JobEventKind.TRIAL_FINISHED]
    started = [e.payload for e in events if e.kind is JobEventKind.TRIAL_STARTED]
    assert [t["number"] for t in started] == [t["number"] for t in finished]
    best = next(t for t in finished if str(t["number"]) == run.tags["best_trial"])
    assert best["learner"] == run.tags["best_learner"]
    assert {"status", "score", "fit_time_s", "params"} <= best.keys()
    phases = [e.payload["phase"] for e in events if e.kind is JobEventKind.PHASE]
    assert (phases[0], phases[-1]) == ("prepare", "done")


@pytest.mark.slow
def test_a_bad_job_fails_with_the_reason(toy):
    # what only the rows can tell (here: a target with missing values) fails in the worker
    frame = make_frame("binary", seed=0)
    frame.loc[3, "y"] = None
    toy.register_dataset("toy-holes", frame)
    job = toy.submit_automl_job("toy-holes", SETTINGS)
    claimed = toy.claim_job()
    finished = execute(toy, claimed)
    assert finished.status is JobStatus.FAILED
    assert "missing value" in finished.error
    error, ended = toy.job_events(job.id)[-2:]
    assert error.kind is JobEventKind.ERROR
    assert error.payload["type"] == "DataError"
    assert error.payload["bases"] == ["InvalidInputError", "ShipyardError"]
    assert "missing value" in error.payload["message"]
    assert (ended.kind, ended.payload["status"]) == (JobEventKind.STATUS, "failed")
    assert toy.get_run(job.run_id).status is RunStatus.FAILED


def test_canceling(toy):
    queued = toy.submit_automl_job("toy", SETTINGS)
    canceled = toy.cancel_job(queued.id)
    assert canceled.status is JobStatus.CANCELED
    assert toy.get_run(queued.run_id).status is RunStatus.CANCELED
    with pytest.raises(ConflictError, match="cannot be canceled"):
        toy.cancel_job(queued.id)
    running = toy.submit_automl_job("toy", SETTINGS)
    toy.claim_job()
    assert toy.cancel_job(running.id).status is JobStatus.RUNNING
    assert toy.job_heartbeat(running.id) is True  # the worker hears it on its next beat


def test_a_lost_worker_s_job_is_queued_again_then_failed_when_out_of_attempts(toy):
    job = toy.submit_automl_job("toy", SETTINGS, max_attempts=2)
    toy.claim_job()
    toy.set_run_status(job.run_id, RunStatus.RUNNING)
    _dead_worker(toy, job.id)
    assert toy.recover_jobs() == 1
    again = toy.get_job(job.id)
    assert again.status is JobStatus.QUEUED
    assert "worker lost" in again.error
    assert again.run_id != job.run_id
    lost_run = toy.get_run(job.run_id)
    assert lost_run.status is RunStatus.FAILED
    assert toy.get_run(again.run_id).status is RunStatus.QUEUED

    assert toy.claim_job().attempts == 2
    _dead_worker(toy, job.id)
    toy.recover_jobs()
    final = toy.get_job(job.id)
    assert final.status is JobStatus.FAILED
    assert "no attempts left (2 of 2)" in final.error
    statuses = [e.payload["status"] for e in toy.job_events(job.id)]
    assert statuses == ["queued", "running", "queued", "running", "failed"]


@pytest.mark.slow
def test_a_stopping_worker_releases_its_job_for_the_next_one_without_using_an_attempt(toy):
    job = toy.submit_automl_job("toy", {**SETTINGS, "max_trials": 50}, max_attempts=1)
    claimed = toy.claim_job()
    stop = threading.Event()
    stop.set()  # as SIGTERM would: the run stops at its first trial boundary
    released = execute(toy, claimed, stop=stop)
    assert released.status is JobStatus.QUEUED
    assert (released.attempts, released.worker) == (0, None)
    assert "worker was stopped" in released.error
    stopped = toy.get_run(job.run_id)
    assert stopped.status is RunStatus.CANCELED
    assert toy.list_runs(parent_id=stopped.id).total == 1  # one trial, then it stopped
    assert toy.get_run(released.run_id).status is RunStatus.QUEUED
    with pytest.raises(ConflictError, match="not running in this worker"):
        toy.release_job(job.id, "twice")

    assert run_worker(toy, threading.Event(), max_jobs=1) == 1  # max_attempts=1 still allows it
    done = toy.get_job(job.id)
    assert (done.status, done.attempts) == (JobStatus.COMPLETED, 1)


def test_bad_submissions_store_nothing(toy):
    with pytest.raises(NotFoundError):
        toy.submit_automl_job("ghost", SETTINGS)
    with pytest.raises(InvalidInputError, match="unknown AutoML setting"):
        toy.submit_automl_job("toy", {**SETTINGS, "speed": "max"})
    with pytest.raises(InvalidInputError, match="max_attempts"):
        toy.submit_automl_job("toy", SETTINGS, max_attempts=0)
    with pytest.raises(InvalidInputError, match="unknown job status"):
        toy.list_jobs(status="lost")
    with pytest.raises(NotFoundError):
        toy.get_job("job_nope")
    assert toy.list_jobs().total == 0
    assert toy.list_runs().total == 0


# --- issue 10 finding 9: settings are checked when the job is submitted -------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"target": "nope"}, "target: column 'nope' is not in dataset toy:1; its columns are x1"),
        ({"primary_metric": "speed"}, "primary_metric 'speed' is not a metric"),
        ({"primary_metric": "r2"}, "primary_metric: Metric 'r2' is a regression metric"),
        ({"task": "regression"}, "task: the target 'y' holds labels (str), not numbers"),
        ({"allowed_learners": "lightgbm"}, "allowed_learners must be a list of learner names"),
        ({"seed": 2**70}, "seed must be a whole number between 0 and 4294967295"),
        ({"n_jobs": 1e9}, "n_jobs must be a whole number between 1 and 1024"),
        ({"budget_s": 1e308}, "budget_s must be a number above 0 and at most"),
        ({"budget_s": 86401}, "budget_s 86401 is over this server's maximum of 86400 seconds"),
        ({"max_trials": 10_001}, "max_trials 10001 is over this server's maximum of 10000"),
    ],
)
def test_bad_settings_are_refused_before_anything_is_queued(toy, overrides, message):
    with pytest.raises(InvalidInputError) as refused:
        toy.submit_automl_job("toy", {**SETTINGS, **overrides})
    assert message in str(refused.value)
    assert toy.list_jobs().total == 0
    assert toy.list_runs().total == 0


def test_job_limits_come_from_the_caller_or_the_environment(toy):
    tight = JobLimits(max_budget_s=60, max_trials=2)
    with pytest.raises(InvalidInputError, match="over this server's maximum of 60 seconds"):
        toy.submit_automl_job("toy", SETTINGS, limits=tight)
    job = toy.submit_automl_job("toy", {**SETTINGS, "budget_s": 60}, limits=tight)
    assert job.payload["settings"]["budget_s"] == 60
    env = JobLimits(max_budget_s=90.5, max_trials=7).to_env()
    assert JobLimits.from_env(env) == JobLimits(max_budget_s=90.5, max_trials=7)
    assert JobLimits.from_env({}) == JobLimits()
    with pytest.raises(InvalidInputError, match="SHIPYARD_MAX_BUDGET_S"):
        JobLimits.from_env({"SHIPYARD_MAX_BUDGET_S": "a day"})
    with pytest.raises(InvalidInputError, match="maximum job budget"):
        JobLimits(max_budget_s=float("inf"))


def test_an_unknown_target_is_named_briefly(toy):
    with pytest.raises(InvalidInputError, match="target: column 'xxx") as refused:
        toy.submit_automl_job("toy", {**SETTINGS, "target": "x" * 100_000})
    assert len(str(refused.value)) < 300


def test_a_numeric_target_leaves_the_task_to_the_worker(workspace):
    workspace.register_dataset("toy-reg", make_frame("regression", seed=0))
    job = workspace.submit_automl_job("toy-reg", {**SETTINGS, "primary_metric": "rmse"})
    assert job.payload["settings"]["target"] == "y"

"""One contract, three ways: every test runs on a local workspace, over HTTP in process and
over a real server (see conftest.py), and must see the same behaviour and the same errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
import pytest

from shipyard.client import ServicePrincipalAuthentication
from shipyard.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
)
from shipyard.core.schemas import JobEventKind, JobStatus, RunStatus
from shipyard.server import ServerSettings, create_app
from shipyard.workspace import LocalWorkspace
from tests.contract.conftest import IN_PROCESS, copy_of, remote_workspace
from tests.fixtures.automl import fast_settings, make_frame
from tests.fixtures.servers import credentials, in_process

# --- datasets ------------------------------------------------------------------------------


def test_datasets_register_get_list_and_version(api, unique):
    name = unique("ds")
    first = make_frame("binary", seed=1, rows=50)
    registered = api.ws.register_dataset(name, first, description="fifty rows", target="y")
    assert (registered.name, registered.version, registered.rows) == (name, 1, 50)
    assert registered.description == "fifty rows"
    assert "profile" not in registered.model_dump()  # listings and gets stay small
    stored = api.ws.profile_dataset(registered.ref)
    assert stored.class_balance == first["y"].value_counts().to_dict()
    assert api.ws.profile_dataset(name, version=1) == stored

    again = api.ws.register_dataset(name, first)
    assert (again.version, again.id) == (1, registered.id)  # same rows: the same version
    second = api.ws.register_dataset(name, make_frame("binary", seed=2, rows=60))
    assert second.version == 2

    assert api.ws.get_dataset(name).version == 2
    assert api.ws.get_dataset(f"{name}:1").id == registered.id
    assert api.ws.get_dataset(name, version=1).content_hash == registered.content_hash
    assert [d.version for d in api.ws.list_dataset_versions(name)] == [1, 2]
    listed = {d.name: d for d in api.ws.list_datasets(max_results=1000).items}
    assert listed[name].version == 2
    assert listed[api.seed.dataset].version == 1


def test_datasets_load_and_profile(api, unique, tmp_path):
    name = unique("csv")
    frame = make_frame("multiclass", seed=3, rows=40)
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    dataset = api.ws.register_dataset(name, path)
    assert dataset.source == "table.csv"

    loaded = api.ws.load_dataset(name)
    pd.testing.assert_frame_equal(loaded, frame, check_dtype=False)
    pd.testing.assert_frame_equal(dataset.to_pandas(), loaded)  # bound to its workspace
    profile = api.ws.profile_dataset(dataset.ref, "y")
    assert profile.target == "y"
    assert profile.class_balance == frame["y"].value_counts().to_dict()
    assert {c.name for c in profile.columns} == set(frame.columns)


def test_pages_of_datasets(api, unique):
    for i in range(3):
        api.ws.register_dataset(unique("paged"), make_frame("binary", seed=10 + i, rows=20))
    first = api.ws.list_datasets(max_results=2)
    assert len(first.items) == 2
    assert first.total >= 4  # three here, the seeded one, maybe others of the session
    assert first.next_page_token is not None
    rest = api.ws.list_datasets(max_results=1000, page_token=first.next_page_token)
    names = [d.name for d in first.items + rest.items]
    assert len(names) == first.total == len(set(names))
    assert names == sorted(names)


# --- experiments and runs ------------------------------------------------------------------


def test_experiments(api, unique):
    name = unique("exp")
    created = api.ws.create_experiment(name, "what we tried")
    assert api.ws.create_experiment(name).id == created.id  # existing: returned unchanged
    assert api.ws.get_experiment(name).description == "what we tried"
    assert name in {e.name for e in api.ws.list_experiments()}


def test_a_run_records_metrics_params_tags_and_logs(api, unique):
    run = api.ws.create_run(
        unique("exp"), name="by hand", params={"depth": 3, "lr": 0.1}, tags={"team": "risk"}
    )
    assert (run.status, run.kind, run.params) == (RunStatus.RUNNING, "run", {"depth": 3, "lr": 0.1})
    assert api.ws.log_metrics(run.id, {"loss": 0.5, "auc": 0.7}, step=0) == 2
    api.ws.log_metrics(run.id, {"loss": 0.25}, step=1)
    assert api.ws.log_metric_series(run.id, "fold", [0.8, 0.9, 0.85]) == 3
    api.ws.log_params(run.id, {"seed": 7, "depth": 3})
    with pytest.raises(ConflictError, match=f"param 'depth' of run {run.id} is already 3"):
        api.ws.log_params(run.id, {"depth": 99})
    api.ws.set_tags(run.id, {"team": "ops", "stage": "test"})
    for i in range(3):
        api.ws.log_text(run.id, f"line {i}", "warning" if i == 2 else "info")

    shown = api.ws.get_run(run.id)
    assert shown.metrics == {"loss": 0.25, "auc": 0.7, "fold": 0.85}
    assert shown.params == {"depth": 3, "lr": 0.1, "seed": 7}
    assert shown.tags == {"team": "ops", "stage": "test"}
    history = api.ws.get_metric_history(run.id, "loss")
    assert [(p.step, p.value) for p in history] == [(0, 0.5), (1, 0.25)]
    assert [p.step for p in api.ws.get_metric_history(run.id, "fold")] == [0, 1, 2]
    logs = api.ws.get_run_logs(run.id, tail=2)
    assert [(line.message, line.level) for line in logs] == [
        ("line 1", "info"),
        ("line 2", "warning"),
    ]

    finished = api.ws.set_run_status(run.id, RunStatus.COMPLETED)
    assert finished.status is RunStatus.COMPLETED
    assert finished.duration_s is not None
    with pytest.raises(ConflictError, match=f"run {run.id} is completed"):
        api.ws.log_metrics(run.id, {"loss": 0.1})


def test_artifacts(api, unique):
    run = api.ws.create_run(unique("exp"))
    key = api.ws.log_artifact(run.id, "notes/readme.txt", "hello")
    assert key == f"runs/{run.id}/notes/readme.txt"
    api.ws.log_artifact(run.id, "data.bin", bytes(range(256)))
    assert sorted(api.ws.list_artifacts(run.id)) == ["data.bin", "notes/readme.txt"]
    assert api.ws.read_artifact(run.id, "notes/readme.txt") == b"hello"
    assert api.ws.read_artifact(run.id, "data.bin") == bytes(range(256))
    with pytest.raises(NotFoundError):
        api.ws.read_artifact(run.id, "missing.txt")


def test_runs_query_order_and_pages(api, unique):
    experiment = unique("exp")
    parent = api.ws.create_run(experiment, name="parent", kind="automl")
    scores = [0.6, 0.9, 0.75, 0.8]
    children = []
    for i, score in enumerate(scores):
        child = api.ws.create_run(experiment, name=f"child {i}", kind="trial", parent_id=parent.id)
        api.ws.log_metrics(child.id, {"auc": score, "loss": 1 - score})
        if i < 3:
            api.ws.set_run_status(child.id, RunStatus.COMPLETED)
        children.append(child)

    best = api.ws.best_child(parent.id, "auc")
    assert best.id == children[1].id
    assert api.ws.best_child(parent.id, "loss", higher_is_better=False).id == children[1].id
    listed = api.ws.list_runs(parent_id=parent.id, order_by="metrics.auc desc")
    assert [r.id for r in listed.items] == [children[i].id for i in (1, 3, 2, 0)]
    good = api.ws.list_runs(experiment=experiment, where="metrics.auc > 0.7 and kind = trial")
    assert {r.id for r in good.items} == {children[i].id for i in (1, 2, 3)}
    done = api.ws.list_runs(experiment=experiment, status="completed")
    assert done.total == 3
    assert [r.id for r in api.ws.list_runs(experiment=experiment, top_level=True).items] == [
        parent.id
    ]

    page = api.ws.list_runs(parent_id=parent.id, order_by="name asc", max_results=3)
    assert (len(page.items), page.total) == (3, 4)
    rest = api.ws.list_runs(
        parent_id=parent.id, order_by="name asc", max_results=3, page_token=page.next_page_token
    )
    assert [r.name for r in page.items + rest.items] == [f"child {i}" for i in range(4)]
    assert rest.next_page_token is None


def test_the_seeded_automl_run_and_its_trials(api):
    run = api.ws.get_run(api.seed.run_id)
    assert (run.kind, run.status, run.has_model) == ("automl", RunStatus.COMPLETED, True)
    assert run.dataset == f"{api.seed.dataset}:1"
    trials = api.ws.list_runs(parent_id=run.id, kind="trial")
    assert trials.total >= 2
    assert run.tags["best_run_id"] in {t.id for t in trials.items}
    artifacts = api.ws.list_artifacts(run.id)
    assert {"report.json", "guardrails.json", "leaderboard.csv"} <= set(artifacts)
    assert "model/descriptor.json" in artifacts
    report = json.loads(api.ws.read_artifact(run.id, "report.json"))
    assert report["metrics"]["accuracy"] == pytest.approx(run.metrics["accuracy"])


# --- model registry ------------------------------------------------------------------------


def test_models_register_list_show_and_download(api, unique, tmp_path):
    name = unique("model")
    run = api.ws.get_run(api.seed.run_id)
    version = api.ws.register_model(name, run.id, description="first", tags={"stage": "dev"})
    assert (version.name, version.version, version.run_id) == (name, 1, run.id)
    assert (version.description, version.tags) == ("first", {"stage": "dev"})
    assert version.metrics == run.metrics
    assert (version.task, version.target, version.learner) == ("classification", "y", "linear")
    assert version.dataset == run.dataset
    assert version.descriptor["example"]  # an example row for the endpoint's docs

    assert api.ws.register_model(name, run.id).version == 2
    assert api.ws.get_model(name).version == 2
    assert api.ws.get_model(f"{name}:1").id == version.id
    assert api.ws.get_model(name, version=1).id == version.id
    assert [v.version for v in api.ws.list_model_versions(name)] == [1, 2]
    listed = {m.name: m for m in api.ws.list_models(max_results=1000).items}
    assert (listed[name].latest_version, listed[name].versions) == (2, 2)

    folder = api.ws.download_model(f"{name}:1", tmp_path / "copy")
    assert {"descriptor.json", "model.joblib"} <= {p.name for p in folder.iterdir()}
    descriptor = json.loads((folder / "descriptor.json").read_text())
    assert descriptor["target"] == "y"
    with pytest.raises(ConflictError, match="not empty"):
        api.ws.download_model(name, folder)


def test_a_run_without_a_model_cannot_be_registered(api, unique):
    run = api.ws.create_run(unique("exp"))
    with pytest.raises(InvalidInputError, match=f"run {run.id} has no model to register"):
        api.ws.register_model(unique("model"), run.id)


def test_models_upload_records_the_uploader(api, unique, tmp_path):
    registered = api.ws.register_model(unique("model"), api.seed.run_id)
    folder = api.ws.download_model(registered.ref, tmp_path / "made-elsewhere")
    name = unique("uploaded")

    uploaded = api.ws.upload_model(name, folder, description="by hand", tags={"k": "v"})

    assert (uploaded.ref, uploaded.run_id, uploaded.description) == (f"{name}:1", None, "by hand")
    assert uploaded.descriptor == registered.descriptor
    who = uploaded.tags.pop("uploaded_by")
    assert uploaded.tags == {"k": "v"}
    if api.mode == "local":
        assert who.startswith("local:")
    else:  # the calling principal, recorded by the server
        assert who in {p.client_id for p in api.ws.list_principals()}
    assert api.ws.get_model(name).tags["uploaded_by"] == who
    with pytest.raises(InvalidInputError, match="uploaded_by"):
        api.ws.upload_model(name, folder, tags={"uploaded_by": "someone else"})
    with pytest.raises(InvalidInputError, match="is not a folder"):
        api.ws.upload_model(name, tmp_path / "missing")


def test_a_finished_run_keeps_its_artifacts(api, unique):
    run = api.ws.create_run(unique("exp"))
    api.ws.log_artifact(run.id, "model/model.joblib", b"as finished")
    api.ws.set_run_status(run.id, RunStatus.COMPLETED)
    with pytest.raises(ConflictError, match=f"run {run.id} is completed"):
        api.ws.log_artifact(run.id, "model/model.joblib", b"rewritten")
    assert api.ws.read_artifact(run.id, "model/model.joblib") == b"as finished"
    api.ws.set_tags(run.id, {"reviewed": "yes"})  # tags still change
    assert api.ws.get_run(run.id).tags == {"reviewed": "yes"}


def test_local_and_remote_register_the_same_model(seed, tmp_path):
    """The same seeded run registered on both sides gives the same version, ids aside."""
    varying = {"id", "created_at"}
    with LocalWorkspace.open(copy_of(seed, tmp_path / "local")) as ws:
        local = ws.register_model("same", seed.run_id, tags={"k": "v"})
    app = create_app(ServerSettings(workspace=copy_of(seed, tmp_path / "remote"), supervise=False))
    with in_process(app, IN_PROCESS) as client:
        owner = app.state.workspace.create_principal("compare", "owner")
        remote_ws = remote_workspace(IN_PROCESS, owner.client_id, owner.client_secret, client)
        remote = remote_ws.register_model("same", seed.run_id, tags={"k": "v"})
    assert remote.model_dump(exclude=varying) == local.model_dump(exclude=varying)


# --- jobs ----------------------------------------------------------------------------------


def test_jobs_submit_get_list_and_cancel(api, unique):
    experiment = unique("jobs")
    settings = fast_settings(allowed_learners=("linear",), max_trials=2)
    job = api.ws.submit_automl_job(api.seed.dataset, settings, experiment=experiment)
    assert (job.kind, job.status, job.attempts) == ("automl", JobStatus.QUEUED, 0)
    assert job.payload["dataset"] == f"{api.seed.dataset}:1"
    assert job.payload["settings"]["max_trials"] == 2
    queued_run = api.ws.get_run(job.run_id)
    assert (queued_run.status, queued_run.experiment) == (RunStatus.QUEUED, experiment)

    assert api.ws.get_job(job.id).status is JobStatus.QUEUED
    assert job.id in {j.id for j in api.ws.list_jobs(status="queued", max_results=1000).items}
    canceled = api.ws.cancel_job(job.id)
    assert (canceled.status, canceled.cancel_requested) == (JobStatus.CANCELED, True)
    assert api.ws.get_run(job.run_id).status is RunStatus.CANCELED
    assert job.id in {j.id for j in api.ws.list_jobs(status="canceled", max_results=1000).items}
    with pytest.raises(ConflictError, match=f"job {job.id} is canceled"):
        api.ws.cancel_job(job.id)


def test_a_jobs_events_are_read_after_a_cursor(api, unique):
    settings = fast_settings(allowed_learners=("linear",), max_trials=2)
    job = api.ws.submit_automl_job(api.seed.dataset, settings, experiment=unique("events"))
    api.ws.cancel_job(job.id)
    events = api.ws.job_events(job.id)
    assert [(e.job_id, e.seq, e.kind) for e in events] == [
        (job.id, 1, JobEventKind.STATUS),
        (job.id, 2, JobEventKind.STATUS),
    ]
    assert events[0].payload == {"status": "queued"}
    assert events[1].payload == {"status": "canceled", "reason": "canceled before a worker took it"}
    assert api.ws.job_events(job.id, after=1) == events[1:]
    assert api.ws.job_events(job.id, after=0, limit=1) == events[:1]
    assert api.ws.job_events(job.id, after=2, wait_s=10) == []  # ended: no wait
    with pytest.raises(NotFoundError, match="job_nothing"):
        api.ws.job_events("job_nothing")
    with pytest.raises(InvalidInputError, match="wait_s"):
        api.ws.job_events(job.id, wait_s=31)


# --- errors --------------------------------------------------------------------------------


def test_not_found_errors_name_what_is_missing(api, unique):
    missing = unique("missing")
    calls: list[Callable[[], object]] = [
        lambda: api.ws.get_dataset(missing),
        lambda: api.ws.list_dataset_versions(missing),
        lambda: api.ws.get_experiment(missing),
        lambda: api.ws.get_model(missing),
        lambda: api.ws.get_endpoint(missing),
        lambda: api.ws.get_job(f"job_{missing}"),
    ]
    for call in calls:
        with pytest.raises(NotFoundError, match=missing):
            call()
    with pytest.raises(NotFoundError, match="run_nothing"):
        api.ws.get_run("run_nothing")
    with pytest.raises(NotFoundError, match=r"has no version 9 \(versions: 1\)"):
        api.ws.get_dataset(api.seed.dataset, version=9)


def test_invalid_input_errors_say_what_to_fix(api, unique):
    with pytest.raises(InvalidInputError, match="dataset name"):
        api.ws.register_dataset("no spaces allowed", make_frame("binary", seed=0, rows=10))
    with pytest.raises(InvalidInputError, match="cannot read condition 'nonsense'"):
        api.ws.list_runs(where="nonsense")
    with pytest.raises(InvalidInputError, match="max_results must be between"):
        api.ws.list_datasets(max_results=0)
    with pytest.raises(InvalidInputError, match="unknown job status 'sleeping'"):
        api.ws.list_jobs(status="sleeping")
    with pytest.raises(InvalidInputError, match="unknown role 'admin'"):
        api.ws.create_principal(unique("sp"), "admin")


def test_conflict_errors(api, unique):
    run = api.ws.create_run(unique("exp"))
    api.ws.set_run_status(run.id, RunStatus.FAILED, "on purpose")
    with pytest.raises(ConflictError, match="it cannot become completed"):
        api.ws.set_run_status(run.id, RunStatus.COMPLETED)
    assert api.ws.get_run(run.id).failure_reason == "on purpose"


# --- principals ----------------------------------------------------------------------------


def test_principals_create_list_rotate_delete(api, unique):
    name = unique("sp")
    created = api.ws.create_principal(name, "reader")
    assert (created.name, created.role) == (name, "reader")
    listed = {p.name: p for p in api.ws.list_principals()}
    assert listed[name].client_id == created.client_id
    rotated = api.ws.rotate_principal(name)
    assert rotated.client_id == created.client_id
    assert rotated.client_secret != created.client_secret
    api.ws.delete_principal(name)
    assert name not in {p.name for p in api.ws.list_principals()}
    with pytest.raises(NotFoundError, match=name):
        api.ws.delete_principal(name)


# --- service-principal authentication ------------------------------------------------------


def test_service_principal_authentication_in_process(seed, tmp_path):
    app = create_app(ServerSettings(workspace=copy_of(seed, tmp_path / "ws"), supervise=False))
    with in_process(app, IN_PROCESS) as client:
        reader = app.state.workspace.create_principal("plain-client", "reader")
        auth = ServicePrincipalAuthentication(
            reader.client_id, reader.client_secret, IN_PROCESS, http=client
        )
        header = auth.get_authentication_header()
        assert header == auth.get_authentication_header()  # kept until it nears expiry
        assert client.get("/api/v1/datasets", headers=header).status_code == 200
        assert client.post("/api/v1/experiments", headers=header, json={"name": "x"}).is_error
        wrong = ServicePrincipalAuthentication(reader.client_id, "nope", IN_PROCESS, http=client)
        with pytest.raises(AuthenticationError, match="invalid_client"):
            wrong.get_authentication_header()
    assert reader.client_secret not in repr(auth)


@pytest.mark.e2e
@pytest.mark.slow
def test_service_principal_authentication_against_a_real_server(real_server):
    login = credentials(real_server.folder)
    auth = ServicePrincipalAuthentication(login["client_id"], login["secret"], real_server.url)
    header = auth.get_authentication_header()
    assert header["Authorization"].startswith("Bearer ")
    answer = real_server.http.get("/api/v1/principals", headers=header)
    assert answer.status_code == 200
    assert "owner" in {p["name"] for p in answer.json()}
    wrong = ServicePrincipalAuthentication(login["client_id"], "wrong", real_server.url)
    with pytest.raises(AuthenticationError, match="invalid_client"):
        wrong.get_authentication_header()

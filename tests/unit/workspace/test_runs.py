from __future__ import annotations

import math

import pytest

from shipyard.core.errors import ConflictError, InvalidInputError, NotFoundError
from shipyard.core.schemas import RunStatus
from shipyard.store.tables import RunRow
from tests.fixtures.automl import make_frame


def test_a_run_records_params_metrics_tags_and_finishes(workspace):
    run = workspace.create_run("exp", name="first", params={"lr": 0.1}, tags={"team": "a"})
    assert run.status is RunStatus.RUNNING
    assert run.started_at is not None
    workspace.log_metrics(run.id, {"auc": 0.8, "loss": 0.5})
    workspace.log_params(run.id, {"depth": 3})
    workspace.set_tags(run.id, {"team": "b"})
    done = workspace.finish_run(run.id)

    assert done.status is RunStatus.COMPLETED
    assert done.ended_at is not None
    assert done.duration_s is not None
    stored = workspace.get_run(run.id)
    assert stored.metrics == {"auc": 0.8, "loss": 0.5}
    assert stored.params == {"lr": 0.1, "depth": 3}
    assert stored.tags == {"team": "b"}
    assert stored.experiment == "exp"
    assert workspace.get_experiment("exp").id == stored.experiment_id


def test_the_lifecycle_refuses_moves_out_of_a_finished_state(workspace):
    run = workspace.create_run("exp")
    workspace.finish_run(run.id, RunStatus.FAILED, "out of memory")
    assert workspace.get_run(run.id).failure_reason == "out of memory"
    with pytest.raises(ConflictError, match="failed; it cannot become completed"):
        workspace.finish_run(run.id)
    with pytest.raises(ConflictError, match="finished run cannot change"):
        workspace.log_metrics(run.id, {"auc": 1.0})
    assert workspace.get_run(run.id).metrics == {}


def test_queued_runs_start_later(workspace):
    run = workspace.create_run("exp", status=RunStatus.QUEUED)
    assert run.started_at is None
    started = workspace.set_run_status(run.id, RunStatus.RUNNING)
    assert started.status is RunStatus.RUNNING
    assert started.started_at is not None
    with pytest.raises(InvalidInputError):
        workspace.create_run("exp", status=RunStatus.COMPLETED)


def test_params_are_write_once_but_tags_change(workspace):
    run = workspace.create_run("exp", params={"lr": 0.1})
    workspace.log_params(run.id, {"lr": 0.1})  # the same value again is fine
    with pytest.raises(ConflictError, match=r"already 0\.1"):
        workspace.log_params(run.id, {"lr": 0.2})
    assert workspace.get_run(run.id).params == {"lr": 0.1}


def test_metric_series_keep_history_and_the_latest_step_wins(workspace):
    run = workspace.create_run("exp")
    workspace.log_metric_series(run.id, "loss", [0.9, 0.5, 0.3])
    workspace.log_metrics(run.id, {"loss": 0.7}, step=1)  # a late value for an old step
    history = workspace.get_metric_history(run.id, "loss")
    assert [(p.step, p.value) for p in history] == [(0, 0.9), (1, 0.5), (1, 0.7), (2, 0.3)]
    assert workspace.get_run(run.id).metrics == {"loss": 0.3}


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_metrics_are_refused_whole(workspace, bad):
    run = workspace.create_run("exp")
    with pytest.raises(InvalidInputError, match="not a finite number"):
        workspace.log_metrics(run.id, {"ok": 1.0, "bad": bad})
    assert workspace.get_run(run.id).metrics == {}


def test_logs_and_artifacts(workspace):
    run = workspace.create_run("exp")
    for i in range(5):
        workspace.log_text(run.id, f"line {i}")
    workspace.log_text(run.id, "boom", "error")
    assert [line.message for line in workspace.get_run_logs(run.id, tail=2)] == ["line 4", "boom"]
    workspace.log_artifact(run.id, "notes/readme.txt", "hello")
    workspace.log_json(run.id, "report.json", {"a": 1})
    assert workspace.list_artifacts(run.id) == ["notes/readme.txt", "report.json"]
    assert workspace.read_artifact(run.id, "notes/readme.txt") == b"hello"
    with pytest.raises(NotFoundError):
        workspace.read_artifact(run.id, "missing.txt")
    with pytest.raises(InvalidInputError, match="relative path"):
        workspace.log_artifact(run.id, "../escape.txt", "x")


def _family(workspace, scores):
    parent = workspace.create_run("exp", kind="automl")
    children = []
    for i, score in enumerate(scores):
        child = workspace.create_run("exp", kind="trial", parent_id=parent.id, name=f"t{i}")
        if score is not None:
            workspace.log_metrics(child.id, {"auc": score})
        workspace.finish_run(child.id)
        children.append(child)
    return parent, children


def test_children_are_listed_and_ordered_by_a_metric(workspace):
    parent, children = _family(workspace, [0.7, 0.9, None, 0.8])
    best_first = workspace.list_runs(parent_id=parent.id, order_by="metrics.auc desc")
    assert [r.name for r in best_first.items] == ["t1", "t3", "t0", "t2"]  # no metric: last
    worst_first = workspace.list_runs(parent_id=parent.id, order_by="metrics.auc asc")
    assert [r.name for r in worst_first.items] == ["t0", "t3", "t1", "t2"]
    assert workspace.best_child(parent.id, "auc").id == children[1].id
    assert workspace.best_child(parent.id, "auc", higher_is_better=False).id == children[0].id
    assert [r.id for r in workspace.list_runs(top_level=True).items] == [parent.id]


def test_where_filters_on_metrics_and_columns(workspace):
    parent, _ = _family(workspace, [0.7, 0.9, None, 0.8])
    good = workspace.list_runs(where="metrics.auc >= 0.8 and kind = trial", order_by="name asc")
    assert [r.name for r in good.items] == ["t1", "t3"]
    assert good.total == 2
    automl = workspace.list_runs(where="kind = 'automl'")
    assert [r.id for r in automl.items] == [parent.id]
    for bad, message in [
        ("metrics.auc >> 1", "unknown operator"),
        ("metrics.auc > high", "compared with a number"),
        ("secret = 1", "cannot filter on 'secret'"),
        ("auc", "FIELD OP VALUE"),
    ]:
        with pytest.raises(InvalidInputError, match=message):
            workspace.list_runs(where=bad)
    with pytest.raises(InvalidInputError, match="unknown run status 'bogus'"):
        workspace.list_runs(status="bogus")
    with pytest.raises(InvalidInputError, match="cannot order by"):
        workspace.list_runs(order_by="secret")
    with pytest.raises(InvalidInputError, match="asc or desc"):
        workspace.list_runs(order_by="name sideways")


def test_pages_cover_every_run_once(workspace):
    ids = {workspace.create_run("exp").id for _ in range(7)}
    seen, token, pages = [], None, 0
    while True:
        page = workspace.list_runs(experiment="exp", max_results=3, page_token=token)
        assert page.total == 7
        seen += [r.id for r in page.items]
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(ids)
    assert len(seen) == 7
    with pytest.raises(InvalidInputError, match="page token"):
        workspace.list_runs(page_token="abc")
    with pytest.raises(InvalidInputError, match="max_results"):
        workspace.list_runs(max_results=0)


def test_unknown_ids_and_names(workspace):
    with pytest.raises(NotFoundError, match="no run with id 'run_nope'"):
        workspace.get_run("run_nope")
    with pytest.raises(NotFoundError, match="no experiment named 'ghost'"):
        workspace.list_runs(experiment="ghost")
    with pytest.raises(NotFoundError, match="to be the parent"):
        workspace.create_run("exp", parent_id="run_nope")
    with pytest.raises(InvalidInputError, match="experiment name"):
        workspace.create_run("bad/name")
    with pytest.raises(NotFoundError):
        workspace.best_child("run_nope", "auc")


def test_runs_of_a_dead_process_are_failed_on_the_next_access(workspace):
    run = workspace.create_run("exp")
    with workspace.store.write() as session:  # as if another process, now gone, owned it
        session.get(RunRow, run.id).owner = f"{workspace.owner.split(':')[0]}:999999999:1"
    assert workspace.check_liveness() == 1
    failed = workspace.get_run(run.id)
    assert failed.status is RunStatus.FAILED
    assert "pid 999999999" in failed.failure_reason
    assert failed.ended_at is not None


def test_a_live_process_keeps_its_runs(workspace):
    run = workspace.create_run("exp")
    assert workspace.beat() == 1
    assert workspace.check_liveness() == 0
    assert workspace.get_run(run.id).status is RunStatus.RUNNING


def test_a_listed_run_is_the_run_got_by_id(workspace):
    version = workspace.register_dataset("toy", make_frame("binary", seed=0))
    run = workspace.create_run(
        "exp", name="with data", params={"lr": 0.1}, dataset_version_id=version.id
    )
    workspace.log_metrics(run.id, {"auc": 0.75})
    plain = workspace.create_run("exp", name="without")
    listed = {r.id: r for r in workspace.list_runs(experiment="exp").items}
    assert listed[run.id] == workspace.get_run(run.id)
    assert listed[run.id].dataset == f"toy:{version.version}"
    assert listed[plain.id] == workspace.get_run(plain.id)
    assert listed[plain.id].dataset is None


def test_the_change_token_moves_on_with_every_change_a_listing_shows(workspace):
    tokens = [workspace.runs_change_token()]
    # PostgreSQL's token is the snapshot of the whole server, which any other writer there
    # moves on too: only that it changes with each write of ours holds for certain.
    steady = workspace.store.dialect == "sqlite"

    def changed() -> bool:
        tokens.append(workspace.runs_change_token())
        return tokens[-1] != tokens[-2]

    def unchanged() -> bool:
        return not changed() or not steady

    assert unchanged()  # reading changes nothing
    run = workspace.create_run("token-exp")
    assert changed()
    workspace.log_metrics(run.id, {"loss": 0.5})
    assert changed()
    workspace.set_tags(run.id, {"team": "a"})
    assert changed()
    workspace.list_runs()
    assert unchanged()
    workspace.finish_run(run.id, RunStatus.COMPLETED)
    assert changed()
    workspace.create_experiment("token-other")
    assert changed()
    assert workspace.list_runs(experiment="token-exp").items[0].metrics == {"loss": 0.5}
    assert unchanged()


def test_a_listing_gives_back_each_metric_to_the_last_bit(workspace):
    run = workspace.create_run("exact")
    values = {"third": 1 / 3, "sum": 0.1 + 0.2, "tiny": 5e-324, "huge": 1.7976931348623157e308}
    workspace.log_metrics(run.id, values)
    workspace.log_metrics(run.id, {"third": 2 / 3}, step=1)  # the latest step is shown
    listed = workspace.list_runs(experiment="exact").items[0].metrics
    assert listed == {**values, "third": 2 / 3}
    assert workspace.list_runs(experiment="exact", where="metrics.sum > 0.3").total == 1
    assert workspace.create_run("exact").metrics == {}
    assert workspace.list_runs(experiment="exact").items[0].metrics == {}  # newest first

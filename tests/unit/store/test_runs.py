from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from shipyard.store import Store, open_store
from shipyard.store import runs as q
from shipyard.store.tables import ExperimentRow, RunRow

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.dispose()


def experiment(name: str = "exp") -> ExperimentRow:
    return ExperimentRow(id=f"exp_{name}", name=name, description=None, created_at=NOW)


def running(run_id: str, owner: str | None, heartbeat_at: datetime) -> RunRow:
    return RunRow(
        id=run_id,
        experiment_id="exp_exp",
        kind="run",
        status="running",
        params={},
        tags={},
        owner=owner,
        created_at=NOW,
        heartbeat_at=heartbeat_at,
    )


def test_add_experiment_returns_the_stored_row_when_the_name_is_taken(store):
    with store.write() as session:
        first = q.add_experiment(session, experiment())
    with store.write() as session:
        again = q.add_experiment(session, ExperimentRow(id="exp_other", name="exp", created_at=NOW))
    assert (first.id, again.id) == ("exp_exp", "exp_exp")


def test_failing_the_runs_without_an_owner_leaves_every_owned_run_alone(store):
    stale = NOW - timedelta(hours=1)
    with store.write() as session:
        q.add_experiment(session, experiment())
        for row in (running("run_a", None, stale), running("run_b", "host:1:1", stale)):
            q.add_run(session, row)
    with store.write() as session:
        failed = q.fail_running(session, owner=None, stale_before=None, reason="gone", at=NOW)
    assert failed == 1
    with store.read() as session:
        statuses = {r.id: r.status for r in session.scalars(select(RunRow))}
    assert statuses == {"run_a": "failed", "run_b": "running"}


def test_failing_stale_runs_keeps_those_with_a_recent_heartbeat(store):
    with store.write() as session:
        q.add_experiment(session, experiment())
        q.add_run(session, running("run_old", "host:1:1", NOW - timedelta(minutes=5)))
        q.add_run(session, running("run_new", "host:1:1", NOW))
    with store.write() as session:
        failed = q.fail_running(
            session,
            owner="host:1:1",
            stale_before=NOW - timedelta(minutes=1),
            reason="silent",
            at=NOW,
        )
    assert failed == 1
    with store.read() as session:
        assert q.find_run_row(session, "run_new").status == "running"  # type: ignore[union-attr]


def test_a_thousand_metrics_at_once_keep_each_latest_step(store):
    with store.write() as session:
        q.add_experiment(session, experiment())
        q.add_run(session, running("run_m", "host:1:1", NOW))
        q.insert_metrics(session, "run_m", [(f"m{i}", 1.0, 2, NOW) for i in range(1000)])
    with store.write() as session:  # a late value for an older step of the even keys
        late = [(f"m{i}", 0.0, 1 if i % 2 == 0 else 3, NOW) for i in range(1000)]
        assert q.insert_metrics(session, "run_m", late) == 1000
    with store.read() as session:
        (run,) = q.to_runs(session, [q.find_run_row(session, "run_m")])  # type: ignore[arg-type]
    assert len(run.metrics) == 1000
    assert {run.metrics[f"m{i}"] for i in range(0, 1000, 2)} == {1.0}
    assert {run.metrics[f"m{i}"] for i in range(1, 1000, 2)} == {0.0}


def test_a_page_of_table_rows_becomes_the_runs_its_orm_rows_do(store):
    with store.write() as session:
        q.add_experiment(session, experiment())
        session.add(running("run_a", "host:1:1", NOW))
        session.add(running("run_b", None, NOW + timedelta(seconds=1)))
        session.flush()
        session.get(RunRow, "run_b").params = {"lr": 0.1, "big": 2**70}
        session.get(RunRow, "run_b").model_path = "models/b"
        q.insert_metrics(session, "run_b", [("auc", 0.5, 0, NOW), ("auc", 0.75, 1, NOW)])
    with store.read() as session:
        rows, total = q.query_runs(session, q.RunQuery())
        orm_rows = [session.get(RunRow, row.id) for row in rows]
        listed = q.to_runs(session, rows)
        assert listed == q.to_runs(session, orm_rows)
    assert total == 2
    assert [r.id for r in listed] == ["run_b", "run_a"]
    assert listed[0].params == {"lr": 0.1, "big": 2**70}
    assert (listed[0].metrics, listed[0].has_model, listed[0].experiment) == (
        {"auc": 0.75},
        True,
        "exp",
    )

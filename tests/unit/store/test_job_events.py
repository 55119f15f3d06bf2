"""Job events in the store: numbered 1, 2, ... per job, read after a cursor, on SQLite and
PostgreSQL; concurrent writers never take the same number."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from shipyard.core.schemas import JobEventKind
from shipyard.store import Store, open_store
from shipyard.store import jobs as q
from shipyard.store.tables import JobRow

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.dispose()


def _job(store: Store, job_id: str) -> str:
    with store.write() as session:
        session.add(
            JobRow(
                id=job_id,
                kind="automl",
                status="running",
                payload={},
                attempts=1,
                max_attempts=2,
                cancel_requested=False,
                created_at=T0,
            )
        )
    return job_id


def _append(store: Store, job_id: str, kind: str, **payload: object):
    with store.write() as session:
        return q.append_event(session, job_id, kind, dict(payload), T0)


def _after(store: Store, job_id: str, after: int, limit: int = 100):
    with store.read() as session:
        return q.events_after(session, job_id, after, limit)


def test_events_are_numbered_per_job_and_read_after_a_cursor(store):
    one, two = _job(store, "job_one"), _job(store, "job_two")
    for n in range(5):
        _append(store, one, "phase", phase="search", message=f"step {n}")
    other = _append(store, two, "error", type="DataError", message="one class")
    assert other is not None
    assert (other.seq, other.kind) == (1, JobEventKind.ERROR)

    every = _after(store, one, 0)
    assert [e.seq for e in every] == [1, 2, 3, 4, 5]
    assert [e.payload["message"] for e in every] == [f"step {n}" for n in range(5)]
    assert every[0].created_at == T0
    assert [e.seq for e in _after(store, one, 2)] == [3, 4, 5]
    assert [e.seq for e in _after(store, one, 1, limit=2)] == [2, 3]
    assert _after(store, one, 5) == []
    assert [e.payload["type"] for e in _after(store, two, 0)] == ["DataError"]


def test_an_event_of_no_job_is_not_stored(store):
    assert _append(store, "job_never", "phase", phase="search", message="") is None
    assert _after(store, "job_never", 0) == []


def test_concurrent_appends_take_distinct_numbers(store):
    job = _job(store, "job_busy")
    writers, each = 4, 10
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(each):
                _append(store, job, "trial_started", worker=worker, number=n)
        except BaseException as exc:  # reported below, with the test's failure
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []
    events = _after(store, job, 0, limit=1000)
    assert [e.seq for e in events] == list(range(1, writers * each + 1))
    for worker in range(writers):  # each writer's events in the order it wrote them
        mine = [e.payload["number"] for e in events if e.payload["worker"] == worker]
        assert mine == list(range(each))

"""A job's events over HTTP: read after a cursor (reader role), bounded, and a long poll
that answers as soon as an event arrives or the job has ended."""

from __future__ import annotations

import threading
import time

import pytest

from shipyard.core.schemas import JobEventKind
from tests.fixtures.automl import make_frame

SETTINGS = {"target": "y", "max_trials": 2, "allowed_learners": ["linear"]}


def _queued_job(api, name: str) -> str:
    api.ws.register_dataset(name, make_frame("binary", seed=6, rows=40))
    body = {"dataset": name, "settings": SETTINGS}
    submitted = api.post("/api/v1/jobs/automl", "contributor", json=body)
    assert submitted.status_code == 201, submitted.text
    return str(submitted.json()["id"])


def test_a_reader_pages_a_jobs_events_after_a_cursor(api):
    job = _queued_job(api, "jobs-events")
    for n in range(4):
        api.ws.record_job_event(job, JobEventKind.PHASE, {"phase": "search", "message": str(n)})
    url = f"/api/v1/jobs/{job}/events"
    every = api.get(url, "reader").json()
    assert [e["seq"] for e in every] == [1, 2, 3, 4, 5]
    assert every[0]["kind"] == "status"
    assert every[0]["payload"] == {"status": "queued"}
    assert [e["payload"]["message"] for e in every[1:]] == ["0", "1", "2", "3"]
    page = api.get(url, "reader", params={"after": 2, "limit": 2}).json()
    assert [e["seq"] for e in page] == [3, 4]
    assert api.get(url, "reader", params={"after": 5}).json() == []
    assert api.get("/api/v1/jobs/job_never/events", "reader").status_code == 404
    for bad in ({"after": -1}, {"limit": 0}, {"limit": 1001}, {"wait_s": 31}, {"wait_s": -1}):
        refused = api.get(url, "reader", params=bad)
        assert refused.status_code == 422, bad
        assert next(iter(bad)) in refused.json()["error"]


def test_the_long_poll_answers_when_an_event_arrives(api):
    job = _queued_job(api, "jobs-long-poll")
    timer = threading.Timer(
        0.3, api.ws.record_job_event, (job, JobEventKind.PHASE, {"phase": "p", "message": ""})
    )
    started = time.monotonic()
    timer.start()
    answer = api.get(f"/api/v1/jobs/{job}/events", "reader", params={"after": 1, "wait_s": 20})
    waited = time.monotonic() - started
    timer.join()
    assert [e["seq"] for e in answer.json()] == [2]
    assert 0.25 < waited < 5


def test_the_long_poll_of_an_ended_job_answers_at_once(api):
    job = _queued_job(api, "jobs-ended")
    api.post(f"/api/v1/jobs/{job}/cancel", "contributor")
    started = time.monotonic()
    url = f"/api/v1/jobs/{job}/events"
    (last,) = api.get(url, "reader", params={"after": 1, "wait_s": 20}).json()
    assert last["payload"]["status"] == "canceled"
    assert api.get(url, "reader", params={"after": 2, "wait_s": 20}).json() == []
    assert time.monotonic() - started < 5


@pytest.mark.slow
def test_waiting_long_polls_hold_no_thread_the_other_routes_need(api):
    job = _queued_job(api, "jobs-many-followers")
    url = f"/api/v1/jobs/{job}/events"
    followers = [
        threading.Thread(
            target=api.get, args=(url, "reader"), kwargs={"params": {"after": 1, "wait_s": 2}}
        )
        for _ in range(60)  # more than the thread pool's 40
    ]
    for follower in followers:
        follower.start()
    time.sleep(0.3)  # all of them waiting
    started = time.monotonic()
    assert api.get(f"/api/v1/jobs/{job}", "reader").status_code == 200
    answered_s = time.monotonic() - started
    for follower in followers:
        follower.join(10)
    assert answered_s < 1.0

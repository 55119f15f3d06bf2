"""Repeated listings answered from the cache, and never an answer older than the data."""

from __future__ import annotations

import uuid

from shipyard.server.cache import MAX_BODY_BYTES, AnswerCache


def test_an_answer_is_given_back_only_under_the_token_it_was_kept_with():
    cache = AnswerCache(max_entries=2)
    assert cache.get("q=1", "t1") is None
    cache.put("q=1", "t1", b"one")
    assert cache.get("q=1", "t1") == b"one"
    assert cache.get("q=1", "t2") is None  # the data changed since
    cache.put("q=2", "t1", b"two")
    cache.get("q=1", "t1")  # q=1 is now the most recently used
    cache.put("q=3", "t1", b"three")
    assert cache.get("q=2", "t1") is None  # the least recently used went
    assert cache.get("q=1", "t1") == b"one"
    cache.put("big", "t1", b"x" * (MAX_BODY_BYTES + 1))
    assert cache.get("big", "t1") is None
    assert (cache.hits, cache.misses) == (3, 4)


def test_a_repeated_listing_comes_from_the_cache_until_a_write_changes_it(api):
    experiment = f"cache-{uuid.uuid4().hex[:8]}"
    answers = api.client.app.state.answers
    run = api.post("/api/v1/runs", "contributor", json={"experiment": experiment}).json()
    url = f"/api/v1/runs?experiment={experiment}"
    first = api.get(url, "reader").json()
    hits = answers.hits
    assert api.get(url, "reader").json() == first
    assert answers.hits == hits + 1

    api.post(f"/api/v1/runs/{run['id']}/metrics", "contributor", json={"metrics": {"m": 2.0}})
    assert api.get(url, "reader").json()["items"][0]["metrics"] == {"m": 2.0}
    api.post(f"/api/v1/runs/{run['id']}/status", "contributor", json={"status": "completed"})
    assert api.get(url, "reader").json()["items"][0]["status"] == "completed"

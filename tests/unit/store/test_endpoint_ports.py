"""One live endpoint per port in the store (issue 10, finding 2), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import MetaData, Table, select

from shipyard.store import ConstraintError, open_store
from shipyard.store import endpoints as q
from shipyard.store.migrations import downgrade_to, upgrade_to
from shipyard.store.tables import EndpointRow

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _row(name: str, port: int, *, desired: str = "running", minutes: int = 0) -> dict[str, object]:
    at = T0 + timedelta(minutes=minutes)
    return {
        "id": f"endpoint_{name}",
        "name": name,
        "model_name": "m",
        "model_version": 1,
        "state": "healthy" if desired == "running" else "deleted",
        "desired": desired,
        "host": "127.0.0.1",
        "port": port,
        "workers": 1,
        "auth_mode": "key",
        "key_hashes": {},
        "key_generations": {},
        "logging": False,
        "sample_rate": 0.0,
        "pids": {},
        "restarts": 0,
        "failure_reason": None,
        "created_at": at,
        "updated_at": at,
        "healthy_at": None,
    }


def test_the_migration_sets_later_endpoints_on_a_taken_port_to_be_deleted(store_url):
    store = open_store(store_url)
    downgrade_to(store, "0005")  # before the index: how an intruder's endpoint was recorded
    endpoints = Table("endpoints", MetaData(), autoload_with=store.write_engine)
    rows = [
        _row("victim", 9000),
        _row("intruder", 9000, minutes=5),
        _row("other", 9001, minutes=1),
        _row("gone", 9001, desired="deleted", minutes=2),
    ]
    with store.write_engine.begin() as connection:
        connection.execute(endpoints.insert(), rows)
    upgrade_to(store, "head")
    with store.read() as session:
        seen = {r.name: (r.desired, r.state) for r in session.scalars(select(EndpointRow))}
    assert seen == {
        "victim": ("running", "healthy"),
        "intruder": ("deleted", "deleting"),  # the supervisor stops it
        "other": ("running", "healthy"),
        "gone": ("deleted", "deleted"),
    }
    store.dispose()


def test_two_live_endpoints_cannot_share_a_port(store_url):
    store = open_store(store_url)
    with store.write() as session:
        session.add(EndpointRow(**_row("first", 9100)))
        session.add(EndpointRow(**_row("old", 9100, desired="deleted")))  # a deleted one may
    with pytest.raises(ConstraintError), store.write() as session:
        session.add(EndpointRow(**_row("second", 9100)))
    with store.read() as session:
        assert q.port_holders(session) == {9100: "first"}
    store.dispose()

from __future__ import annotations

import pytest
from sqlalchemy import text

from shipyard.core.errors import InvalidInputError
from shipyard.store import ConstraintError, StoreUnavailableError, open_store


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'ws.db'}")
    with store.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    store.dispose()


def test_foreign_keys_are_enforced(store_url):
    store = open_store(store_url)
    orphan = text(
        "INSERT INTO runs (id, experiment_id, kind, status, params, tags, created_at) "
        "VALUES ('run_x', 'exp_missing', 'run', 'running', '{}', '{}', '2026-01-01')"
    )

    def insert_orphan() -> None:
        with store.write() as session:
            session.execute(orphan)

    with pytest.raises(ConstraintError, match=r"(?i)foreign key"):
        insert_orphan()
    with store.read() as session:
        assert session.execute(text("SELECT count(*) FROM runs")).scalar() == 0
    store.dispose()


def test_a_bad_url_is_an_input_error():
    with pytest.raises(InvalidInputError, match="not a database URL"):
        open_store("not a url")


def test_an_unreachable_server_says_so_without_the_password():
    url = "postgresql+psycopg://someone:hunter2@127.0.0.1:1/nothing?connect_timeout=2"
    with pytest.raises(StoreUnavailableError, match="cannot open the database") as caught:
        open_store(url)
    assert "hunter2" not in str(caught.value)


def test_an_unknown_driver_is_an_input_error():
    with pytest.raises(InvalidInputError, match="unsupported database URL"):
        open_store("nosuchdb://x")


@pytest.mark.postgres
def test_a_value_postgresql_refuses_is_an_input_error(postgres_schema_url):
    # issue 10: GET /experiments/a%00b was a 500 on PostgreSQL (text cannot hold NUL)
    store = open_store(postgres_schema_url)
    lookup = text("SELECT count(*) FROM experiments WHERE name = :name")
    with pytest.raises(InvalidInputError, match=r"cannot hold: .*NUL"), store.read() as session:
        session.execute(lookup, {"name": "a\x00b"})
    with pytest.raises(InvalidInputError, match=r"cannot hold: .*NUL"), store.write() as session:
        session.execute(lookup, {"name": "a\x00b"})
    with store.read() as session:  # the pool's connection is still good
        assert session.execute(lookup, {"name": "ab"}).scalar() == 0
    store.dispose()

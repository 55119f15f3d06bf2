from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from shipyard.core.errors import ConflictError
from shipyard.store import open_store
from shipyard.store.migrations import current_revision, downgrade_to, head_revision, upgrade_to
from shipyard.store.tables import Base

TABLES = {
    "change_counters",
    "datasets",
    "dataset_versions",
    "experiments",
    "runs",
    "metrics",
    "latest_metrics",
    "run_logs",
    "registered_models",
    "model_versions",
    "artifact_files",
    "endpoints",
    "principals",
    "token_revocations",
    "auth_throttles",
    "jobs",
    "job_events",
}


def _tables(store) -> set[str]:
    return set(inspect(store.read_engine).get_table_names()) - {"alembic_version"}


def test_open_store_migrates_an_empty_database_to_head(store_url):
    store = open_store(store_url)
    assert current_revision(store) == head_revision()
    assert _tables(store) == TABLES
    store.dispose()


def test_migrations_go_down_to_base_and_up_again(store_url):
    store = open_store(store_url)
    downgrade_to(store, "base")
    assert _tables(store) == set()
    assert current_revision(store) is None
    upgrade_to(store, "head")
    assert _tables(store) == TABLES
    store.dispose()


def test_migrations_match_the_table_definitions(store_url):
    store = open_store(store_url)
    with store.read_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []
    store.dispose()


def test_a_schema_newer_than_the_code_is_refused(store_url):
    store = open_store(store_url)
    with store.write_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    store.dispose()
    with pytest.raises(ConflictError, match="newer Shipyard"):
        open_store(store_url)


def test_reopening_at_head_changes_nothing(store_url):
    open_store(store_url).dispose()
    store = open_store(store_url)
    assert current_revision(store) == head_revision()
    store.dispose()

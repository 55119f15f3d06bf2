"""Version numbers of datasets and models: concurrent writers take them one after another.

`next_version` locks the parent row on PostgreSQL; SQLite's `BEGIN IMMEDIATE` makes the
second writer wait at its first statement. Either way the second writer sees the first
one's version once it commits, instead of taking the same number (and writing its files
under the same key) at the same time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial

import pytest

from shipyard.store import Session, open_store
from shipyard.store import datasets as dataset_queries
from shipyard.store import models as model_queries
from shipyard.store.tables import (
    DatasetRow,
    DatasetVersionRow,
    ModelVersionRow,
    RegisteredModelRow,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


PARENT = "parent_1"
DATASET_FIELDS = {
    "dataset_id": PARENT,
    "content_hash": "h",
    "rows": 1,
    "columns": 1,
    "profile": {},
}
MODEL_FIELDS = {"model_id": PARENT, "tags": {}, "metrics": {}, "descriptor": {}}


@pytest.mark.parametrize(
    ("next_version", "parent", "version_row"),
    [
        (
            dataset_queries.next_version,
            lambda: DatasetRow(id=PARENT, name="x", created_at=NOW),
            partial(DatasetVersionRow, **DATASET_FIELDS),
        ),
        (
            model_queries.next_version,
            lambda: RegisteredModelRow(id=PARENT, name="x", created_at=NOW, updated_at=NOW),
            partial(ModelVersionRow, **MODEL_FIELDS),
        ),
    ],
    ids=["dataset", "model"],
)
def test_a_second_writer_waits_for_the_first_ones_number(
    store_url: str,
    next_version: Callable[[Session, str], int],
    parent: Callable[[], object],
    version_row: Callable[..., object],
):
    store = open_store(store_url)
    with store.write() as session:
        session.add(parent())
    taken: list[int] = []

    def second_writer() -> None:
        with store.write() as session:
            taken.append(next_version(session, PARENT))

    second = threading.Thread(target=second_writer)
    try:
        with store.write() as session:
            assert next_version(session, PARENT) == 1
            second.start()
            second.join(0.3)
            assert taken == []  # still waiting for this transaction
            session.add(
                version_row(id="v1", name="x", version=1, storage_path="x/1", created_at=NOW)
            )
    finally:
        second.join(10)
        store.dispose()
    assert taken == [2]

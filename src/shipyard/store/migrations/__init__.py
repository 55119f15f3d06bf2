"""Schema migrations (Alembic), run by `open_store` and by tests in both directions.

A database whose revision this code does not know was written by a newer Shipyard: it is
refused with a clear message instead of being opened and damaged.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from shipyard.core.errors import ConflictError
from shipyard.store.db import Store

_HERE = Path(__file__).parent
_PG_LOCK_KEY = 0x5348495059  # any constant: serializes migrations across processes


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for this package's migrations (bound to `connection`)."""
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None  # the package ships at least one migration
    return head


def current_revision(store: Store) -> str | None:
    with store.read_engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def check_and_upgrade(store: Store, *, upgrade: bool = True) -> None:
    """Refuse a schema newer than this code; bring an older one to the head revision."""
    head = head_revision()
    current = current_revision(store)
    if current == head:
        return
    _refuse_unknown(current)
    if upgrade:
        upgrade_to(store, "head")


def upgrade_to(store: Store, revision: str) -> None:
    """Run the migrations up to `revision`, one process at a time."""
    with store.write_engine.begin() as connection:
        _lock(connection)
        command.upgrade(alembic_config(connection), revision)


def downgrade_to(store: Store, revision: str) -> None:
    """Undo migrations down to `revision` (`base` empties the database)."""
    with store.write_engine.begin() as connection:
        _lock(connection)
        command.downgrade(alembic_config(connection), revision)


def _refuse_unknown(current: str | None) -> None:
    if current is None:
        return
    known = {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
    if current not in known:
        raise ConflictError(
            f"the workspace database is at schema revision {current!r}, which this version of "
            "Shipyard does not know: it was written by a newer Shipyard. Upgrade Shipyard "
            "(pip install -U shipyard) to open it."
        )


def _lock(connection: Connection) -> None:
    # SQLite: the write engine's BEGIN IMMEDIATE already holds the database lock.
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})

"""Alembic environment: runs on the connection `shipyard.store.migrations` hands over."""

from __future__ import annotations

from alembic import context

from shipyard.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the alembic CLI is not how Shipyard migrates
    raise RuntimeError("run migrations through shipyard.store.migrations, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

"""change_counters: a number that every write to what a run listing shows moves on

SQLite only: its triggers bump `change_counters.value` (name `runs`) on every insert,
update and delete in runs, latest_metrics, experiments and dataset_versions, inside the
writing transaction. PostgreSQL needs no table of its own: its transaction snapshot
tells the same (see `shipyard.store.runs.change_token`); the table is created there too,
unused, so that both schemas are the same.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WATCHED = ("runs", "latest_metrics", "experiments", "dataset_versions")
EVENTS = ("insert", "update", "delete")


def upgrade() -> None:
    counters = op.create_table(
        "change_counters",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.bulk_insert(counters, [{"name": "runs", "value": 0}])
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in WATCHED:
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_{event}_changes AFTER {event.upper()} ON {table} "
                "BEGIN UPDATE change_counters SET value = value + 1 WHERE name = 'runs'; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for event in EVENTS:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{event}_changes")
    op.drop_table("change_counters")

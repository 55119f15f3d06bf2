"""runs: an index for the default listing order (newest first)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 06:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_runs_created", "runs", ["created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_runs_created", table_name="runs")

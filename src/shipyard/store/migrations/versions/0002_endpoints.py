"""endpoints

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:15:42.788106
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("model_name", sa.String(length=255), nullable=False),
        sa.Column("model_version", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("desired", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("workers", sa.Integer(), nullable=False),
        sa.Column("auth_mode", sa.String(length=8), nullable=False),
        sa.Column("key_hashes", sa.JSON(), nullable=False),
        sa.Column("key_generations", sa.JSON(), nullable=False),
        sa.Column("logging", sa.Boolean(), nullable=False),
        sa.Column("sample_rate", sa.Float(), nullable=False),
        sa.Column("pids", sa.JSON(), nullable=False),
        sa.Column("restarts", sa.Integer(), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("healthy_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("endpoints")

"""trust boundaries (issue 10): ports, principals' token cut-off, artifact checksums

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # --- endpoints: ports ------------------------------------------------------------------
    # --- principals: tokens and throttling ---------------------------------------------------
    # --- runs and models: integrity --------------------------------------------------------
    op.create_table(
        "artifact_files",
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("written_by", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    pass


def downgrade() -> None:
    # --- runs and models: integrity --------------------------------------------------------
    op.drop_table("artifact_files")
    # --- principals: tokens and throttling ---------------------------------------------------
    # --- endpoints: ports ------------------------------------------------------------------
    pass

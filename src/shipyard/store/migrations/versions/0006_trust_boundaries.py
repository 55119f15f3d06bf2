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
    # Endpoints deployed onto a port a live one already had (issue 10, finding 2) lose it:
    # the later ones are set to be deleted, so the index can hold.
    op.execute(
        "UPDATE endpoints SET desired = 'deleted', state = 'deleting' "
        "WHERE desired = 'running' AND EXISTS (SELECT 1 FROM endpoints AS earlier "
        "WHERE earlier.port = endpoints.port AND earlier.desired = 'running' "
        "AND (earlier.created_at < endpoints.created_at "
        "OR (earlier.created_at = endpoints.created_at AND earlier.id < endpoints.id)))"
    )
    op.create_index(
        "ux_endpoints_live_port",
        "endpoints",
        ["port"],
        unique=True,
        sqlite_where=sa.text("desired = 'running'"),
        postgresql_where=sa.text("desired = 'running'"),
    )
    # --- principals: tokens and throttling ---------------------------------------------------
    op.create_table(
        "token_revocations",
        sa.Column("principal_id", sa.String(length=40), nullable=False),
        sa.Column("not_before", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("principal_id"),
    )
    op.create_table(
        "auth_throttles",
        sa.Column("client_id", sa.String(length=40), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("client_id", "address"),
    )
    with op.batch_alter_table("principals") as principals:  # throttling moved to its table
        principals.drop_column("failed_attempts")
        principals.drop_column("locked_until")
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
    with op.batch_alter_table("principals") as principals:
        principals.add_column(
            sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        principals.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
    op.drop_table("auth_throttles")
    op.drop_table("token_revocations")
    # --- endpoints: ports ------------------------------------------------------------------
    op.drop_index("ux_endpoints_live_port", table_name="endpoints")
    pass

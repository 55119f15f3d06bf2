"""trust boundaries (issue 10): ports, principals' token cut-off, artifact checksums

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 15:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401 - used by the sections below
from alembic import op  # noqa: F401 - used by the sections below

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # --- endpoints: ports ------------------------------------------------------------------
    # --- principals: tokens and throttling ---------------------------------------------------
    # --- runs and models: integrity --------------------------------------------------------
    pass


def downgrade() -> None:
    # --- runs and models: integrity --------------------------------------------------------
    # --- principals: tokens and throttling ---------------------------------------------------
    # --- endpoints: ports ------------------------------------------------------------------
    pass

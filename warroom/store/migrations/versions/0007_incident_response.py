"""incidents: when a responder first worked it (respond clock) and when its alerts cleared it unacknowledged

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 21:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import warroom.store.base

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # add_column works on SQLite without a table copy (nullable columns, no default).
    op.add_column("incidents", sa.Column("responded_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True))
    op.add_column(
        "incidents", sa.Column("alerts_cleared_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("alerts_cleared_at")
        batch_op.drop_column("responded_at")

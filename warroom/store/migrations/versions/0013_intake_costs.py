"""intake: the cost of applying as each replica's writer last measured it, shared so every replica bounds
its backlog with the applying replica's figure

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 06:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import warroom.store.base

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intake_costs",
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.Column("per_alert", sa.Float(), nullable=False),
        sa.Column("per_request", sa.Float(), nullable=False),
        sa.Column("measured_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_intake_costs")),
    )


def downgrade() -> None:
    op.drop_table("intake_costs")

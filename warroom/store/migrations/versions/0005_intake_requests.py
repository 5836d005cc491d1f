"""intake requests: webhooks committed on arrival and processed behind the answer

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import warroom.store.base

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
PENDING = sa.text("processed_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "intake_requests",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("received_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("integration", sa.String(length=80), nullable=False),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("processed_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcomes", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("dead_letter", ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_requests")),
    )
    with op.batch_alter_table("intake_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_intake_requests_pending", ["id"], unique=False, sqlite_where=PENDING, postgresql_where=PENDING
        )


def downgrade() -> None:
    with op.batch_alter_table("intake_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_intake_requests_pending", sqlite_where=PENDING, postgresql_where=PENDING)
    op.drop_table("intake_requests")

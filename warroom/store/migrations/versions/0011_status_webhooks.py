"""status page: who moved a maintenance window, who added or removed a subscriber (webhook subscribers),
and the engine's timers for the windows that are not completed yet

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 00:30:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import warroom.store.base

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TIME = warroom.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    # add_column works on SQLite without a table copy (a constant server default, or nullable).
    op.add_column(
        "status_maintenance_updates", sa.Column("by", sa.String(length=200), nullable=False, server_default="")
    )
    op.add_column(
        "status_subscribers", sa.Column("created_by", sa.String(length=200), nullable=False, server_default="")
    )
    op.add_column("status_subscribers", sa.Column("removed_by", sa.String(length=200), nullable=True))
    # Windows scheduled before the engine started and completed them: their boundaries become timers now.
    windows = sa.table(
        "status_maintenances",
        sa.column("code", sa.String),
        sa.column("status", sa.String),
        sa.column("scheduled_for", TIME),
        sa.column("scheduled_until", TIME),
    )
    timers = sa.table(
        "engine_timers",
        sa.column("key", sa.String),
        sa.column("kind", sa.String),
        sa.column("incident_id", sa.String),
        sa.column("due_at", TIME),
        sa.column("payload", sa.JSON),
        sa.column("state", sa.String),
        sa.column("attempts", sa.Integer),
        sa.column("created_at", TIME),
        sa.column("outcome", sa.Text),
    )
    now = datetime.now(UTC)
    rows = []
    for code, status, start, end in op.get_bind().execute(
        sa.select(windows.c.code, windows.c.status, windows.c.scheduled_for, windows.c.scheduled_until).where(
            windows.c.status != "completed"
        )
    ):
        for edge, due in (("start", start), ("end", end)):
            if edge == "start" and status != "scheduled":
                continue
            rows.append(
                {
                    "key": f"maintenance:{code}:{edge}",
                    "kind": "maintenance",
                    "incident_id": None,
                    "due_at": due,
                    "payload": {"code": code},
                    "state": "pending",
                    "attempts": 0,
                    "created_at": now,
                    "outcome": "",
                }
            )
    if rows:
        op.bulk_insert(timers, rows)


def downgrade() -> None:
    op.execute("DELETE FROM engine_timers WHERE kind = 'maintenance'")
    with op.batch_alter_table("status_subscribers", schema=None) as batch_op:
        batch_op.drop_column("removed_by")
        batch_op.drop_column("created_by")
    with op.batch_alter_table("status_maintenance_updates", schema=None) as batch_op:
        batch_op.drop_column("by")

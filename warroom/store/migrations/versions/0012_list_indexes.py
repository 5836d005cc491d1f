"""indexes for the paged lists: open alert groups newest first (the dashboard, /alerts, the API)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 01:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # `WHERE status = 'open' ORDER BY id DESC LIMIT n` walked every group ever opened (20,000 in bench/web_bench.py).
    op.create_index("ix_alert_groups_status", "alert_groups", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_alert_groups_status", table_name="alert_groups")

"""the public status page: components, posts, maintenance, subscribers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 21:30:00
"""

from __future__ import annotations

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Reserved in the chain so the work that fills it can land in any order; it creates nothing yet."""


def downgrade() -> None:
    """Nothing to undo yet."""

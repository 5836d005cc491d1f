"""postmortems as records: versions and action items

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import warroom.store.base

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = warroom.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "postmortems",
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("latest", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("published_at", TIME, nullable=True),
        sa.Column("published_by", sa.String(length=120), nullable=True),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_postmortems_incident_id_incidents")),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_postmortems")),
    )
    op.create_table(
        "postmortem_versions",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["postmortems.incident_id"],
            name=op.f("fk_postmortem_versions_incident_id_postmortems"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_postmortem_versions")),
        sa.UniqueConstraint("incident_id", "number", name=op.f("uq_postmortem_versions_incident_id")),
    )
    op.create_index(op.f("ix_postmortem_versions_incident_id"), "postmortem_versions", ["incident_id"])
    op.create_table(
        "action_items",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=120), nullable=True),
        sa.Column("due_at", TIME, nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_by", sa.String(length=120), nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("done_at", TIME, nullable=True),
        sa.Column("reminded_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_action_items_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_action_items")),
    )
    op.create_index(op.f("ix_action_items_incident_id"), "action_items", ["incident_id"])
    op.create_index(op.f("ix_action_items_owner"), "action_items", ["owner"])
    op.create_index("ix_action_items_open", "action_items", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_action_items_open", table_name="action_items")
    op.drop_index(op.f("ix_action_items_owner"), table_name="action_items")
    op.drop_index(op.f("ix_action_items_incident_id"), table_name="action_items")
    op.drop_table("action_items")
    op.drop_index(op.f("ix_postmortem_versions_incident_id"), table_name="postmortem_versions")
    op.drop_table("postmortem_versions")
    op.drop_table("postmortems")

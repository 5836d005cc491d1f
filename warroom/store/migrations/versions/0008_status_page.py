"""the public status page: components, posts, maintenance, subscribers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 21:30:00
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import warroom.store.base

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = warroom.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    page = op.create_table(
        "status_page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.String(length=12), nullable=False),
        sa.Column("version", ID, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_page")),
    )
    page_id = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(12))
    op.bulk_insert(page, [{"id": 1, "page_id": page_id, "version": 0, "updated_at": datetime.now(UTC)}])
    op.create_table(
        "status_components",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("is_group", sa.Boolean(), nullable=False),
        sa.Column("group_code", sa.String(length=12), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_components")),
        sa.UniqueConstraint("code", name=op.f("uq_status_components_code")),
        sa.UniqueConstraint("name", name=op.f("uq_status_components_name")),
    )
    op.create_table(
        "status_incidents",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("impact", sa.String(length=10), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("monitoring_at", TIME, nullable=True),
        sa.Column("resolved_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_status_incidents_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_incidents")),
        sa.UniqueConstraint("code", name=op.f("uq_status_incidents_code")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_status_incidents_incident_id")),
    )
    op.create_index(op.f("ix_status_incidents_created_at"), "status_incidents", ["created_at"])
    op.create_table(
        "status_posts",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("status_incident_id", ID, nullable=False),
        sa.Column("update_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["status_incident_id"],
            ["status_incidents.id"],
            name=op.f("fk_status_posts_status_incident_id_status_incidents"),
        ),
        sa.ForeignKeyConstraint(["update_id"], ["updates.id"], name=op.f("fk_status_posts_update_id_updates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_posts")),
        sa.UniqueConstraint("code", name=op.f("uq_status_posts_code")),
    )
    op.create_index(op.f("ix_status_posts_status_incident_id"), "status_posts", ["status_incident_id"])
    op.create_table(
        "status_maintenances",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("scheduled_for", TIME, nullable=False),
        sa.Column("scheduled_until", TIME, nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("completed_at", TIME, nullable=True),
        sa.Column("silence_id", ID, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_maintenances")),
        sa.UniqueConstraint("code", name=op.f("uq_status_maintenances_code")),
    )
    op.create_index(op.f("ix_status_maintenances_scheduled_for"), "status_maintenances", ["scheduled_for"])
    op.create_table(
        "status_maintenance_updates",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=12), nullable=False),
        sa.Column("maintenance_id", ID, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["maintenance_id"],
            ["status_maintenances.id"],
            name=op.f("fk_status_maintenance_updates_maintenance_id_status_maintenances"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_maintenance_updates")),
        sa.UniqueConstraint("code", name=op.f("uq_status_maintenance_updates_code")),
    )
    op.create_index(
        op.f("ix_status_maintenance_updates_maintenance_id"), "status_maintenance_updates", ["maintenance_id"]
    )
    op.create_table(
        "status_subscribers",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("unsubscribe_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("confirmed_at", TIME, nullable=True),
        sa.Column("unsubscribed_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_subscribers")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_status_subscribers_token_hash")),
        sa.UniqueConstraint("unsubscribe_token", name=op.f("uq_status_subscribers_unsubscribe_token")),
    )


def downgrade() -> None:
    for table in (
        "status_subscribers",
        "status_maintenance_updates",
        "status_maintenances",
        "status_posts",
        "status_incidents",
        "status_components",
        "status_page",
    ):
        op.drop_table(table)

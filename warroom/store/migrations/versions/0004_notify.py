"""notify: contact points, channel destinations, the outbox, the delivery log, page links

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 11:54:17.799418
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import warroom.store.base

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notify_channels",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("fallback", sa.String(length=200), nullable=True),
        sa.Column("max_attempts", sa.Integer(), nullable=True),
        sa.Column("rate_per_minute", sa.Integer(), nullable=True),
        sa.Column("delivery", sa.String(length=16), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notify_channels")),
    )
    op.create_table(
        "notify_page_links",
        sa.Column("page_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("page_id", name=op.f("pk_notify_page_links")),
    )
    with op.batch_alter_table("notify_page_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_page_links_event_key"), ["event_key"], unique=False)

    op.create_table(
        "notify_people",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("fallback", sa.String(length=200), nullable=True),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_notify_people")),
    )
    op.create_table(
        "notify_methods",
        sa.Column("person", sa.String(length=120), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person"], ["notify_people.name"], name=op.f("fk_notify_methods_person_notify_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("person", "method", name=op.f("pk_notify_methods")),
    )
    op.create_table(
        "notify_outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("event_key", sa.String(length=200), nullable=False),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=True),
        sa.Column("page_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("person", sa.String(length=120), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("notify_type", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_by", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("claimed_until", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fallback_of", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("coalesced_into", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_notify_outbox_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_outbox")),
        sa.UniqueConstraint("event_key", "destination", name=op.f("uq_notify_outbox_event_key")),
    )
    with op.batch_alter_table("notify_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_notify_outbox_due", ["state", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_outbox_incident_id"), ["incident_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_notify_outbox_page_id"), ["page_id"], unique=False)

    op.create_table(
        "notify_rules",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("person", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("severities", sa.JSON(), nullable=False),
        sa.Column("methods", sa.JSON(), nullable=False),
        sa.Column("quiet_hours", sa.String(length=11), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person"], ["notify_people.name"], name=op.f("fk_notify_rules_person_notify_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_rules")),
    )
    with op.batch_alter_table("notify_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_rules_person"), ["person"], unique=False)

    op.create_table(
        "notify_attempts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("outbox_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=True),
        sa.Column("at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("elapsed_ms", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["outbox_id"], ["notify_outbox.id"], name=op.f("fk_notify_attempts_outbox_id_notify_outbox")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notify_attempts")),
    )
    with op.batch_alter_table("notify_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notify_attempts_outbox_id"), ["outbox_id"], unique=False)
        batch_op.create_index("ix_notify_attempts_rate", ["destination", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notify_attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_notify_attempts_rate")
        batch_op.drop_index(batch_op.f("ix_notify_attempts_outbox_id"))

    op.drop_table("notify_attempts")
    with op.batch_alter_table("notify_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_rules_person"))

    op.drop_table("notify_rules")
    with op.batch_alter_table("notify_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_outbox_page_id"))
        batch_op.drop_index(batch_op.f("ix_notify_outbox_incident_id"))
        batch_op.drop_index("ix_notify_outbox_due")

    op.drop_table("notify_outbox")
    op.drop_table("notify_methods")
    op.drop_table("notify_people")
    with op.batch_alter_table("notify_page_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notify_page_links_event_key"))

    op.drop_table("notify_page_links")
    op.drop_table("notify_channels")

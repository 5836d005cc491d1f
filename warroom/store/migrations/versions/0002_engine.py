"""engine: durable timers, effects, pages, on-call schedules

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:33:33.681687
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import warroom.store.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oncall_schedules",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_oncall_schedules")),
    )
    op.create_table(
        "engine_effects",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=True),
        sa.Column("timer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("worker", sa.String(length=120), nullable=False),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_engine_effects_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_engine_effects")),
    )
    with op.batch_alter_table("engine_effects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_engine_effects_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "engine_timers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=True),
        sa.Column("due_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_by", sa.String(length=120), nullable=True),
        sa.Column("claimed_until", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_engine_timers_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_engine_timers")),
        sa.UniqueConstraint("key", name=op.f("uq_engine_timers_key")),
    )
    with op.batch_alter_table("engine_timers", schema=None) as batch_op:
        batch_op.create_index("ix_engine_timers_due", ["state", "due_at"], unique=False)
        batch_op.create_index("ix_engine_timers_incident", ["incident_id", "state"], unique=False)

    op.create_table(
        "oncall_layers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("length", sa.String(length=16), nullable=False),
        sa.Column("length_seconds", sa.Integer(), nullable=False),
        sa.Column("handoff", sa.String(length=5), nullable=False),
        sa.Column("start_date", sa.String(length=10), nullable=False),
        sa.Column("days", sa.JSON(), nullable=True),
        sa.Column("hours", sa.String(length=11), nullable=True),
        sa.Column("updated_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule"],
            ["oncall_schedules.name"],
            name=op.f("fk_oncall_layers_schedule_oncall_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_layers")),
    )
    with op.batch_alter_table("oncall_layers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oncall_layers_schedule"), ["schedule"], unique=False)

    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("schedule", sa.String(length=80), nullable=False),
        sa.Column("person", sa.String(length=120), nullable=False),
        sa.Column("starts_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["schedule"],
            ["oncall_schedules.name"],
            name=op.f("fk_oncall_overrides_schedule_oncall_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_overrides")),
    )
    with op.batch_alter_table("oncall_overrides", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oncall_overrides_schedule"), ["schedule"], unique=False)

    op.create_table(
        "pages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("target", sa.String(length=80), nullable=False),
        sa.Column("person", sa.String(length=120), nullable=True),
        sa.Column("channel", sa.String(length=200), nullable=True),
        sa.Column("tier", sa.Integer(), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("methods", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("delivery", sa.String(length=16), nullable=False),
        sa.Column("delivered_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_pages_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
        sa.UniqueConstraint("key", name=op.f("uq_pages_key")),
    )
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.create_index("ix_pages_delivery", ["delivery", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_pages_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("pages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pages_incident_id"))
        batch_op.drop_index("ix_pages_delivery")

    op.drop_table("pages")
    with op.batch_alter_table("oncall_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oncall_overrides_schedule"))

    op.drop_table("oncall_overrides")
    with op.batch_alter_table("oncall_layers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oncall_layers_schedule"))

    op.drop_table("oncall_layers")
    with op.batch_alter_table("engine_timers", schema=None) as batch_op:
        batch_op.drop_index("ix_engine_timers_incident")
        batch_op.drop_index("ix_engine_timers_due")

    op.drop_table("engine_timers")
    with op.batch_alter_table("engine_effects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_engine_effects_incident_id"))

    op.drop_table("engine_effects")
    op.drop_table("oncall_schedules")

"""incidents, timeline, roles, hypotheses, mitigations, updates

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:22:55.360610
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import warroom.store.base

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_sequences",
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("day", sa.String(length=8), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "day", name=op.f("pk_incident_sequences")),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=True),
        sa.Column("severity", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("policy", sa.String(length=80), nullable=False),
        sa.Column("channel", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("declared_by", sa.String(length=120), nullable=False),
        sa.Column("detected_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("declared_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=120), nullable=True),
        sa.Column("investigating_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("identified_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("mitigated_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reopened_count", sa.Integer(), nullable=False),
        sa.Column("impact", sa.JSON(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("decision", sa.JSON(), nullable=True),
        sa.Column("mitigation_failures", sa.Integer(), nullable=False),
        sa.Column("postmortem_due_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("forced_resolution", sa.Text(), nullable=True),
        sa.Column("reopened_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("watch_started_at", warroom.store.base.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incidents_declared_at"), ["declared_at"], unique=False)
        batch_op.create_index("ix_incidents_open", ["status", "severity"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_service"), ["service"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_severity"), ["severity"], unique=False)
        batch_op.create_index(batch_op.f("ix_incidents_status"), ["status"], unique=False)

    op.create_table(
        "hypotheses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("confidence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("created_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_hypotheses_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hypotheses")),
        sa.UniqueConstraint("incident_id", "number", name=op.f("uq_hypotheses_incident_id")),
    )
    with op.batch_alter_table("hypotheses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_hypotheses_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "mitigations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("strategy", sa.String(length=80), nullable=False),
        sa.Column("worked", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_mitigations_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mitigations")),
    )
    with op.batch_alter_table("mitigations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mitigations_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "role_assignments",
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=80), nullable=False),
        sa.Column("person", sa.String(length=120), nullable=False),
        sa.Column("assigned_at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("assigned_by", sa.String(length=120), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_role_assignments_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("incident_id", "role", name=op.f("pk_role_assignments")),
    )
    op.create_table(
        "timeline_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("corrects", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["corrects"], ["timeline_entries.id"], name=op.f("fk_timeline_entries_corrects_timeline_entries")
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_timeline_entries_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timeline_entries")),
    )
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_timeline_entries_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("next_step", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=120), nullable=False),
        sa.Column("at", warroom.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_updates_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_updates")),
        sa.UniqueConstraint("incident_id", "audience", "number", name=op.f("uq_updates_incident_id")),
    )
    with op.batch_alter_table("updates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_updates_incident_id"), ["incident_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("updates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_updates_incident_id"))

    op.drop_table("updates")
    with op.batch_alter_table("timeline_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_entries_incident_id"))

    op.drop_table("timeline_entries")
    op.drop_table("role_assignments")
    with op.batch_alter_table("mitigations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mitigations_incident_id"))

    op.drop_table("mitigations")
    with op.batch_alter_table("hypotheses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hypotheses_incident_id"))

    op.drop_table("hypotheses")
    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incidents_status"))
        batch_op.drop_index(batch_op.f("ix_incidents_severity"))
        batch_op.drop_index(batch_op.f("ix_incidents_service"))
        batch_op.drop_index("ix_incidents_open")
        batch_op.drop_index(batch_op.f("ix_incidents_declared_at"))

    op.drop_table("incidents")
    op.drop_table("incident_sequences")

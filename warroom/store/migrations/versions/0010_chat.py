"""chat identities and one-tap acknowledgement links

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 21:30:00
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import warroom.store.base

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = warroom.store.base.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "chat_identities",
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=120), nullable=False),
        sa.Column("linked_by", sa.String(length=120), nullable=False),
        sa.Column("linked_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("platform", "external_id", name=op.f("pk_chat_identities")),
    )
    op.create_index(op.f("ix_chat_identities_user_name"), "chat_identities", ["user_name"])
    op.create_table(
        "ack_links",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(length=40), nullable=False),
        sa.Column("person", sa.String(length=120), nullable=False),
        sa.Column("page_id", ID, nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("expires_at", TIME, nullable=False),
        sa.Column("used_at", TIME, nullable=True),
        sa.Column("outcome", sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ack_links")),
    )
    op.create_index(op.f("ix_ack_links_incident_id"), "ack_links", ["incident_id"])
    keys = op.create_table(
        "signing_keys",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_signing_keys")),
    )
    # Made here, once per database: every replica then signs and checks ack links with the same key.
    op.bulk_insert(keys, [{"name": "ack-links", "secret": secrets.token_urlsafe(48), "created_at": datetime.now(UTC)}])


def downgrade() -> None:
    for table in ("signing_keys", "ack_links", "chat_identities"):
        op.drop_table(table)

"""Tables of postmortems as records: the postmortem, every saved version of it, and its action items.

A version is never changed once written (each save adds one), so nothing a writer typed is lost.
Only warroom.postmortems, warroom.reports and the migrations import this module.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from warroom.store.base import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class Postmortem(Base):
    """One per incident: where its review stands (draft, in_review, published) and its latest version."""

    __tablename__ = "postmortems"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    latest: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(120))
    published_version: Mapped[int | None] = mapped_column(Integer)


class PostmortemVersion(Base):
    """The text as one save left it; append-only."""

    __tablename__ = "postmortem_versions"
    __table_args__ = (UniqueConstraint("incident_id", "number"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("postmortems.incident_id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    by: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]


class ActionItem(Base):
    """A follow-up the postmortem committed to: who, by when, where it is tracked, how far it got."""

    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(120), index=True)
    due_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20))
    link: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    """the last overdue reminder sent for it, so a reminder goes once a day at most"""


Index("ix_action_items_open", ActionItem.status, ActionItem.due_at)

"""Tables of notification delivery: contact points, the outbox, and the log of every attempt.

Contact points are configuration kept in the database (managed with `warroom contact` or
the API, optionally loaded from WARROOM_CONTACTS), so no service address ever lives in code.
Only warroom.notify and the migrations import this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from warroom.store.base import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class Person(Base):
    """Someone warroom can reach directly; `fallback` is where their dead notifications go next."""

    __tablename__ = "notify_people"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    fallback: Mapped[str | None] = mapped_column(String(200))
    """one of the person's own methods (e.g. `email`) or a channel destination (e.g. `#incidents`)"""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ContactMethod(Base):
    """One way to reach a person (page, push, sms, email, phone, chat) as an Apprise URL."""

    __tablename__ = "notify_methods"

    person: Mapped[str] = mapped_column(ForeignKey("notify_people.name", ondelete="CASCADE"), primary_key=True)
    method: Mapped[str] = mapped_column(String(16), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class PersonRule(Base):
    """A personal notification rule; the first rule (by position) matching the severity applies."""

    __tablename__ = "notify_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person: Mapped[str] = mapped_column(ForeignKey("notify_people.name", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    severities: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """empty: every severity"""
    methods: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """empty: the methods the policy asks for; otherwise these instead"""
    quiet_hours: Mapped[str | None] = mapped_column(String(11))
    """HH:MM-HH:MM in the person's time zone; notifications wait until it ends"""
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class Channel(Base):
    """A named destination (`#incidents`, `war-room`, `status-page`, `customer-email`, ...) and its Apprise URL.

    The URL may hold `{channel}` (the incident's own channel, without `#`) and `{incident}`.
    """

    __tablename__ = "notify_channels"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    fallback: Mapped[str | None] = mapped_column(String(200))
    max_attempts: Mapped[int | None] = mapped_column(Integer)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    delivery: Mapped[str | None] = mapped_column(String(16))
    """at-most-once | at-least-once; null: decided by the kind of destination"""
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Outbox(Base):
    """One message for one destination, written in the transaction of the event that caused it."""

    __tablename__ = "notify_outbox"
    __table_args__ = (UniqueConstraint("event_key", "destination"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    event_key: Mapped[str] = mapped_column(String(200))
    destination: Mapped[str] = mapped_column(String(200))
    """a channel name, or person:NAME:METHOD"""
    kind: Mapped[str] = mapped_column(String(32))
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    page_id: Mapped[int | None] = mapped_column(ID, index=True)
    person: Mapped[str | None] = mapped_column(String(120))
    method: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(200))
    """the incident's own channel, for destinations whose URL holds {channel}"""
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    notify_type: Mapped[str] = mapped_column(String(16), default="info")
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """pending | sending | sent | failed (will retry) | dead | unknown (worker lost mid-send) | coalesced"""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime]
    due_by: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None]
    fallback_of: Mapped[int | None] = mapped_column(ID)
    coalesced_into: Mapped[int | None] = mapped_column(ID)


Index("ix_notify_outbox_due", Outbox.state, Outbox.next_attempt_at)


class Attempt(Base):
    """The delivery log: one row per try, append-only."""

    __tablename__ = "notify_attempts"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("notify_outbox.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime]
    worker: Mapped[str] = mapped_column(String(120), default="")
    outcome: Mapped[str] = mapped_column(String(16))
    """sent | failed | dead | unknown | resend | unroutable"""
    error: Mapped[str] = mapped_column(Text, default="")
    elapsed_ms: Mapped[int] = mapped_column(Integer, default=0)


Index("ix_notify_attempts_rate", Attempt.destination, Attempt.at)


class PageLink(Base):
    """A page the notification service has taken over, and the outbox event that carries it."""

    __tablename__ = "notify_page_links"

    page_id: Mapped[int] = mapped_column(ID, primary_key=True)
    event_key: Mapped[str] = mapped_column(String(200), index=True)
    incident_id: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime]

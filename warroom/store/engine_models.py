"""Tables of the engine: durable timers, recorded effects, pages, and on-call schedules.

Only the engine, the on-call service and the migrations import this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from warroom.store.base import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class Timer(Base):
    """A due action. `key` makes scheduling idempotent; `claimed_until` is the worker's lease."""

    __tablename__ = "engine_timers"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"))
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    """pending | claimed | done | cancelled | failed"""
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(Text, default="")


Index("ix_engine_timers_due", Timer.state, Timer.due_at)
Index("ix_engine_timers_incident", Timer.incident_id, Timer.state)


class Effect(Base):
    """Proof that an effect happened, under its idempotency key: a retry finds it and does nothing."""

    __tablename__ = "engine_effects"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    timer_id: Mapped[int | None] = mapped_column(ID)
    worker: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime]


class Page(Base):
    """One person (or channel) paged for one incident: the hand-off point to notification delivery."""

    __tablename__ = "pages"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="page")
    """page (an escalation tier) | escalation (a condition or SLA breach bringing someone in)"""
    target: Mapped[str] = mapped_column(String(80))
    person: Mapped[str | None] = mapped_column(String(120))
    channel: Mapped[str | None] = mapped_column(String(200))
    tier: Mapped[int | None] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer, default=0)
    methods: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    delivery: Mapped[str] = mapped_column(String(16), default="pending")
    """pending until the notification service picks it up (sent | failed)"""
    delivered_at: Mapped[datetime | None]


Index("ix_pages_delivery", Page.delivery, Page.created_at)


class Schedule(Base):
    __tablename__ = "oncall_schedules"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ScheduleLayer(Base):
    """A rotation. Higher `position` wins where layers overlap (a daytime layer over a 24/7 base)."""

    __tablename__ = "oncall_layers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule: Mapped[str] = mapped_column(ForeignKey("oncall_schedules.name", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    members: Mapped[list[Any]] = mapped_column(JSON)
    length: Mapped[str] = mapped_column(String(16))
    """daily | weekly | custom"""
    length_seconds: Mapped[int] = mapped_column(Integer)
    handoff: Mapped[str] = mapped_column(String(5))
    start_date: Mapped[str] = mapped_column(String(10))
    days: Mapped[list[Any] | None] = mapped_column(JSON)
    hours: Mapped[str | None] = mapped_column(String(11))
    updated_at: Mapped[datetime]


class ScheduleOverride(Base):
    """A person covers a window of a schedule; the newest override wins where they overlap."""

    __tablename__ = "oncall_overrides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    schedule: Mapped[str] = mapped_column(ForeignKey("oncall_schedules.name", ondelete="CASCADE"), index=True)
    person: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]

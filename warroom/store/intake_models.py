"""Tables of alert intake: integrations (hashed secrets), accepted requests, alerts, groups, silences, dead letters.

Only the intake service and the migrations import this module.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from warroom.store.base import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class Integration(Base):
    """A sender with its own secret. Only the SHA-256 of the token is kept; the token is shown once."""

    __tablename__ = "intake_integrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    source: Mapped[str] = mapped_column(String(40))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_hint: Mapped[str] = mapped_column(String(16))
    signing_secret: Mapped[str | None] = mapped_column(String(200))
    """The sender's HMAC key (Sentry's client secret): verifying a signature needs the key itself."""
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(120))


class AlertGroup(Base):
    """Alerts correlated together (same group labels within the window, or a storm) and their triage."""

    __tablename__ = "alert_groups"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(400))
    status: Mapped[str] = mapped_column(String(10), default="open")
    """open | closed"""
    storm: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(16))
    """incident | ticket | none | pending (held to see whether a storm is starting) | merged | dismissed"""
    severity: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[int | None] = mapped_column(Integer)
    triage: Mapped[dict[str, Any]] = mapped_column(default=dict)
    runbook: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    merged_into: Mapped[int | None] = mapped_column(ID)
    opened_at: Mapped[datetime] = mapped_column(index=True)
    last_alert_at: Mapped[datetime]
    hold_until: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    alert_count: Mapped[int] = mapped_column(Integer, default=0)
    services: Mapped[list[Any]] = mapped_column(JSON, default=list)
    decided_by: Mapped[str] = mapped_column(String(120), default="triage")
    decided_at: Mapped[datetime]
    history: Mapped[list[Any]] = mapped_column(JSON, default=list)


Index("ix_alert_groups_key", AlertGroup.key, AlertGroup.status)
Index("ix_alert_groups_pending", AlertGroup.outcome, AlertGroup.hold_until)
Index("ix_alert_groups_status", AlertGroup.status, AlertGroup.id)


class Alert(Base):
    """One alert as its sender described it, normalised; repeats while firing only bump `count`."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(300))
    """source:fingerprint, the deduplication key"""
    source: Mapped[str] = mapped_column(String(40))
    integration: Mapped[str] = mapped_column(String(80))
    fingerprint: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10))
    """firing | resolved"""
    service: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    severity_hint: Mapped[str | None] = mapped_column(String(40))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metric: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[str | None] = mapped_column(String(100))
    links: Mapped[list[Any]] = mapped_column(JSON, default=list)
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    first_seen: Mapped[datetime] = mapped_column(index=True)
    last_seen: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    count: Mapped[int] = mapped_column(Integer, default=1)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("alert_groups.id"), index=True)
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id"))
    silence_id: Mapped[int | None] = mapped_column(ID)


Index(
    "uq_alerts_open_key",
    Alert.key,
    unique=True,
    sqlite_where=text("status = 'firing'"),
    postgresql_where=text("status = 'firing'"),
)
Index("ix_alerts_incident", Alert.incident_id, Alert.status)


class Silence(Base):
    """Label matchers and a time box: matching alerts are stored but neither page nor declare."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    matchers: Mapped[list[Any]] = mapped_column(JSON)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(String(120))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    expired_by: Mapped[str | None] = mapped_column(String(120))


class DeadLetter(Base):
    """The raw body of a request refused after authentication, kept for inspection (bounded)."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(40))
    integration: Mapped[str] = mapped_column(String(80))
    status: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(200), default="")
    size: Mapped[int] = mapped_column(Integer)
    body: Mapped[bytes] = mapped_column(LargeBinary)


class IntakeRequest(Base):
    """A webhook accepted and committed, waiting for (or done with) dedup, grouping and triage.

    The webhook answers once this row is committed; the intake writer works through the rows in id
    order behind the answer and records what became of each alert (`outcomes`).
    """

    __tablename__ = "intake_requests"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(40))
    integration: Mapped[str] = mapped_column(String(80))
    alerts: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    """the request headers its parser reads (Sentry's resource), nothing else"""
    body: Mapped[bytes] = mapped_column(LargeBinary)
    processed_at: Mapped[datetime | None]
    outcomes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    dead_letter: Mapped[int | None] = mapped_column(ID)


Index(
    "ix_intake_requests_pending",
    IntakeRequest.id,
    sqlite_where=text("processed_at IS NULL"),
    postgresql_where=text("processed_at IS NULL"),
)


class IntakeCost(Base):
    """What applying costs, as one replica's intake writer last measured it (the backlog's lag in seconds).

    Every replica bounds its backlog in seconds of applying; on PostgreSQL one replica applies at a time,
    so the others read the cost the applying one measured instead of keeping the one they last saw.
    """

    __tablename__ = "intake_costs"

    worker: Mapped[str] = mapped_column(String(120), primary_key=True)
    per_alert: Mapped[float] = mapped_column(Float)
    per_request: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime]

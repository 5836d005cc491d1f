"""Tables of the public status page: components, public incidents and their posts, maintenance windows,
subscribers, and the one version row every serving process's cache follows.

Public objects carry a random `code` (Statuspage's 12-character ids): the public page never shows an
internal incident id, a person or a row id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from warroom.store.base import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class StatusPageState(Base):
    """One row: the page's public id and the version of everything public (bumped by every change)."""

    __tablename__ = "status_page"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(ID, default=0)
    updated_at: Mapped[datetime]


class StatusComponent(Base):
    """A component (or a group of them, `is_group`) and the status an admin set by hand."""

    __tablename__ = "status_components"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    is_group: Mapped[bool] = mapped_column(Boolean, default=False)
    group_code: Mapped[str | None] = mapped_column(String(12))
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(24), default="operational")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StatusIncident(Base):
    """The public face of one internal incident: only what was published about it."""

    __tablename__ = "status_incidents"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20))
    impact: Mapped[str] = mapped_column(String(10), default="none")
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    monitoring_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]


class StatusPost(Base):
    """One published update of a public incident: its status, text and what it said of components."""

    __tablename__ = "status_posts"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    status_incident_id: Mapped[int] = mapped_column(ForeignKey("status_incidents.id"), index=True)
    update_id: Mapped[int | None] = mapped_column(ForeignKey("updates.id"))
    status: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    components: Mapped[list[Any]] = mapped_column(default=list)
    """[{"code", "old_status", "new_status"}] for the components this post changed"""
    at: Mapped[datetime]


class StatusMaintenance(Base):
    """A maintenance window: shown ahead of time, in progress between its times, then completed."""

    __tablename__ = "status_maintenances"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="scheduled")
    components: Mapped[list[Any]] = mapped_column(default=list)
    """component codes under maintenance while the window is in progress"""
    scheduled_for: Mapped[datetime] = mapped_column(index=True)
    scheduled_until: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    silence_id: Mapped[int | None] = mapped_column(ID)
    """the alert silence this window owns (alerts for its components page nobody meanwhile)"""


class StatusMaintenanceUpdate(Base):
    __tablename__ = "status_maintenance_updates"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    maintenance_id: Mapped[int] = mapped_column(ForeignKey("status_maintenances.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    """who took the step: a person, or warroom (the engine at the window's time)"""


class StatusSubscriber(Base):
    """Someone told of every post and maintenance start: by e-mail (double opt-in) or by webhook."""

    __tablename__ = "status_subscribers"

    id: Mapped[int] = mapped_column(ID, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(10))
    address: Mapped[str] = mapped_column(String(500))
    components: Mapped[list[Any]] = mapped_column(default=list)
    """component codes of interest; empty means every component"""
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the secret in the confirmation link (sent once, never stored)"""
    unsubscribe_token: Mapped[str] = mapped_column(String(64), unique=True)
    """the secret of the unsubscribe link every mail carries (kept: each mail needs it; it can only unsubscribe)"""
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    """the responder who added it ("" when the subscriber asked on the public page)"""
    removed_by: Mapped[str | None] = mapped_column(String(200))
    """the responder who removed it (None when the subscriber unsubscribed by the link)"""

"""What /metrics reports about the whole deployment, read from the database at scrape time, so every
replica and worker answers the same and no service has to tell this package anything."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from warroom.domain.lifecycle import OPEN_STATUSES
from warroom.store.engine_models import Page, Timer
from warroom.store.intake_models import Alert, IntakeRequest
from warroom.store.models import Incident, TimelineEntry
from warroom.store.notify_models import Outbox
from warroom.store.postmortem_models import ActionItem
from warroom.store.unit import Context

LATENCY_SAMPLE = 1000
"""the latest sent notifications whose delivery latency /metrics summarises"""


@dataclass
class Snapshot:
    open_incidents: dict[tuple[str, str], int] = field(default_factory=dict)
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)
    pages: dict[str, int] = field(default_factory=dict)
    notifications: dict[str, int] = field(default_factory=dict)
    sla_breaches: dict[tuple[str, str], int] = field(default_factory=dict)
    timer_lag_seconds: float = 0.0
    timers_due: int = 0
    intake_backlog_seconds: float = 0.0
    action_items_overdue: int = 0
    delivery_latency: list[float] = field(default_factory=list)
    """seconds from queued to sent of the latest sent notifications, ascending"""


def snapshot(ctx: Context) -> Snapshot:
    now: datetime = ctx.clock.now()
    snap = Snapshot()
    with ctx.db.read() as s:
        open_ = [st.value if hasattr(st, "value") else str(st) for st in OPEN_STATUSES]
        for sev, status, n in s.execute(
            select(Incident.severity, Incident.status, func.count())
            .where(Incident.status.in_(open_))
            .group_by(Incident.severity, Incident.status)
        ):
            snap.open_incidents[(sev, status)] = n
        for source, status, n in s.execute(
            select(Alert.source, Alert.status, func.count()).group_by(Alert.source, Alert.status)
        ):
            snap.alerts[(source, status)] = n
        for delivery, n in s.execute(select(Page.delivery, func.count()).group_by(Page.delivery)):
            snap.pages[delivery] = n
        for state, n in s.execute(select(Outbox.state, func.count()).group_by(Outbox.state)):
            snap.notifications[state] = n
        for inc_sev, data in s.execute(
            select(Incident.severity, TimelineEntry.data)
            .join(Incident, Incident.id == TimelineEntry.incident_id)
            .where(TimelineEntry.kind == "sla_breach")
        ):
            key = (inc_sev, str((data or {}).get("clock", "")))
            snap.sla_breaches[key] = snap.sla_breaches.get(key, 0) + 1
        waiting = s.scalar(select(func.min(IntakeRequest.received_at)).where(IntakeRequest.processed_at.is_(None)))
        snap.intake_backlog_seconds = max(0.0, (now - waiting).total_seconds()) if waiting else 0.0
        recent = s.execute(
            select(Outbox.created_at, Outbox.sent_at)
            .where(Outbox.sent_at.is_not(None))
            .order_by(Outbox.id.desc())
            .limit(LATENCY_SAMPLE)
        ).all()
        snap.delivery_latency = sorted(max(0.0, (b - a).total_seconds()) for a, b in recent if b is not None)
        oldest = s.scalar(select(func.min(Timer.due_at)).where(Timer.state == "pending", Timer.due_at <= now))
        snap.timers_due = s.scalar(select(func.count()).where(Timer.state == "pending", Timer.due_at <= now)) or 0
        snap.timer_lag_seconds = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
        snap.action_items_overdue = (
            s.scalar(
                select(func.count())
                .select_from(ActionItem)
                .where(ActionItem.status.in_(("open", "in_progress")), ActionItem.due_at < now)
            )
            or 0
        )
    return snap

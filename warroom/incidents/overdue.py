"""Which open incidents owe an audience an update: the policy's periodic cadence, counted as the engine counts it.

A periodic cadence (`every 30m`) is due that long after the last update posted to the audience, or after
the declaration (or reopening) when there was none; `first_within` brings the first one forward. The
external audience owes nothing while external posts are held back (no status page for the severity, or
flags of `external.requires` not yet set): never a nag to post speculation.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from warroom.domain.lifecycle import OPEN_STATUSES
from warroom.domain.view import View
from warroom.policy.model import Cadence, Policy, UnknownSeverity
from warroom.store.models import Incident, Update
from warroom.store.unit import Context


class OverdueUpdate(View):
    incident_id: str
    title: str
    severity: str
    audience: str
    every: str
    due_at: datetime
    overdue_seconds: int
    last_update_at: datetime | None


def may_post(policy: Policy, severity: str, flags: dict[str, object], audience: str) -> bool:
    """External posts wait for the severity's status-page rule and its required flags; the others never wait."""
    if audience != "external":
        return True
    sev = policy.severity(severity)
    return sev.status_page.post != "never" and not sev.external_blocked_by(flags)


def due_at(policy: Policy, inc: Incident, audience: str, last: datetime | None) -> datetime | None:
    """When `audience` is next owed an update on this incident, or None (no periodic cadence, or not allowed)."""
    try:
        cadence: Cadence | None = policy.severity(inc.severity).cadence.get(audience)  # type: ignore[call-overload]
    except UnknownSeverity:
        return None
    if cadence is None or cadence.every is None or cadence.every.seconds <= 0:
        return None
    if not may_post(policy, inc.severity, inc.flags, audience):
        return None
    start = inc.reopened_at or inc.declared_at
    if last is None and cadence.first_within is not None and inc.reopened_at is None:
        first: datetime = inc.declared_at + cadence.first_within.as_timedelta()
        return first
    due: datetime = max(start, last or start) + cadence.every.as_timedelta()
    return due


def overdue_updates(ctx: Context, now: datetime | None = None) -> list[OverdueUpdate]:
    """Every (open incident, audience) whose update is overdue now, the longest overdue first."""
    now = now or ctx.clock.now()
    with ctx.db.read() as session:
        open_ = list(session.scalars(select(Incident).where(Incident.status.in_([s.value for s in OPEN_STATUSES]))))
        if not open_:
            return []
        last = {
            (iid, audience): at
            for iid, audience, at in session.execute(
                select(Update.incident_id, Update.audience, func.max(Update.at))
                .where(Update.incident_id.in_([i.id for i in open_]))
                .group_by(Update.incident_id, Update.audience)
            ).all()
        }
        out = []
        for inc in open_:
            for audience in ("internal", "external", "executive"):
                previous = last.get((inc.id, audience))
                due = due_at(ctx.policy, inc, audience, previous)
                if due is None or due >= now:
                    continue
                every = ctx.policy.severity(inc.severity).cadence[audience].every
                out.append(
                    OverdueUpdate(
                        incident_id=inc.id,
                        title=inc.title,
                        severity=inc.severity,
                        audience=audience,
                        every=str(every),
                        due_at=due,
                        overdue_seconds=int((now - due).total_seconds()),
                        last_update_at=previous,
                    )
                )
        out.sort(key=lambda o: (-o.overdue_seconds, o.incident_id, o.audience))
        return out

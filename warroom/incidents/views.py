"""What an incident looks like to every face: its SLA clocks, roles and the full view."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.domain import sla
from warroom.incidents.record import COMMANDER
from warroom.incidents.schemas import (
    ClockView,
    HypothesisView,
    IncidentView,
    MitigationView,
    RoleView,
    UpdateView,
)
from warroom.policy.model import Policy
from warroom.store.models import (
    Hypothesis,
    Incident,
    Mitigation,
    RoleAssignment,
    Update,
)


def anchors(inc: Incident) -> tuple[datetime, datetime]:
    """Ack runs from declaration; mitigate and resolve restart when an incident is reopened."""
    return inc.declared_at, inc.reopened_at or inc.declared_at


ALERTS_RESOLVED = "alerts_resolved"
"""The ack clock's state when the alerts resolved before anyone acknowledged: neither met nor breached."""


def compute_clocks(policy: Policy, inc: Incident, now: datetime) -> list[sla.Clock]:
    """ack, respond (only where the severity times it), mitigate, resolve."""
    sev = policy.severity(inc.severity)
    cal = policy.business_calendar()
    ack_start, work_start = anchors(inc)
    ack = sla.clock("ack", sev.sla.ack, cal, ack_start, inc.acknowledged_at, now)
    if inc.acknowledged_at is None and inc.alerts_cleared_at is not None and ack.state != "none":
        ack = sla.Clock("ack", ack.deadline, None, ALERTS_RESOLVED, None)
    clocks = [ack]
    if sev.sla.respond is not None:
        respond = sla.clock("respond", sev.sla.respond, cal, ack_start, inc.responded_at or inc.resolved_at, now)
        if inc.responded_at is None and inc.alerts_cleared_at is not None and respond.met_at is None:
            respond = sla.Clock("respond", respond.deadline, None, ALERTS_RESOLVED, None)
        clocks.append(respond)
    clocks += [
        sla.clock("mitigate", sev.sla.mitigate, cal, work_start, inc.mitigated_at or inc.resolved_at, now),
        sla.clock("resolve", sev.sla.resolve, cal, work_start, inc.resolved_at, now),
    ]
    return clocks


def clock_view(c: sla.Clock, inc: Incident | None = None) -> ClockView:
    if c.state == ALERTS_RESOLVED and inc is not None and inc.alerts_cleared_at is not None:
        after = round((inc.alerts_cleared_at - inc.declared_at).total_seconds() / 60)
        display = f"not {'acknowledged' if c.name == 'ack' else 'responded to'} (alerts resolved after {after}m)"
    else:
        display = sla.describe(c)
    return ClockView(
        name=c.name,
        deadline=c.deadline,
        met_at=c.met_at,
        state=c.state,
        remaining_seconds=c.remaining_seconds,
        display=display,
    )


def role_views(policy: Policy, inc: Incident, assigned: dict[str, RoleAssignment]) -> tuple[list[RoleView], list[str]]:
    sev = policy.severity(inc.severity)
    names = list(dict.fromkeys([*sev.roles_required, *sev.roles_optional, *assigned]))
    if COMMANDER in policy.roles and COMMANDER not in names:
        names.insert(0, COMMANDER)
    views = []
    for name in names:
        a = assigned.get(name)
        role = policy.roles.get(name)
        views.append(
            RoleView(
                role=name,
                title=role.title if role else name,
                person=a.person if a else None,
                required=name in sev.roles_required,
                assigned_at=a.assigned_at if a else None,
            )
        )
    missing = [n for n in sev.roles_required if n not in assigned]
    return views, missing


def build_view(session: Session, policy: Policy, inc: Incident, now: datetime) -> IncidentView:
    sev = policy.severity(inc.severity)
    assigned = {r.role: r for r in session.scalars(select(RoleAssignment).where(RoleAssignment.incident_id == inc.id))}
    roles, missing = role_views(policy, inc, assigned)
    hyps = session.scalars(select(Hypothesis).where(Hypothesis.incident_id == inc.id).order_by(Hypothesis.number))
    mits = session.scalars(select(Mitigation).where(Mitigation.incident_id == inc.id).order_by(Mitigation.id))
    ups = list(session.scalars(select(Update).where(Update.incident_id == inc.id).order_by(Update.id)))
    counts: dict[str, int] = {}
    for u in ups:
        counts[u.audience] = max(counts.get(u.audience, 0), u.number)
    return IncidentView(
        id=inc.id,
        title=inc.title,
        slug=inc.slug,
        summary=inc.summary,
        service=inc.service,
        severity=inc.severity,
        severity_label=sev.label,
        status=inc.status,
        policy=inc.policy,
        channel=inc.channel,
        topic=inc.topic,
        source=inc.source,
        declared_by=inc.declared_by,
        detected_at=inc.detected_at,
        declared_at=inc.declared_at,
        acknowledged_at=inc.acknowledged_at,
        acknowledged_by=inc.acknowledged_by,
        investigating_at=inc.investigating_at,
        identified_at=inc.identified_at,
        mitigated_at=inc.mitigated_at,
        resolved_at=inc.resolved_at,
        closed_at=inc.closed_at,
        reopened_at=inc.reopened_at,
        reopened_count=inc.reopened_count,
        watch_started_at=inc.watch_started_at,
        responded_at=inc.responded_at,
        alerts_cleared_at=inc.alerts_cleared_at,
        postmortem_due_at=inc.postmortem_due_at,
        postmortem=sev.postmortem.need.value,
        forced_resolution=inc.forced_resolution,
        impact=inc.impact,
        flags=inc.flags,
        decision=inc.decision,
        mitigation_failures=inc.mitigation_failures,
        clocks=[clock_view(c, inc) for c in compute_clocks(policy, inc, now)],
        roles=roles,
        missing_roles=missing,
        hypotheses=[HypothesisView.model_validate(h) for h in hyps],
        mitigations=[MitigationView.model_validate(m) for m in mits],
        updates=[UpdateView.model_validate(u) for u in ups],
        update_counts=counts,
        version=inc.version,
    )

"""War-room roles: assigning and handing over (the commander also names the channel topic)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from warroom.domain import lifecycle
from warroom.domain.errors import Conflict, Invalid
from warroom.domain.lifecycle import Status
from warroom.domain.text import clean_name
from warroom.incidents.record import COMMANDER, NAME_LIMIT, actor, entry, load, render_channel
from warroom.incidents.schemas import (
    IncidentView,
)
from warroom.incidents.views import build_view
from warroom.policy.model import Policy
from warroom.store.models import (
    Incident,
    RoleAssignment,
)
from warroom.store.unit import Context, run


def assign_role(ctx: Context, incident_id: str, role: str, person: str, by: str) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = actor(by)
        name = clean_name("person", person, limit=NAME_LIMIT)
        if role not in ctx.policy.roles:
            known = ", ".join(ctx.policy.roles)
            raise Invalid(f"unknown role '{role}'; this policy has {known}", field="role")
        inc = load(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "assign roles")
        assign(session, ctx.policy, inc, role, name, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def assign(session: Session, policy: Policy, inc: Incident, role: str, person: str, by: str, now: datetime) -> None:
    current = session.get(RoleAssignment, (inc.id, role))
    title = policy.roles[role].title
    if current is not None and current.person == person:
        raise Conflict(f"{person} already holds {title} on {inc.id}")
    if current is None:
        session.add(RoleAssignment(incident_id=inc.id, role=role, person=person, assigned_at=now, assigned_by=by))
        entry(session, inc, now, by, "role", f"{title}: {person}", data={"role": role, "person": person})
    else:
        previous = current.person
        current.person, current.assigned_at, current.assigned_by = person, now, by
        entry(
            session,
            inc,
            now,
            by,
            "role",
            f"{title} handed over from {previous} to {person}",
            data={"role": role, "person": person, "from": previous},
        )
    # Keep the ORM's version column moving so concurrent writers of the incident see the change.
    inc.updated_at = now
    if role == COMMANDER:
        session.flush()
        render_channel(policy, inc, person, now)

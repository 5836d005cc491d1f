"""An incident's record: its row by id, the timeline writer (append only), actors and ids."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from warroom.domain import actors
from warroom.domain.errors import Invalid, NotFound
from warroom.domain.flags import KNOWN_FLAGS
from warroom.domain.lifecycle import OPEN_STATUSES
from warroom.domain.text import clean_name
from warroom.incidents import context as template_context
from warroom.policy.model import Policy
from warroom.policy.templates import render
from warroom.store.models import (
    Incident,
    IncidentSequence,
    RoleAssignment,
    TimelineEntry,
)
from warroom.store.unit import record

TITLE_LIMIT = 300
TEXT_LIMIT = 10_000
NAME_LIMIT = 120
COMMANDER = "incident-commander"
OPEN_VALUES = tuple(s.value for s in OPEN_STATUSES)


def load(session: Session, incident_id: str, *, lock: bool = False) -> Incident:
    stmt = select(Incident).where(Incident.id == incident_id.strip().upper())
    if lock:
        stmt = stmt.with_for_update()
    inc = session.scalars(stmt).first()
    if inc is None:
        raise NotFound(f"no incident {incident_id}", field="incident_id")
    return inc


def actor(by: str) -> str:
    return clean_name("by", by, limit=NAME_LIMIT)


def entry(
    session: Session,
    inc: Incident,
    at: datetime,
    actor: str,
    kind: str,
    what: str,
    outcome: str = "",
    data: dict[str, Any] | None = None,
    corrects: int | None = None,
) -> TimelineEntry:
    """Append to the timeline; there is no function that edits or deletes an entry."""
    row = TimelineEntry(
        incident_id=inc.id,
        at=at,
        actor=actor,
        kind=kind,
        what=what,
        outcome=outcome,
        data=data or {},
        corrects=corrects,
    )
    session.add(row)
    record(session, row, inc)
    inc.updated_at = at
    return row


def next_id(session: Session, policy: Policy, at: datetime) -> str:
    prefix = policy.incident_id.prefix
    day = at.strftime("%Y%m%d")
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(IncidentSequence)
        .values(prefix=prefix, day=day, last=1)
        .on_conflict_do_update(
            index_elements=[IncidentSequence.prefix, IncidentSequence.day],
            set_={"last": IncidentSequence.last + 1},
        )
        .returning(IncidentSequence.last)
    )
    number = session.execute(stmt).scalar_one()
    return f"{prefix}-{day}-{number:0{policy.incident_id.digits}d}"


def commander_of(session: Session, inc: Incident) -> str | None:
    row = session.get(RoleAssignment, (inc.id, COMMANDER))
    return row.person if row else None


def get_for_update(session: Session, incident_id: str) -> Incident:
    return load(session, incident_id, lock=True)


def responded(inc: Incident, now: datetime) -> None:
    """A responder is at work on it: the respond clock (SO1's response time) is met from now."""
    if inc.responded_at is None:
        inc.responded_at = now


def render_channel(
    policy: Policy, inc: Incident, commander: str | None, now: datetime, session: Session | None = None
) -> None:
    """Name the war room and its topic; with a session, a name another open incident holds gets a suffix."""
    context = template_context.for_incident(policy, inc, now, commander=commander)
    base = render(policy.templates.channel_name, context)
    suffixed = f"{base}-{inc.id.rsplit('-', 1)[-1]}"
    if inc.channel in (base, suffixed):
        pass  # the name it already holds stays: renaming a war room mid-incident helps nobody
    elif session is not None and _channel_taken(session, inc, base):
        inc.channel = suffixed
    else:
        inc.channel = base
    inc.topic = render(policy.templates.channel_topic, context)


def _channel_taken(session: Session, inc: Incident, name: str) -> bool:
    session.flush()
    other = session.scalar(
        select(Incident.id)
        .where(Incident.channel == name, Incident.id != inc.id, Incident.status.in_(OPEN_VALUES))
        .limit(1)
    )
    return other is not None


def floor_entry(session: Session, inc: Incident, now: datetime, old: str, new: str, rule: str, reason: str) -> None:
    entry(
        session,
        inc,
        now,
        actors.SYSTEM,
        "severity_changed",
        f"Severity raised {old} → {new} by floor rule '{rule}'",
        reason,
        data={"from": old, "to": new, "rule": rule},
    )


def check_flags(flags: dict[str, bool]) -> None:
    for name in flags:
        if name not in KNOWN_FLAGS:
            raise Invalid(f"unknown flag '{name}'; known flags: {', '.join(sorted(KNOWN_FLAGS))}", field="flags")

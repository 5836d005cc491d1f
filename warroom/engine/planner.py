"""Turns what just happened to an incident into durable timers, inside the same transaction.

Paging follows events (declare starts it, acknowledge or resolve stops it). Everything else
is reconciled: from the incident's current state the planner works out which SLA, cadence,
condition, watch, phase and postmortem timers should exist, cancels live ones that should
not, and inserts the missing ones (keys make this idempotent).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.engine import (
    action_items,
    breaches,
    cadence,
    conditions,
    escalation,
    phases,
    postmortem,
    timers,
    watch,
)
from warroom.engine import facts as facts_mod
from warroom.engine.timers import Plan
from warroom.policy.model import Policy
from warroom.store.engine_models import Timer
from warroom.store.models import Incident, TimelineEntry
from warroom.store.unit import Signal

ENGINE_KINDS = frozenset(
    {
        "page",
        "reminder",
        "sla_breach",
        "escalation",
        "postmortem_due",
        "postmortem_reminder",
        "postmortem_publish_due",
        "phase_overrun",
        "watch_passed",
        "action_item_reminder",
    }
)
"""Entries the engine writes that change nothing it plans from (an action item's reminder plans its next
one itself: action_items.sync)."""

QUIET_KINDS = frozenset({"note", "correction", "role"})
MANAGED = (
    breaches.PREFIX,
    cadence.PREFIX,
    conditions.PREFIX,
    watch.PREFIX,
    phases.PREFIX,
    postmortem.PREFIX,
)


timers_planned = Signal("timers")
"""new timers were committed; one may be due at once (the engine loop of this process wakes)"""


def on_entries(session: Session, policy: Policy, entries: list[TimelineEntry], now: datetime) -> None:
    """The subscriber: called in the transaction of every incident change with the timeline entries it wrote."""
    if not entries:
        return
    session.flush()  # entry ids name the event-driven timers
    by_incident: dict[str, list[TimelineEntry]] = defaultdict(list)
    for e in entries:
        by_incident[e.incident_id].append(e)
    touched = False
    for incident_id, items in by_incident.items():
        inc = session.get(Incident, incident_id)
        if inc is None:
            continue
        if any(e.kind in action_items.EVENTS for e in items):
            # Only when an item changed or was reminded: every other change of the incident skips its items.
            action_items.sync(session, policy, inc, now)
            touched = True
        planned: list[Plan] = []
        if _apply_events(session, policy, inc, items, now, planned):
            reconcile(session, policy, inc, now, planned)  # an event that plans a timer is never a quiet one
            touched = True
    if touched:
        timers_planned.raise_after_commit(session)


def _apply_events(session: Session, policy: Policy, inc: Incident, items: list[TimelineEntry], now: datetime,
                  planned: list[Plan]) -> bool:  # fmt: skip
    """Paging and event-cadence follow events; returns whether the rest needs reconciling.

    The timers they start are added to `planned`, to go in with the reconciled ones in one statement (a
    declared incident's three were three round trips); one that a later event stops goes in first.
    """
    kinds = {e.kind for e in items}
    declared = "declared" in kinds
    for e in items:
        if e.kind == "declared":
            planned += escalation.first_page(policy, inc, now)
            planned += cadence.on_event(policy, inc, "declared", e.id, now)
        elif e.kind in ("acknowledged", "resolved", "alerts_cleared"):
            timers.schedule(session, inc.id, planned, now)
            planned.clear()
            escalation.stop(session, inc, now, e.kind)
            if e.kind == "acknowledged":
                escalation.clear_unacknowledged(session, inc, now)
        elif e.kind == "severity_changed" and not declared:
            timers.schedule(session, inc.id, planned, now)
            planned.clear()
            escalation.on_severity_change(session, policy, inc, str(e.data.get("from", "")), now)
        elif e.kind == "status":
            target = e.data.get("to")
            planned += cadence.on_event(policy, inc, "state_change", e.id, now)
            if target in ("mitigated", "resolved"):
                planned += cadence.on_event(policy, inc, str(target), e.id, now)
    return not kinds <= (ENGINE_KINDS | QUIET_KINDS)


def desired(f: facts_mod.Facts) -> list[Plan]:
    return [
        *breaches.plan(f),
        *cadence.plan(f),
        *conditions.plan(f),
        *watch.plan(f),
        *phases.plan(f),
        *postmortem.plan(f),
    ]


def reconcile(session: Session, policy: Policy, inc: Incident, now: datetime, planned: Sequence[Plan] = ()) -> None:
    """Make the incident's live state-driven timers exactly the ones its current state calls for; `planned`
    (event-driven timers, whose keys no state-driven plan shares) go in with the missing ones."""
    session.flush()
    f = facts_mod.load(session, policy, inc, now)
    plans = desired(f)
    wanted = {p.key for p in plans}
    families = tuple(p.family for p in plans if p.family)
    live = session.execute(
        select(Timer.id, Timer.key).where(Timer.incident_id == inc.id, Timer.state.in_(timers.LIVE))
    ).all()
    stale = [
        row.id
        for row in live
        if row.key.startswith(MANAGED) and row.key not in wanted and not (families and row.key.startswith(families))
    ]
    timers.cancel_ids(session, stale, now, f"no longer due: {inc.status}")
    have = {row.key for row in live}
    missing = [p for p in plans if p.key not in have and not (p.family and _has_family(have, p.family))]
    timers.schedule(session, inc.id, [*planned, *missing], now)


def _has_family(keys: set[str], family: str) -> bool:
    return any(k.startswith(family) for k in keys)

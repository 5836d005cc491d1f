"""Overdue action items: the owner is reminded when the due time passes, through the notifications.

One durable timer per unfinished, dated item of an incident, planned from the items' state: at the
due time, then every `action_items.remind_every` of the policy while the item stays open or in
progress (`null`: once per due date). The item's `reminded_at` says when the last reminder went, so
each overdue period is reminded once, whichever worker fires it, and planning again plans the same
timer (keys make this idempotent). Finishing the item, or moving its due date, cancels the timer (a
new due date is a new overdue period). The planner syncs these timers only when an item changed
(`action_item` entries) or was just reminded, not on every change of the incident: an incident's
other events cost no look at its items.

The reminder is an `action_item_reminder` entry on the incident's timeline, by warroom, naming the
item and whom it reminds; notification routing turns it into the owner's messages (chat, else
e-mail, else any method they have) in the same transaction. An item nobody owns reminds the
incident's commander instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.domain.clock import iso_z, stamp
from warroom.domain.durations import format_seconds
from warroom.engine import timers
from warroom.engine.facts import recipients
from warroom.engine.firing import Firing
from warroom.engine.timers import Plan
from warroom.policy.model import Policy
from warroom.postmortems import actions
from warroom.store.engine_models import Timer
from warroom.store.models import Incident

PREFIX = "ai:"
KIND = "action_item"
ENTRY = "action_item_reminder"
EVENTS = frozenset({"action_item", ENTRY})
"""the entries after which an incident's action-item timers are planned again"""


def plan(session: Session, policy: Policy, inc: Incident) -> list[Plan]:
    rule = policy.action_items
    if not rule.remind_overdue:
        return []
    every = rule.remind_every.as_timedelta() if rule.remind_every is not None else None
    out = []
    for item, at in actions.reminders(session, inc.id, every):
        assert item.due_at is not None
        key = f"{PREFIX}{inc.id}:{item.id}:{stamp(item.due_at)}:{stamp(at)}"
        out.append(Plan(key, KIND, at, {"item": item.id, "due_at": iso_z(item.due_at)}))
    return out


def sync(session: Session, policy: Policy, inc: Incident, now: datetime) -> None:
    """Make the incident's live action-item timers exactly the ones its items call for now."""
    plans = plan(session, policy, inc)
    wanted = {p.key for p in plans}
    live = session.execute(
        select(Timer.id, Timer.key).where(Timer.incident_id == inc.id, Timer.kind == KIND, Timer.state.in_(timers.LIVE))
    ).all()
    timers.cancel_ids(session, [r.id for r in live if r.key not in wanted], now, "no longer due: the item changed")
    have = {r.key for r in live}
    timers.schedule(session, inc.id, [p for p in plans if p.key not in have], now)


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def fire(fx: Firing, t: Timer, inc: Incident | None) -> str:
    if inc is None:
        return "skipped: incident gone"
    if not fx.policy.action_items.remind_overdue:
        return "skipped: the policy reminds no overdue action items"
    item = actions.overdue_item(fx.session, int(t.payload["item"]), _parse(t.payload["due_at"]), fx.now)
    if isinstance(item, str):
        return item
    if not fx.effect(t.key, KIND, inc.id):
        return "already done"
    assert item.due_at is not None
    to = [item.owner] if item.owner else recipients(fx.session, inc)
    late = int((fx.now - item.due_at).total_seconds())
    again = item.reminded_at is not None and item.reminded_at >= item.due_at
    actions.mark_reminded(item, fx.now)
    due = f"{item.due_at:%Y-%m-%d %H:%M} UTC"
    what = f"Action item {item.id} {'still ' if again else ''}overdue (due {due}): {item.text}"
    if late >= 60:
        what += f" — {format_seconds(late - late % 60)} late"
    fx.note(
        inc,
        ENTRY,
        what,
        "remind " + ", ".join(to),
        {
            "item": item.id,
            "owner": item.owner,
            "to": to,
            "status": item.status,
            "due_at": iso_z(item.due_at),
            "overdue_seconds": late,
            "repeat": again,
        },
    )
    return f"action item {item.id} reminded"

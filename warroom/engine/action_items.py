"""Overdue action items: the owner is reminded when the due time passes, through the notifications.

One durable timer per unfinished, dated item of an incident, planned from its state like the
postmortem deadlines: at the due time, then every `action_items.remind_every` of the policy while
the item stays open or in progress (`null`: once per due date). The item's `reminded_at` says when
the last reminder went, so each overdue period is reminded once, whichever worker fires it, and a
restart or a second reconcile plans the same timer again (keys make this idempotent). Finishing the
item, or moving its due date, cancels the timer (a new due date is a new overdue period).

The reminder is an `action_item_reminder` entry on the incident's timeline, by warroom, naming the
item and whom it reminds; notification routing turns it into the owner's messages (chat, else
e-mail, else any method they have) in the same transaction. An item nobody owns reminds the
incident's commander instead.
"""

from __future__ import annotations

from datetime import datetime

from warroom.domain.clock import iso_z, stamp
from warroom.domain.durations import format_seconds
from warroom.engine.facts import Facts, recipients
from warroom.engine.firing import Firing
from warroom.engine.timers import Plan
from warroom.postmortems import actions
from warroom.store.engine_models import Timer
from warroom.store.models import Incident

PREFIX = "ai:"
KIND = "action_item"
ENTRY = "action_item_reminder"


def plan(f: Facts) -> list[Plan]:
    rule = f.policy.action_items
    if not rule.remind_overdue:
        return []
    every = rule.remind_every.as_timedelta() if rule.remind_every is not None else None
    out = []
    for item, at in actions.reminders(f.session, f.inc.id, every):
        assert item.due_at is not None
        key = f"{PREFIX}{f.inc.id}:{item.id}:{stamp(item.due_at)}:{stamp(at)}"
        out.append(Plan(key, KIND, at, {"item": item.id, "due_at": iso_z(item.due_at)}))
    return out


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

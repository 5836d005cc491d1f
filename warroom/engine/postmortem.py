"""Postmortem deadlines: announce the due time on resolve, remind before and at it, and the publish deadline.

The due time itself is set by the resolve use case (`postmortem_due_at`, from the policy and
the business calendar). Closing the incident (which needs the postmortem) or reopening it
ends these timers.
"""

from __future__ import annotations

from datetime import datetime

from warroom.domain.clock import iso_z, stamp
from warroom.domain.durations import format_seconds
from warroom.domain.lifecycle import Status
from warroom.engine.facts import Facts, recipients
from warroom.engine.firing import Firing
from warroom.engine.timers import Plan
from warroom.store.engine_models import Timer
from warroom.store.models import Incident

PREFIX = "pm:"


def plan(f: Facts) -> list[Plan]:
    inc = f.inc
    if inc.status != Status.RESOLVED.value or inc.postmortem_due_at is None or inc.resolved_at is None:
        return []
    due, resolved = inc.postmortem_due_at, inc.resolved_at
    rule = f.severity.postmortem
    base = f"pm:{inc.id}:{stamp(due)}"
    payload = {"due_at": iso_z(due)}
    out = [Plan(f"{base}:due", "postmortem", resolved, {**payload, "step": "due"})]
    for before in rule.reminders_before:
        at = due - before.as_timedelta()
        if at > resolved:
            out.append(Plan(f"{base}:before:{before}", "postmortem", at, {**payload, "step": "before"}))
    out.append(Plan(f"{base}:deadline", "postmortem", due, {**payload, "step": "deadline"}))
    if rule.publish_within is not None:
        anchor = {"resolved": resolved, "mitigated": inc.mitigated_at or resolved, "declared": inc.declared_at}
        publish = f.policy.business_calendar().deadline(anchor[rule.anchor], rule.publish_within)
        out.append(Plan(f"{base}:publish", "postmortem", publish, {**payload, "step": "publish"}))
    return out


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def fire(fx: Firing, t: Timer, inc: Incident | None) -> str:
    if inc is None:
        return "skipped: incident gone"
    if inc.status != Status.RESOLVED.value or inc.postmortem_due_at is None:
        return f"skipped: {inc.id} is {inc.status}"
    if iso_z(inc.postmortem_due_at) != t.payload["due_at"]:
        return "skipped: the due time moved"
    if not fx.effect(t.key, "postmortem", inc.id):
        return "already done"
    due = _parse(t.payload["due_at"])
    step = t.payload["step"]
    to = recipients(fx.session, inc)
    rule = fx.policy.severity(inc.severity).postmortem
    shown = due.strftime("%Y-%m-%d %H:%M UTC")
    data = {"due_at": t.payload["due_at"], "to": to}
    if step == "due":
        window = f"{rule.due} after {rule.anchor}"
        if rule.earliest is not None and inc.resolved_at is not None:
            soonest = inc.resolved_at + rule.earliest.as_timedelta()
            window = f"{rule.earliest}-{window}; not before {soonest:%Y-%m-%d %H:%M} UTC"
        fx.note(inc, "postmortem_due", f"Postmortem due {shown} ({window})", "", data)
    elif step == "before":
        left = int((due - fx.now).total_seconds())
        fx.note(
            inc,
            "postmortem_reminder",
            f"Postmortem due in {format_seconds(left)} ({shown})",
            "remind " + ", ".join(to),
            {**data, "remaining_seconds": left, "overdue": False},
        )
    elif step == "deadline":
        fx.note(
            inc,
            "postmortem_reminder",
            f"Postmortem deadline reached ({shown}); it is now overdue",
            "remind " + ", ".join(to),
            {**data, "remaining_seconds": 0, "overdue": True},
        )
    else:
        fx.note(
            inc,
            "postmortem_publish_due",
            f"Postmortem must be published by now ({rule.publish_within} after {rule.anchor})",
            "remind " + ", ".join(to),
            {**data, "publish_by": iso_z(t.due_at)},
        )
    return f"postmortem {step}"

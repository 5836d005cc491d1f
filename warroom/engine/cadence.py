"""Update cadence: remind the commander and scribe when an audience's update is due, nag while overdue.

A periodic cadence (`every 10m`) counts from the last update posted to that audience (or
the declaration, or the reopening; `first_within` sets an earlier first deadline): a
reminder when it falls due, then an overdue nag every period until something is posted.
Event cadences (`on state change`, `on resolution`) remind once when the event happens.
Posting resets the audience's clock; resolving stops the clocks. The external audience is
only reminded while external posts are allowed (a status page in the policy, and the flags of
its `external.requires`, such as NovaVMS's confirmed impact): never a nag to post speculation;
the moment the gate opens, the post is due.
"""

from __future__ import annotations

from datetime import datetime

from warroom.domain.clock import hhmm_utc, iso_z, stamp
from warroom.domain.durations import format_seconds
from warroom.engine import timers
from warroom.engine.facts import Facts, load, recipients
from warroom.engine.firing import Firing
from warroom.engine.timers import Plan
from warroom.incidents import overdue
from warroom.policy.model import Cadence, Policy
from warroom.store.engine_models import Timer
from warroom.store.models import Incident

PREFIX = "cad:"
LATE_SECONDS = 60


def _family(incident_id: str, audience: str, base: datetime, cadence: Cadence) -> str:
    """Timers of one silence: from `base`, at this period (a new period after a severity change is a new family)."""
    assert cadence.every is not None
    first = cadence.first_within.seconds if cadence.first_within else 0
    return f"cad:{incident_id}:{audience}:{stamp(base)}:{cadence.every.seconds}-{first}:"


def may_post(policy: Policy, inc: Incident, audience: str) -> bool:
    """The incident service refuses external posts the severity's rule holds back; don't ask for one then."""
    return overdue.may_post(policy, inc.severity, inc.flags, audience)


def plan(f: Facts) -> list[Plan]:
    if not f.open:
        return []
    out = []
    for audience, cadence in f.severity.cadence.items():
        last = f.last_update.get(audience)
        due = overdue.due_at(f.policy, f.inc, audience, last)  # the dashboard's overdue list counts the same
        if due is None or cadence.every is None:
            continue
        base = max(f.work_start, last or f.work_start)
        family = _family(f.inc.id, audience, base, cadence)
        payload = {"audience": audience, "base": iso_z(base), "n": 0, "every": str(cadence.every)}
        out.append(Plan(family + "0", "reminder", due, payload, family=family))
    return out


def on_event(policy: Policy, inc: Incident, event: str, entry_id: int, now: datetime) -> list[Plan]:
    """`on: [state_change, mitigated, resolved, declared]`: one reminder per audience when it happens."""
    sev = policy.severity(inc.severity)
    return [
        Plan(f"cadon:{inc.id}:{audience}:{entry_id}", "reminder", now, {"audience": audience, "event": event})
        for audience, cadence in sev.cadence.items()
        if event in cadence.on and may_post(policy, inc, audience)
    ]


def _first_due(cadence: Cadence, base: datetime, last: datetime | None, inc: Incident) -> int:
    """Seconds from `base` to the first deadline of this silence."""
    assert cadence.every is not None
    if last is None and cadence.first_within is not None and inc.reopened_at is None:
        return cadence.first_within.seconds
    return cadence.every.seconds


EVENT_TEXT = {
    "declared": "the incident was declared",
    "state_change": "the status changed",
    "mitigated": "the incident was mitigated",
    "resolved": "the incident was resolved",
}


def fire(fx: Firing, t: Timer, inc: Incident | None) -> str:
    if inc is None:
        return "skipped: incident gone"
    audience = t.payload["audience"]
    to = recipients(fx.session, inc)
    if "event" in t.payload:
        event = t.payload["event"]
        if not fx.effect(t.key, "reminder", inc.id):
            return "already reminded"
        fx.note(
            inc,
            "reminder",
            f"{audience.capitalize()} update due: {EVENT_TEXT.get(event, event)}",
            "remind " + ", ".join(to),
            {"audience": audience, "overdue": False, "event": event, "to": to},
        )
        return f"{audience} update due ({event})"
    f = load(fx.session, fx.policy, inc, fx.now)
    if not f.open:
        return f"skipped: {inc.id} is {inc.status}"
    base = datetime.fromisoformat(t.payload["base"].replace("Z", "+00:00"))
    last = f.last_update.get(audience)
    if last is not None and last > base:
        return f"skipped: a {audience} update was posted at {hhmm_utc(last)}"
    cadence = f.severity.cadence.get(audience)
    if cadence is None or cadence.every is None or cadence.every.seconds <= 0:
        return f"skipped: {inc.severity} has no periodic {audience} cadence now"
    if not may_post(fx.policy, inc, audience):
        return f"skipped: {audience} posts are not allowed yet"
    n = int(t.payload["n"])
    silent = int((fx.now - base).total_seconds())
    # Late from the start (the cadence got shorter, or external posts just became possible): say so.
    overdue = n > 0 or silent - _first_due(cadence, base, last, inc) >= LATE_SECONDS
    if fx.effect(t.key, "reminder", inc.id):
        if last is not None and last >= f.work_start:
            since = "the last update"
        else:
            since = "reopening" if inc.reopened_at else "declaration"
        if not overdue:
            rule = f"every {cadence.every}"
            if last is None and cadence.first_within is not None and inc.reopened_at is None:
                rule = f"first within {cadence.first_within}, then {rule}"
            what = f"{audience.capitalize()} update due: {format_seconds(silent)} since {since} ({rule})"
        else:
            late = format_seconds(silent - _first_due(cadence, base, last, inc))
            what = f"{audience.capitalize()} update overdue by {late}: post 'still investigating, no change'"
        fx.note(
            inc,
            "reminder",
            what,
            "remind " + ", ".join(to),
            {"audience": audience, "overdue": overdue, "silent_seconds": silent, "every": str(cadence.every), "to": to},
        )
    family = _family(inc.id, audience, base, cadence)
    nag = Plan(family + str(n + 1), "reminder", fx.now + cadence.every.as_timedelta(), {**t.payload, "n": n + 1})
    timers.schedule(fx.session, inc.id, [nag], fx.now)
    return f"{audience} update {'overdue' if overdue else 'due'}"

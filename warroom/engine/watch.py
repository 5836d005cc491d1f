"""Resolution watch: after `mitigated`, wait out the quiet window, then tell the commander it may be resolved.

The window restarts whenever the incident's `watch_started_at` moves (a failed mitigation,
a new alert linked to the incident); the timer is keyed by that moment, so a stale one does nothing.
"""

from __future__ import annotations

from datetime import timedelta

from warroom.domain.clock import hhmm_utc, iso_z, stamp
from warroom.domain.lifecycle import Status
from warroom.engine.facts import Facts, recipients
from warroom.engine.firing import Firing
from warroom.engine.timers import Plan
from warroom.policy.model import Policy
from warroom.store.engine_models import Timer
from warroom.store.models import Incident

PREFIX = "watch:"


def window(policy: Policy, severity: str) -> timedelta | None:
    rule = policy.severity(severity).resolution
    span = rule.quiet_window or rule.monitor
    return span.as_timedelta() if span is not None and span.seconds > 0 else None


def plan(f: Facts) -> list[Plan]:
    inc = f.inc
    length = window(f.policy, inc.severity)
    if inc.status != Status.MITIGATED.value or inc.watch_started_at is None or length is None:
        return []
    started = inc.watch_started_at
    key = f"watch:{inc.id}:{stamp(started)}:{int(length.total_seconds())}"
    return [Plan(key, "watch", started + length, {"since": iso_z(started)})]


def fire(fx: Firing, t: Timer, inc: Incident | None) -> str:
    if inc is None:
        return "skipped: incident gone"
    if inc.status != Status.MITIGATED.value or inc.watch_started_at is None:
        return f"skipped: {inc.id} is {inc.status}"
    if iso_z(inc.watch_started_at) != t.payload["since"]:
        return "skipped: the quiet window restarted"
    length = window(fx.policy, inc.severity)
    if length is None or inc.watch_started_at + length > fx.now:
        return "skipped: the window has not passed"
    if not fx.effect(t.key, "watch_passed", inc.id):
        return "already told"
    to = recipients(fx.session, inc)
    span = fx.policy.severity(inc.severity).resolution
    shown = span.quiet_window or span.monitor
    fx.note(
        inc,
        "watch_passed",
        f"Quiet for {shown} since {hhmm_utc(inc.watch_started_at)}: {inc.id} may be resolved",
        "tell " + ", ".join(to),
        {"since": t.payload["since"], "window": str(shown), "to": to},
    )
    return "quiet window passed"

"""Escalation conditions (the escalation matrix): when one holds, bring in its targets, once per incident."""

from __future__ import annotations

from datetime import datetime

from warroom.domain.clock import stamp
from warroom.domain.flags import KNOWN_FLAGS
from warroom.engine.facts import Facts, load
from warroom.engine.firing import Firing
from warroom.engine.timers import Plan
from warroom.policy.model import Condition, Policy
from warroom.store.engine_models import Timer
from warroom.store.models import Incident

PREFIX = "cond:"


def applies(policy: Policy, cond: Condition, severity: str) -> bool:
    wanted = cond.when.severities
    return not wanted or any(policy.severity(s).name == severity for s in wanted)


def fired_key(incident_id: str, cond: Condition) -> str:
    return f"cond:{incident_id}:{cond.id}"


def _revenue(f: Facts) -> float | None:
    value = f.inc.impact.get("revenue_impact")
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def holds(cond: Condition, f: Facts) -> str | None:
    """Why the condition holds now, or None."""
    w, inc, sev = cond.when, f.inc, f.inc.severity
    if not f.open:
        return None
    if w.unresolved_for is not None:
        span = w.unresolved_for.as_timedelta()
        if f.now >= inc.declared_at + span:
            return f"{sev} not resolved after {w.unresolved_for}"
    elif w.unacknowledged_for is not None:
        if inc.acknowledged_at is None and f.now >= inc.declared_at + w.unacknowledged_for.as_timedelta():
            return f"{sev} not acknowledged after {w.unacknowledged_for}"
    elif w.no_hypothesis_for is not None:
        if f.hypotheses == 0 and f.now >= f.work_start + w.no_hypothesis_for.as_timedelta():
            return f"still no hypothesis after {w.no_hypothesis_for}"
    elif w.mitigation_failures is not None:
        if inc.mitigation_failures >= w.mitigation_failures:
            times = "once" if w.mitigation_failures == 1 else f"{inc.mitigation_failures} times"
            return f"mitigation failed {times}"
    elif w.flag is not None:
        if inc.flags.get(w.flag):
            return KNOWN_FLAGS.get(w.flag, w.flag.replace("_", " "))
    elif w.revenue_impact_over is not None:
        value = _revenue(f)
        if value is not None and value > w.revenue_impact_over:
            return f"revenue impact {value:g} over {w.revenue_impact_over:g}"
    return None


def _due(cond: Condition, f: Facts) -> datetime | None:
    """When a time condition will hold (None: it cannot now); event conditions have no due time."""
    w = cond.when
    if w.unresolved_for is not None:
        return f.inc.declared_at + w.unresolved_for.as_timedelta()
    if w.unacknowledged_for is not None:
        return None if f.inc.acknowledged_at else f.inc.declared_at + w.unacknowledged_for.as_timedelta()
    if w.no_hypothesis_for is not None:
        return None if f.hypotheses else f.work_start + w.no_hypothesis_for.as_timedelta()
    raise ValueError(f"{cond.id} is an event condition")


def is_timed(cond: Condition) -> bool:
    w = cond.when
    return w.unresolved_for is not None or w.unacknowledged_for is not None or w.no_hypothesis_for is not None


def plan(f: Facts) -> list[Plan]:
    if not f.open:
        return []
    out = []
    for cond in f.policy.conditions:
        if fired_key(f.inc.id, cond) in f.fired or not applies(f.policy, cond, f.inc.severity):
            continue
        payload = {"condition": cond.id}
        if is_timed(cond):
            due = _due(cond, f)
            if due is not None:
                out.append(Plan(f"cond:{f.inc.id}:{cond.id}:{stamp(due)}", "condition", due, payload))
        elif holds(cond, f) is not None:
            family = f"cond:{f.inc.id}:{cond.id}:"
            out.append(Plan(family + stamp(f.now), "condition", f.now, payload, family=family))
    return out


def fire(fx: Firing, t: Timer, inc: Incident | None) -> str:
    if inc is None:
        return "skipped: incident gone"
    cond = next((c for c in fx.policy.conditions if c.id == t.payload["condition"]), None)
    if cond is None:
        return f"skipped: the policy has no condition '{t.payload['condition']}'"
    f = load(fx.session, fx.policy, inc, fx.now)
    if not applies(fx.policy, cond, inc.severity):
        return f"skipped: {cond.id} does not apply to {inc.severity}"
    why = holds(cond, f)
    if why is None:
        return f"skipped: {cond.id} no longer holds"
    if not fx.effect(fired_key(inc.id, cond), "condition", inc.id):
        return "already escalated"
    escalate(fx, inc, cond, why)
    return f"{cond.id}: {why}"


def escalate(fx: Firing, inc: Incident, cond: Condition, why: str) -> None:
    reason = f"{why} → {cond.id}" + (f": {cond.action}" if cond.action else "")
    for target in cond.targets:
        reached = fx.reach(target)
        key = f"cond-page:{inc.id}:{cond.id}:{target}"
        if fx.page(inc, reached, key=key, kind="escalation", methods=[], reason=reason):
            fx.note(
                inc,
                "escalation",
                f"Escalated to {reached.describe()}: {why}",
                cond.action,
                {
                    "target": target,
                    "person": reached.person,
                    "channel": reached.channel,
                    "reason": why,
                    "condition": cond.id,
                },
            )

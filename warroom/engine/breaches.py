"""SLA breaches: when the ack, mitigate or resolve deadline passes unmet, say so and act.

Acting: an ack breach brings the next paging tier forward (unless a tier was just paged at the
deadline); a mitigate or resolve breach brings in the lead: the severity's commander targets,
or else the last tier of its escalation policy.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from warroom.domain.clock import hhmm_utc, iso_z, stamp
from warroom.engine import escalation
from warroom.engine.facts import Facts, load
from warroom.engine.firing import Firing
from warroom.engine.timers import Plan
from warroom.incidents.views import compute_clocks
from warroom.store.engine_models import Page, Timer
from warroom.store.models import Incident

PREFIX = "sla:"


def plan(f: Facts) -> list[Plan]:
    if not f.open:
        return []
    out = []
    for c in compute_clocks(f.policy, f.inc, f.now):
        if c.deadline is not None and c.met_at is None:
            out.append(
                Plan(
                    f"sla:{f.inc.id}:{c.name}:{stamp(c.deadline)}",
                    "sla",
                    c.deadline,
                    {"clock": c.name, "deadline": iso_z(c.deadline)},
                )
            )
    return out


def _span(f: Facts, clock: str) -> str:
    value = getattr(f.severity.sla, clock)
    return str(value) if value is not None else "?"


def fire(fx: Firing, t: Timer, inc: Incident | None) -> str:
    if inc is None:
        return "skipped: incident gone"
    f = load(fx.session, fx.policy, inc, fx.now)
    if not f.open:
        return f"skipped: {inc.id} is {inc.status}"
    name = t.payload["clock"]
    clock = next(c for c in compute_clocks(fx.policy, inc, fx.now) if c.name == name)
    if clock.met_at is not None or clock.deadline is None or iso_z(clock.deadline) != t.payload["deadline"]:
        return f"skipped: the {name} clock moved or was met"
    if clock.deadline > fx.now:
        return "skipped: not yet due"
    if not fx.effect(t.key, "sla_breach", inc.id):
        return "already recorded"
    span = _span(f, name)
    breach = fx.note(
        inc,
        "sla_breach",
        f"{inc.severity} {name} SLA of {span} breached (deadline {hhmm_utc(clock.deadline)})",
        "",
        {"clock": name, "deadline": iso_z(clock.deadline), "sla": span},
    )
    breach.outcome = _act(fx, f, inc, name, span, clock.deadline)
    return f"{name} SLA breached"


def _act(fx: Firing, f: Facts, inc: Incident, name: str, span: str, deadline: datetime) -> str:
    if name == "ack":
        paged_since = fx.session.scalar(
            select(func.count())
            .select_from(Page)
            .where(Page.incident_id == inc.id, Page.kind == "page", Page.created_at >= deadline)
        )
        if paged_since:
            return "the next tier was paged at the deadline"
        pulled = escalation.pull_next_tier(fx, inc)
        if pulled is not None:
            tier, was = pulled
            if was <= fx.now:
                return f"tier {tier} is being paged now"
            return f"paging tier {tier} now instead of at {hhmm_utc(was)}"
    return _bring_in_leads(fx, f, inc, name, span, deadline)


def _bring_in_leads(fx: Firing, f: Facts, inc: Incident, name: str, span: str, deadline: datetime) -> str:
    targets = list(f.severity.commander)
    if not targets and f.severity.escalation_policy:
        targets = list(f.policy.escalation_policies[f.severity.escalation_policy].tiers[-1].targets)
    if not targets:
        return "the policy names no commander or escalation to notify"
    reason = f"{inc.severity} {name} SLA of {span} breached"
    told = []
    for target in targets:
        reached = fx.reach(target)
        key = f"sla-escalation:{inc.id}:{name}:{stamp(deadline)}:{target}"
        if fx.page(inc, reached, key=key, kind="escalation", methods=[], reason=reason):
            fx.note(
                inc,
                "escalation",
                f"Escalated to {reached.describe()}: {reason}",
                "",
                {"target": target, "person": reached.person, "channel": reached.channel, "reason": reason},
            )
            told.append(reached.person or target)
    return "notified " + ", ".join(told) if told else ""

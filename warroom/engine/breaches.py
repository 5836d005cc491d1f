"""SLA breaches: when the ack, respond, mitigate or resolve deadline passes unmet, say so and act.

Acting follows the severity's `sla.on_breach` for that clock: `page_next_tier` brings the pending
paging tier forward (unless a tier was just paged at the deadline), `escalate_to` brings targets in
when no tier was paged, `notify` tells targets always. A clock the policy leaves out acts as it
always did: an ack breach pages the next tier; otherwise the lead (the severity's commander
targets, or else the last tier of its escalation policy) is brought in.
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
from warroom.policy.model import BreachAction
from warroom.store.engine_models import Page, Timer
from warroom.store.models import Incident

PREFIX = "sla:"


def plan(f: Facts) -> list[Plan]:
    if not f.open:
        return []
    out = []
    for c in compute_clocks(f.policy, f.inc, f.now):
        if c.deadline is not None and c.met_at is None and c.state in ("running", "breached"):
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
    clock = next((c for c in compute_clocks(fx.policy, inc, fx.now) if c.name == name), None)
    if clock is None or clock.state not in ("running", "breached"):
        return f"skipped: the {name} clock is not running"
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


def _leads(f: Facts) -> list[str]:
    """The severity's commander targets, or else the last tier of its escalation policy."""
    targets = list(f.severity.commander)
    if not targets and f.severity.escalation_policy:
        targets = list(f.policy.escalation_policies[f.severity.escalation_policy].tiers[-1].targets)
    return targets


def action_for(f: Facts, name: str) -> BreachAction:
    """The policy's `sla.on_breach` for this clock, or what a breach of it has always done."""
    given = {str(k): v for k, v in f.severity.sla.on_breach.items()}.get(name)
    if given is not None:
        return given
    if name == "ack":
        return BreachAction(page_next_tier=True, escalate_to=_leads(f))
    return BreachAction(escalate_to=_leads(f))


def _act(fx: Firing, f: Facts, inc: Incident, name: str, span: str, deadline: datetime) -> str:
    action = action_for(f, name)
    said: list[str] = []
    paged = False
    if action.page_next_tier:
        paged_since = fx.session.scalar(
            select(func.count())
            .select_from(Page)
            .where(Page.incident_id == inc.id, Page.kind == "page", Page.created_at >= deadline)
        )
        if paged_since:
            said.append("the next tier was paged at the deadline")
            paged = True
        elif inc.acknowledged_at is None and inc.alerts_cleared_at is None:
            pulled = escalation.pull_next_tier(fx, inc)
            if pulled is not None:
                tier, was = pulled
                said.append(
                    f"tier {tier} is being paged now"
                    if was <= fx.now
                    else f"paging tier {tier} now instead of at {hhmm_utc(was)}"
                )
                paged = True
    targets = list(action.notify) + ([] if paged else [t for t in action.escalate_to if t not in action.notify])
    if targets:
        said.append(_bring_in(fx, inc, name, span, deadline, targets))
    elif not said and not action.notify and not action.escalate_to and not action.page_next_tier:
        said.append("recorded; the policy asks for nothing more")
    elif not said:
        said.append("the policy names no commander or escalation to notify")
    return "; ".join(s for s in said if s)


def _bring_in(fx: Firing, inc: Incident, name: str, span: str, deadline: datetime, targets: list[str]) -> str:
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

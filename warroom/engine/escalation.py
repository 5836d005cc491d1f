"""Paging escalation: tier 1 at once, the next tier after each wait, repeat, then flag `unacknowledged`.

An acknowledgement (or the incident's alerts all resolving first: `alerts_cleared`) cancels the
pending tiers; a firing tier re-checks the incident under its row lock, so no page is recorded
after an acknowledgement has committed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from warroom.domain import actors
from warroom.domain.clock import stamp
from warroom.engine import timers
from warroom.engine.facts import is_open
from warroom.engine.firing import Firing
from warroom.engine.timers import Plan
from warroom.incidents.record import entry
from warroom.policy.model import Policy
from warroom.store.engine_models import Timer
from warroom.store.models import Incident

KINDS = ("page", "exhausted")


def first_page(policy: Policy, inc: Incident, now: datetime) -> list[Plan]:
    """The timer that begins the severity's escalation policy at tier 1, now (none without a policy)."""
    name = policy.severity(inc.severity).escalation_policy
    if name is None:
        return []
    gen = f"{stamp(now)}-{inc.severity}"
    payload = {"policy": name, "tier": 0, "round": 0, "gen": gen}
    return [Plan(f"page:{inc.id}:{gen}:0:0", "page", now, payload)]


def start(session: Session, policy: Policy, inc: Incident, now: datetime) -> None:
    timers.schedule(session, inc.id, first_page(policy, inc, now), now)


def stop(session: Session, inc: Incident, now: datetime, why: str) -> None:
    timers.cancel(session, inc.id, KINDS, now, why)


def clear_unacknowledged(session: Session, inc: Incident, now: datetime) -> None:
    """The engine raised `unacknowledged` when paging ran out; an acknowledgement makes it untrue."""
    if not inc.flags.get("unacknowledged"):
        return
    inc.flags = {k: v for k, v in inc.flags.items() if k != "unacknowledged"}
    entry(
        session,
        inc,
        now,
        actors.SYSTEM,
        "flag",
        "Flag unacknowledged cleared",
        "acknowledged",
        {"flag": "unacknowledged", "value": False},
    )


def on_severity_change(session: Session, policy: Policy, inc: Incident, old: str, now: datetime) -> None:
    """Unacknowledged and now under a different escalation policy: start that policy from tier 1."""
    if inc.acknowledged_at is not None or inc.alerts_cleared_at is not None or not is_open(inc):
        return
    before = policy.severity(old).escalation_policy if old else None
    after = policy.severity(inc.severity).escalation_policy
    if before == after:
        return
    stop(session, inc, now, f"severity changed {old} → {inc.severity}")
    start(session, policy, inc, now)


def fire_page(fx: Firing, t: Timer, inc: Incident | None) -> str:
    if inc is None:
        return "skipped: incident gone"
    if inc.acknowledged_at is not None or not is_open(inc):
        return f"skipped: {inc.id} is {inc.status}"
    if inc.alerts_cleared_at is not None:
        return f"skipped: the alerts of {inc.id} resolved before anyone acknowledged"
    p = t.payload
    pol = fx.policy.escalation_policies.get(p["policy"])
    if pol is None or p["tier"] >= len(pol.tiers):
        return f"skipped: escalation policy '{p['policy']}' has no tier {p['tier'] + 1}"
    tier = pol.tiers[p["tier"]]
    number, rnd, gen = p["tier"] + 1, p["round"], p["gen"]
    methods = list(tier.methods)
    for target in tier.targets:
        reached = fx.reach(target)
        key = f"page:{inc.id}:{gen}:{rnd}:{p['tier']}:{target}"
        again = f", round {rnd + 1}" if rnd else ""
        reason = f"{inc.severity} unacknowledged: tier {number}{again} of {p['policy']}"
        if fx.page(inc, reached, key=key, kind="page", methods=methods, reason=reason, tier=number, round_=rnd):
            how = ", ".join(methods) or "page"
            fx.note(
                inc,
                "page",
                f"Paged {reached.describe()}: tier {number}{again} via {how}",
                f"next tier in {tier.wait}" if number < len(pol.tiers) else "",
                {
                    "target": target,
                    "person": reached.person,
                    "channel": reached.channel,
                    "tier": number,
                    "round": rnd,
                    "channels": methods,
                },
            )
    due = fx.now + tier.wait.as_timedelta()
    if number < len(pol.tiers):
        nxt = {**p, "tier": p["tier"] + 1}
        plan = Plan(f"page:{inc.id}:{gen}:{rnd}:{p['tier'] + 1}", "page", due, nxt)
    elif rnd < pol.repeat:
        nxt = {**p, "tier": 0, "round": rnd + 1}
        plan = Plan(f"page:{inc.id}:{gen}:{rnd + 1}:0", "page", due, nxt)
    else:
        plan = Plan(f"exhausted:{inc.id}:{gen}", "exhausted", due, {**p, "tiers": len(pol.tiers), "rounds": rnd + 1})
    timers.schedule(fx.session, inc.id, [plan], fx.now)
    return f"paged tier {number}"


def fire_exhausted(fx: Firing, t: Timer, inc: Incident | None) -> str:
    if inc is None:
        return "skipped: incident gone"
    if inc.acknowledged_at is not None or not is_open(inc):
        return f"skipped: {inc.id} is {inc.status}"
    if inc.alerts_cleared_at is not None:
        return f"skipped: the alerts of {inc.id} resolved before anyone acknowledged"
    p = t.payload
    if not fx.effect(t.key, "unacknowledged", inc.id):
        return "already flagged"
    inc.flags = {**inc.flags, "unacknowledged": True}
    rounds = p.get("rounds", 1)
    tried = f"{p.get('tiers', '?')} tier(s)" + (f" × {rounds} rounds" if rounds > 1 else "")
    fx.note(
        inc,
        "unacknowledged",
        f"Nobody acknowledged after {tried} of {p['policy']}: flag unacknowledged raised",
        "paging stopped; acknowledge to take the incident",
        {"flag": "unacknowledged", "value": True, "policy": p["policy"]},
    )
    return "flagged unacknowledged"


def pull_next_tier(fx: Firing, inc: Incident) -> tuple[int, datetime] | None:
    """Bring the pending tier forward to now (an ack SLA breach should not wait out the tier).

    Returns the tier and when it was due; None when no tier is pending (paging over or never begun).
    """
    for t in timers.live(fx.session, inc.id, ["page"]):
        if t.state in ("pending", "claimed"):
            was = t.due_at
            t.due_at = min(was, fx.now)
            return t.payload["tier"] + 1, was
    return None

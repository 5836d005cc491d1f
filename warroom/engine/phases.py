"""Timed lifecycle phases (identify 0–5m, triage 5–15m, ...): the current phase, and overrun flags.

Phases count from the declaration, or from the reopening: a reopened incident starts the cycle again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.domain.clock import stamp
from warroom.engine.facts import Facts, load
from warroom.engine.firing import Firing
from warroom.engine.timers import Plan
from warroom.policy.model import Phase, Policy
from warroom.store.engine_models import Timer
from warroom.store.models import Incident

PREFIX = "phase:"


@dataclass(frozen=True)
class PhaseState:
    name: str | None
    started_at: datetime | None
    ends_at: datetime | None
    overrun: bool
    exit: str


def timed(policy: Policy) -> list[Phase]:
    return [p for p in policy.phases if p.end is not None and p.exit_when is not None]


def exited(phase: Phase, f: Facts) -> bool:
    inc = f.inc
    match phase.exit_when:
        case "hypothesis":
            return f.hypotheses > 0
        case "decision":
            return inc.decision is not None
        case "mitigated":
            return inc.mitigated_at is not None or inc.resolved_at is not None
        case "resolved":
            return inc.resolved_at is not None
        case "postmortem":
            return inc.closed_at is not None
    return False


def plan(f: Facts) -> list[Plan]:
    if not f.open:
        return []
    out = []
    for phase in timed(f.policy):
        if not exited(phase, f):
            assert phase.end is not None
            due = f.work_start + phase.end.as_timedelta()
            key = f"phase:{f.inc.id}:{phase.name}:{stamp(f.work_start)}"
            out.append(Plan(key, "phase", due, {"phase": phase.name}))
    return out


def current(f: Facts) -> PhaseState:
    """The first timed phase whose exit criterion is not met yet."""
    for phase in timed(f.policy):
        if not exited(phase, f):
            assert phase.end is not None
            start = f.work_start + (phase.start.as_timedelta() if phase.start else timedelta(0))
            end = f.work_start + phase.end.as_timedelta()
            return PhaseState(phase.name, start, end, f.open and f.now >= end, phase.exit or str(phase.exit_when))
    return PhaseState(None, None, None, False, "")


def fire(fx: Firing, t: Timer, inc: Incident | None) -> str:
    if inc is None:
        return "skipped: incident gone"
    phase = next((p for p in timed(fx.policy) if p.name == t.payload["phase"]), None)
    if phase is None or phase.end is None:
        return f"skipped: the policy has no timed phase '{t.payload['phase']}'"
    f = load(fx.session, fx.policy, inc, fx.now)
    if not f.open or exited(phase, f):
        return f"skipped: {phase.name} is over"
    if not fx.effect(t.key, "phase_overrun", inc.id):
        return "already flagged"
    exit_text = phase.exit or f"exit when {phase.exit_when}"
    fx.note(
        inc,
        "phase_overrun",
        f"Phase {phase.name} overran its {phase.end} (exit: {exit_text})",
        "",
        {"phase": phase.name, "end": str(phase.end), "exit_when": phase.exit_when},
    )
    return f"{phase.name} overran"

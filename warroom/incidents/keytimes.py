"""The key times of an incident, computed from the record: detected (when known), declared,
acknowledged, first response (where the severity times it), mitigated and resolved, each with its
SLA clock met or breached and by how much. What a postmortem template shows as `incident.key_times`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warroom.domain import sla
from warroom.domain.durations import format_seconds
from warroom.incidents.views import ALERTS_RESOLVED, compute_clocks
from warroom.policy.model import Policy
from warroom.store.models import Incident

LABELS = {"ack": "Acknowledged", "respond": "First response", "mitigate": "Mitigated", "resolve": "Resolved"}
DONE = {"ack": "acknowledged", "respond": "responded to", "mitigate": "mitigated", "resolve": "resolved"}


def _span(seconds: float) -> str:
    return format_seconds(int(abs(seconds)))


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def verdict(c: sla.Clock, span: str, inc: Incident) -> str:
    """`ack SLA 5m: met, 1m to spare`, `mitigate SLA 1h: breached by 12m`, `no resolve SLA`."""
    head = f"{c.name} SLA {span}"
    if c.state == "none":
        return f"no {c.name} SLA"
    if c.state == ALERTS_RESOLVED:
        cleared = inc.alerts_cleared_at or inc.declared_at
        after = _span((cleared - inc.declared_at).total_seconds())
        return f"{head}: not judged (never {DONE[c.name]}: the alerts resolved after {after})"
    assert c.deadline is not None
    if c.state == "met":
        assert c.met_at is not None
        spare = (c.deadline - c.met_at).total_seconds()
        return f"{head}: met, {_span(spare)} to spare" if spare >= 60 else f"{head}: met"
    if c.state == "met_late":
        assert c.met_at is not None
        return f"{head}: breached by {_span((c.met_at - c.deadline).total_seconds())}"
    assert c.remaining_seconds is not None
    if c.state == "breached":
        return f"{head}: breached by {_span(c.remaining_seconds)} (not yet {DONE[c.name]})"
    return f"{head}: running, {_span(c.remaining_seconds)} left (due {_when(c.deadline)})"


def key_times(policy: Policy, inc: Incident, now: datetime) -> list[dict[str, Any]]:
    """One entry per key moment: name, label, at (None while pending), clock state and a ready `line`."""
    sev = policy.severity(inc.severity)
    out: list[dict[str, Any]] = []

    def add(name: str, label: str, at: datetime | None, clock: sla.Clock | None, span: str) -> None:
        text = verdict(clock, span, inc) if clock is not None else ""
        if at is None:
            shown = "never" if inc.resolved_at is not None else "not yet"
        elif name == "detect":
            shown = f"{_when(at)}, {_span((inc.declared_at - at).total_seconds())} before the declaration"
        elif name == "declare":
            shown = _when(at)
        else:
            shown = f"{_when(at)}, {_span((at - inc.declared_at).total_seconds())} after the declaration"
            if name == "mitigate" and inc.mitigated_at is None:
                shown += " (with the resolution)"
        if clock is not None and name in ("mitigate", "resolve") and inc.reopened_at is not None:
            text += " (timed from the reopening)"
        out.append(
            {
                "name": name,
                "label": label,
                "at": at,
                "clock": clock.name if clock is not None else None,
                "sla": span or None,
                "deadline": clock.deadline if clock is not None else None,
                "state": clock.state if clock is not None else None,
                "verdict": text,
                "line": f"{label}: {shown}" + (f" — {text}" if text else ""),
            }
        )

    if inc.detected_at is not None and inc.detected_at < inc.declared_at:
        add("detect", "Detected", inc.detected_at, None, "")
    add("declare", "Declared", inc.declared_at, None, "")
    spans = {"ack": sev.sla.ack, "respond": sev.sla.respond, "mitigate": sev.sla.mitigate, "resolve": sev.sla.resolve}
    for c in compute_clocks(policy, inc, now):
        span = spans[c.name]
        add(c.name, LABELS[c.name], c.met_at, c, "" if span is None else str(span))
    return out

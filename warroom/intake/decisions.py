"""Applying triage to alert groups: decide a group's outcome, declare its incident, escalate a declared one.

A mixin of `batch.Batch`, with the helpers triage needs: an alert as a triage signal, text an incident accepts.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from warroom.domain.flags import KNOWN_FLAGS
from warroom.incidents import service as incidents
from warroom.incidents.record import TEXT_LIMIT, TITLE_LIMIT
from warroom.incidents.schemas import DeclareRequest
from warroom.intake.batch_state import OPEN, BatchState, Rec
from warroom.intake.normal import Incoming
from warroom.policy import triage as tri
from warroom.store.intake_models import Alert, AlertGroup
from warroom.store.models import Incident

ESCALATION_SAMPLE = 16


def signal(item: Incoming | Alert) -> tri.Signal:
    if isinstance(item, Incoming):
        return tri.Signal(
            summary=item.summary,
            description=item.description,
            service=item.service,
            labels=item.labels,
            severity_hint=item.severity_hint,
            metric=item.metric,
            value=item.value,
            threshold=item.threshold,
            users=item.users,
        )
    details = item.details or {}
    return tri.Signal(
        summary=item.summary,
        description=str(details.get("description", "")),
        service=item.service,
        labels=item.labels,
        severity_hint=item.severity_hint,
        metric=item.metric,
        value=item.value,
        threshold=item.threshold,
        users=details.get("users"),
    )


def plain(text: str, limit: int) -> str:
    """Text an incident accepts: no control characters, within the limit, never empty."""
    cleaned = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    cleaned = " ".join(cleaned.split())
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1] + "…"
    return cleaned or "Alert"


class DecisionMixin(BatchState):
    """A group's triage verdict applied: its outcome, the incident it declares, a later alert's escalation."""

    def decide(self, group: AlertGroup, verdict: tri.Triage, recs: list[Rec], by: str = "triage") -> None:
        group.severity = verdict.severity
        group.confidence = verdict.confidence
        group.triage = verdict.as_dict() | {k: v for k, v in group.triage.items() if k in ("held", "storm")}
        group.runbook = verdict.runbook.model_dump() if verdict.runbook else None
        group.hold_until = None
        group.decided_by, group.decided_at = by, self.now
        if verdict.outcome != "incident":
            group.outcome = verdict.outcome
            return
        first = recs[0] if recs else None
        title = plain(first.summary if first else "Alert storm", TITLE_LIMIT)
        inc = self.declare(
            group, verdict, title, first.service if first else None, self.actor if by == "triage" else by
        )
        self._link(group, inc.id)

    def declare(self, group: AlertGroup, verdict: tri.Triage, title: str, service: str | None, by: str) -> Incident:
        flags = {k: v for k, v in verdict.flags.items() if k in KNOWN_FLAGS}
        detail = "; ".join(r.detail for r in verdict.reasons)
        req = DeclareRequest(
            severity=verdict.severity,
            title=title,
            summary=plain(f"Declared from alert group {group.id}. Triage: {detail}", 5000),
            service=plain(service, 200) if service else None,
            by=by,
            flags=flags,
        )
        inc = incidents.declare_in(self.session, self.ctx, req, self.now, source="alert")
        self.incidents[inc.id] = inc
        if inc.service:
            self.serving[inc.service] = inc.id
        group.incident_id = inc.id
        group.outcome = "incident"
        record_triage(self.session, inc, self.now, verdict, group.id, self.actor)
        return inc

    def _maybe_upgrade(self, group: AlertGroup, item: Incoming) -> None:
        """A ticket-only or informational group whose new alert triages to an incident declares one."""
        verdict = self._verdict(item)
        if verdict.outcome != "incident":
            return
        if group.severity and not tri.more_severe(self.policy, verdict.severity, group.severity):
            return
        recs = [r for r in self.rows if r.group_id == group.id and r.status == "firing"]
        self.decide(group, verdict, recs)

    def _verdict(self, item: Incoming) -> tri.Triage:
        """One alert's triage, once per batch for alerts that triage alike (a flood of warnings into a ticket)."""
        sig = _signature(item)
        found = self.verdicts.get(sig)
        if found is None:
            found = self.verdicts[sig] = tri.classify(self.policy, [signal(item)])
        return found

    def _rank(self, severity: str) -> int:
        found = self.ranks.get(severity)
        if found is None:
            found = self.ranks[severity] = self.policy.rank(severity)
        return found

    def _joined(self, group: AlertGroup, item: Incoming) -> None:
        """Keep a new alert of a declared group for the escalation check, within a bound per batch.

        Triage costs tens of microseconds an alert; a storm batch of thousands would spend more on
        it than on storing them. So each batch keeps up to ESCALATION_SAMPLE distinct alerts per
        group, and as many again of those whose sender rates them worse than the group's verdict
        (what triage reads of an alert is only looked at while it could still be kept).
        """
        severity = group.severity
        if severity and self._rank(severity) == 0:
            return  # nothing is worse than the most severe level
        found = self.joined.get(id(group))
        if found is None:
            found = self.joined[id(group)] = (group, {}, {})
        first, worse = found[1], found[2]
        if len(first) < ESCALATION_SAMPLE:
            sig = _signature(item)
            if sig not in first and sig not in worse:
                first[sig] = item
            return
        if len(worse) >= ESCALATION_SAMPLE or not severity:
            return
        hint = item.severity_hint
        if hint not in self.hints:
            self.hints[hint] = tri.hint_severity(self.policy, hint)
        hinted = self.hints[hint]
        if hinted is not None and self._rank(hinted[0]) < self._rank(severity):
            sig = _signature(item)
            if sig not in first and sig not in worse:
                worse[sig] = item

    def _escalate(self, group: AlertGroup, items: list[Incoming]) -> None:
        """Alerts joining a declared group that triage more severe than the incident raise its severity.

        Triage says more than the group already did only when the verdict is more severe than both the
        incident and the group's last verdict: a human who lowered the incident is not overruled by
        more of the same alerts, only by a worse one.
        """
        inc = self.incident(group.incident_id) if group.incident_id else None
        if inc is None or inc.status not in OPEN or self.policy.rank(inc.severity) == 0:
            return
        verdict = tri.classify(self.policy, [signal(i) for i in items])
        if verdict.outcome != "incident" or not tri.more_severe(self.policy, verdict.severity, inc.severity):
            return
        if group.severity and not tri.more_severe(self.policy, verdict.severity, group.severity):
            return
        worst = next((r for r in verdict.reasons if r.severity == verdict.severity), None)
        why = plain(
            f"alert group {group.id}: a new alert triages to {verdict.severity} at {verdict.confidence}% confidence"
            + (f" ({worst.detail})" if worst else ""),
            TEXT_LIMIT,
        )
        group.severity, group.confidence = verdict.severity, verdict.confidence
        by = self.touched.get(inc.id, self.actor)
        incidents.set_severity_in(self.session, self.policy, inc, verdict.severity, by, why, self.now)


def record_triage(
    session: Session, inc: Incident, now: datetime, verdict: tri.Triage, group_id: int | None, actor: str
) -> None:
    """The triage report on the timeline: severity, confidence, reasons, escalation and runbook."""
    reasons = [r.detail for r in verdict.reasons]
    incidents.entry(
        session,
        inc,
        now,
        actor,
        "triage",
        f"Triage: {verdict.severity} at {verdict.confidence}% confidence",
        "; ".join(reasons)[:4000],
        {"group_id": group_id, **verdict.as_dict()},
    )
    if verdict.below_threshold:
        who = ", ".join(verdict.escalate_to) or "nobody (the policy names no one)"
        incidents.entry(
            session,
            inc,
            now,
            actor,
            "triage_escalation",
            f"Confidence {verdict.confidence}% is below {verdict.threshold}%: investigation required",
            f"escalate to {who}",
            {"escalate_to": list(verdict.escalate_to), "confidence": verdict.confidence,
             "threshold": verdict.threshold},
        )  # fmt: skip
    if verdict.runbook is not None:
        rb = verdict.runbook
        incidents.entry(
            session,
            inc,
            now,
            actor,
            "runbook",
            f"Runbook: {rb.runbook} ({rb.symptom})",
            "; ".join(rb.checklist),
            {"runbook": rb.runbook, "symptom": rb.symptom, "checklist": list(rb.checklist)},
        )


def _signature(item: Incoming) -> tuple[Any, ...]:
    """What triage reads of an alert: equal signatures triage alike, so a batch classifies each once."""
    return (item.summary, item.description, item.service, item.severity_hint, item.metric, item.value,
            item.threshold, item.users, tuple(sorted(item.labels.items())))  # fmt: skip

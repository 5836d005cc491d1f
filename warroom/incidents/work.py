"""The war room's working record: impact, hypotheses, the mitigate-vs-dig decision and mitigation attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warroom.domain import lifecycle
from warroom.domain.errors import Conflict, Invalid, NotFound
from warroom.domain.inputs import LIST_LIMIT
from warroom.domain.lifecycle import Status
from warroom.domain.text import clean_list, clean_name, clean_text
from warroom.incidents.lifecycle import IMPACT_FLAGS, apply_flags, implicit_ack, move
from warroom.incidents.record import TEXT_LIMIT, actor, entry, load, responded
from warroom.incidents.schemas import (
    ImpactRequest,
    IncidentView,
)
from warroom.incidents.views import build_view
from warroom.policy.model import match_strategy
from warroom.store.models import (
    Hypothesis,
    Mitigation,
)
from warroom.store.unit import Context, run


def set_impact(ctx: Context, incident_id: str, req: ImpactRequest) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = actor(req.by)
        inc = load(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "change its impact")
        fields = req.model_dump(exclude_none=True, exclude={"by", *IMPACT_FLAGS})
        if "description" in fields:
            fields["description"] = clean_text("description", fields["description"], limit=TEXT_LIMIT, multiline=True)
        if "services" in fields:
            fields["services"] = clean_list("services", fields["services"], limit=200, items=LIST_LIMIT)
        given = {k: v for k in IMPACT_FLAGS if (v := getattr(req, k)) is not None}
        if not fields and not given:
            raise Invalid("give at least one impact field", field="impact")
        flags = {k: v for k, v in given.items() if bool(inc.flags.get(k)) != v}
        if not fields and not flags:
            raise Conflict(f"{inc.id}: the impact is already recorded as given")
        if fields:
            inc.impact = {**inc.impact, **fields}
            shown = ", ".join(f"{k}={v}" for k, v in fields.items())
            entry(session, inc, now, who, "impact", "Impact updated", shown, {"impact": fields})
        if flags:
            apply_flags(session, ctx.policy, inc, flags, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def add_hypothesis(ctx: Context, incident_id: str, text: str, evidence: str, confidence: int, by: str) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = actor(by)
        body = clean_text("text", text, limit=TEXT_LIMIT)
        proof = clean_text("evidence", evidence, limit=TEXT_LIMIT, required=False, multiline=True)
        if not 0 <= confidence <= 100:
            raise Invalid("confidence must be between 0 and 100", field="confidence")
        inc = load(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "add hypotheses")
        number = (session.scalar(select(func.max(Hypothesis.number)).where(Hypothesis.incident_id == inc.id)) or 0) + 1
        session.add(
            Hypothesis(
                incident_id=inc.id,
                number=number,
                text=body,
                evidence=proof,
                confidence=confidence,
                status="open",
                created_by=who,
                created_at=now,
                updated_at=now,
            )
        )
        implicit_ack(session, ctx.policy, inc, who, now)
        responded(inc, now)
        entry(
            session,
            inc,
            now,
            who,
            "hypothesis",
            f"H{number}: {body} ({confidence}%)",
            proof,
            {"number": number, "confidence": confidence},
        )
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def set_hypothesis_status(
    ctx: Context, incident_id: str, number: int, status: str, by: str, note: str = ""
) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = actor(by)
        why = clean_text("note", note, limit=TEXT_LIMIT, required=False)
        if status not in ("open", "ruled_out", "confirmed"):
            raise Invalid("status must be open, ruled_out or confirmed", field="status")
        inc = load(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "change hypotheses")
        hyp = session.scalars(
            select(Hypothesis).where(Hypothesis.incident_id == inc.id, Hypothesis.number == number)
        ).first()
        if hyp is None:
            raise NotFound(f"{inc.id} has no hypothesis H{number}", field="number")
        if hyp.status == status:
            raise Conflict(f"H{number} is already {status.replace('_', ' ')}")
        hyp.status, hyp.updated_at = status, now
        entry(
            session,
            inc,
            now,
            who,
            "hypothesis",
            f"H{number} {status.replace('_', ' ')}: {hyp.text}",
            why,
            {"number": number, "status": status},
        )
        if status == "confirmed" and inc.status in (
            Status.TRIGGERED.value,
            Status.ACKNOWLEDGED.value,
            Status.INVESTIGATING.value,
        ):
            implicit_ack(session, ctx.policy, inc, who, now)
            move(session, inc, Status.IDENTIFIED, who, now, f"H{number} confirmed")
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def decide(ctx: Context, incident_id: str, path: str, reason: str, by: str) -> IncidentView:
    """The mitigate-vs-dig call; digging first adds the evidence-snapshot step to the checklist."""

    def apply(session: Session, now: datetime) -> IncidentView:
        who = actor(by)
        why = clean_text("reason", reason, limit=TEXT_LIMIT)
        if path not in ("mitigate_first", "dig_first"):
            raise Invalid("path must be mitigate_first or dig_first", field="path")
        inc = load(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "record a decision")
        checklist = []
        if path == "dig_first":
            checklist.append({"item": "Snapshot logs and evidence before restarting or rolling back", "done": False})
        inc.decision = {"path": path, "reason": why, "by": who, "at": now.isoformat(), "checklist": checklist}
        implicit_ack(session, ctx.policy, inc, who, now)
        responded(inc, now)
        label = "Mitigate first" if path == "mitigate_first" else "Dig first"
        entry(session, inc, now, who, "decision", f"Decision: {label}", why, {"path": path})
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def mitigate(ctx: Context, incident_id: str, strategy: str, worked: bool, by: str, note: str = "") -> IncidentView:
    """Always recorded: a name the policy's table lacks is kept as given and marked, never refused."""

    def apply(session: Session, now: datetime) -> IncidentView:
        who = actor(by)
        text = clean_text("note", note, limit=TEXT_LIMIT, required=False)
        given = clean_name("strategy", strategy, limit=80)
        known = match_strategy(ctx.policy, given)
        name = known or given
        off_table = bool(ctx.policy.mitigation_strategies) and known is None
        mark = " (not in the runbook's strategy table)" if off_table else ""
        extra = {"in_table": False} if off_table else {}
        inc = load(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "record a mitigation")
        implicit_ack(session, ctx.policy, inc, who, now)
        responded(inc, now)
        session.add(Mitigation(incident_id=inc.id, strategy=name, worked=worked, note=text, by=who, at=now))
        if worked:
            entry(
                session,
                inc,
                now,
                who,
                "mitigation",
                f"Mitigation succeeded: {name}{mark}",
                text,
                {"strategy": name, "worked": True, **extra},
            )
            if inc.status != Status.MITIGATED.value:
                inc.mitigated_at = now
                inc.watch_started_at = now
                move(session, inc, Status.MITIGATED, who, now, name)
        else:
            inc.mitigation_failures += 1
            entry(
                session,
                inc,
                now,
                who,
                "mitigation",
                f"Mitigation failed: {name}{mark}",
                text,
                {"strategy": name, "worked": False, "failures": inc.mitigation_failures, **extra},
            )
            if inc.status == Status.MITIGATED.value:
                inc.mitigated_at = None
                inc.watch_started_at = None
                move(session, inc, Status.INVESTIGATING, who, now, f"{name} did not hold")
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)

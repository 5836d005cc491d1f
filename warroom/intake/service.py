"""Alert intake use cases for the faces: reads, a human's triage decisions, silences, dead letters."""

from __future__ import annotations

import base64
import dataclasses
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warroom.domain import actors
from warroom.domain.clock import ensure_utc
from warroom.domain.durations import DurationError, parse_fixed
from warroom.domain.errors import Conflict, Invalid, NotFound
from warroom.domain.inputs import check_time
from warroom.domain.text import clean_name, clean_text
from warroom.incidents import service as incidents
from warroom.intake import silences as sil
from warroom.intake.batch import Batch, Submission, forget_silences
from warroom.intake.batch_state import OPEN, Rec
from warroom.intake.config import get_intake_settings
from warroom.intake.decisions import signal
from warroom.intake.ingest import ingest, intake_lock, release_held
from warroom.intake.linking import count_alerts
from warroom.intake.normal import PayloadError
from warroom.intake.parsers import PARSERS, SOURCES
from warroom.intake.schemas import (
    AlertDetail,
    AlertView,
    DeadLetterDetail,
    DeadLetterView,
    GroupDetail,
    GroupView,
    IncidentAlerts,
    IntakeRequestView,
    SilenceRequest,
    SilenceView,
)
from warroom.policy import triage as tri
from warroom.store.intake_models import Alert, AlertGroup, DeadLetter, IntakeRequest, Silence
from warroom.store.models import Incident
from warroom.store.unit import Context, run

NAME_LIMIT = 120


def _limit(limit: int) -> int:
    """A page is at most 1,000 rows; one more tells a paged list there is a next page."""
    return max(1, min(limit, 1001))


# --- ingesting without the HTTP face (drills, scripts) -------------------------------------------


def ingest_payload(ctx: Context, source: str, payload: Any, integration: str = "direct",
                   headers: dict[str, str] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Run one sender's payload through the same pipeline as the webhook, in one transaction.

    For callers that hold a Context and a clock of their own (the drill runner); the HTTP face
    adds authentication, dead letters and group commit on top of exactly this.
    """
    parser = PARSERS.get(source)
    if parser is None:
        raise Invalid(f"no alert source '{source}'; use one of {', '.join(SOURCES)}", field="source")
    try:
        items = parser(payload, {k.lower(): v for k, v in (headers or {}).items()})
    except PayloadError as exc:
        raise Invalid(f"{exc.field}: {exc.message}", field=exc.field) from None
    cfg = get_intake_settings()

    def apply(session: Session, now: datetime) -> list[dict[str, Any]]:
        results = ingest(session, ctx, now, [Submission(integration, now, items)], cfg)
        first = results[0]
        assert isinstance(first, list)
        return first

    return run(ctx, apply)


def release_held_groups(ctx: Context) -> int:
    """Decide held groups whose wait is over (the writer thread does this in a server)."""
    return run(ctx, lambda session, now: release_held(session, ctx, now, get_intake_settings()))


# --- alerts -------------------------------------------------------------------------------------


def list_alerts(
    ctx: Context,
    status: str | None = None,
    service: str | None = None,
    source: str | None = None,
    incident_id: str | None = None,
    group_id: int | None = None,
    limit: int = 100,
    before: int | None = None,
) -> list[AlertView]:
    """Newest first; `before` an alert id: the page after the one that ended there."""
    if status not in (None, "firing", "resolved"):
        raise Invalid("status must be firing or resolved", field="status")
    with ctx.db.read() as session:
        stmt = select(Alert)
        if before is not None:
            stmt = stmt.where(Alert.id < before)
        if status:
            stmt = stmt.where(Alert.status == status)
        if service:
            stmt = stmt.where(Alert.service == service)
        if source:
            stmt = stmt.where(Alert.source == source)
        if incident_id:
            stmt = stmt.where(Alert.incident_id == incident_id.strip().upper())
        if group_id is not None:
            stmt = stmt.where(Alert.group_id == group_id)
        rows = session.scalars(stmt.order_by(Alert.id.desc()).limit(_limit(limit)))
        return [AlertView.model_validate(r) for r in rows]


def get_alert(ctx: Context, alert_id: int) -> AlertDetail:
    with ctx.db.read() as session:
        row = session.get(Alert, alert_id)
        if row is None:
            raise NotFound(f"no alert {alert_id}", field="alert_id")
        return AlertDetail.model_validate(row)


def incident_alerts(ctx: Context, incident_id: str, limit: int = 100) -> IncidentAlerts:
    """An incident's alerts: how many, how many still firing, which services, and its groups."""
    with ctx.db.read() as session:
        inc = session.get(Incident, incident_id.strip().upper())
        if inc is None:
            raise NotFound(f"no incident {incident_id}", field="incident_id")
        counts = dict(
            session.execute(
                select(Alert.status, func.count(Alert.id)).where(Alert.incident_id == inc.id).group_by(Alert.status)
            ).all()
        )
        services = session.scalars(
            select(Alert.service).where(Alert.incident_id == inc.id, Alert.service.is_not(None)).distinct()
        )
        groups = session.scalars(select(AlertGroup).where(AlertGroup.incident_id == inc.id).order_by(AlertGroup.id))
        alerts = session.scalars(
            select(Alert).where(Alert.incident_id == inc.id).order_by(Alert.id.desc()).limit(_limit(limit))
        )
        return IncidentAlerts(
            incident_id=inc.id,
            alert_count=sum(counts.values()),
            firing=counts.get("firing", 0),
            resolved=counts.get("resolved", 0),
            services=sorted(s for s in services if s),
            groups=[GroupView.model_validate(g) for g in groups],
            alerts=[AlertView.model_validate(a) for a in alerts],
        )


# --- groups and a human's triage decisions ------------------------------------------------------

OUTCOMES = ("incident", "ticket", "none", "pending", "merged", "dismissed")


def list_groups(
    ctx: Context, outcome: str | None = None, status: str | None = None, limit: int = 100, before: int | None = None
) -> list[GroupView]:
    """Newest first; `before` a group id: the page after the one that ended there."""
    if outcome is not None and outcome not in OUTCOMES:
        raise Invalid(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
    with ctx.db.read() as session:
        stmt = select(AlertGroup)
        if before is not None:
            stmt = stmt.where(AlertGroup.id < before)
        if outcome:
            stmt = stmt.where(AlertGroup.outcome == outcome)
        if status:
            stmt = stmt.where(AlertGroup.status == status)
        rows = session.scalars(stmt.order_by(AlertGroup.id.desc()).limit(_limit(limit)))
        return [GroupView.model_validate(g) for g in rows]


def _group_detail(session: Session, group: AlertGroup) -> GroupDetail:
    alerts = session.scalars(select(Alert).where(Alert.group_id == group.id).order_by(Alert.id.desc()).limit(200))
    view = GroupView.model_validate(group)
    return GroupDetail(**view.model_dump(), alerts=[AlertView.model_validate(a) for a in alerts])


def get_group(ctx: Context, group_id: int) -> GroupDetail:
    with ctx.db.read() as session:
        group = session.get(AlertGroup, group_id)
        if group is None:
            raise NotFound(f"no alert group {group_id}", field="group_id")
        return _group_detail(session, group)


def _locked_group(session: Session, group_id: int) -> AlertGroup:
    intake_lock(session)
    group = session.scalars(select(AlertGroup).where(AlertGroup.id == group_id).with_for_update()).first()
    if group is None:
        raise NotFound(f"no alert group {group_id}", field="group_id")
    if group.outcome == "merged":
        raise Conflict(f"alert group {group_id} was merged into storm group {group.merged_into}; act on that one")
    return group


def _open_incident(session: Session, group: AlertGroup) -> Incident | None:
    if group.incident_id is None:
        return None
    inc = session.get(Incident, group.incident_id)
    return inc if inc is not None and inc.status in OPEN else None


def _history(group: AlertGroup, who: str, now: datetime, to: str, reason: str) -> None:
    group.history = [*group.history, {"at": now.isoformat().replace("+00:00", "Z"), "by": who, "from": group.outcome,
                                      "to": to, "reason": reason}]  # fmt: skip
    group.decided_by, group.decided_at = who, now


def declare_group(ctx: Context, group_id: int, by: str, severity: str | None = None, reason: str = "") -> GroupDetail:
    """A human overrides triage: declare an incident for a ticket-only, informational or held group."""

    def apply(session: Session, now: datetime) -> GroupDetail:
        who = clean_name("by", by, limit=NAME_LIMIT)
        why = clean_text("reason", reason, limit=2000, required=False)
        group = _locked_group(session, group_id)
        inc = _open_incident(session, group)
        if inc is not None:
            raise Conflict(f"alert group {group_id} already has incident {inc.id}")
        alerts = list(session.scalars(select(Alert).where(Alert.group_id == group.id).order_by(Alert.id)))
        firing = [a for a in alerts if a.status == "firing"] or alerts
        if not firing:
            raise Conflict(f"alert group {group_id} has no alerts")
        verdict = tri.classify(ctx.policy, [signal(a) for a in firing])
        if severity is not None:
            sev = ctx.policy.severity(severity).name
            flags = {k: v for k, v in verdict.flags.items() if k != "investigation_required"}
            human = tri.Reason("human", f"{who} declared {sev}" + (f": {why}" if why else ""), sev, 100)
            verdict = dataclasses.replace(verdict, severity=sev, confidence=100, outcome="incident", flags=flags,
                                          below_threshold=False, escalate_to=(),
                                          reasons=(*verdict.reasons, human))  # fmt: skip
        else:
            verdict = dataclasses.replace(verdict, outcome="incident")
        _history(group, who, now, "incident", why)
        group.incident_id = None
        batch = Batch(session, ctx, now, get_intake_settings())
        recs = [Rec(a.id, a.key, a.status, a.count, a.service, a.summary, a.group_id, None, a.silence_id)
                for a in firing]  # fmt: skip
        batch.actor = actors.integration(firing[0].integration)
        batch.decide(group, verdict, recs, by=who)
        batch.finish()
        return _group_detail(session, group)

    return run(ctx, apply)


def link_group(ctx: Context, group_id: int, incident_id: str, by: str, reason: str = "") -> GroupDetail:
    """A human says an alert group is part of an open incident: its firing alerts count there from now,
    its later alerts join it, and a firing alert restarts the incident's quiet window. A group that had
    its own incident leaves it (that incident stays as it is, to resolve or close)."""

    def apply(session: Session, now: datetime) -> GroupDetail:
        who = clean_name("by", by, limit=NAME_LIMIT)
        why = clean_text("reason", reason, limit=2000, required=False)
        group = _locked_group(session, group_id)  # the intake lock before the incident's, as the writer takes them
        target = incidents.get_for_update(session, incident_id)
        if target.status not in OPEN:
            raise Conflict(f"{target.id} is {target.status}; link alerts to an open incident")
        if group.incident_id == target.id:
            raise Conflict(f"alert group {group_id} is already part of {target.id}")
        previous = session.get(Incident, group.incident_id) if group.incident_id else None
        _history(group, who, now, "incident", why or f"linked to {target.id}")
        group.incident_id, group.outcome, group.hold_until = target.id, "incident", None
        group.severity, group.status, group.closed_at = target.severity, "open", None
        firing = list(session.scalars(select(Alert).where(Alert.group_id == group.id, Alert.status == "firing")))
        for a in firing:
            a.incident_id = target.id
        services = sorted({a.service for a in firing if a.service})
        count_alerts(target, len(firing), services)
        if previous is not None:
            count_alerts(previous, -len(firing), [])
            incidents.entry(session, previous, now, who, "alerts_moved",
                            f"Alert group {group.id} moved to {target.id}", why)  # fmt: skip
        incidents.entry(
            session,
            target,
            now,
            who,
            "alerts_joined",
            f"Alert group {group.id} linked: {len(firing)} firing alert(s)",
            why,
            {"group_id": group.id, "from_incident": previous.id if previous else None, "services": services},
        )
        if firing and target.status == "mitigated":
            incidents.restart_watch(session, target, now, who, f"alert group {group.id} linked with firing alerts")
        return _group_detail(session, group)

    return run(ctx, apply)


def set_group_outcome(ctx: Context, group_id: int, outcome: str, by: str, reason: str = "") -> GroupDetail:
    """A human overrides triage the other way: ticket only, or dismissed (no incident, no ticket)."""
    if outcome not in ("ticket", "dismissed"):
        raise Invalid("outcome must be ticket or dismissed", field="outcome")

    def apply(session: Session, now: datetime) -> GroupDetail:
        who = clean_name("by", by, limit=NAME_LIMIT)
        why = clean_text("reason", reason, limit=2000, required=False)
        group = _locked_group(session, group_id)
        inc = _open_incident(session, group)
        if inc is not None:
            raise Conflict(
                f"alert group {group_id} declared {inc.id}; resolve or close the incident instead (its record stays)"
            )
        if group.outcome == outcome:
            raise Conflict(f"alert group {group_id} is already {outcome}")
        _history(group, who, now, outcome, why)
        group.outcome = outcome
        group.hold_until = None
        return _group_detail(session, group)

    return run(ctx, apply)


# --- silences -----------------------------------------------------------------------------------


def _silence_view(row: Silence, now: datetime) -> SilenceView:
    return SilenceView(
        id=row.id,
        matchers=[str(m) for m in sil.from_stored(row.matchers)],
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        created_by=row.created_by,
        comment=row.comment,
        created_at=row.created_at,
        expired_by=row.expired_by,
        active=row.starts_at <= now < row.ends_at,
    )


def add_silence(ctx: Context, req: SilenceRequest) -> SilenceView:
    def apply(session: Session, now: datetime) -> SilenceView:
        who = clean_name("by", req.by, limit=NAME_LIMIT)
        comment = clean_text("comment", req.comment, limit=2000, required=False)
        matchers = sil.parse_matchers(req.matchers)
        starts = check_time("starts_at", ensure_utc(req.starts_at), now) if req.starts_at else now
        if req.ends_at is not None and req.duration is not None:
            raise Invalid("give ends_at or duration, not both", field="duration")
        if req.ends_at is not None:
            ends = check_time("ends_at", ensure_utc(req.ends_at), now)
        elif req.duration is not None:
            try:
                ends = starts + parse_fixed(req.duration)
            except DurationError as exc:
                raise Invalid(str(exc), field="duration") from None
        else:
            raise Invalid("a silence is time-boxed: give ends_at or duration (such as 2h)", field="duration")
        if ends <= starts:
            raise Invalid("ends_at must be after starts_at", field="ends_at")
        if ends <= now:
            raise Invalid("that silence would already be over", field="ends_at")
        if ends - starts > timedelta(days=90):
            raise Invalid("a silence lasts 90 days at most; maintenance that long is a policy change", field="ends_at")
        row = Silence(
            matchers=[m.as_dict() for m in matchers],
            starts_at=starts,
            ends_at=ends,
            created_by=who,
            comment=comment,
            created_at=now,
        )
        session.add(row)
        session.flush()
        return _silence_view(row, now)

    try:
        return run(ctx, apply)
    finally:
        forget_silences()


def list_silences(ctx: Context, include_expired: bool = False) -> list[SilenceView]:
    with ctx.db.read() as session:
        now = ctx.clock.now()
        stmt = select(Silence)
        if not include_expired:
            stmt = stmt.where(Silence.ends_at > now)
        return [_silence_view(r, now) for r in session.scalars(stmt.order_by(Silence.id.desc()).limit(1000))]


def expire_silence(ctx: Context, silence_id: int, by: str) -> SilenceView:
    def apply(session: Session, now: datetime) -> SilenceView:
        who = clean_name("by", by, limit=NAME_LIMIT)
        row = session.scalars(select(Silence).where(Silence.id == silence_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"no silence {silence_id}", field="silence_id")
        if row.ends_at <= now:
            raise Conflict(f"silence {silence_id} already ended")
        row.ends_at = max(now, row.starts_at)
        row.expired_by = who
        return _silence_view(row, now)

    try:
        return run(ctx, apply)
    finally:
        forget_silences()


# --- dead letters -------------------------------------------------------------------------------


def list_dead_letters(ctx: Context, limit: int = 100) -> list[DeadLetterView]:
    with ctx.db.unit() as session:
        cols = [c for c in DeadLetter.__table__.columns if c.name != "body"]
        rows = session.execute(select(*cols).order_by(DeadLetter.id.desc()).limit(_limit(limit))).mappings()
        return [DeadLetterView.model_validate(dict(r)) for r in rows]


def get_request(ctx: Context, request_id: int) -> IntakeRequestView:
    """An accepted webhook: queued, applied (with each alert's outcome) or failed."""
    with ctx.db.read() as session:
        row = session.get(IntakeRequest, request_id)
        if row is None:
            raise NotFound(
                f"no intake request {request_id} (processed ones are kept for WARROOM_INTAKE_REQUESTS_KEEP_SECONDS)",
                field="request_id",
            )
        status = "queued" if row.processed_at is None else "failed" if row.outcomes is None else "applied"
        data = {c: getattr(row, c) for c in IntakeRequestView.model_fields if c != "status"}
        return IntakeRequestView(**data, status=status)


def get_dead_letter(ctx: Context, dead_id: int) -> DeadLetterDetail:
    with ctx.db.unit() as session:
        row = session.get(DeadLetter, dead_id)
        if row is None:
            raise NotFound(f"no dead letter {dead_id} (the table keeps the newest ones only)", field="dead_letter_id")
        data: dict[str, Any] = {c: getattr(row, c) for c in DeadLetterView.model_fields}
        try:
            return DeadLetterDetail(**data, encoding="utf-8", body=row.body.decode("utf-8"))
        except UnicodeDecodeError:
            return DeadLetterDetail(**data, encoding="base64", body=base64.b64encode(row.body).decode())

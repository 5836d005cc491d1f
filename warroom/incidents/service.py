"""The incident use cases. API, web, CLI and chatops all call these and nothing else."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from warroom.domain import lifecycle, sla
from warroom.domain.classification import apply_floors
from warroom.domain.clock import Clock, ensure_utc, hhmm_utc
from warroom.domain.flags import KNOWN_FLAGS
from warroom.domain.lifecycle import OPEN_STATUSES, Status, TransitionError
from warroom.domain.text import TextError, clean_text, slugify
from warroom.incidents import context as template_context
from warroom.incidents.errors import Conflict, Invalid, NotFound
from warroom.incidents.schemas import (
    ClockView,
    DeclareRequest,
    HypothesisView,
    ImpactRequest,
    IncidentSummary,
    IncidentView,
    MitigationView,
    RoleView,
    TimelineView,
    UpdateView,
)
from warroom.policy.model import Policy, UnknownSeverity
from warroom.policy.templates import render
from warroom.store.db import Database
from warroom.store.models import (
    Hypothesis,
    Incident,
    IncidentSequence,
    Mitigation,
    RoleAssignment,
    TimelineEntry,
    Update,
)

T = TypeVar("T")

TITLE_LIMIT = 300
TEXT_LIMIT = 10_000
NAME_LIMIT = 120
COMMANDER = "incident-commander"
NEW_ENTRIES = "warroom.new_timeline_entries"


@dataclass
class Context:
    """What every use case needs: the database, the policy in force and a clock."""

    db: Database
    policy: Policy
    clock: Clock


# --- plumbing -----------------------------------------------------------------------------------


@contextmanager
def _errors() -> Iterator[None]:
    """Domain errors become service errors the faces know how to show."""
    try:
        yield
    except TransitionError as exc:
        raise Conflict(str(exc)) from None
    except TextError as exc:
        raise Invalid(str(exc), field=exc.field) from None
    except UnknownSeverity as exc:
        raise Invalid(str(exc), field="severity") from None


def run(ctx: Context, fn: Callable[[Session, datetime], T], incident_id: str | None = None) -> T:
    """One transaction; an optimistic-lock clash is retried so the loser sees the winner's state.

    The write lock comes before the clock is read (SQLite: the database, PostgreSQL: the incident's
    row), and time never runs backwards for an incident, so its times follow commit order.
    """
    from warroom.engine import planner

    for attempt in range(3):
        try:
            with _errors(), ctx.db.unit() as session:
                session.connection()
                last = None
                if incident_id is not None:
                    last = session.scalar(
                        select(Incident.updated_at).where(Incident.id == incident_id.strip().upper()).with_for_update()
                    )
                now = ctx.clock.now()
                if last is not None and last > now:
                    now = last
                result = fn(session, now)
                # The engine plans from what the timeline recorded, inside the same transaction.
                planner.on_entries(session, ctx, session.info.pop(NEW_ENTRIES, []), now)
                return result
        except StaleDataError:
            if attempt == 2:
                raise Conflict("the incident changed while this request was applied; try again") from None
    raise AssertionError("unreachable")


def _get(session: Session, incident_id: str, *, lock: bool = False) -> Incident:
    stmt = select(Incident).where(Incident.id == incident_id.strip().upper())
    if lock:
        stmt = stmt.with_for_update()
    inc = session.scalars(stmt).first()
    if inc is None:
        raise NotFound(f"no incident {incident_id}", field="incident_id")
    return inc


def _actor(by: str) -> str:
    return clean_text("by", by, limit=NAME_LIMIT)


def entry(
    session: Session,
    inc: Incident,
    at: datetime,
    actor: str,
    kind: str,
    what: str,
    outcome: str = "",
    data: dict[str, Any] | None = None,
    corrects: int | None = None,
) -> TimelineEntry:
    """Append to the timeline; there is no function that edits or deletes an entry."""
    row = TimelineEntry(
        incident_id=inc.id,
        at=at,
        actor=actor,
        kind=kind,
        what=what,
        outcome=outcome,
        data=data or {},
        corrects=corrects,
    )
    session.add(row)
    session.info.setdefault(NEW_ENTRIES, []).append(row)
    inc.updated_at = at
    return row


def _next_id(session: Session, policy: Policy, at: datetime) -> str:
    prefix = policy.incident_id.prefix
    day = at.strftime("%Y%m%d")
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(IncidentSequence)
        .values(prefix=prefix, day=day, last=1)
        .on_conflict_do_update(
            index_elements=[IncidentSequence.prefix, IncidentSequence.day],
            set_={"last": IncidentSequence.last + 1},
        )
        .returning(IncidentSequence.last)
    )
    number = session.execute(stmt).scalar_one()
    return f"{prefix}-{day}-{number:0{policy.incident_id.digits}d}"


# --- views --------------------------------------------------------------------------------------


def anchors(inc: Incident) -> tuple[datetime, datetime]:
    """Ack runs from declaration; mitigate and resolve restart when an incident is reopened."""
    return inc.declared_at, inc.reopened_at or inc.declared_at


def compute_clocks(policy: Policy, inc: Incident, now: datetime) -> list[sla.Clock]:
    sev = policy.severity(inc.severity)
    cal = policy.business_calendar()
    ack_start, work_start = anchors(inc)
    return [
        sla.clock("ack", sev.sla.ack, cal, ack_start, inc.acknowledged_at, now),
        sla.clock("mitigate", sev.sla.mitigate, cal, work_start, inc.mitigated_at or inc.resolved_at, now),
        sla.clock("resolve", sev.sla.resolve, cal, work_start, inc.resolved_at, now),
    ]


def _clock_view(c: sla.Clock) -> ClockView:
    return ClockView(
        name=c.name,
        deadline=c.deadline,
        met_at=c.met_at,
        state=c.state,
        remaining_seconds=c.remaining_seconds,
        display=sla.describe(c),
    )


def _roles(policy: Policy, inc: Incident, assigned: dict[str, RoleAssignment]) -> tuple[list[RoleView], list[str]]:
    sev = policy.severity(inc.severity)
    names = list(dict.fromkeys([*sev.roles_required, *sev.roles_optional, *assigned]))
    if COMMANDER in policy.roles and COMMANDER not in names:
        names.insert(0, COMMANDER)
    views = []
    for name in names:
        a = assigned.get(name)
        role = policy.roles.get(name)
        views.append(
            RoleView(
                role=name,
                title=role.title if role else name,
                person=a.person if a else None,
                required=name in sev.roles_required,
                assigned_at=a.assigned_at if a else None,
            )
        )
    missing = [n for n in sev.roles_required if n not in assigned]
    return views, missing


def build_view(session: Session, policy: Policy, inc: Incident, now: datetime) -> IncidentView:
    sev = policy.severity(inc.severity)
    assigned = {r.role: r for r in session.scalars(select(RoleAssignment).where(RoleAssignment.incident_id == inc.id))}
    roles, missing = _roles(policy, inc, assigned)
    hyps = session.scalars(select(Hypothesis).where(Hypothesis.incident_id == inc.id).order_by(Hypothesis.number))
    mits = session.scalars(select(Mitigation).where(Mitigation.incident_id == inc.id).order_by(Mitigation.id))
    ups = list(session.scalars(select(Update).where(Update.incident_id == inc.id).order_by(Update.id)))
    counts: dict[str, int] = {}
    for u in ups:
        counts[u.audience] = max(counts.get(u.audience, 0), u.number)
    return IncidentView(
        id=inc.id,
        title=inc.title,
        slug=inc.slug,
        summary=inc.summary,
        service=inc.service,
        severity=inc.severity,
        severity_label=sev.label,
        status=inc.status,
        policy=inc.policy,
        channel=inc.channel,
        topic=inc.topic,
        source=inc.source,
        declared_by=inc.declared_by,
        detected_at=inc.detected_at,
        declared_at=inc.declared_at,
        acknowledged_at=inc.acknowledged_at,
        acknowledged_by=inc.acknowledged_by,
        investigating_at=inc.investigating_at,
        identified_at=inc.identified_at,
        mitigated_at=inc.mitigated_at,
        resolved_at=inc.resolved_at,
        closed_at=inc.closed_at,
        reopened_at=inc.reopened_at,
        reopened_count=inc.reopened_count,
        watch_started_at=inc.watch_started_at,
        postmortem_due_at=inc.postmortem_due_at,
        postmortem=sev.postmortem.need.value,
        forced_resolution=inc.forced_resolution,
        impact=inc.impact,
        flags=inc.flags,
        decision=inc.decision,
        mitigation_failures=inc.mitigation_failures,
        clocks=[_clock_view(c) for c in compute_clocks(policy, inc, now)],
        roles=roles,
        missing_roles=missing,
        hypotheses=[HypothesisView.model_validate(h) for h in hyps],
        mitigations=[MitigationView.model_validate(m) for m in mits],
        updates=[UpdateView.model_validate(u) for u in ups],
        update_counts=counts,
        version=inc.version,
    )


def _commander(session: Session, inc: Incident) -> str | None:
    row = session.get(RoleAssignment, (inc.id, COMMANDER))
    return row.person if row else None


# --- use cases ----------------------------------------------------------------------------------


def declare(ctx: Context, req: DeclareRequest) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        return build_view(session, ctx.policy, declare_in(session, ctx, req, now), now)

    return run(ctx, apply)


def declare_in(session: Session, ctx: Context, req: DeclareRequest, now: datetime, source: str = "manual") -> Incident:
    """Declare inside a caller's transaction (alert intake declares in the same commit as the alerts)."""
    title = clean_text("title", req.title, limit=TITLE_LIMIT)
    summary = clean_text("summary", req.summary, limit=TEXT_LIMIT, required=False, multiline=True)
    service = clean_text("service", req.service, limit=200, required=False) if req.service else None
    by = _actor(req.by)
    _check_flags(req.flags)
    sev = ctx.policy.severity(req.severity)
    detected = ensure_utc(req.detected_at) if req.detected_at else now
    if detected > now:
        raise Invalid("detected_at is in the future", field="detected_at")
    floor = apply_floors(ctx.policy, sev.name, req.flags)
    inc = Incident(
        id=_next_id(session, ctx.policy, now),
        title=title,
        slug=slugify(title),
        summary=summary,
        service=service or None,
        severity=floor.severity,
        status=Status.TRIGGERED.value,
        policy=ctx.policy.name,
        source=source,
        declared_by=by,
        detected_at=detected,
        declared_at=now,
        impact={},
        flags={k: v for k, v in req.flags.items() if v},
        mitigation_failures=0,
        reopened_count=0,
        updated_at=now,
    )
    session.add(inc)
    session.flush()
    _render_channel(ctx.policy, inc, None, now)
    entry(
        session,
        inc,
        now,
        by,
        "declared",
        f"Declared {sev.name}: {title}",
        data={"severity": sev.name, "source": source},
    )
    if floor.floor is not None:
        _floor_entry(session, inc, now, sev.name, floor.severity, floor.floor.id, floor.floor.reason)
    return inc


def restart_watch(session: Session, inc: Incident, now: datetime, actor: str, why: str) -> None:
    """A new error signal during the resolution watch: the quiet window starts again from now."""
    if inc.status != Status.MITIGATED.value:
        return
    inc.watch_started_at = now
    entry(session, inc, now, actor, "watch_restarted", "Quiet window restarted", why)


def signals_cleared(session: Session, ctx: Context, inc: Incident, now: datetime, actor: str, why: str) -> None:
    """Every alert of the incident has resolved: treat it as mitigated and start the resolution watch."""
    if inc.status not in (s.value for s in OPEN_STATUSES) or inc.status == Status.MITIGATED.value:
        return
    _implicit_ack(session, ctx.policy, inc, actor, now)
    inc.mitigated_at = now
    inc.watch_started_at = now
    _move(session, inc, Status.MITIGATED, actor, now, why)


def get_for_update(session: Session, incident_id: str) -> Incident:
    return _get(session, incident_id, lock=True)


def _render_channel(policy: Policy, inc: Incident, commander: str | None, now: datetime) -> None:
    context = template_context.for_incident(policy, inc, now, commander=commander)
    inc.channel = render(policy.templates.channel_name, context)
    inc.topic = render(policy.templates.channel_topic, context)


def _floor_entry(session: Session, inc: Incident, now: datetime, old: str, new: str, rule: str, reason: str) -> None:
    entry(
        session,
        inc,
        now,
        "warroom",
        "severity_changed",
        f"Severity raised {old} → {new} by floor rule '{rule}'",
        reason,
        data={"from": old, "to": new, "rule": rule},
    )


def _check_flags(flags: dict[str, bool]) -> None:
    for name in flags:
        if name not in KNOWN_FLAGS:
            raise Invalid(f"unknown flag '{name}'; known flags: {', '.join(sorted(KNOWN_FLAGS))}", field="flags")


def acknowledge(ctx: Context, incident_id: str, by: str) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_ack(inc.id, Status(inc.status), inc.acknowledged_by)
        _ack(session, ctx.policy, inc, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def _ack(session: Session, policy: Policy, inc: Incident, who: str, now: datetime) -> None:
    inc.status = Status.ACKNOWLEDGED.value
    inc.acknowledged_at = now
    inc.acknowledged_by = who
    entry(session, inc, now, who, "acknowledged", "Acknowledged")
    if COMMANDER in policy.roles and session.get(RoleAssignment, (inc.id, COMMANDER)) is None:
        _assign(session, policy, inc, COMMANDER, who, who, now)


def _implicit_ack(session: Session, policy: Policy, inc: Incident, who: str, now: datetime) -> None:
    """Working on a triggered incident acknowledges it: nobody should be paged after that."""
    if inc.status == Status.TRIGGERED.value:
        _ack(session, policy, inc, who, now)


def set_status(ctx: Context, incident_id: str, status: str, by: str, note: str = "") -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        target = Status(status)
        if target not in (Status.INVESTIGATING, Status.IDENTIFIED):
            raise Invalid("status must be investigating or identified; use mitigate or resolve", field="status")
        text = clean_text("note", note, limit=TEXT_LIMIT, required=False)
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_transition(inc.id, Status(inc.status), target)
        _implicit_ack(session, ctx.policy, inc, who, now)
        _move(session, inc, target, who, now, text)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def _move(session: Session, inc: Incident, target: Status, who: str, now: datetime, outcome: str = "") -> None:
    old = inc.status
    if old == target.value:
        return
    inc.status = target.value
    stamp = f"{target.value}_at"
    if hasattr(inc, stamp) and getattr(inc, stamp) is None:
        setattr(inc, stamp, now)
    entry(
        session, inc, now, who, "status", f"Status {old} → {target.value}", outcome, {"from": old, "to": target.value}
    )


def change_severity(ctx: Context, incident_id: str, severity: str, by: str, reason: str = "") -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        why = clean_text("reason", reason, limit=TEXT_LIMIT, required=False)
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "change its severity")
        new = ctx.policy.severity(severity).name
        if new == inc.severity:
            raise Conflict(f"{inc.id} is already {new}")
        floor = apply_floors(ctx.policy, new, inc.flags)
        if floor.floor is not None:
            raise Conflict(
                f"{inc.id} cannot go below {floor.severity}: floor rule '{floor.floor.id}' ({floor.floor.reason})"
            )
        set_severity_in(session, ctx.policy, inc, new, who, why, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def set_severity_in(session: Session, policy: Policy, inc: Incident, new: str, who: str, why: str,
                    now: datetime) -> None:  # fmt: skip
    """Move an open incident to another severity (checked by the caller): timeline, clocks, channel topic."""
    old = inc.severity
    inc.severity = new
    direction = "raised" if policy.rank(new) < policy.rank(old) else "lowered"
    entry(
        session,
        inc,
        now,
        who,
        "severity_changed",
        f"Severity {direction} {old} → {new}",
        why,
        {"from": old, "to": new, "clocks_recomputed_from": inc.declared_at.isoformat()},
    )
    _render_channel(policy, inc, _commander(session, inc), now)


def set_flags(ctx: Context, incident_id: str, flags: dict[str, bool], by: str) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        _check_flags(flags)
        if not flags:
            raise Invalid("name at least one flag", field="flags")
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "change its flags")
        _apply_flags(session, ctx.policy, inc, flags, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def _apply_flags(
    session: Session, policy: Policy, inc: Incident, flags: dict[str, bool], who: str, now: datetime
) -> None:
    merged = dict(inc.flags)
    if all(bool(merged.get(name)) == value for name, value in flags.items()):
        shown = ", ".join(f"{n} is already {'set' if v else 'clear'}" for n, v in flags.items())
        raise Conflict(f"{inc.id}: {shown}")
    for name, value in flags.items():
        if bool(merged.get(name)) == value:
            continue
        merged[name] = value
        state = "set" if value else "cleared"
        entry(session, inc, now, who, "flag", f"Flag {name} {state}", KNOWN_FLAGS[name], {"flag": name, "value": value})
    inc.flags = {k: v for k, v in merged.items() if v}
    floor = apply_floors(policy, inc.severity, inc.flags)
    if floor.floor is not None:
        old = inc.severity
        inc.severity = floor.severity
        _floor_entry(session, inc, now, old, floor.severity, floor.floor.id, floor.floor.reason)
        _render_channel(policy, inc, _commander(session, inc), now)


_IMPACT_FLAGS = ("customer_facing", "data_at_risk", "security_breach")


def set_impact(ctx: Context, incident_id: str, req: ImpactRequest) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(req.by)
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "change its impact")
        fields = req.model_dump(exclude_none=True, exclude={"by", *_IMPACT_FLAGS})
        if "description" in fields:
            fields["description"] = clean_text("description", fields["description"], limit=TEXT_LIMIT, multiline=True)
        if "services" in fields:
            fields["services"] = [clean_text("services", s, limit=200) for s in fields["services"]]
        given = {k: v for k in _IMPACT_FLAGS if (v := getattr(req, k)) is not None}
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
            _apply_flags(session, ctx.policy, inc, flags, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def assign_role(ctx: Context, incident_id: str, role: str, person: str, by: str) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        name = clean_text("person", person, limit=NAME_LIMIT)
        if role not in ctx.policy.roles:
            known = ", ".join(ctx.policy.roles)
            raise Invalid(f"unknown role '{role}'; this policy has {known}", field="role")
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "assign roles")
        _assign(session, ctx.policy, inc, role, name, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def _assign(session: Session, policy: Policy, inc: Incident, role: str, person: str, by: str, now: datetime) -> None:
    current = session.get(RoleAssignment, (inc.id, role))
    title = policy.roles[role].title
    if current is not None and current.person == person:
        raise Conflict(f"{person} already holds {title} on {inc.id}")
    if current is None:
        session.add(RoleAssignment(incident_id=inc.id, role=role, person=person, assigned_at=now, assigned_by=by))
        entry(session, inc, now, by, "role", f"{title}: {person}", data={"role": role, "person": person})
    else:
        previous = current.person
        current.person, current.assigned_at, current.assigned_by = person, now, by
        entry(
            session,
            inc,
            now,
            by,
            "role",
            f"{title} handed over from {previous} to {person}",
            data={"role": role, "person": person, "from": previous},
        )
    # Keep the ORM's version column moving so concurrent writers of the incident see the change.
    inc.updated_at = now
    if role == COMMANDER:
        session.flush()
        _render_channel(policy, inc, person, now)


def add_hypothesis(ctx: Context, incident_id: str, text: str, evidence: str, confidence: int, by: str) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        body = clean_text("text", text, limit=TEXT_LIMIT)
        proof = clean_text("evidence", evidence, limit=TEXT_LIMIT, required=False, multiline=True)
        if not 0 <= confidence <= 100:
            raise Invalid("confidence must be between 0 and 100", field="confidence")
        inc = _get(session, incident_id, lock=True)
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
        _implicit_ack(session, ctx.policy, inc, who, now)
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
        who = _actor(by)
        why = clean_text("note", note, limit=TEXT_LIMIT, required=False)
        if status not in ("open", "ruled_out", "confirmed"):
            raise Invalid("status must be open, ruled_out or confirmed", field="status")
        inc = _get(session, incident_id, lock=True)
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
            _implicit_ack(session, ctx.policy, inc, who, now)
            _move(session, inc, Status.IDENTIFIED, who, now, f"H{number} confirmed")
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def decide(ctx: Context, incident_id: str, path: str, reason: str, by: str) -> IncidentView:
    """The mitigate-vs-dig call; digging first adds the evidence-snapshot step to the checklist."""

    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        why = clean_text("reason", reason, limit=TEXT_LIMIT)
        if path not in ("mitigate_first", "dig_first"):
            raise Invalid("path must be mitigate_first or dig_first", field="path")
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "record a decision")
        checklist = []
        if path == "dig_first":
            checklist.append({"item": "Snapshot logs and evidence before restarting or rolling back", "done": False})
        inc.decision = {"path": path, "reason": why, "by": who, "at": now.isoformat(), "checklist": checklist}
        _implicit_ack(session, ctx.policy, inc, who, now)
        label = "Mitigate first" if path == "mitigate_first" else "Dig first"
        entry(session, inc, now, who, "decision", f"Decision: {label}", why, {"path": path})
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def mitigate(ctx: Context, incident_id: str, strategy: str, worked: bool, by: str, note: str = "") -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        text = clean_text("note", note, limit=TEXT_LIMIT, required=False)
        name = clean_text("strategy", strategy, limit=80)
        known = [s.name for s in ctx.policy.mitigation_strategies]
        if known and name not in known:
            raise Invalid(f"unknown strategy '{name}'; this policy lists {', '.join(known)}", field="strategy")
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "record a mitigation")
        _implicit_ack(session, ctx.policy, inc, who, now)
        session.add(Mitigation(incident_id=inc.id, strategy=name, worked=worked, note=text, by=who, at=now))
        if worked:
            entry(
                session,
                inc,
                now,
                who,
                "mitigation",
                f"Mitigation succeeded: {name}",
                text,
                {"strategy": name, "worked": True},
            )
            if inc.status != Status.MITIGATED.value:
                inc.mitigated_at = now
                inc.watch_started_at = now
                _move(session, inc, Status.MITIGATED, who, now, name)
        else:
            inc.mitigation_failures += 1
            entry(
                session,
                inc,
                now,
                who,
                "mitigation",
                f"Mitigation failed: {name}",
                text,
                {"strategy": name, "worked": False, "failures": inc.mitigation_failures},
            )
            if inc.status == Status.MITIGATED.value:
                inc.mitigated_at = None
                inc.watch_started_at = None
                _move(session, inc, Status.INVESTIGATING, who, now, f"{name} did not hold")
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def quiet_remaining(policy: Policy, inc: Incident, now: datetime) -> int:
    """Seconds left in the resolution watch (0 when it has passed or the severity has none)."""
    rule = policy.severity(inc.severity).resolution
    window = rule.quiet_window or rule.monitor
    if window is None:
        return 0
    started = inc.watch_started_at or now
    return max(0, int((started + window.as_timedelta() - now).total_seconds()))


def resolve(ctx: Context, incident_id: str, by: str, force: bool = False, reason: str = "") -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        why = clean_text("reason", reason, limit=TEXT_LIMIT, required=False)
        if force and not why:
            raise Invalid("a forced resolution needs a reason", field="reason")
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_transition(inc.id, Status(inc.status), Status.RESOLVED)
        left = quiet_remaining(ctx.policy, inc, now)
        if left and not force:
            rule = ctx.policy.severity(inc.severity).resolution
            window = rule.quiet_window or rule.monitor
            since = f"since {hhmm_utc(inc.watch_started_at)}" if inc.watch_started_at else "yet (not mitigated)"
            raise Conflict(
                f"{inc.id} needs {window} without new errors before it is resolved; quiet {since}, "
                f"{left // 60}m{left % 60:02d}s left (force with a reason to override)"
            )
        _implicit_ack(session, ctx.policy, inc, who, now)
        if inc.mitigated_at is None:
            inc.mitigated_at = now
        inc.resolved_at = now
        if force and left:
            inc.forced_resolution = why
        sev = ctx.policy.severity(inc.severity)
        pm = sev.postmortem
        if pm.due is not None and pm.need.value != "none":
            anchor = {"resolved": now, "mitigated": inc.mitigated_at, "declared": inc.declared_at}[pm.anchor]
            inc.postmortem_due_at = ctx.policy.business_calendar().deadline(anchor, pm.due)
        _move(session, inc, Status.RESOLVED, who, now, why if force else "")
        minutes = round((now - inc.declared_at).total_seconds() / 60)
        outcome = f"Duration {minutes} min"
        if inc.postmortem_due_at:
            outcome += f"; postmortem due {inc.postmortem_due_at.strftime('%Y-%m-%d %H:%M UTC')}"
        if force and left:
            outcome += f"; forced {left}s before the quiet window ended: {why}"
        entry(session, inc, now, who, "resolved", "Resolved", outcome, {"forced": bool(force and left)})
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def reopen(ctx: Context, incident_id: str, by: str, reason: str = "") -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        why = clean_text("reason", reason, limit=TEXT_LIMIT, required=False)
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_reopen(inc.id, Status(inc.status))
        inc.status = Status.INVESTIGATING.value
        inc.reopened_at = now
        inc.reopened_count += 1
        inc.mitigated_at = inc.resolved_at = inc.postmortem_due_at = inc.watch_started_at = None
        inc.forced_resolution = None
        entry(session, inc, now, who, "reopened", "Reopened; mitigate and resolve clocks restarted", why)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def close(ctx: Context, incident_id: str, by: str) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_transition(inc.id, Status(inc.status), Status.CLOSED)
        need = ctx.policy.severity(inc.severity).postmortem.need.value
        if need == "required":
            due = inc.postmortem_due_at.strftime("%Y-%m-%d %H:%M UTC") if inc.postmortem_due_at else "soon"
            raise Conflict(
                f"{inc.id} needs its postmortem (due {due}) before it can be closed; "
                "record it with `warroom postmortem INC --done`"
            )
        _close(session, inc, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def _close(session: Session, inc: Incident, who: str, now: datetime) -> None:
    inc.closed_at = now
    _move(session, inc, Status.CLOSED, who, now)


def complete_postmortem(ctx: Context, incident_id: str, by: str, link: str = "") -> IncidentView:
    """The postmortem is written and published: record where, and close the incident."""

    def apply(session: Session, now: datetime) -> IncidentView:
        who = _actor(by)
        where = clean_text("link", link, limit=2000, required=False)
        inc = _get(session, incident_id, lock=True)
        lifecycle.check_transition(inc.id, Status(inc.status), Status.CLOSED)
        late = inc.postmortem_due_at is not None and now > inc.postmortem_due_at
        outcome = where + (" (after its due time)" if late else "")
        entry(session, inc, now, who, "postmortem_done", "Postmortem published", outcome.strip(), {"link": where})
        _close(session, inc, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def _check_external(policy: Policy, inc: Incident) -> None:
    """Never post speculation externally: customers hear confirmed impact only, where the policy says so."""
    if policy.severity(inc.severity).status_page.post == "never":
        raise Conflict(f"the {policy.name} policy posts nothing externally for {inc.severity}")
    if not inc.flags.get("impact_confirmed"):
        raise Conflict(
            f"{inc.id} has no confirmed impact; external updates are refused until it is confirmed "
            "(set the impact_confirmed flag) — never post speculation externally"
        )


def post_update(ctx: Context, incident_id: str, audience: str, text: str, by: str, next_step: str = "") -> UpdateView:
    def apply(session: Session, now: datetime) -> UpdateView:
        who = _actor(by)
        body = clean_text("text", text, limit=TEXT_LIMIT, multiline=True)
        nxt = clean_text("next", next_step, limit=TEXT_LIMIT, required=False)
        if audience not in ("internal", "external", "executive"):
            raise Invalid("audience must be internal, external or executive", field="audience")
        inc = _get(session, incident_id, lock=True)
        if inc.status == Status.CLOSED.value:
            raise Conflict(f"{inc.id} is closed; its record is final")
        if audience == "external":
            _check_external(ctx.policy, inc)
        number = (
            session.scalar(
                select(func.max(Update.number)).where(Update.incident_id == inc.id, Update.audience == audience)
            )
            or 0
        ) + 1
        row = Update(incident_id=inc.id, audience=audience, number=number, text=body, next_step=nxt, by=who, at=now)
        session.add(row)
        entry(
            session,
            inc,
            now,
            who,
            "update",
            f"{audience.capitalize()} update #{number}: {body}",
            nxt,
            {"audience": audience, "number": number},
        )
        session.flush()
        return UpdateView.model_validate(row)

    return run(ctx, apply, incident_id)


def log(
    ctx: Context, incident_id: str, what: str, by: str, outcome: str = "", corrects: int | None = None
) -> TimelineView:
    def apply(session: Session, now: datetime) -> TimelineView:
        who = _actor(by)
        text = clean_text("what", what, limit=TEXT_LIMIT, multiline=True)
        result = clean_text("outcome", outcome, limit=TEXT_LIMIT, required=False, multiline=True)
        inc = _get(session, incident_id, lock=True)
        if corrects is not None:
            old = session.get(TimelineEntry, corrects)
            if old is None or old.incident_id != inc.id:
                raise Invalid(f"{inc.id} has no timeline entry {corrects} to correct", field="corrects")
        row = entry(session, inc, now, who, "correction" if corrects else "note", text, result, corrects=corrects)
        session.flush()
        return TimelineView.model_validate(row)

    return run(ctx, apply, incident_id)


# --- reads --------------------------------------------------------------------------------------


def get(ctx: Context, incident_id: str) -> IncidentView:
    with ctx.db.read() as session:
        return build_view(session, ctx.policy, _get(session, incident_id), ctx.clock.now())


def timeline(ctx: Context, incident_id: str) -> list[TimelineView]:
    with ctx.db.read() as session:
        inc = _get(session, incident_id)
        rows = session.scalars(
            select(TimelineEntry).where(TimelineEntry.incident_id == inc.id).order_by(TimelineEntry.id)
        )
        return [TimelineView.model_validate(r) for r in rows]


def search(
    ctx: Context,
    status: str = "open",
    severity: str | None = None,
    service: str | None = None,
    q: str | None = None,
    limit: int = 200,
) -> list[IncidentSummary]:
    with _errors(), ctx.db.read() as session:
        stmt = select(Incident)
        if status == "open":
            stmt = stmt.where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
        elif status != "all":
            try:
                stmt = stmt.where(Incident.status == Status(status).value)
            except ValueError:
                raise Invalid(
                    f"unknown status '{status}'; use open, all or one of {', '.join(s.value for s in Status)}",
                    field="status",
                ) from None
        if severity:
            stmt = stmt.where(Incident.severity == ctx.policy.severity(severity).name)
        if service:
            stmt = stmt.where(Incident.service == service)
        if q:
            needle = f"%{q.strip().lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(Incident.title).like(needle),
                    func.lower(Incident.summary).like(needle),
                    func.lower(Incident.id).like(needle),
                )
            )
        rows = list(session.scalars(stmt.order_by(Incident.declared_at).limit(max(1, min(limit, 1000)))))
        commanders = {
            r.incident_id: r.person
            for r in session.scalars(
                select(RoleAssignment).where(
                    RoleAssignment.role == COMMANDER, RoleAssignment.incident_id.in_([i.id for i in rows])
                )
            )
        }
        now = ctx.clock.now()
        out = []
        for inc in rows:
            nearest = sla.nearest_deadline(compute_clocks(ctx.policy, inc, now))
            out.append(
                IncidentSummary(
                    id=inc.id,
                    title=inc.title,
                    severity=inc.severity,
                    status=inc.status,
                    service=inc.service,
                    declared_at=inc.declared_at,
                    commander=commanders.get(inc.id),
                    next_deadline=_clock_view(nearest) if nearest else None,
                )
            )
        out.sort(key=lambda s: (_rank(ctx.policy, s.severity), s.declared_at))
        return out


def _rank(policy: Policy, severity: str) -> int:
    try:
        return policy.rank(severity)
    except UnknownSeverity:
        return len(policy.severities)


def brief(ctx: Context, incident_id: str) -> str:
    """The live working document (symptoms, surfaces, hypotheses, actions) rendered from the record."""
    with ctx.db.read() as session:
        inc = _get(session, incident_id)
        now = ctx.clock.now()
        context = template_context.full(session, ctx.policy, inc, now)
        source = ctx.policy.templates.working_doc or template_context.DEFAULT_WORKING_DOC
        return render(source, context)

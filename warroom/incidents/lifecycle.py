"""The lifecycle use cases and their clocks: declare, acknowledge, status, severity, flags, resolve, reopen, close."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from warroom.domain import lifecycle
from warroom.domain.clock import ensure_utc, hhmm_utc
from warroom.domain.errors import Conflict, Invalid
from warroom.domain.flags import KNOWN_FLAGS
from warroom.domain.inputs import check_time
from warroom.domain.lifecycle import OPEN_STATUSES, Status
from warroom.domain.text import clean_name, clean_text, slugify
from warroom.incidents.record import (
    COMMANDER,
    OPEN_VALUES,
    TEXT_LIMIT,
    TITLE_LIMIT,
    actor,
    check_flags,
    commander_of,
    entry,
    floor_entry,
    load,
    next_id,
    render_channel,
    responded,
)
from warroom.incidents.roles import assign
from warroom.incidents.schemas import (
    DeclareRequest,
    IncidentView,
)
from warroom.incidents.views import build_view
from warroom.policy.floors import apply_floors
from warroom.policy.model import Policy
from warroom.store.models import (
    Incident,
    RoleAssignment,
)
from warroom.store.unit import Context, run


def declare(ctx: Context, req: DeclareRequest) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        return build_view(session, ctx.policy, declare_in(session, ctx, req, now), now)

    return run(ctx, apply)


def declare_in(session: Session, ctx: Context, req: DeclareRequest, now: datetime, source: str = "manual") -> Incident:
    """Declare inside a caller's transaction (alert intake declares in the same commit as the alerts)."""
    title = clean_text("title", req.title, limit=TITLE_LIMIT)
    summary = clean_text("summary", req.summary, limit=TEXT_LIMIT, required=False, multiline=True)
    service = clean_name("service", req.service, limit=200) if req.service and req.service.strip() else None
    by = actor(req.by)
    check_flags(req.flags)
    sev = ctx.policy.severity(req.severity)
    detected = check_time("detected_at", ensure_utc(req.detected_at), now, future=False) if req.detected_at else now
    floor = apply_floors(ctx.policy, sev.name, req.flags)
    inc = Incident(
        id=next_id(session, ctx.policy, now),
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
    render_channel(ctx.policy, inc, None, now, session)  # before its INSERT, which then needs no UPDATE
    session.add(inc)
    session.flush()
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
        floor_entry(session, inc, now, sev.name, floor.severity, floor.floor.id, floor.floor.reason)
    return inc


def restart_watch(session: Session, inc: Incident, now: datetime, actor: str, why: str) -> None:
    """A new error signal during the resolution watch: the quiet window starts again from now."""
    if inc.status != Status.MITIGATED.value:
        return
    inc.watch_started_at = now
    entry(session, inc, now, actor, "watch_restarted", "Quiet window restarted", why)


def signals_cleared(session: Session, ctx: Context, inc: Incident, now: datetime, actor: str, why: str) -> None:
    """Every alert of the incident has resolved: treat it as mitigated and start the resolution watch.

    Nobody acknowledged it when it was still triggered: it is mitigated by its alerts, with no ack and no
    commander (MTTA must not count a bot); the `alerts_cleared` entry stops paging and marks it for reports.
    """
    if inc.status not in (s.value for s in OPEN_STATUSES) or inc.status == Status.MITIGATED.value:
        return
    if inc.status == Status.TRIGGERED.value and inc.acknowledged_at is None:
        inc.alerts_cleared_at = now
        minutes = round((now - inc.declared_at).total_seconds() / 60)
        entry(
            session,
            inc,
            now,
            actor,
            "alerts_cleared",
            f"Not acknowledged: its alerts resolved after {minutes}m; paging stopped",
            why,
            {"after_seconds": int((now - inc.declared_at).total_seconds())},
        )
    inc.mitigated_at = now
    inc.watch_started_at = now
    move(session, inc, Status.MITIGATED, actor, now, why)


def acknowledge(ctx: Context, incident_id: str, by: str) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = actor(by)
        inc = load(session, incident_id, lock=True)
        if inc.alerts_cleared_at is not None and inc.acknowledged_at is None and inc.status in OPEN_VALUES:
            # Its alerts mitigated it unacknowledged: a person may still take it (and become commander);
            # it stays where its alerts left it.
            status = inc.status
            ack_in(session, ctx.policy, inc, who, now)
            inc.status = status
            return build_view(session, ctx.policy, inc, now)
        lifecycle.check_ack(inc.id, Status(inc.status), inc.acknowledged_by)
        ack_in(session, ctx.policy, inc, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def ack_in(session: Session, policy: Policy, inc: Incident, who: str, now: datetime) -> None:
    inc.status = Status.ACKNOWLEDGED.value
    inc.acknowledged_at = now
    inc.acknowledged_by = who
    entry(session, inc, now, who, "acknowledged", "Acknowledged")
    if COMMANDER in policy.roles and session.get(RoleAssignment, (inc.id, COMMANDER)) is None:
        assign(session, policy, inc, COMMANDER, who, who, now)


def implicit_ack(session: Session, policy: Policy, inc: Incident, who: str, now: datetime) -> None:
    """Working on a triggered incident acknowledges it: nobody should be paged after that."""
    if inc.status == Status.TRIGGERED.value:
        ack_in(session, policy, inc, who, now)


def set_status(ctx: Context, incident_id: str, status: str, by: str, note: str = "") -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = actor(by)
        target = Status(status)
        if target not in (Status.INVESTIGATING, Status.IDENTIFIED):
            raise Invalid("status must be investigating or identified; use mitigate or resolve", field="status")
        text = clean_text("note", note, limit=TEXT_LIMIT, required=False)
        inc = load(session, incident_id, lock=True)
        lifecycle.check_transition(inc.id, Status(inc.status), target)
        implicit_ack(session, ctx.policy, inc, who, now)
        responded(inc, now)
        move(session, inc, target, who, now, text)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def move(session: Session, inc: Incident, target: Status, who: str, now: datetime, outcome: str = "") -> None:
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
        who = actor(by)
        why = clean_text("reason", reason, limit=TEXT_LIMIT, required=False)
        inc = load(session, incident_id, lock=True)
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
    render_channel(policy, inc, commander_of(session, inc), now, session)


def set_flags(ctx: Context, incident_id: str, flags: dict[str, bool], by: str) -> IncidentView:
    def apply(session: Session, now: datetime) -> IncidentView:
        who = actor(by)
        check_flags(flags)
        if not flags:
            raise Invalid("name at least one flag", field="flags")
        inc = load(session, incident_id, lock=True)
        lifecycle.check_open(inc.id, Status(inc.status), "change its flags")
        apply_flags(session, ctx.policy, inc, flags, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def apply_flags(
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
        floor_entry(session, inc, now, old, floor.severity, floor.floor.id, floor.floor.reason)
        render_channel(policy, inc, commander_of(session, inc), now, session)


IMPACT_FLAGS = ("customer_facing", "data_at_risk", "security_breach")


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
        who = actor(by)
        why = clean_text("reason", reason, limit=TEXT_LIMIT, required=False)
        if force and not why:
            raise Invalid("a forced resolution needs a reason", field="reason")
        inc = load(session, incident_id, lock=True)
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
        implicit_ack(session, ctx.policy, inc, who, now)
        responded(inc, now)
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
        move(session, inc, Status.RESOLVED, who, now, why if force else "")
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
        who = actor(by)
        why = clean_text("reason", reason, limit=TEXT_LIMIT, required=False)
        inc = load(session, incident_id, lock=True)
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
        who = actor(by)
        inc = load(session, incident_id, lock=True)
        lifecycle.check_transition(inc.id, Status(inc.status), Status.CLOSED)
        need = ctx.policy.severity(inc.severity).postmortem.need.value
        if need == "required":
            due = inc.postmortem_due_at.strftime("%Y-%m-%d %H:%M UTC") if inc.postmortem_due_at else "soon"
            raise Conflict(
                f"{inc.id} needs its postmortem (due {due}) before it can be closed; "
                "record it with `warroom postmortem INC --done`"
            )
        close_in(session, inc, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)


def close_in(session: Session, inc: Incident, who: str, now: datetime) -> None:
    inc.closed_at = now
    move(session, inc, Status.CLOSED, who, now)


def complete_postmortem(ctx: Context, incident_id: str, by: str, link: str = "") -> IncidentView:
    """The postmortem is written and published: record where, and close the incident."""

    def apply(session: Session, now: datetime) -> IncidentView:
        who = actor(by)
        where = clean_text("link", link, limit=2000, required=False)
        inc = load(session, incident_id, lock=True)
        lifecycle.check_transition(inc.id, Status(inc.status), Status.CLOSED)
        late = inc.postmortem_due_at is not None and now > inc.postmortem_due_at
        outcome = where + (" (after its due time)" if late else "")
        entry(session, inc, now, who, "postmortem_done", "Postmortem published", outcome.strip(), {"link": where})
        close_in(session, inc, who, now)
        return build_view(session, ctx.policy, inc, now)

    return run(ctx, apply, incident_id)

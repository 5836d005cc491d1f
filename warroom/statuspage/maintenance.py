"""Scheduled maintenance: shown ahead of time, in progress between its times, completed after.

A window's status follows the clock (`effective`), so the page is right at its start and end whatever
runs. The engine writes those steps down: scheduling a window plans two durable timers (`maintenance:CODE:
start` and `:end`, kind `maintenance`), which any engine (`warroom serve` or a lone `warroom worker`)
claims at their time and fires (`fire`): the step is recorded by warroom, and its start is told to the
subscribers. A window owns an alert silence for its components, so their alerts page nobody meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.domain import actors
from warroom.domain.clock import ensure_utc
from warroom.domain.errors import Invalid, NotFound
from warroom.domain.inputs import check_time
from warroom.domain.text import clean_text
from warroom.engine import timers
from warroom.engine.firing import Firing
from warroom.engine.planner import timers_planned
from warroom.incidents.record import actor
from warroom.intake.batch import forget_silences
from warroom.statuspage import subscribers, vocab
from warroom.statuspage.records import bump, leaf, new_code
from warroom.statuspage.schemas import MaintenanceRequest, MaintenanceStep, MaintenanceView
from warroom.statuspage.windows import effective
from warroom.store.engine_models import Timer
from warroom.store.intake_models import Silence
from warroom.store.status_models import StatusComponent, StatusMaintenance, StatusMaintenanceUpdate
from warroom.store.unit import Context, run

TIMER = "maintenance"
"""the engine's timer kind for a window's start and end (compose wires `fire` as its handler)"""


def _view(session: Session, m: StatusMaintenance, now: datetime) -> MaintenanceView:
    ups = session.scalars(
        select(StatusMaintenanceUpdate)
        .where(StatusMaintenanceUpdate.maintenance_id == m.id)
        .order_by(StatusMaintenanceUpdate.id)
    )
    return MaintenanceView(
        code=m.code,
        name=m.name,
        status=effective(m, now),
        scheduled_for=m.scheduled_for,
        scheduled_until=m.scheduled_until,
        components=list(m.components),
        silence_id=m.silence_id,
        updates=[{"status": u.status, "body": u.body, "at": u.at, "by": u.by} for u in ups],
    )


def schedule(ctx: Context, req: MaintenanceRequest) -> MaintenanceView:
    def apply(session: Session, now: datetime) -> MaintenanceView:
        who = actor(req.by)
        name = clean_text("name", req.name, limit=300)
        text = clean_text("text", req.text, limit=10_000, required=False, multiline=True)
        start = ensure_utc(req.scheduled_for)
        end = ensure_utc(req.scheduled_until)
        check_time("scheduled_for", start, now)
        check_time("scheduled_until", end, now)
        if end <= start:
            raise Invalid("scheduled_until must be after scheduled_for", field="scheduled_until")
        if end <= now:
            raise Invalid("that window would already be over", field="scheduled_until")
        if end - start > timedelta(days=30):
            raise Invalid("a maintenance window lasts 30 days at most", field="scheduled_until")
        comps: list[StatusComponent] = [leaf(session, ref, f"components.{i}") for i, ref in enumerate(req.components)]
        silence_id = None
        if comps:
            names = "|".join(sorted({_regex(c.name) for c in comps}))
            silence = Silence(
                matchers=[{"name": "service", "op": "=~", "value": names}],
                starts_at=start,
                ends_at=end,
                created_by=who,
                comment=f"maintenance: {name}",
                created_at=now,
            )
            session.add(silence)
            session.flush()
            silence_id = silence.id
        m = StatusMaintenance(
            code=new_code(),
            name=name,
            status="scheduled",
            components=[c.code for c in comps],
            scheduled_for=start,
            scheduled_until=end,
            created_by=who,
            created_at=now,
            updated_at=now,
            silence_id=silence_id,
        )
        session.add(m)
        session.flush()
        session.add(
            StatusMaintenanceUpdate(
                code=new_code(),
                maintenance_id=m.id,
                status="scheduled",
                body=text or f"{name} is scheduled.",
                at=now,
                by=who,
            )
        )
        plans = [
            timers.Plan(_key(m.code, "start"), TIMER, start, {"code": m.code}),
            timers.Plan(_key(m.code, "end"), TIMER, end, {"code": m.code}),
        ]
        timers.schedule(session, None, plans, now)
        timers_planned.raise_after_commit(session)  # this process's engine wakes for a window starting now
        bump(session, now)
        return _view(session, m, now)

    try:
        return run(ctx, apply)
    finally:
        forget_silences()


def _key(code: str, edge: str) -> str:
    return f"maintenance:{code}:{edge}"


def _regex(name: str) -> str:
    return "".join("\\" + ch if ch in ".^$*+?{}[]\\|()" else ch for ch in name)


def _find(session: Session, code: str) -> StatusMaintenance:
    m = session.scalar(select(StatusMaintenance).where(StatusMaintenance.code == code.strip()).with_for_update())
    if m is None:
        raise NotFound(f"no maintenance window '{code}'", field="code")
    return m


def _step(session: Session, m: StatusMaintenance, new: str, text: str, now: datetime, by: str) -> None:
    m.status = new
    m.updated_at = now
    if new == "in_progress" and m.started_at is None:
        m.started_at = now
    if new == "completed":
        m.completed_at = now
        if m.silence_id is not None:
            silence = session.get(Silence, m.silence_id)
            if silence is not None and silence.ends_at > now:
                silence.ends_at = max(now, silence.starts_at)
        live = session.scalars(
            select(Timer.id).where(
                Timer.key.in_([_key(m.code, "start"), _key(m.code, "end")]), Timer.state.in_(timers.LIVE)
            )
        ).all()
        timers.cancel_ids(session, list(live), now, f"maintenance {m.code} completed")
    default = {
        "in_progress": "The maintenance is in progress.",
        "verifying": "The maintenance is done; we are verifying the results.",
        "completed": "The maintenance is complete.",
    }
    body = text or default.get(new, "")
    session.add(StatusMaintenanceUpdate(code=new_code(), maintenance_id=m.id, status=new, body=body, at=now, by=by))
    bump(session, now)
    if new == "in_progress":
        session.flush()
        subscribers.tell(
            session,
            f"maintenance:{m.code}:start",
            f"Maintenance started: {m.name}",
            body,
            f"/incidents/{m.code}",
            list(m.components),
            now,
            story=m.code,
        )


def advance(ctx: Context, code: str, req: MaintenanceStep) -> MaintenanceView:
    """Move a window by hand: start it early, verify, complete it (early), or cancel a scheduled one."""

    def apply(session: Session, now: datetime) -> MaintenanceView:
        who = actor(req.by)
        m = _find(session, code)
        text = clean_text("text", req.text, limit=10_000, required=False, multiline=True)
        new = vocab.maintenance_step(effective(m, now), req.status)
        _catch_up(session, m, now)
        _step(session, m, new, text, now, who)
        return _view(session, m, now)

    try:
        return run(ctx, apply)
    finally:
        forget_silences()


def _catch_up(session: Session, m: StatusMaintenance, now: datetime) -> bool:
    """Write down the steps the clock took for this window (warroom took them); True if there were any."""
    due = effective(m, now)
    if due == m.status:
        return False
    if due == "completed" and m.status == "scheduled":
        _step(session, m, "in_progress", "", m.scheduled_for, actors.SYSTEM)
    at = now if due != "in_progress" else max(m.scheduled_for, m.created_at)
    _step(session, m, due, "", at, actors.SYSTEM)
    return True


def fire(fx: Firing, t: Timer, inc: object) -> str:
    """The engine's handler of a window's start or end timer: the steps its time calls for, by warroom."""
    code = str(t.payload.get("code", ""))
    m = fx.session.scalar(select(StatusMaintenance).where(StatusMaintenance.code == code).with_for_update())
    if m is None:
        return f"skipped: no maintenance window {code}"
    before = m.status
    if not _catch_up(fx.session, m, fx.now):
        return f"maintenance {code} is {m.status}: nothing to do"
    return f"maintenance {code}: {before} → {m.status}"


def advance_due(ctx: Context) -> int:
    """Record every window the clock started or completed (as the engine's timers do); how many moved."""

    def apply(session: Session, now: datetime) -> int:
        rows = session.scalars(
            select(StatusMaintenance)
            .where(StatusMaintenance.status != "completed", StatusMaintenance.scheduled_for <= now)
            .with_for_update()
        ).all()
        return sum(_catch_up(session, m, now) for m in rows)

    return run(ctx, apply)


def list_maintenance(ctx: Context) -> list[MaintenanceView]:
    now = ctx.clock.now()
    with ctx.db.read() as session:
        rows = session.scalars(select(StatusMaintenance).order_by(StatusMaintenance.scheduled_for.desc()).limit(200))
        return [_view(session, m, now) for m in rows]

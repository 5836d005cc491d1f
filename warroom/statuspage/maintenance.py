"""Scheduled maintenance: shown ahead of time, in progress between its times, completed after.

A window's status follows the clock (`effective`), so the page is right at its start and end whatever
runs; `advance_due` writes those steps down (the serving process's cache calls it when a window's time
comes). A window owns an alert silence for its components, so their alerts page nobody meanwhile.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.domain.clock import ensure_utc
from warroom.domain.errors import Invalid, NotFound
from warroom.domain.inputs import check_time
from warroom.domain.text import clean_text
from warroom.incidents.record import actor
from warroom.intake.batch import forget_silences
from warroom.statuspage import subscribers, vocab
from warroom.statuspage.records import bump, leaf, new_code
from warroom.statuspage.schemas import MaintenanceRequest, MaintenanceStep, MaintenanceView
from warroom.store.intake_models import Silence
from warroom.store.status_models import StatusComponent, StatusMaintenance, StatusMaintenanceUpdate
from warroom.store.unit import Context, run


def effective(m: StatusMaintenance, now: datetime) -> str:
    """The status the clock gives a window that nobody moved by hand."""
    if m.status == "completed":
        return "completed"
    if now >= m.scheduled_until:
        return "completed"
    if m.status == "scheduled" and now >= m.scheduled_for:
        return "in_progress"
    return m.status


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
        updates=[{"status": u.status, "body": u.body, "at": u.at} for u in ups],
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
                code=new_code(), maintenance_id=m.id, status="scheduled", body=text or f"{name} is scheduled.", at=now
            )
        )
        bump(session, now)
        return _view(session, m, now)

    try:
        return run(ctx, apply)
    finally:
        forget_silences()


def _regex(name: str) -> str:
    return "".join("\\" + ch if ch in ".^$*+?{}[]\\|()" else ch for ch in name)


def _find(session: Session, code: str) -> StatusMaintenance:
    m = session.scalar(select(StatusMaintenance).where(StatusMaintenance.code == code.strip()).with_for_update())
    if m is None:
        raise NotFound(f"no maintenance window '{code}'", field="code")
    return m


def _step(session: Session, m: StatusMaintenance, new: str, text: str, now: datetime) -> None:
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
    default = {
        "in_progress": "The maintenance is in progress.",
        "verifying": "The maintenance is done; we are verifying the results.",
        "completed": "The maintenance is complete.",
    }
    body = text or default.get(new, "")
    session.add(StatusMaintenanceUpdate(code=new_code(), maintenance_id=m.id, status=new, body=body, at=now))
    bump(session, now)
    if new == "in_progress":
        subscribers.tell(
            session,
            f"maintenance:{m.code}:start",
            f"Maintenance started: {m.name}",
            body,
            f"/incidents/{m.code}",
            list(m.components),
            now,
        )


def advance(ctx: Context, code: str, req: MaintenanceStep) -> MaintenanceView:
    """Move a window by hand: start it early, verify, complete it (early), or cancel a scheduled one."""

    def apply(session: Session, now: datetime) -> MaintenanceView:
        actor(req.by)
        m = _find(session, code)
        text = clean_text("text", req.text, limit=10_000, required=False, multiline=True)
        new = vocab.maintenance_step(effective(m, now), req.status)
        _catch_up(session, m, now)
        _step(session, m, new, text, now)
        return _view(session, m, now)

    try:
        return run(ctx, apply)
    finally:
        forget_silences()


def _catch_up(session: Session, m: StatusMaintenance, now: datetime) -> bool:
    """Write down the steps the clock took for this window; True if there were any."""
    due = effective(m, now)
    if due == m.status:
        return False
    if due == "completed" and m.status == "scheduled":
        _step(session, m, "in_progress", "", m.scheduled_for)
    _step(session, m, due, "", now if due != "in_progress" else max(m.scheduled_for, m.created_at))
    return True


def advance_due(ctx: Context) -> int:
    """Record every window the clock started or completed; returns how many moved."""

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


def next_boundary(rows: list[StatusMaintenance], now: datetime) -> datetime | None:
    """When the clock next moves one of these windows (the cache is rebuilt then)."""
    times = [t for m in rows if m.status != "completed" for t in (m.scheduled_for, m.scheduled_until) if t > now]
    return min(times, default=None)

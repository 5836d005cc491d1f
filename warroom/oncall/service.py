"""On-call use cases: define rotations, add overrides, ask who is on call. CLI and API call these."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from warroom.domain.clock import ensure_utc
from warroom.domain.durations import format_seconds
from warroom.domain.errors import Invalid, NotFound
from warroom.domain.text import TextError, clean_name, clean_text
from warroom.oncall import rotation
from warroom.oncall.rotation import Layer, OnCall, Override, Rota, RotationError
from warroom.oncall.schemas import (
    LayerRequest,
    LayerView,
    OnCallView,
    OverrideRequest,
    OverrideView,
    PagingView,
    ScheduleView,
    ShiftView,
)
from warroom.policy.model import Policy
from warroom.store.engine_models import Schedule, ScheduleLayer, ScheduleOverride
from warroom.store.unit import Context

NAME_LIMIT = 120
KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except RotationError as exc:
        raise Invalid(str(exc)) from None
    except TextError as exc:
        raise Invalid(str(exc), field=exc.field) from None


def _name(name: str) -> str:
    value = name.strip().lower()
    if not rotation_name_ok(value):
        raise Invalid(f"schedule name '{name}' must be kebab-case, such as primary-on-call", field="name")
    return value


def rotation_name_ok(value: str) -> bool:
    return bool(KEBAB.fullmatch(value)) and len(value) <= 80


# --- reading the rota from the store ------------------------------------------------------------


def load_rota(session: Session, name: str) -> Rota | None:
    sched = session.get(Schedule, name)
    if sched is None:
        return None
    layers = session.scalars(select(ScheduleLayer).where(ScheduleLayer.schedule == name))
    overrides = session.scalars(select(ScheduleOverride).where(ScheduleOverride.schedule == name))
    return Rota(
        name=name,
        timezone=sched.timezone,
        layers=tuple(_layer(la) for la in layers),
        overrides=tuple(Override(o.person, o.starts_at, o.ends_at, o.id) for o in overrides),
    )


def _layer(row: ScheduleLayer) -> Layer:
    return Layer(
        position=row.position,
        members=tuple(row.members),
        length_seconds=row.length_seconds,
        handoff=rotation.parse_clock(row.handoff),
        start_date=date.fromisoformat(row.start_date),
        days=frozenset(row.days) if row.days is not None else None,
        hours=rotation.parse_hours(row.hours),
    )


def on_call_in(session: Session, name: str, at: datetime) -> OnCall | None:
    """Who is on the named schedule at `at`, inside the caller's transaction; None if no such schedule."""
    rota = load_rota(session, name)
    return None if rota is None else rotation.who(rota, at)


# --- views --------------------------------------------------------------------------------------


def _length_text(row: ScheduleLayer) -> str:
    return row.length if row.length in ("daily", "weekly") else format_seconds(row.length_seconds)


def _view(session: Session, sched: Schedule, now: datetime, days: int = 0) -> ScheduleView:
    layers = session.scalars(
        select(ScheduleLayer).where(ScheduleLayer.schedule == sched.name).order_by(ScheduleLayer.position)
    )
    overrides = session.scalars(
        select(ScheduleOverride)
        .where(ScheduleOverride.schedule == sched.name, ScheduleOverride.ends_at > now)
        .order_by(ScheduleOverride.starts_at)
    )
    rota = load_rota(session, sched.name)
    assert rota is not None
    current = rotation.who(rota, now)
    shifts = rotation.shifts(rota, now, now + timedelta(days=days)) if days > 0 else []
    return ScheduleView(
        name=sched.name,
        description=sched.description,
        timezone=sched.timezone,
        layers=[
            LayerView(
                position=la.position,
                members=list(la.members),
                length=_length_text(la),
                handoff=la.handoff,
                start_date=la.start_date,
                days=rotation.format_days(frozenset(la.days)) if la.days is not None else None,
                hours=la.hours,
            )
            for la in layers
        ],
        overrides=[OverrideView.model_validate(o) for o in overrides],
        on_call=_on_call_view(current),
        shifts=[ShiftView(person=s.person, source=s.source, start=s.start, end=s.end) for s in shifts],
    )


def _on_call_view(o: OnCall) -> OnCallView:
    return OnCallView(schedule=o.schedule, person=o.person, source=o.source, until=o.until)


# --- use cases ----------------------------------------------------------------------------------


def set_layer(ctx: Context, name: str, req: LayerRequest, position: int = 1) -> ScheduleView:
    """Create the schedule if new and set (replace) one of its layers."""
    with _errors(), ctx.db.unit() as session:
        key = _name(name)
        if not 1 <= position <= 20:
            raise Invalid("layer must be between 1 and 20", field="layer")
        members = [clean_name("members", m, limit=NAME_LIMIT) for m in req.members]
        if not members:
            raise Invalid("a rotation needs at least one member", field="members")
        length, seconds = rotation.parse_length(req.length)
        handoff = rotation.parse_clock(req.handoff)
        days = rotation.parse_days(req.days)
        hours = rotation.parse_hours(req.hours)
        now = ctx.clock.now()
        sched = session.get(Schedule, key)
        zone = rotation.check_zone(req.timezone) if req.timezone else (sched.timezone if sched else "UTC")
        start = req.start or ensure_utc(now).astimezone(rotation.Rota(key, zone).zone).date()
        if sched is None:
            sched = Schedule(name=key, description="", timezone=zone, created_at=now, updated_at=now)
            session.add(sched)
        sched.timezone = zone
        sched.updated_at = now
        if req.description is not None:
            sched.description = clean_text("description", req.description, limit=2000, required=False)
        session.flush()
        row = session.scalars(
            select(ScheduleLayer).where(ScheduleLayer.schedule == key, ScheduleLayer.position == position)
        ).first()
        if row is None:
            row = ScheduleLayer(schedule=key, position=position)
            session.add(row)
        row.members = members
        row.length = length
        row.length_seconds = seconds
        row.handoff = handoff.strftime("%H:%M")
        row.start_date = start.isoformat()
        row.days = sorted(days) if days is not None else None
        row.hours = f"{hours[0]:%H:%M}-{hours[1]:%H:%M}" if hours else None
        row.updated_at = now
        session.flush()
        return _view(session, sched, now)


def add_override(ctx: Context, name: str, req: OverrideRequest) -> OverrideView:
    with _errors(), ctx.db.unit() as session:
        key = _name(name)
        if session.get(Schedule, key) is None:
            raise NotFound(f"no schedule named '{key}'; create it with `warroom oncall set {key}`", field="name")
        person = clean_name("person", req.person, limit=NAME_LIMIT)
        by = clean_name("by", req.by, limit=NAME_LIMIT)
        reason = clean_text("reason", req.reason, limit=2000, required=False)
        try:
            start, end = ensure_utc(req.starts_at), ensure_utc(req.ends_at)
        except ValueError as exc:
            raise Invalid(str(exc), field="starts_at") from None
        if end <= start:
            raise Invalid("an override must end after it starts", field="ends_at")
        now = ctx.clock.now()
        row = ScheduleOverride(
            schedule=key, person=person, starts_at=start, ends_at=end, reason=reason, created_by=by, created_at=now
        )
        session.add(row)
        session.flush()
        return OverrideView.model_validate(row)


def remove(ctx: Context, name: str, position: int | None = None) -> None:
    """Drop a whole schedule, or one layer of it."""
    with ctx.db.unit() as session:
        key = _name(name)
        sched = session.get(Schedule, key)
        if sched is None:
            raise NotFound(f"no schedule named '{key}'", field="name")
        if position is None:
            session.execute(delete(ScheduleOverride).where(ScheduleOverride.schedule == key))
            session.execute(delete(ScheduleLayer).where(ScheduleLayer.schedule == key))
            session.delete(sched)
            return
        row = session.scalars(
            select(ScheduleLayer).where(ScheduleLayer.schedule == key, ScheduleLayer.position == position)
        ).first()
        if row is None:
            raise NotFound(f"schedule '{key}' has no layer {position}", field="layer")
        session.delete(row)


def list_schedules(ctx: Context) -> list[ScheduleView]:
    with ctx.db.unit() as session:
        now = ctx.clock.now()
        return [_view(session, s, now) for s in session.scalars(select(Schedule).order_by(Schedule.name))]


def get_schedule(ctx: Context, name: str, days: int = 7, at: datetime | None = None) -> ScheduleView:
    with ctx.db.unit() as session:
        key = _name(name)
        sched = session.get(Schedule, key)
        if sched is None:
            raise NotFound(f"no schedule named '{key}'", field="name")
        return _view(session, sched, ensure_utc(at) if at else ctx.clock.now(), days=max(0, min(days, 90)))


def who_is_on_call(ctx: Context, at: datetime | None = None) -> list[OnCallView]:
    """Every schedule and who holds it at `at` (default now): primary, backup, and so on."""
    with _errors(), ctx.db.unit() as session:
        when = ensure_utc(at) if at else ctx.clock.now()
        users: dict[str, list[str]] = {}
        for target, spec in ctx.policy.targets.items():
            if spec.via == "schedule":
                users.setdefault(spec.ref or target, []).append(target)
        order = list(users)
        out = []
        for sched in session.scalars(select(Schedule)):
            rota = load_rota(session, sched.name)
            assert rota is not None
            view = _on_call_view(rotation.who(rota, when))
            view.targets = users.get(sched.name, [])
            out.append(view)
        out.sort(key=lambda v: (order.index(v.schedule) if v.schedule in order else len(order), v.schedule))
        return out


# --- is anyone paged? ---------------------------------------------------------------------------

SETUP_HINT = "run `warroom setup` to say who is on call and how to reach them"


def paged_schedules(policy: Policy) -> list[tuple[str, bool]]:
    """Every schedule the policy's paging tiers reach, in tier order, and whether a first tier uses it."""
    found: dict[str, bool] = {}
    for pol in policy.escalation_policies.values():
        for i, tier in enumerate(pol.tiers):
            for name in tier.targets:
                target = policy.targets.get(name)
                if target is not None and target.via == "schedule":
                    ref = target.ref or name
                    found[ref] = found.get(ref, False) or i == 0
    return list(found.items())


def paging_readiness(ctx: Context, at: datetime | None = None) -> PagingView:
    """Who the first page would reach now; a fresh install with no schedules says nobody, and how to fix it."""
    with _errors(), ctx.db.read() as session:
        when = ensure_utc(at) if at else ctx.clock.now()
        unstaffed: list[str] = []
        later: list[str] = []
        on_call: dict[str, str] = {}
        for name, first in paged_schedules(ctx.policy):
            who = on_call_in(session, name, when)
            if who is not None and who.person:
                on_call[name] = who.person
            else:
                (unstaffed if first else later).append(name)
    if unstaffed:
        message = f"nobody is on call for {', '.join(unstaffed)}"
    elif on_call:
        message = "pages go to " + ", ".join(f"{p} ({s})" for s, p in on_call.items())
    else:
        message = "this policy pages nobody"
    return PagingView(
        ok=not unstaffed,
        unstaffed=unstaffed,
        later=later,
        on_call=on_call,
        message=message,
        fix=SETUP_HINT if unstaffed else "",
    )

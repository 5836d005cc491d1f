"""Read-side use cases of the engine: timers, pages and an incident's phase, for the API and CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import select

from warroom.domain.errors import Invalid, NotFound
from warroom.domain.view import View
from warroom.engine import facts as facts_mod
from warroom.engine import phases
from warroom.engine.timers import LIVE
from warroom.store.engine_models import Page, Timer
from warroom.store.models import Incident
from warroom.store.unit import Context

STATES = ("pending", "claimed", "done", "cancelled", "failed")


class TimerView(View):
    id: int
    key: str
    kind: str
    incident_id: str | None
    due_at: datetime
    state: str
    attempts: int
    claimed_by: str | None
    finished_at: datetime | None
    outcome: str
    payload: dict[str, Any] = Field(default_factory=dict)


class PageView(View):
    id: int
    incident_id: str
    kind: str
    target: str
    person: str | None
    channel: str | None
    tier: int | None
    round: int
    methods: list[str]
    reason: str
    created_at: datetime
    delivery: str
    key: str


class PhaseView(View):
    name: str | None = Field(description="the current timed phase; null when every phase has exited")
    started_at: datetime | None
    ends_at: datetime | None
    overrun: bool
    exit: str


class EngineView(View):
    incident_id: str
    phase: PhaseView
    timers: list[TimerView]
    pages: list[PageView]


def timers(ctx: Context, incident: str | None = None, state: str = "live", limit: int = 100) -> list[TimerView]:
    with ctx.db.unit() as session:
        stmt = select(Timer)
        if incident:
            stmt = stmt.where(Timer.incident_id == incident.strip().upper())
        if state == "live":
            stmt = stmt.where(Timer.state.in_(LIVE))
        elif state != "all":
            if state not in STATES:
                raise Invalid(f"unknown state '{state}'; use live, all or one of {', '.join(STATES)}", field="state")
            stmt = stmt.where(Timer.state == state)
        rows = session.scalars(stmt.order_by(Timer.due_at, Timer.id).limit(max(1, min(limit, 1000))))
        return [TimerView.model_validate(r) for r in rows]


def pages(
    ctx: Context, incident: str | None = None, limit: int = 100, delivery: str | None = None, after: int = 0
) -> list[PageView]:
    """Newest first, or (with `after`) oldest first from an id: how a delivery worker walks the pages."""
    with ctx.db.unit() as session:
        stmt = select(Page)
        if incident:
            stmt = stmt.where(Page.incident_id == incident.strip().upper())
        if delivery:
            stmt = stmt.where(Page.delivery == delivery)
        stmt = stmt.where(Page.id > after).order_by(Page.id) if after else stmt.order_by(Page.id.desc())
        rows = session.scalars(stmt.limit(max(1, min(limit, 1000))))
        return [PageView.model_validate(r) for r in rows]


def incident_engine(ctx: Context, incident_id: str) -> EngineView:
    with ctx.db.unit() as session:
        inc = session.get(Incident, incident_id.strip().upper())
        if inc is None:
            raise NotFound(f"no incident {incident_id}", field="incident_id")
        now = ctx.clock.now()
        f = facts_mod.load(session, ctx.policy, inc, now)
        p = phases.current(f)
        live = session.scalars(
            select(Timer).where(Timer.incident_id == inc.id, Timer.state.in_(LIVE)).order_by(Timer.due_at)
        )
        paged = session.scalars(select(Page).where(Page.incident_id == inc.id).order_by(Page.id))
        return EngineView(
            incident_id=inc.id,
            phase=PhaseView(name=p.name, started_at=p.started_at, ends_at=p.ends_at, overrun=p.overrun, exit=p.exit),
            timers=[TimerView.model_validate(t) for t in live],
            pages=[PageView.model_validate(pg) for pg in paged],
        )

"""/api/v1/oncall, /api/v1/pages, /api/v1/engine and the engine's view of an incident."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from warroom.access.gate import Who
from warroom.api.deps import ctx
from warroom.api.guards import INT_MIN, When
from warroom.domain.cursor import MOST
from warroom.domain.inputs import INT_MAX
from warroom.engine import views
from warroom.engine.views import EngineView, PageView, TimerView
from warroom.oncall import service as oncall
from warroom.oncall.schemas import LayerRequest, OnCallView, OverrideRequest, OverrideView, ScheduleView
from warroom.store.unit import Context

router = APIRouter(prefix="/api/v1")
Ctx = Annotated[Context, Depends(ctx)]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such schedule or incident (problem+json)"},
    422: {"description": "Invalid input; `field` names it (problem+json)"},
}


@router.get("/oncall", response_model=list[OnCallView], tags=["on-call"])
def on_call(c: Ctx, at: Annotated[When, Query(description="default now")] = None) -> list[OnCallView]:
    """Who is on call on every schedule (primary, backup, ...), and until when."""
    return oncall.who_is_on_call(c, at)


@router.get("/oncall/schedules", response_model=list[ScheduleView], tags=["on-call"])
def schedules(c: Ctx) -> list[ScheduleView]:
    return oncall.list_schedules(c)


@router.get("/oncall/schedules/{name}", response_model=ScheduleView, responses=ERRORS, tags=["on-call"])
def schedule(
    name: str,
    c: Ctx,
    days: int = Query(7, ge=0, le=90, description="list shifts this many days ahead"),
    at: Annotated[When, Query(description="start of the listing (default now)")] = None,
) -> ScheduleView:
    """A schedule's layers, overrides and upcoming shifts."""
    return oncall.get_schedule(c, name, days, at)


@router.put("/oncall/schedules/{name}/layers/{layer}", response_model=ScheduleView, responses=ERRORS, tags=["on-call"])
def set_layer(name: str, layer: Annotated[int, Path(ge=INT_MIN, le=INT_MAX)], body: LayerRequest,
              c: Ctx) -> ScheduleView:  # fmt: skip
    """Create the schedule if new, and set one layer (a rotation). Higher layers win where active."""
    return oncall.set_layer(c, name, body, position=layer)


@router.delete("/oncall/schedules/{name}", status_code=204, responses=ERRORS, tags=["on-call"])
def remove(
    name: str, c: Ctx, layer: int | None = Query(None, ge=INT_MIN, le=INT_MAX, description="remove only this layer")
) -> Response:
    oncall.remove(c, name, layer)
    return Response(status_code=204)


@router.post(
    "/oncall/schedules/{name}/overrides",
    response_model=OverrideView,
    status_code=201,
    responses=ERRORS,
    tags=["on-call"],
)
def override(name: str, body: OverrideRequest, c: Ctx, who: Who) -> OverrideView:
    """A person covers the schedule for a window; the newest override wins where they overlap."""
    return oncall.add_override(c, name, body.model_copy(update={"by": who(body.by)}))


@router.get("/pages", response_model=list[PageView], tags=["engine"])
def pages(
    c: Ctx,
    incident: str | None = None,
    delivery: str | None = Query(None, description="pending, sent or failed"),
    after: int = Query(0, ge=0, le=INT_MAX, description="only pages with a larger id, oldest first"),
    limit: int = Query(100, ge=1, le=MOST),
) -> list[PageView]:
    """Pages recorded by the engine: the hand-off point to notification delivery."""
    return views.pages(c, incident=incident, limit=limit, delivery=delivery, after=after)


@router.get("/engine/timers", response_model=list[TimerView], responses=ERRORS, tags=["engine"])
def engine_timers(
    c: Ctx,
    incident: str | None = None,
    state: str = Query("live", description="live (pending or claimed), all, or one state"),
    limit: int = Query(100, ge=1, le=MOST),
) -> list[TimerView]:
    """Durable timers: what the engine will do, and when."""
    return views.timers(c, incident=incident, state=state, limit=limit)


@router.get("/engine/status", tags=["engine"])
def engine_status(request: Request) -> dict[str, Any]:
    """The in-process engine loop of this server (workers report through the timers they finish)."""
    loop = getattr(request.app.state, "engine", None)
    return loop.status() if loop is not None else {"running": False}


@router.get("/incidents/{incident_id}/engine", response_model=EngineView, responses=ERRORS, tags=["engine"])
def incident_engine(incident_id: str, c: Ctx) -> EngineView:
    """The incident's current phase, live timers (next page, reminders, deadlines) and pages so far."""
    return views.incident_engine(c, incident_id)

"""/api/v1/postmortems and /api/v1/action-items: thin calls into warroom.postmortems.service."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse, Response

from warroom.access.gate import Who
from warroom.api.deps import ctx
from warroom.api.guards import Id
from warroom.postmortems import service
from warroom.postmortems.schemas import (
    ActionItemChange,
    ActionItemRequest,
    ActionItemView,
    DiffView,
    PostmortemStatusRequest,
    PostmortemView,
    PublishRequest,
    SaveRequest,
    StartRequest,
)
from warroom.reports.service import timeline_svg
from warroom.store.unit import Context

router = APIRouter(tags=["postmortems"])
Ctx = Annotated[Context, Depends(ctx)]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such incident, postmortem, version or item (problem+json)"},
    409: {"description": "Not allowed in the postmortem's current state (problem+json)"},
    422: {"description": "Invalid input; `field` names it (problem+json)"},
}
PM = "/api/v1/postmortems/{incident_id}"
Version = Annotated[int, Query(ge=1, le=1_000_000)]


@router.get(PM, response_model=PostmortemView, responses=ERRORS)
def show(incident_id: str, c: Ctx, version: Annotated[int | None, Query(ge=1, le=1_000_000)] = None) -> PostmortemView:
    """The stored postmortem (latest version, or `version`), its action items and the blameless lint's warnings."""
    return service.get(c, incident_id, version)


@router.post(PM, status_code=201, response_model=PostmortemView, responses=ERRORS)
def start(incident_id: str, body: StartRequest, c: Ctx, who: Who) -> PostmortemView:
    """Start the record: version 1 is the draft the policy's template makes from the incident."""
    return service.start(c, incident_id, who(body.by))


@router.post(PM + "/versions", status_code=201, response_model=PostmortemView, responses=ERRORS)
def save(incident_id: str, body: SaveRequest, c: Ctx, who: Who) -> PostmortemView:
    """Save a new version; every earlier version stays."""
    return service.save(c, incident_id, body.text, who(body.by), body.note)


@router.get(PM + "/diff", response_model=DiffView, responses=ERRORS)
def diff(incident_id: str, c: Ctx, old: Version, new: Version) -> DiffView:
    """A unified diff between two versions."""
    return service.diff(c, incident_id, old, new)


@router.post(PM + "/status", response_model=PostmortemView, responses=ERRORS)
def status(incident_id: str, body: PostmortemStatusRequest, c: Ctx, who: Who) -> PostmortemView:
    """draft ⇄ in_review."""
    return service.set_status(c, incident_id, body.status, who(body.by))


@router.post(PM + "/publish", response_model=PostmortemView, responses=ERRORS)
def publish(incident_id: str, body: PublishRequest, c: Ctx, who: Who) -> PostmortemView:
    """Publish the version in review: refused (422, field action_items) while an item lacks an owner or a
    due date; closes the incident."""
    return service.publish(c, incident_id, who(body.by))


@router.get(
    PM + "/timeline.svg", response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}, **ERRORS}
)
def timeline(incident_id: str, c: Ctx) -> Response:
    """The incident's timeline as SVG: phases as bands, SLA deadlines as marks, pages and updates as ticks."""
    return Response(timeline_svg(c, incident_id), media_type="image/svg+xml")


@router.post(PM + "/action-items", status_code=201, response_model=ActionItemView, responses=ERRORS)
def add_item(incident_id: str, body: ActionItemRequest, c: Ctx, who: Who) -> ActionItemView:
    return service.add_action_item(c, incident_id, body.text, who(body.by), body.owner, body.due_at, body.link)


@router.get(
    "/api/v1/action-items",
    response_model=list[ActionItemView],
    responses={200: {"content": {"text/csv": {}}}, **ERRORS},
)
def list_items(
    c: Ctx,
    overdue: bool = False,
    owner: Annotated[str | None, Query(max_length=120)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    incident: Annotated[str | None, Query(max_length=40)] = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """Action items by due date; `overdue=true` keeps unfinished items past due; `format=csv` exports."""
    items = service.action_items(c, overdue=overdue, owner=owner, status=status, incident_id=incident)
    if format == "csv":
        return PlainTextResponse(
            service.to_csv(items),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="action-items.csv"'},
        )
    return items


@router.post("/api/v1/action-items/{item_id}", response_model=ActionItemView, responses=ERRORS)
def change_item(item_id: Id, body: ActionItemChange, c: Ctx, who: Who) -> ActionItemView:
    """Change an item's text, owner, due date, status (open, in_progress, done, wont_do) or tracker link."""
    return service.change_action_item(
        c,
        item_id,
        who(body.by),
        text=body.text,
        owner=body.owner,
        due_at=body.due_at,
        status=body.status,
        link=body.link,
    )

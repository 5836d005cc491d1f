"""/api/v1/incidents: one endpoint per use case, each a thin call into warroom.incidents.service."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import TypeAdapter

from warroom.access.gate import Who
from warroom.api.deps import ctx
from warroom.api.guards import Id
from warroom.api.paging import PAGED, Cursor, link_next
from warroom.domain.cursor import MOST
from warroom.incidents import drafts, service
from warroom.incidents.schemas import (
    ActorRequest,
    DecisionRequest,
    DeclareRequest,
    Draft,
    DraftPostRequest,
    FlagRequest,
    HypothesisRequest,
    HypothesisStatusRequest,
    ImpactRequest,
    IncidentSummary,
    IncidentView,
    LogRequest,
    MitigateRequest,
    PostmortemDoneRequest,
    ResolveRequest,
    RoleRequest,
    SeverityRequest,
    StatusRequest,
    TimelineView,
    UpdateRequest,
    UpdateView,
)
from warroom.store import memo
from warroom.store.unit import Context

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])
Ctx = Annotated[Context, Depends(ctx)]
SUMMARIES = TypeAdapter(list[IncidentSummary])
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such incident (problem+json)"},
    409: {"description": "Not allowed in the incident's current state (problem+json)"},
    422: {"description": "Invalid input; `field` names it (problem+json)"},
}


@router.post("", status_code=201, response_model=IncidentView, responses=ERRORS)
def declare(body: DeclareRequest, c: Ctx, who: Who) -> IncidentView:
    """Declare an incident; paging starts at once."""
    return service.declare(c, body.model_copy(update={"by": who(body.by)}))


@router.get("", response_model=list[IncidentSummary], responses=PAGED)
def list_incidents(
    c: Ctx,
    request: Request,
    status: str = Query("open", description="open, all, or one status"),
    severity: str | None = None,
    service_name: str | None = Query(None, alias="service"),
    q: str | None = Query(None, max_length=200),
    limit: int = Query(200, ge=1, le=MOST),
    cursor: Cursor = None,
) -> Response:
    """Incidents sorted by severity then age, each with its nearest SLA deadline; a `Link: <...>; rel="next"`
    header names the next page when there is one."""
    key = ("incidents", status, severity, service_name, q, limit, cursor)

    def read() -> tuple[bytes, str | None]:
        page = service.search_page(c, status, severity, service_name, q, limit, cursor)
        return SUMMARIES.dump_json(page.items), page.next

    body, following = memo.of(request.app.state).get(key, read)  # a crowd of readers shares one read
    answer = Response(body, media_type="application/json")
    link_next(request, answer, following)
    return answer


@router.get("/{incident_id}", response_model=IncidentView, responses=ERRORS)
def show(incident_id: str, c: Ctx) -> IncidentView:
    return service.get(c, incident_id)


@router.post("/{incident_id}/ack", response_model=IncidentView, responses=ERRORS)
def ack(incident_id: str, body: ActorRequest, c: Ctx, who: Who) -> IncidentView:
    """Acknowledge: stops the paging escalation. A second acknowledgement gets 409."""
    return service.acknowledge(c, incident_id, who(body.by))


@router.post("/{incident_id}/status", response_model=IncidentView, responses=ERRORS)
def status(incident_id: str, body: StatusRequest, c: Ctx, who: Who) -> IncidentView:
    return service.set_status(c, incident_id, body.status, who(body.by), body.note)


@router.post("/{incident_id}/severity", response_model=IncidentView, responses=ERRORS)
def severity(incident_id: str, body: SeverityRequest, c: Ctx, who: Who) -> IncidentView:
    return service.change_severity(c, incident_id, body.severity, who(body.by), body.reason)


@router.post("/{incident_id}/decision", response_model=IncidentView, responses=ERRORS)
def decision(incident_id: str, body: DecisionRequest, c: Ctx, who: Who) -> IncidentView:
    return service.decide(c, incident_id, body.path, body.reason, who(body.by))


@router.post("/{incident_id}/mitigations", response_model=IncidentView, responses=ERRORS)
def mitigate(incident_id: str, body: MitigateRequest, c: Ctx, who: Who) -> IncidentView:
    return service.mitigate(c, incident_id, body.strategy, body.worked, who(body.by), body.note)


@router.post("/{incident_id}/resolve", response_model=IncidentView, responses=ERRORS)
def resolve(incident_id: str, body: ResolveRequest, c: Ctx, who: Who) -> IncidentView:
    """Refused with the time left while the quiet window runs, unless forced with a reason."""
    return service.resolve(c, incident_id, who(body.by), body.force, body.reason)


@router.post("/{incident_id}/reopen", response_model=IncidentView, responses=ERRORS)
def reopen(incident_id: str, body: ResolveRequest, c: Ctx, who: Who) -> IncidentView:
    return service.reopen(c, incident_id, who(body.by), body.reason)


@router.post("/{incident_id}/close", response_model=IncidentView, responses=ERRORS)
def close(incident_id: str, body: ActorRequest, c: Ctx, who: Who) -> IncidentView:
    return service.close(c, incident_id, who(body.by))


@router.post("/{incident_id}/flags", response_model=IncidentView, responses=ERRORS)
def flags(incident_id: str, body: FlagRequest, c: Ctx, who: Who) -> IncidentView:
    """Set or clear flags; floor rules may raise the severity (recorded on the timeline)."""
    return service.set_flags(c, incident_id, body.flags, who(body.by))


@router.post("/{incident_id}/impact", response_model=IncidentView, responses=ERRORS)
def impact(incident_id: str, body: ImpactRequest, c: Ctx, who: Who) -> IncidentView:
    return service.set_impact(c, incident_id, body.model_copy(update={"by": who(body.by)}))


@router.put("/{incident_id}/roles/{role}", response_model=IncidentView, responses=ERRORS)
def role(incident_id: str, role: str, body: RoleRequest, c: Ctx, who: Who) -> IncidentView:
    """Assign or hand over a role."""
    return service.assign_role(c, incident_id, role, body.person, who(body.by))


@router.post("/{incident_id}/hypotheses", response_model=IncidentView, status_code=201, responses=ERRORS)
def hypothesis(incident_id: str, body: HypothesisRequest, c: Ctx, who: Who) -> IncidentView:
    return service.add_hypothesis(c, incident_id, body.text, body.evidence, body.confidence, who(body.by))


@router.post("/{incident_id}/hypotheses/{number}", response_model=IncidentView, responses=ERRORS)
def hypothesis_status(incident_id: str, number: Id, body: HypothesisStatusRequest, c: Ctx, who: Who) -> IncidentView:
    return service.set_hypothesis_status(c, incident_id, number, body.status, who(body.by), body.note)


@router.post("/{incident_id}/updates", response_model=UpdateView, status_code=201, responses=ERRORS)
def update(incident_id: str, body: UpdateRequest, c: Ctx, who: Who) -> UpdateView:
    return service.post_update(c, incident_id, body.audience, body.text, who(body.by), body.next)


@router.get("/{incident_id}/timeline", response_model=list[TimelineView], responses=ERRORS)
def timeline(
    incident_id: str,
    c: Ctx,
    request: Request,
    response: Response,
    limit: int = Query(MOST, ge=1, le=MOST),
    cursor: Cursor = None,
) -> list[TimelineView]:
    """Oldest first; past `limit` entries, `Link: <...>; rel="next"` names the next page."""
    page = service.timeline_page(c, incident_id, limit, cursor)
    link_next(request, response, page.next)
    return page.items


@router.post("/{incident_id}/timeline", response_model=TimelineView, status_code=201, responses=ERRORS)
def log(incident_id: str, body: LogRequest, c: Ctx, who: Who) -> TimelineView:
    """Append a free entry; `corrects` points at an earlier entry this one corrects."""
    return service.log(c, incident_id, body.what, who(body.by), body.outcome, body.corrects)


@router.get("/{incident_id}/brief", response_class=PlainTextResponse, responses=ERRORS)
def brief(incident_id: str, c: Ctx) -> str:
    """The live working document rendered from the record (Markdown)."""
    return service.brief(c, incident_id)


@router.get("/{incident_id}/drafts/{kind}", response_model=Draft, responses=ERRORS)
def draft(incident_id: str, kind: str, c: Ctx, who: Who, by: str = "", text: str = "", next: str = "") -> Draft:
    """Render a message from the policy's template (ack, status_investigating, customer_email, ...)."""
    return drafts.draft(c, incident_id, kind, who(by), text, next)


@router.post("/{incident_id}/drafts/{kind}", response_model=UpdateView, status_code=201, responses=ERRORS)
def post_draft(incident_id: str, kind: str, body: DraftPostRequest, c: Ctx, who: Who) -> UpdateView:
    """Post a draft as rendered, or as edited (`final`); it is recorded as an update for its audience."""
    return drafts.post(c, incident_id, kind, who(body.by), body.text, body.next, body.final)


@router.get("/{incident_id}/postmortem", response_class=PlainTextResponse, responses=ERRORS)
def postmortem(incident_id: str, c: Ctx, who: Who, by: str = "") -> str:
    """The blameless postmortem drafted from the record (Markdown), from the policy's template."""
    return drafts.draft(c, incident_id, "postmortem", who(by)).text


@router.post("/{incident_id}/postmortem", response_model=IncidentView, responses=ERRORS)
def postmortem_done(incident_id: str, body: PostmortemDoneRequest, c: Ctx, who: Who) -> IncidentView:
    """The postmortem is published: record its link and close the incident."""
    return service.complete_postmortem(c, incident_id, who(body.by), body.link)

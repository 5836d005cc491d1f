"""/api/v1/notifications (the outbox and its delivery log), /api/v1/contacts, and the customer e-mail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from warroom.access.gate import Who
from warroom.api.deps import ctx
from warroom.api.guards import Id
from warroom.api.paging import Cursor, link_next
from warroom.domain.cursor import MOST
from warroom.domain.cursor import newest_first as by_id
from warroom.domain.view import WHO
from warroom.notify import contacts, customer, views
from warroom.notify.contacts import (
    ChannelRequest,
    ChannelView,
    ContactsView,
    MethodRequest,
    PersonRequest,
    PersonView,
    RuleRequest,
)
from warroom.notify.views import NotificationView
from warroom.store.unit import Context

router = APIRouter(prefix="/api/v1")
Ctx = Annotated[Context, Depends(ctx)]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such notification, person, channel or incident (problem+json)"},
    409: {"description": "Not allowed in this state; `detail` says why (problem+json)"},
    422: {"description": "Invalid input; `field` names it (problem+json)"},
}


class RetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str = Field("", description=WHO)


class CustomerEmailRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"by": "carol"}, {"by": "carol", "text": "Hi there, …"}]}
    )
    by: str = Field("", description=WHO)
    text: str | None = Field(None, description="the e-mail as a human edited it; default: the policy's draft")
    subject: str | None = None


# --- notifications ------------------------------------------------------------------------------


@router.get("/notifications", response_model=list[NotificationView], responses=ERRORS, tags=["notifications"])
def list_notifications(
    c: Ctx,
    request: Request,
    response: Response,
    state: str | None = Query(
        None,
        description="pending, sending, sent, failed, dead, unknown, coalesced (comma-separated); "
        "`failed` alone means failed+dead+unknown",
    ),
    incident: str | None = None,
    log: bool = Query(False, description="include every attempt"),
    limit: int = Query(100, ge=1, le=MOST),
    cursor: Cursor = None,
) -> list[NotificationView]:
    """Every notification with its state and timestamps, newest first; `Link: <...>; rel="next"` names the
    next (older) page when there is one."""
    rows, following = by_id(
        "notifications",
        lambda n, before: views.list_notifications(c, state, incident, n, log, before),
        limit,
        cursor,
        lambda v: v.id,
    )
    link_next(request, response, following)
    return rows


@router.get(
    "/notifications/{notification_id}", response_model=NotificationView, responses=ERRORS, tags=["notifications"]
)
def get_notification(notification_id: Id, c: Ctx) -> NotificationView:
    """One notification and its delivery log (every attempt, its outcome and error)."""
    return views.get_notification(c, notification_id)


@router.post(
    "/notifications/{notification_id}/retry",
    response_model=NotificationView,
    responses=ERRORS,
    tags=["notifications"],
)
def retry(notification_id: Id, c: Ctx, who: Who, body: RetryRequest | None = Body(None)) -> NotificationView:
    """Send a dead, failed or unknown notification again now, with a fresh set of attempts."""
    return views.retry(c, notification_id, who((body or RetryRequest()).by))


@router.post(
    "/incidents/{incident_id}/customer-email",
    response_model=NotificationView,
    status_code=202,
    responses=ERRORS,
    tags=["notifications"],
)
def customer_email(incident_id: str, body: CustomerEmailRequest, c: Ctx, who: Who) -> NotificationView:
    """Queue the customer e-mail (the policy's draft or a human's edit); needs confirmed impact."""
    nid = customer.send(c, incident_id, who(body.by), body.text, body.subject)
    return views.get_notification(c, nid)


# --- contacts -----------------------------------------------------------------------------------


@router.get("/contacts", response_model=ContactsView, tags=["contacts"])
def list_contacts(c: Ctx) -> ContactsView:
    """People (methods, rules) and channel destinations; URLs with secrets masked."""
    return contacts.list_contacts(c)


@router.put("/contacts/people/{name}", response_model=PersonView, responses=ERRORS, tags=["contacts"])
def put_person(name: str, body: PersonRequest, c: Ctx) -> PersonView:
    return contacts.put_person(c, name, body)


@router.get("/contacts/people/{name}", response_model=PersonView, responses=ERRORS, tags=["contacts"])
def get_person(name: str, c: Ctx) -> PersonView:
    return contacts.get_person(c, name)


@router.delete("/contacts/people/{name}", status_code=204, responses=ERRORS, tags=["contacts"])
def remove_person(name: str, c: Ctx) -> Response:
    contacts.remove_person(c, name)
    return Response(status_code=204)


@router.put("/contacts/people/{name}/methods/{method}", response_model=PersonView, responses=ERRORS, tags=["contacts"])
def put_method(name: str, method: str, body: MethodRequest, c: Ctx) -> PersonView:
    """How to reach this person by page, push, sms, email, phone or chat: an Apprise URL."""
    return contacts.put_method(c, name, method, body)


@router.delete(
    "/contacts/people/{name}/methods/{method}", response_model=PersonView, responses=ERRORS, tags=["contacts"]
)
def remove_method(name: str, method: str, c: Ctx) -> PersonView:
    return contacts.remove_method(c, name, method)


@router.put("/contacts/people/{name}/rules", response_model=PersonView, responses=ERRORS, tags=["contacts"])
def set_rules(name: str, body: list[RuleRequest], c: Ctx) -> PersonView:
    """Replace the person's rules; the first rule matching the severity applies."""
    return contacts.set_rules(c, name, body)


@router.put("/contacts/channels/{name}", response_model=ChannelView, responses=ERRORS, tags=["contacts"])
def put_channel(name: str, body: ChannelRequest, c: Ctx) -> ChannelView:
    """A named destination (#incidents, war-room, status-page, customer-email, ...); `#` is sent as %23."""
    return contacts.put_channel(c, name, body)


@router.delete("/contacts/channels/{name}", status_code=204, responses=ERRORS, tags=["contacts"])
def remove_channel(name: str, c: Ctx) -> Response:
    contacts.remove_channel(c, name)
    return Response(status_code=204)

"""The responders' screens for the public status page: components, posts, maintenance and subscribers.

Each is a GET page plus forms that call the same service functions as the API and `warroom statuspage`,
with post/redirect/get: a done action goes back to its page, a refused one too, with the reason and what
was typed kept (web/routes.py). Viewers read the first two; subscribers' addresses are for responders.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from warroom.domain.errors import Invalid, ServiceError
from warroom.incidents import service as incidents
from warroom.statuspage import admin, components, maintenance, posts, subscribers, vocab
from warroom.statuspage.schemas import ComponentChange, ComponentRequest, MaintenanceRequest, MaintenanceStep
from warroom.statuspage.subscribers import SubscriberRequest
from warroom.web.routes import _by, _ctx, _int, components_of, done, form_of, invalid, page, refuse

router = APIRouter(include_in_schema=False)
HOME = "/statuspage"
WINDOWS = "/statuspage/maintenance"
SUBSCRIBERS = "/statuspage/subscribers"
OPEN_INCIDENTS = 100


def _common() -> dict[str, Any]:
    return {
        "component_statuses": vocab.COMPONENT_STATUSES,
        "incident_statuses": vocab.INCIDENT_STATUSES,
        "label": lambda s: vocab.LABEL.get(s, s),
    }


@router.get(HOME, response_class=HTMLResponse)
def status_home(request: Request) -> HTMLResponse:
    """The page as the public sees it, its components (set by hand, and shown), and a post's form."""
    ctx = _ctx(request)
    view = admin.overview(ctx)
    open_incidents = incidents.search_page(ctx, "open", limit=OPEN_INCIDENTS).items
    return page(request, "statuspage_admin.html", view=view, open_incidents=open_incidents, **_common())


@router.post("/statuspage/posts")
async def status_post(request: Request) -> Response:
    form = await form_of(request)
    try:
        by = _by(request, form)
        incident = form.get("incident", "").strip()
        if not incident:
            raise Invalid("choose the incident this post is about", field="incident")
        posts.post(
            _ctx(request),
            incident,
            form.get("text", ""),
            by,
            status=form.get("status") or None,
            components=components_of(form),
            title=form.get("title", "").strip() or None,
        )
    except ServiceError as exc:
        return refuse(request, HOME + "#post", exc, form, "post")
    return done(request, HOME, by)


@router.post("/statuspage/components")
async def add_component(request: Request) -> Response:
    form = await form_of(request)
    try:
        by = _by(request, form)
        position = form.get("position", "").strip()
        try:
            req = ComponentRequest(
                name=form.get("name", ""),
                group=form.get("group", "").strip() or None,
                description=form.get("description", ""),
                position=_int(position, "position") if position else None,
                by=by,
            )
        except ValidationError as exc:
            raise invalid(exc) from None
        components.add_component(_ctx(request), req)
    except ServiceError as exc:
        return refuse(request, HOME + "#add-component", exc, form, "add-component")
    return done(request, HOME, by)


@router.post("/statuspage/components/{code}")
async def change_component(request: Request, code: str) -> Response:
    form = await form_of(request)
    try:
        by = _by(request, form)
        try:
            req = ComponentChange(
                status=form.get("status") or None,
                description=form.get("description"),
                by=by,
            )
        except ValidationError as exc:
            raise invalid(exc) from None
        components.change_component(_ctx(request), code, req)
    except ServiceError as exc:
        return refuse(request, HOME, exc, form, f"component-{code}")
    return done(request, HOME, by)


@router.get(WINDOWS, response_class=HTMLResponse)
def windows_page(request: Request) -> HTMLResponse:
    ctx = _ctx(request)
    rows = maintenance.list_maintenance(ctx)
    names = {c.code: c.name for c in components.list_components(ctx)}
    leaves = [c for c in components.list_components(ctx) if not c.is_group]
    return page(
        request,
        "statuspage_maintenance.html",
        windows=rows,
        names=names,
        leaves=leaves,
        steps=vocab.MAINTENANCE_NEXT,
        now=ctx.clock.now(),
        **_common(),
    )


def _utc(value: str, field: str) -> datetime:
    """A form's date and time, read as UTC (the form says so); a zone written in it is kept."""
    text = value.strip()
    if not text:
        raise Invalid(f"{field} is needed: a date and time like 2026-05-07T14:30 (UTC)", field=field)
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{field} must be a date and time like 2026-05-07T14:30 (UTC)", field=field) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@router.post(WINDOWS)
async def schedule_window(request: Request) -> Response:
    form = await form_of(request)
    try:
        by = _by(request, form)
        start = _utc(form.get("start", ""), "start")
        minutes = _int(form.get("minutes", "") or "60", "minutes")
        if not 1 <= minutes <= 30 * 24 * 60:
            raise Invalid("minutes must be between 1 and 43200 (30 days)", field="minutes")
        try:
            req = MaintenanceRequest(
                name=form.get("name", ""),
                text=form.get("text", ""),
                scheduled_for=start,
                scheduled_until=start + timedelta(minutes=minutes),
                components=[c for c in form.get("component", "").split(",") if c],
                by=by,
            )
        except ValidationError as exc:
            raise invalid(exc) from None
        maintenance.schedule(_ctx(request), req)
    except ServiceError as exc:
        return refuse(request, WINDOWS + "#schedule", exc, form, "schedule")
    return done(request, WINDOWS, by)


@router.post("/statuspage/maintenance/{code}/step")
async def step_window(request: Request, code: str) -> Response:
    form = await form_of(request)
    try:
        by = _by(request, form)
        try:
            req = MaintenanceStep(status=form.get("status", ""), text=form.get("text", ""), by=by)
        except ValidationError as exc:
            raise invalid(exc) from None
        maintenance.advance(_ctx(request), code, req)
    except ServiceError as exc:
        return refuse(request, WINDOWS, exc, form, f"step-{code}")
    return done(request, WINDOWS, by)


@router.get(SUBSCRIBERS, response_class=HTMLResponse)
def subscribers_page(request: Request) -> HTMLResponse:
    ctx = _ctx(request)
    leaves = [c for c in components.list_components(ctx) if not c.is_group]
    return page(
        request,
        "statuspage_subscribers.html",
        subscribers=subscribers.list_subscribers(ctx),
        leaves=leaves,
        names={c.code: c.name for c in leaves},
        **_common(),
    )


@router.post(SUBSCRIBERS)
async def add_subscriber(request: Request) -> Response:
    form = await form_of(request)
    try:
        by = _by(request, form)
        kind = form.get("kind", "webhook")
        address = form.get("address", "").strip()
        try:
            req = SubscriberRequest(
                webhook=address if kind == "webhook" else None,
                email=address if kind == "email" else None,
                components=[c for c in form.get("component", "").split(",") if c],
                by=by,
            )
        except ValidationError as exc:
            raise invalid(exc) from None
        subscribers.add(_ctx(request), req)
    except ServiceError as exc:
        if exc.field in ("webhook", "email"):
            exc.field = "address"
        return refuse(request, SUBSCRIBERS + "#add-subscriber", exc, form, "add-subscriber")
    return done(request, SUBSCRIBERS, by)


@router.post("/statuspage/subscribers/{subscriber_id}/remove")
async def remove_subscriber(request: Request, subscriber_id: int) -> Response:
    form = await form_of(request)
    try:
        by = _by(request, form)
        subscribers.remove(_ctx(request), subscriber_id, by)
    except ServiceError as exc:
        return refuse(request, SUBSCRIBERS, exc, form, f"remove-{subscriber_id}")
    return done(request, SUBSCRIBERS, by)


@router.get("/statuspage/subscribers/{subscriber_id}", response_class=HTMLResponse)
def deliveries_page(request: Request, subscriber_id: int) -> HTMLResponse:
    """One subscriber's delivery log: each message, its state, and every attempt with its error."""
    ctx = _ctx(request)
    try:
        sub = subscribers.get(ctx, subscriber_id)
    except ServiceError as exc:
        return page(request, "missing.html", exc.status, error=exc.detail)
    leaves = {c.code: c.name for c in components.list_components(ctx)}
    return page(
        request,
        "statuspage_deliveries.html",
        sub=sub,
        deliveries=subscribers.deliveries(ctx, subscriber_id),
        names=leaves,
    )

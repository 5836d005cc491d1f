"""The responders' other pages: alerts and groups, silences, on-call, notifications, the policy, users and tokens.

Each is a GET page plus forms that call the same service functions as the API, with post/redirect/get.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import yaml
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from warroom.auth import tokens, users
from warroom.auth.principal import Role
from warroom.domain import cursor as cursors
from warroom.domain.durations import DurationError, parse_fixed
from warroom.domain.errors import Forbidden, Invalid, ServiceError
from warroom.intake import service as intake
from warroom.intake import silences
from warroom.intake.schemas import AlertView, SilenceRequest
from warroom.notify import views as notifications
from warroom.oncall import service as oncall
from warroom.oncall.schemas import LayerRequest, OverrideRequest
from warroom.web.routes import RETRYABLE, _by, _ctx, _int, done, form_of, invalid, page, refuse

router = APIRouter(include_in_schema=False)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    groups_cursor: str | None = Query(None, alias="groups", max_length=cursors.MAX_LENGTH),
    alerts_cursor: str | None = Query(None, alias="alerts", max_length=cursors.MAX_LENGTH),
    limit: int = Query(100, ge=1, le=200),
) -> HTMLResponse:
    """Alert groups newest first (open ones first on each page), then the latest alerts; each list has its own
    cursor (`groups=`, `alerts=`) behind an "Older" link."""
    ctx = _ctx(request)
    try:
        groups, older_groups = cursors.newest_first(
            "alert-groups", lambda n, before: intake.list_groups(ctx, limit=n, before=before), limit, groups_cursor,
            lambda g: g.id,
        )  # fmt: skip
        alerts, older_alerts = cursors.newest_first(
            "alerts", lambda n, before: intake.list_alerts(ctx, limit=n, before=before), min(limit, 50),
            alerts_cursor, lambda a: a.id,
        )  # fmt: skip
    except ServiceError as exc:
        return page(request, "alerts.html", exc.status, error=exc.detail, groups=[], alerts=[])
    groups.sort(key=lambda g: (g.status != "open", -g.id))
    return page(
        request,
        "alerts.html",
        **intake_health(request),
        groups=groups,
        alerts=alerts,
        older_groups=older_groups,
        older_alerts=older_alerts,
        paged=bool(groups_cursor or alerts_cursor),
        limit=limit,
    )


def intake_health(request: Request) -> dict[str, Any]:
    """What the alerts page says of intake: the backlog every replica shares, whether webhooks are being pushed
    back, this server's counters since it started (`Writer.status`), and for responders the latest dead letters."""
    found = getattr(request.app.state, "intake", None)  # made at start-up by the API's webhooks (`intake_of`)
    writer = found.writer if found is not None else None
    principal = getattr(request.state, "principal", None)
    responder = principal is not None and principal.allows(Role.RESPONDER)  # as GET /api/v1/dead-letters asks
    return {
        "intake": writer.status() if writer is not None else None,
        "intake_since": writer.started_at if writer is not None else None,
        "dead_letters": intake.list_dead_letters(_ctx(request), DEAD_LETTERS_SHOWN) if responder else [],
    }


DEAD_LETTERS_SHOWN = 5


@router.post("/alerts/groups/{group_id}/{action}")
async def group_action(request: Request, group_id: int, action: str) -> Response:
    form = await form_of(request)
    ctx = _ctx(request)
    try:
        by = _by(request, form)
        reason = form.get("reason", "")
        if action == "declare":
            intake.declare_group(ctx, group_id, by, form.get("severity") or None, reason)
        elif action == "link":
            intake.link_group(ctx, group_id, form.get("incident", "").strip(), by, reason)
        elif action == "dismiss":
            intake.set_group_outcome(ctx, group_id, "dismissed", by, reason)
        else:
            raise Invalid(f"unknown action '{action}'; declare, link or dismiss", field="action")
    except ServiceError as exc:
        return refuse(request, "/alerts", exc, form, f"group-{group_id}-{action}")
    return done(request, "/alerts", by)


PREVIEW_ALERTS = 500
"""a silence's preview checks this many of the latest alerts: enough to see what it would catch, cheap to read"""


def _matchers(text: str) -> list[str]:
    return [m.strip() for m in text.replace("\n", ",").split(",") if m.strip()]


def _text(labels: dict[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in labels.items()}


@router.get("/silences", response_class=HTMLResponse)
def silences_page(request: Request, preview: str = "") -> HTMLResponse:
    """With `preview`, the latest alerts those matchers would have silenced, before anyone adds the silence."""
    ctx = _ctx(request)
    matched: list[AlertView] | None = None
    error = None
    if preview.strip():
        try:
            wanted = silences.parse_matchers(_matchers(preview))
            matched = [
                a
                for a in intake.list_alerts(ctx, limit=PREVIEW_ALERTS)
                if all(
                    m.matches(silences.match_labels(_text(a.labels), a.service, a.source, a.severity_hint))
                    for m in wanted
                )
            ]
        except ServiceError as exc:
            error = exc.detail
    extra: dict[str, Any] = {"error": error} if error else {}
    return page(
        request,
        "silences.html",
        **extra,
        silences=intake.list_silences(ctx, include_expired=True),
        preview=preview,
        matched=matched,
        limit=PREVIEW_ALERTS,
    )


@router.post("/silences")
async def add_silence(request: Request) -> Response:
    form = await form_of(request)
    matchers = _matchers(form.get("matchers", ""))
    try:
        by = _by(request, form)
        principal = getattr(request.state, "principal", None)
        if principal is not None and not principal.allows(Role.ADMIN) and not silences.names_a_service(matchers):
            raise Forbidden(
                "a responder's silence names its service (service=NAME); a broader silence needs an admin",
                field="matchers",
            )
        try:
            req = SilenceRequest(
                matchers=list(matchers), duration=form.get("duration") or None, by=by, comment=form.get("comment", "")
            )
        except ValidationError as exc:
            raise invalid(exc) from None
        intake.add_silence(_ctx(request), req)
    except ServiceError as exc:
        return refuse(request, "/silences", exc, form, "silence")
    return done(request, "/silences", by)


@router.post("/silences/{silence_id}/expire")
async def expire_silence(request: Request, silence_id: int) -> Response:
    form = await form_of(request)
    try:
        by = _by(request, form)
        intake.expire_silence(_ctx(request), silence_id, by)
    except ServiceError as exc:
        return refuse(request, "/silences", exc, form, "expire")
    return done(request, "/silences", by)


@router.get("/oncall", response_class=HTMLResponse)
def oncall_page(request: Request) -> HTMLResponse:
    ctx = _ctx(request)
    schedules = [oncall.get_schedule(ctx, s.name, days=7) for s in oncall.list_schedules(ctx)]
    return page(request, "oncall.html", now=oncall.who_is_on_call(ctx), schedules=schedules)


def _utc(value: str, field: str, default: datetime) -> datetime:
    if not value.strip():
        return default
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{field} must be a date and time like 2026-05-07T14:30", field=field) from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@router.post("/oncall/{name}/overrides")
async def add_override(request: Request, name: str) -> Response:
    form = await form_of(request)
    ctx = _ctx(request)
    try:
        by = _by(request, form)
        start = _utc(form.get("starts_at", ""), "starts_at", ctx.clock.now())
        hours = _int(form.get("hours", "") or "8", "hours")
        if not 1 <= hours <= 24 * 31:
            raise Invalid("hours must be between 1 and 744", field="hours")
        try:
            req = OverrideRequest(
                person=form.get("person", ""),
                starts_at=start,
                ends_at=start + timedelta(hours=hours),
                reason=form.get("reason", ""),
                by=by,
            )
        except ValidationError as exc:
            raise invalid(exc) from None
        oncall.add_override(ctx, name, req)
    except ServiceError as exc:
        return refuse(request, "/oncall", exc, form, f"override-{name}")
    return done(request, "/oncall", by)


@router.post("/admin/oncall")
async def set_layer(request: Request) -> Response:
    """An admin creates a schedule or sets one of its layers (a rotation); higher layers win where active."""
    form = await form_of(request)
    name = form.get("name", "").strip()
    try:
        by = _by(request, form)
        members = [m.strip() for m in form.get("members", "").split(",") if m.strip()]
        try:
            req = LayerRequest(
                members=members,
                length=form.get("length") or "weekly",
                handoff=form.get("handoff") or "09:00",
                start=form.get("start") or None,
                timezone=form.get("timezone") or None,
                days=form.get("days") or None,
                hours=form.get("hours") or None,
            )
        except ValidationError as exc:
            raise invalid(exc) from None
        oncall.set_layer(_ctx(request), name, req, position=_int(form.get("position", "") or "1", "position"))
    except ServiceError as exc:
        return refuse(request, "/oncall", exc, form, "layer")
    return done(request, "/oncall", by)


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(request: Request) -> HTMLResponse:
    ctx = _ctx(request)
    failed = notifications.list_notifications(ctx, state="failed", limit=200)
    recent = [n for n in notifications.list_notifications(ctx, limit=200) if n.state not in RETRYABLE]
    return page(request, "notifications.html", failed=failed, recent=recent, retryable=RETRYABLE)


@router.post("/notifications/{notification_id}/retry")
async def retry(request: Request, notification_id: int) -> Response:
    form = await form_of(request)
    try:
        by = _by(request, form)
        notifications.retry(_ctx(request), notification_id, by)
    except ServiceError as exc:
        return refuse(request, "/notifications", exc, form, "retry")
    return done(request, "/notifications", by)


@router.get("/policy", response_class=HTMLResponse)
def policy_page(request: Request) -> HTMLResponse:
    """The active policy, read-only: severities at a glance, then every rule as the loader read it."""
    policy = _ctx(request).policy
    text = yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    return page(request, "policy.html", text=text)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request) -> HTMLResponse:
    ctx = _ctx(request)
    return page(request, "users.html", people=users.list_users(ctx), tokens=tokens.list_tokens(ctx), roles=list(Role))


def shown_once(request: Request, **data: Any) -> Response:
    """A secret's only showing: the answer to the POST itself, so it lives in no cookie, URL, cache or log line.

    A reload would send the form again, which the name already taken refuses; the page says to copy it now.
    """
    response = page(request, "secret.html", **data)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@router.post("/admin/users")
async def add_user(request: Request) -> Response:
    """An admin adds a user with a role and e-mail; their one-time password is shown once, here."""
    form = await form_of(request)
    try:
        _by(request, form)
        view, password = users.add(_ctx(request), form.get("name", ""), form.get("role", ""), form.get("email", ""))
    except ServiceError as exc:
        return refuse(request, "/admin/users", exc, form, "add-user")
    return shown_once(request, kind="user", subject=view.name, granted=view.role, secret=password)


@router.post("/admin/tokens")
async def create_token(request: Request) -> Response:
    """An admin creates an API token (for a user, or a bot); the secret is shown once, here; only its hash is kept."""
    form = await form_of(request)
    try:
        by = _by(request, form)
        text = form.get("expires", "").strip()
        try:
            lifetime = parse_fixed(text) if text else None
        except DurationError as exc:
            raise Invalid(f"expires: {exc}", field="expires") from None
        view, secret = tokens.create(
            _ctx(request),
            form.get("name", ""),
            form.get("role", ""),
            by,
            lifetime,
            form.get("user", "").strip() or None,
            bot=form.get("bot") == "on",
        )
    except ServiceError as exc:
        return refuse(request, "/admin/users", exc, form, "create-token")
    return shown_once(
        request, kind="token", subject=view.name, granted=view.role, secret=secret, expires=view.expires_at,
        acts_as=view.user_name or ("bot" if view.bot else ""),
    )  # fmt: skip


@router.post("/admin/users/{name}/{action}")
async def user_action(request: Request, name: str, action: str) -> Response:
    form = await form_of(request)
    ctx = _ctx(request)
    try:
        by = _by(request, form)
        if action == "role":
            users.set_role(ctx, name, form.get("role", ""))
        elif action == "disable":
            users.disable(ctx, name)
        else:
            raise Invalid(f"unknown action '{action}'; role or disable", field="action")
    except ServiceError as exc:
        return refuse(request, "/admin/users", exc, form, f"user-{name}")
    return done(request, "/admin/users", by)


@router.post("/admin/tokens/{name}/revoke")
async def revoke_token(request: Request, name: str) -> Response:
    form = await form_of(request)
    try:
        by = _by(request, form)
        tokens.revoke(_ctx(request), name)
    except ServiceError as exc:
        return refuse(request, "/admin/users", exc, form, "revoke")
    return done(request, "/admin/users", by)

"""The responders' web pages: server-rendered HTML whose forms call the same service functions as the API.

Forms follow post/redirect/get: a done action redirects to the page it came from; a refused one redirects
there too, carrying the reason and what was typed in a short-lived signed cookie, so a reload never resends it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Hashable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import Markup, escape
from pydantic import ValidationError

from warroom.access.gate import Acting
from warroom.domain.durations import format_seconds
from warroom.domain.errors import Invalid, ServiceError
from warroom.domain.flags import KNOWN_FLAGS
from warroom.incidents import drafts, service
from warroom.incidents.overdue import overdue_updates
from warroom.incidents.schemas import DeclareRequest, ImpactRequest, IncidentView
from warroom.intake import service as intake
from warroom.notify import views as notifications
from warroom.oncall.service import paging_readiness, who_is_on_call
from warroom.policy.model import Policy
from warroom.reports import service as reports
from warroom.statuspage import admin as status_admin
from warroom.statuspage import posts, vocab
from warroom.store import memo as cache
from warroom.store.unit import Context

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["span"] = format_seconds


def counted(n: int, noun: str) -> str:
    """'1 alert', '2 alerts', '12,000 alerts' (a page says a count the way a person would)."""
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


templates.env.filters["counted"] = counted


def seconds(value: float) -> str:
    """A short span the way a person reads it: '2 s', '1.84 s', '550 ms', '0.5 ms'."""
    return f"{value:.3g} s" if value >= 1 or value == 0 else f"{value * 1000:.3g} ms"


templates.env.filters["seconds"] = seconds
NAME_COOKIE = "warroom_user"
"""with sign-in off only: the name a browser last acted under"""
FLASH_COOKIE = "warroom_flash"
FLASH_SECONDS = 120
"""a refusal's reason and typed fields live this long: enough for the redirect, never a second showing"""
FLASH_TYPED_LIMIT = 3000
"""browsers drop cookies over 4 KB; past this the reason is kept and the longest fields are dropped"""
RETRYABLE = ("dead", "unknown", "failed")


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def _auth_off(request: Request) -> bool:
    return not request.app.state.settings.auth


def _user(request: Request) -> str:
    if _auth_off(request):
        return request.cookies.get(NAME_COOKIE, "")
    principal = getattr(request.state, "principal", None)
    return principal.name if principal else ""


def _by(request: Request, form: dict[str, str]) -> str:
    """Who acts: the signed-in user (with sign-in off, the name typed in the form)."""
    return Acting(request)(form.get("by") or _user(request))


def _signer(request: Request) -> URLSafeTimedSerializer:
    """Keyed by the session's CSRF token: only this session can write a flash this session will show."""
    key = getattr(request.state, "csrf", "") or "warroom-auth-off"
    return URLSafeTimedSerializer(key, salt="warroom-flash")


def _flash(request: Request) -> dict[str, Any]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return {}
    try:
        data = _signer(request).loads(raw, max_age=FLASH_SECONDS)
    except BadSignature:
        return {}
    return data if isinstance(data, dict) and data.get("path") == request.url.path else {}


HOLE = secrets.token_hex(16)
"""stands in a kept page for the viewer's CSRF token and name, filled in per request; unguessable, so no text
anyone typed can contain it"""
CSRF_HOLE, USER_HOLE = f"csrf-{HOLE}", f"user-{HOLE}"


def page(request: Request, name: str, code: int = 200, shared: Hashable | None = None, **data: Any) -> HTMLResponse:
    """A page with what every page shows: the policy, who is signed in, the CSRF token, a refusal to show.

    With `shared` (a key naming what the page shows), the rendered page is kept for everyone of the same
    role (web/cache.py) with the viewer's CSRF token and name left as holes filled per request; a page
    carrying a refusal (and what was typed) is always rendered afresh.
    """
    ctx = _ctx(request)
    principal = getattr(request.state, "principal", None)
    flash = _flash(request)
    data.setdefault("error", flash.get("error"))
    memo = cache.of(request.app.state)
    user, csrf = _user(request), getattr(request.state, "csrf", "")
    common = {
        "policy": ctx.policy,
        "user": user,
        "role": principal.role.value if principal else "",
        "signed_in": principal is not None and not _auth_off(request),
        "auth_off": _auth_off(request),
        "csrf": csrf,
        "flags": KNOWN_FLAGS,
        # the banner: who a page would reach now (nobody, on a fresh install)
        "paging": memo.get("paging", lambda: paging_readiness(ctx)),
        "refused": flash.get("action", ""),
        "typed": flash.get("typed", {}) if isinstance(flash.get("typed"), dict) else {},
        "error_field": flash.get("field"),
        "today": ctx.clock.now().date(),  # a time on another day (UTC) shows its date, even without JavaScript
    }
    if shared is not None and not flash and code == 200 and not data.get("error"):
        key = ("html", name, shared, common["role"], common["signed_in"], common["auth_off"])
        holes = {**common, "user": USER_HOLE, "csrf": CSRF_HOLE, "request": request}
        html = memo.get(key, lambda: templates.get_template(name).render({**holes, **data}))
        filled = html.replace(CSRF_HOLE, escape(csrf)).replace(USER_HOLE, escape(user))
        response: HTMLResponse = HTMLResponse(filled)
    else:
        response = templates.TemplateResponse(request, name, {**common, **data}, status_code=code)
    if request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def _remember(request: Request, response: Response, by: str) -> Response:
    if by and _auth_off(request):
        response.set_cookie(NAME_COOKIE, by, max_age=30 * 86400, samesite="lax", httponly=True)
    return response


def refuse(request: Request, to: str, exc: ServiceError, form: dict[str, str], action: str) -> Response:
    """Back to the page the form was on, with the reason and what was typed (never the CSRF token)."""
    typed = {k: v for k, v in form.items() if k != "csrf_token"}
    while typed and sum(len(v) for v in typed.values()) > FLASH_TYPED_LIMIT:
        typed.pop(max(typed, key=lambda k: len(typed[k])))
    path = to.split("?")[0].split("#")[0]
    value = _signer(request).dumps(
        {"path": path, "error": exc.detail, "field": exc.field, "action": action, "typed": typed}
    )
    response = RedirectResponse(to, status_code=303)
    response.set_cookie(FLASH_COOKIE, value, max_age=FLASH_SECONDS, samesite="lax", httponly=True, path="/")
    return response


def done(request: Request, to: str, by: str) -> Response:
    cache.of(request.app.state).bump()  # the page it goes back to shows what was just done
    return _remember(request, RedirectResponse(to, status_code=303), by)


async def form_of(request: Request) -> dict[str, str]:
    """A form's fields; a field given several times (checkboxes) is joined with commas."""
    data = await request.form()
    return {k: ",".join(str(v) for v in data.getlist(k)) for k in data}


def invalid(exc: ValidationError) -> Invalid:
    """A form field pydantic refused, as the sentence every face gives."""
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "form"
    return Invalid(f"{field}: {first.get('msg', 'invalid')}", field=field)


DASHBOARD_ROWS = 200
"""open incidents on the dashboard before a next-page link (a big outage has fewer)"""
ALL_ROWS = 100


def dashboard(ctx: Context, status: str, cursor: str | None, limit: int | None = None) -> dict[str, Any]:
    """What the dashboard shows: open (or all) incidents, overdue updates, on-call, open alert groups."""
    rows = limit or (DASHBOARD_ROWS if status == "open" else ALL_ROWS)
    found = service.search_page(ctx, status, limit=rows, cursor=cursor)
    return {
        "incidents": found.items,
        "next_cursor": found.next,
        "overdue": overdue_updates(ctx),
        "on_call": who_is_on_call(ctx),
        "groups": intake.list_groups(ctx, status="open", limit=10),
    }


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    status: str = "open",
    cursor: str | None = Query(None, max_length=400),
    limit: int | None = Query(None, ge=1, le=DASHBOARD_ROWS),
) -> HTMLResponse:
    ctx = _ctx(request)
    status = status if status in ("open", "all") else "open"
    key = ("dashboard", status, cursor, limit)
    try:
        data = cache.of(request.app.state).get(key, lambda: dashboard(ctx, status, cursor, limit))
    except ServiceError as exc:  # a cursor this list did not give out: the first page, with the reason
        return page(request, "index.html", exc.status, error=exc.detail, status=status, live=True,
                    **dashboard(ctx, status, None, limit))  # fmt: skip
    return page(request, "index.html", shared=key, status=status, cursor=cursor, limit=limit, live=True, **data)


@router.get("/incidents")
def all_incidents() -> RedirectResponse:
    """Where a typed /incidents goes: the list of every incident (the dashboard's "all incidents")."""
    return RedirectResponse("/?status=all", status_code=303)


@router.post("/incidents")
async def declare(request: Request) -> Response:
    form = await form_of(request)
    flags = {f: True for f in form.get("flag", "").split(",") if f}
    try:
        by = _by(request, form)
        try:
            req = DeclareRequest(
                severity=form.get("severity", ""),
                title=form.get("title", ""),
                service=form.get("service", "").strip() or None,
                summary=form.get("summary", ""),
                by=by,
                flags=flags,
            )
        except ValidationError as exc:
            raise invalid(exc) from None
        inc = service.declare(_ctx(request), req)
    except ServiceError as exc:
        return refuse(request, "/", exc, form, "declare")
    return done(request, f"/incidents/{inc.id}", by)


def external_gate(policy: Policy, inc: IncidentView) -> str:
    """Why an external update would be refused now (the same rule post_update applies), or ''."""
    sev = policy.severity(inc.severity)
    if sev.status_page.post == "never":
        return f"The {policy.name} policy posts nothing externally for {inc.severity}."
    missing = sev.external_blocked_by(inc.flags)
    if missing:
        return (
            f"External updates for {inc.severity} wait until {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} set (flags below): never post speculation externally."
        )
    return ""


def quiet_until(policy: Policy, inc: IncidentView) -> datetime | None:
    """When the resolution watch ends (the same window resolve checks), for a live countdown; None if none."""
    if inc.status != "mitigated" or inc.watch_started_at is None:
        return None
    rule = policy.severity(inc.severity).resolution
    window = rule.quiet_window or rule.monitor
    return inc.watch_started_at + window.as_timedelta() if window else None


TIMELINE_SHOWN = 200
"""timeline entries the incident page shows unless asked for all: the newest, where the work is"""


def incident_data(ctx: Context, incident_id: str, whole: bool = False) -> dict[str, Any]:
    """Everything the incident page shows that is the same for every viewer (`whole`: every timeline entry)."""
    inc = service.get(ctx, incident_id)
    entries, entry_count = service.timeline_tail(ctx, inc.id, None if whole else TIMELINE_SHOWN)
    # The ticks are read on their own only when some entries are outside the window shown.
    every = entries if entry_count == len(entries) else service.timeline_starting(ctx, inc.id, TICK_PREFIX)
    ticked = {e.what: e for e in every if e.what.startswith(TICK_PREFIX)}
    sent = notifications.list_notifications(ctx, incident=inc.id, limit=50)
    sent.sort(key=lambda n: (n.state not in RETRYABLE, -n.id))
    return {
        "inc": inc,
        "timeline": entries,
        "entry_count": entry_count,
        "timeline_shown": TIMELINE_SHOWN,
        "checklist": [
            (phase, [(n, item, ticked.get(tick_text(phase, item))) for n, item in enumerate(items)])
            for phase, items in checklist(ctx, inc)
        ],
        "gate": external_gate(ctx.policy, inc),
        "quiet": quiet_until(ctx.policy, inc),
        "alerts": intake.incident_alerts(ctx, inc.id, limit=50),
        "sent": sent,
        "timeline_svg": Markup(reports.timeline_svg(ctx, inc.id)),
        "public": status_admin.on_the_page(ctx, inc.id),
        "component_statuses": [s for s in vocab.COMPONENT_STATUSES if s != "under_maintenance"],
        "public_statuses": vocab.INCIDENT_STATUSES,
        "stage_status": vocab.FROM_LIFECYCLE.get(inc.status, "investigating"),
        "label": lambda s: vocab.LABEL.get(s, s),
    }


def draft_kind(audience: str, stage: str) -> str:
    """The runbook's template an update for `audience` starts from: the status page's for the incident's stage
    when external, the executive brief, else the internal update."""
    if audience == "external":
        return f"status_{vocab.FROM_LIFECYCLE.get(stage, 'investigating')}"
    return "executive_brief" if audience == "executive" else "internal_update"


def _template(ctx: Context, inc: IncidentView, user: str, audience: str) -> str:
    """The update for `audience` drafted from the policy's template, signed by the viewer ('' where the policy
    has no such template, or the runbook does not allow telling that audience yet)."""
    if inc.status == "closed":
        return ""
    try:
        return drafts.draft(ctx, inc.id, draft_kind(audience, inc.status), user).text
    except ServiceError:
        return ""


AUDIENCES = ("internal", "external", "executive")


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident(request: Request, incident_id: str, audience: str = "internal", timeline: str = "") -> HTMLResponse:
    ctx = _ctx(request)
    memo = cache.of(request.app.state)
    wanted = incident_id.strip().upper()
    whole = timeline == "all"
    try:
        data = memo.get(("incident", wanted, whole), lambda: incident_data(ctx, wanted, whole))
    except ServiceError as exc:
        return page(request, "missing.html", exc.status, error=exc.detail)
    inc = data["inc"]
    user = _user(request) or "you"
    audience = audience if audience in AUDIENCES else "internal"
    return page(
        request,
        "incident.html",
        shared=(inc.id, user, audience, whole),  # the drafted update is signed by the viewer
        **data,
        kinds=drafts.KINDS,
        template=memo.get(("draft", inc.id, user, audience), lambda: _template(ctx, inc, user, audience)),
        audience=audience,
        template_kind=draft_kind(audience, inc.status),
        retryable=RETRYABLE,
        live=True,
        live_incident=inc.id,
    )


Action = Callable[[Context, str, dict[str, str], str], object]


def components_of(form: dict[str, str]) -> dict[str, str]:
    """`c.CODE` fields of a status post's form: each component it names, and the status the post gives it."""
    return {k[2:]: v for k, v in form.items() if k.startswith("c.") and v.strip()}


def _update(c: Context, i: str, f: dict[str, str], by: str) -> object:
    """An update; an external one that sets a public status, name or components is posted as the status page's
    post form posts it (the same external update, with those riding along)."""
    audience, text, next_step = f.get("audience", "internal"), f.get("text", ""), f.get("next", "")
    status, title, changes = f.get("public_status", "").strip(), f.get("public_title", "").strip(), components_of(f)
    if not (status or title or changes):
        return service.post_update(c, i, audience, text, by, next_step)
    if audience.strip().lower() != "external":
        field = "public_status" if status else "public_title" if title else f"c.{next(iter(changes))}"
        raise Invalid(f"the status page reads only external updates: choose audience external to set {field}, "
                      "or leave the status page's fields empty", field=field)  # fmt: skip
    return posts.post(c, i, text, by, status=status or None, components=changes, title=title or None,
                      next_step=next_step)  # fmt: skip


def _opt_int(value: str, field: str) -> int | None:
    return _int(value, field) if value.strip() else None


def _tri(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _impact(c: Context, i: str, f: dict[str, str], by: str) -> object:
    services = [s.strip() for s in f.get("services", "").split(",") if s.strip()]
    try:
        req = ImpactRequest(
            by=by,
            users_affected=_opt_int(f.get("users_affected", ""), "users_affected"),
            users_estimate=True if f.get("users_estimate") == "on" else None,
            orgs_affected=_opt_int(f.get("orgs_affected", ""), "orgs_affected"),
            state=f.get("state") or None,
            services=services or None,
            description=f.get("description", "").strip() or None,
            revenue_impact=float(f["revenue_impact"]) if f.get("revenue_impact", "").strip() else None,
            customer_facing=_tri(f.get("customer_facing", "")),
            data_at_risk=_tri(f.get("data_at_risk", "")),
            security_breach=_tri(f.get("security_breach", "")),
        )
    except ValidationError as exc:
        raise invalid(exc) from None
    except ValueError:
        raise Invalid("revenue_impact must be a number", field="revenue_impact") from None
    return service.set_impact(c, i, req)


def checklist(ctx: Context, inc: IncidentView) -> list[tuple[str, list[str]]]:
    """The runbook's checklist: each phase's items, then the decision's (digging first adds a snapshot step)."""
    out = [(p.name, list(p.checklist)) for p in ctx.policy.phases if p.checklist]
    steps = [str(c.get("item", "")) for c in (inc.decision or {}).get("checklist", []) if isinstance(c, dict)]
    return [*out, ("decision", steps)] if steps else out


TICK_PREFIX = "Checklist ("


def tick_text(phase: str, item: str) -> str:
    return f"{TICK_PREFIX}{phase}): {item}"


def _tick(c: Context, i: str, f: dict[str, str], by: str) -> object:
    """A tick is a timeline entry naming the item, so the record shows who checked what and when."""
    phases = dict(checklist(c, service.get(c, i)))
    phase, number = f.get("phase", ""), _int(f.get("item", ""), "item")
    if phase not in phases:
        raise Invalid(f"the runbook has no checklist for '{phase}'", field="phase")
    if not 0 <= number < len(phases[phase]):
        raise Invalid(f"the {phase} checklist has no item {number}", field="item")
    return service.log(c, i, tick_text(phase, phases[phase][number]), by, "done")


ACTIONS: dict[str, Action] = {
    "check": _tick,
    "ack": lambda c, i, f, by: service.acknowledge(c, i, by),
    "status": lambda c, i, f, by: service.set_status(c, i, f.get("status", ""), by, f.get("note", "")),
    "severity": lambda c, i, f, by: service.change_severity(c, i, f.get("severity", ""), by, f.get("reason", "")),
    "impact": _impact,
    "decision": lambda c, i, f, by: service.decide(c, i, f.get("path", ""), f.get("reason", ""), by),
    "mitigate": lambda c, i, f, by: service.mitigate(
        c, i, f.get("strategy", ""), f.get("worked", "yes") == "yes", by, f.get("note", "")
    ),
    "resolve": lambda c, i, f, by: service.resolve(c, i, by, f.get("force") == "on", f.get("reason", "")),
    "reopen": lambda c, i, f, by: service.reopen(c, i, by, f.get("reason", "")),
    "close": lambda c, i, f, by: service.close(c, i, by),
    "postmortem": lambda c, i, f, by: service.complete_postmortem(c, i, by, f.get("link", "")),
    "update": _update,
    "log": lambda c, i, f, by: service.log(
        c, i, f.get("what", ""), by, f.get("outcome", ""), _opt_int(f.get("corrects", ""), "corrects")
    ),
    "hypothesis": lambda c, i, f, by: service.add_hypothesis(
        c, i, f.get("text", ""), f.get("evidence", ""), _int(f.get("confidence", ""), "confidence"), by
    ),
    "hypothesis-status": lambda c, i, f, by: service.set_hypothesis_status(
        c, i, _int(f.get("number", ""), "number"), f.get("status", ""), by
    ),
    "role": lambda c, i, f, by: service.assign_role(c, i, f.get("role", ""), f.get("person", ""), by),
    "flag": lambda c, i, f, by: service.set_flags(c, i, {f.get("flag", ""): f.get("value", "on") == "on"}, by),
    "retry": lambda c, i, f, by: notifications.retry(c, _int(f.get("notification", ""), "notification"), by),
}


def _int(value: str, field: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Invalid(f"{field} must be a whole number", field=field) from None


@router.get("/incidents/{incident_id}/drafts/{kind}", response_class=HTMLResponse)
def draft_page(request: Request, incident_id: str, kind: str) -> Response:
    """A message drafted from the policy template, in an editable box with a Post button."""
    ctx = _ctx(request)
    try:
        d = drafts.draft(ctx, incident_id, kind, _user(request))
    except ServiceError as exc:
        return page(request, "missing.html", exc.status, error=exc.detail)
    return page(request, "draft.html", incident_id=incident_id.upper(), draft=d)


@router.post("/incidents/{incident_id}/drafts/{kind}")
async def post_draft(request: Request, incident_id: str, kind: str) -> Response:
    form = await form_of(request)
    try:
        by = _by(request, form)
        drafts.post(_ctx(request), incident_id, kind, by, final=form.get("final"))
    except ServiceError as exc:
        return refuse(request, f"/incidents/{incident_id}/drafts/{kind}", exc, form, "draft")
    return done(request, f"/incidents/{incident_id}", by)


@router.post("/incidents/{incident_id}/{action}")
async def act(request: Request, incident_id: str, action: str) -> Response:
    form = await form_of(request)
    back = f"/incidents/{incident_id}"
    handler = ACTIONS.get(action)
    try:
        if handler is None:
            raise Invalid(f"unknown action '{action}'", field="action")
        by = _by(request, form)
        handler(_ctx(request), incident_id, form, by)
    except ServiceError as exc:
        return refuse(request, back, exc, form, action)
    return done(request, back, by)

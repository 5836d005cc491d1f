"""The responders' web pages: server-rendered HTML whose forms call the same service functions as the API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from warroom.access.gate import Acting
from warroom.domain.errors import Invalid, ServiceError
from warroom.domain.flags import KNOWN_FLAGS
from warroom.incidents import drafts, service
from warroom.incidents.schemas import DeclareRequest
from warroom.oncall.service import paging_readiness
from warroom.store.unit import Context

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
NAME_COOKIE = "warroom_user"
"""with sign-in off only: the name a browser last acted under"""


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


def page(request: Request, name: str, code: int = 200, **data: Any) -> HTMLResponse:
    """A page with what every page shows: the policy, who is signed in, the CSRF token for its forms."""
    ctx = _ctx(request)
    principal = getattr(request.state, "principal", None)
    data.setdefault("error", None)
    common = {
        "policy": ctx.policy,
        "user": _user(request),
        "role": principal.role.value if principal else "",
        "signed_in": principal is not None and not _auth_off(request),
        "auth_off": _auth_off(request),
        "csrf": getattr(request.state, "csrf", ""),
        "flags": KNOWN_FLAGS,
        "paging": paging_readiness(ctx),  # the banner: who a page would reach now (nobody, on a fresh install)
    }
    return templates.TemplateResponse(request, name, {**common, **data}, status_code=code)


def _remember(request: Request, response: Response, by: str) -> Response:
    if by and _auth_off(request):
        response.set_cookie(NAME_COOKIE, by, max_age=30 * 86400, samesite="lax", httponly=True)
    return response


@router.get("/", response_class=HTMLResponse)
def index(request: Request, status: str = "open") -> HTMLResponse:
    ctx = _ctx(request)
    rows = service.search(ctx, status=status if status in ("open", "all") else "open")
    return page(request, "index.html", incidents=rows, status=status, live=True)


@router.post("/incidents")
async def declare(request: Request) -> Response:
    form = await request.form()
    flags = {str(f): True for f in form.getlist("flag")}
    try:
        by = _by(request, {"by": str(form.get("by", ""))})
        inc = service.declare(
            _ctx(request),
            DeclareRequest(
                severity=str(form.get("severity", "")),
                title=str(form.get("title", "")),
                service=str(form.get("service", "")).strip() or None,
                summary=str(form.get("summary", "")),
                by=by,
                flags=flags,
            ),
        )
    except ServiceError as exc:
        rows = service.search(_ctx(request))
        return page(request, "index.html", exc.status, incidents=rows, status="open", error=exc.detail)
    return _remember(request, RedirectResponse(f"/incidents/{inc.id}", status_code=303), by)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident(request: Request, incident_id: str) -> HTMLResponse:
    return _show(request, incident_id)


def _show(request: Request, incident_id: str, code: int = 200, error: str | None = None) -> HTMLResponse:
    ctx = _ctx(request)
    try:
        inc = service.get(ctx, incident_id)
    except ServiceError as exc:
        return page(request, "missing.html", exc.status, error=exc.detail)
    entries = service.timeline(ctx, inc.id)
    return page(
        request,
        "incident.html",
        code,
        inc=inc,
        timeline=entries,
        error=error,
        kinds=drafts.KINDS,
        live=True,
        live_incident=inc.id,
    )


Action = Callable[[Context, str, dict[str, str], str], object]

ACTIONS: dict[str, Action] = {
    "ack": lambda c, i, f, by: service.acknowledge(c, i, by),
    "status": lambda c, i, f, by: service.set_status(c, i, f.get("status", ""), by, f.get("note", "")),
    "severity": lambda c, i, f, by: service.change_severity(c, i, f.get("severity", ""), by, f.get("reason", "")),
    "mitigate": lambda c, i, f, by: service.mitigate(
        c, i, f.get("strategy", ""), f.get("worked", "yes") == "yes", by, f.get("note", "")
    ),
    "resolve": lambda c, i, f, by: service.resolve(c, i, by, f.get("force") == "on", f.get("reason", "")),
    "reopen": lambda c, i, f, by: service.reopen(c, i, by, f.get("reason", "")),
    "close": lambda c, i, f, by: service.close(c, i, by),
    "update": lambda c, i, f, by: service.post_update(
        c, i, f.get("audience", "internal"), f.get("text", ""), by, f.get("next", "")
    ),
    "log": lambda c, i, f, by: service.log(c, i, f.get("what", ""), by, f.get("outcome", "")),
    "hypothesis": lambda c, i, f, by: service.add_hypothesis(
        c, i, f.get("text", ""), f.get("evidence", ""), _int(f.get("confidence", ""), "confidence"), by
    ),
    "hypothesis-status": lambda c, i, f, by: service.set_hypothesis_status(
        c, i, _int(f.get("number", ""), "number"), f.get("status", ""), by
    ),
    "role": lambda c, i, f, by: service.assign_role(c, i, f.get("role", ""), f.get("person", ""), by),
    "flag": lambda c, i, f, by: service.set_flags(c, i, {f.get("flag", ""): f.get("value", "on") == "on"}, by),
}


def _int(value: str, field: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise Invalid(f"{field} must be a whole number", field=field) from None


@router.get("/incidents/{incident_id}/drafts/{kind}", response_class=HTMLResponse)
def draft_page(request: Request, incident_id: str, kind: str) -> HTMLResponse:
    """A message drafted from the policy template, in an editable box with a Post button."""
    ctx = _ctx(request)
    try:
        d = drafts.draft(ctx, incident_id, kind, _user(request))
    except ServiceError as exc:
        return _show(request, incident_id, exc.status, exc.detail)
    return page(request, "draft.html", incident_id=incident_id.upper(), draft=d)


@router.post("/incidents/{incident_id}/drafts/{kind}")
async def post_draft(request: Request, incident_id: str, kind: str) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        by = _by(request, form)
        drafts.post(_ctx(request), incident_id, kind, by, final=form.get("final"))
    except ServiceError as exc:
        return _show(request, incident_id, exc.status, exc.detail)
    return _remember(request, RedirectResponse(f"/incidents/{incident_id}", status_code=303), by)


@router.post("/incidents/{incident_id}/{action}")
async def act(request: Request, incident_id: str, action: str) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    handler = ACTIONS.get(action)
    if handler is None:
        return _show(request, incident_id, 404, f"unknown action '{action}'")
    try:
        by = _by(request, form)
        handler(_ctx(request), incident_id, form, by)
    except ServiceError as exc:
        return _show(request, incident_id, exc.status, exc.detail)
    return _remember(request, RedirectResponse(f"/incidents/{incident_id}", status_code=303), by)

"""The gate every routed request passes: the route's rule, who is asking, CSRF and Origin, the audit note.

Signed in through the web, a request carries the session cookie; a script or the CLI sends
`Authorization: Bearer <token>`. A state-changing request made with the cookie must carry the CSRF
token of its session (a form field, or the X-CSRF-Token header) and, when the browser sends one, an
Origin of this server: another site's page cannot act with a responder's cookie.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

import anyio
from fastapi import Depends, Request

from warroom.access import rules
from warroom.auth import act_as, sessions, tokens
from warroom.auth.principal import Principal, Role
from warroom.auth.secrets import same
from warroom.domain.errors import Forbidden, Unauthorized
from warroom.store.unit import AuditNote, Context, auditing

SESSION_COOKIE = "warroom_session"
LOGIN_COOKIE = "warroom_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
LOCAL = Principal("local", Role.ADMIN, "auth-off", vouches=True)
"""who is asking when sign-in is off (WARROOM_AUTH=off): anyone, trusted to say who they are"""


class GoTo(Exception):
    """A page asked for by someone who must first sign in (or change a one-time password): the
    browser is sent there instead."""

    def __init__(self, location: str) -> None:
        super().__init__(location)
        self.location = location


PASSWORD_PAGE = "/account/password"


def csrf_for(session_secret: str) -> str:
    """The CSRF token of a session: derived from its secret, so only its holder can know it."""
    return hashlib.sha256(b"warroom-csrf:" + session_secret.encode()).hexdigest()[:40]


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def is_page(path: str) -> bool:
    return not path.startswith(("/api/", "/metrics"))


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def identify(request: Request, ctx: Context) -> Principal | None:
    """Who sent the request: a bearer token first, else the session cookie; None when neither is valid."""
    if not request.app.state.settings.auth:
        return LOCAL
    secret = _bearer(request)
    if secret is not None:
        principal = await anyio.to_thread.run_sync(tokens.authenticate, ctx, secret)
        if principal is None:
            raise Unauthorized("this token is unknown, expired or revoked", field="Authorization")
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if not cookie:
            return None
        principal, must_change = await anyio.to_thread.run_sync(sessions.authenticate, ctx, cookie)
        if principal is None:
            return None
        request.state.must_change_password = must_change
        request.state.csrf = csrf_for(cookie)
    return await anyio.to_thread.run_sync(act_as.apply_grant, ctx, principal)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not sent by a browser's cross-site form or script (those always say where they come from)
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


async def _csrf_ok(request: Request) -> bool:
    expected = getattr(request.state, "csrf", None)
    if expected is None:
        return True  # not a cookie session: a bearer token is not sent by a browser on its own
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        given = str((await request.form()).get(CSRF_FIELD, ""))
    return given is not None and given != "" and same(given, expected)


async def authorize(request: Request) -> None:
    """The dependency every route runs first (installed on the application)."""
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    method = request.method
    need = rules.need(method, path)
    if getattr(request.app.state.settings, rules.PUBLIC_WHEN.get((method, path), ""), False) is True:
        need = rules.PUBLIC
    ctx: Context = request.app.state.ctx
    safe = method in SAFE
    principal = None
    try:
        if not (safe and need == rules.PUBLIC):  # health checks and sign-in pages never wait on the database
            principal = await identify(request, ctx)
    finally:
        if not safe:
            note = AuditNote(
                actor=principal.name if principal else "anonymous",
                via=principal.via if principal else "none",
                action=f"{method} {path}",
                target=",".join(f"{k}={v}" for k, v in request.path_params.items()),
                address=client_address(request),
                on_behalf_of=principal.acting_for if principal else None,
            )
            request.state.audit = note
            auditing.set(note)
    request.state.principal = principal
    if need is None:
        raise Forbidden(f"{method} {path} has no access rule; nobody may use it")
    if not safe and not _same_origin(request):
        raise Forbidden("a request from another site's page is refused (Origin does not match this server)")
    if need == rules.PUBLIC:
        return
    if principal is None:
        if is_page(path):
            raise GoTo(login_target(request.url.path + (f"?{request.url.query}" if request.url.query else "")))
        raise Unauthorized("sign in, or send Authorization: Bearer <token>", field="Authorization")
    assert isinstance(need, Role)
    if (
        getattr(request.state, "must_change_password", False)
        and is_page(path)
        and path not in (PASSWORD_PAGE, "/logout")
    ):
        raise GoTo(PASSWORD_PAGE)
    if not principal.allows(need):
        raise Forbidden(f"this needs the {need.value} role; {principal.name} is a {principal.role.value}", field="role")
    if not safe and not await _csrf_ok(request):
        raise Forbidden("the form's CSRF token is missing or wrong; reload the page and try again", field=CSRF_FIELD)


def login_target(target: str) -> str:
    return "/login?next=" + quote(target, safe="/")


@dataclass(frozen=True)
class Acting:
    """Turns a request's `by` into the name on the record (see Principal.actor), and tells the audit note."""

    request: Request

    def __call__(self, by: str | None = None) -> str:
        principal = self.principal
        name = principal.actor(by)
        note: AuditNote | None = getattr(self.request.state, "audit", None)
        if note is not None and name != principal.name:
            note.on_behalf_of = principal.acting_for or name
        return name

    @property
    def principal(self) -> Principal:
        principal: Principal | None = getattr(self.request.state, "principal", None)
        if principal is None:
            raise Unauthorized("sign in, or send Authorization: Bearer <token>", field="Authorization")
        return principal


def _acting(request: Request) -> Acting:
    return Acting(request)


Who = Annotated[Acting, Depends(_acting)]
"""An endpoint's parameter for the actor: `who(body.by)`."""

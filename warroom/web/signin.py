"""Signing in and out of the responders' pages, and changing one's password."""

from __future__ import annotations

import secrets
from datetime import timedelta

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from warroom.access.gate import LOGIN_COOKIE, SESSION_COOKIE, client_address
from warroom.auth import sessions, users
from warroom.auth.secrets import same
from warroom.domain.errors import ServiceError, Throttled
from warroom.store.unit import AuditNote
from warroom.web.routes import page

router = APIRouter(include_in_schema=False)


def _secure(request: Request) -> bool:
    public = request.app.state.settings.public_url or ""
    return request.url.scheme == "https" or public.startswith("https://")


def _local(target: str) -> str:
    """Only a path on this server: never send someone elsewhere after signing in."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _login_page(request: Request, target: str, code: int = 200, error: str | None = None) -> HTMLResponse:
    token = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = page(request, "login.html", code, error=error, target=_local(target), login_token=token)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), max_age=3600)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return _login_page(request, next)


@router.post("/login")
async def login(request: Request) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    target = _local(form.get("next", "/"))
    name = form.get("username", "").strip().lower()
    note: AuditNote | None = getattr(request.state, "audit", None)
    if note is not None:
        note.actor, note.action = name[:120] or "anonymous", "sign in"
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not same(cookie, form.get("csrf_token", "")):
        return _login_page(request, target, 400, "This sign-in form expired; it has been reloaded. Sign in again.")
    ctx = request.app.state.ctx
    hours = request.app.state.settings.session_hours
    try:
        secret, user = await anyio.to_thread.run_sync(
            sessions.sign_in, ctx, name, form.get("password", ""), client_address(request), timedelta(hours=hours)
        )
    except Throttled as exc:
        refused = _login_page(request, target, 429, exc.detail)
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    except ServiceError as exc:
        return _login_page(request, target, exc.status, exc.detail)
    landing = "/account/password" if user.must_change_password else target
    response = RedirectResponse(landing, status_code=303)
    response.set_cookie(
        SESSION_COOKIE, secret, httponly=True, samesite="lax", secure=_secure(request), max_age=int(hours * 3600)
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        await anyio.to_thread.run_sync(sessions.sign_out, request.app.state.ctx, cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/account/password", response_class=HTMLResponse)
def password_form(request: Request) -> HTMLResponse:
    must = bool(getattr(request.state, "must_change_password", False))
    return page(request, "password.html", must=must)


@router.post("/account/password")
async def change_password(request: Request) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    principal = request.state.principal
    must = bool(getattr(request.state, "must_change_password", False))
    ctx = request.app.state.ctx
    if not await anyio.to_thread.run_sync(users.check_password, ctx, principal.name, form.get("current", "")):
        return page(request, "password.html", 422, must=must, error="The current password is not right.")
    if form.get("new", "") != form.get("again", ""):
        return page(request, "password.html", 422, must=must, error="The two new passwords differ.")
    try:
        await anyio.to_thread.run_sync(users.set_password, ctx, principal.name, form.get("new", ""))
    except ServiceError as exc:
        return page(request, "password.html", exc.status, must=must, error=exc.detail)
    sessions.forget()
    return RedirectResponse("/", status_code=303)

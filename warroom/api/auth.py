"""/api/v1: users, tokens, acting for someone, the audit log, and who am I (admins, except /auth/me)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from warroom.access.gate import Who
from warroom.api.deps import ctx
from warroom.api.guards import When
from warroom.api.paging import Cursor, link_next
from warroom.auth import act_as, sessions, tokens, users
from warroom.auth.act_as import GrantView
from warroom.auth.audit import AuditView, entries
from warroom.auth.tokens import TokenView
from warroom.auth.users import UserView
from warroom.domain.cursor import newest_first as by_id
from warroom.domain.durations import DurationError, parse_fixed
from warroom.domain.errors import Invalid
from warroom.store.unit import Context

router = APIRouter(prefix="/api/v1", tags=["identity"])
Ctx = Annotated[Context, Depends(ctx)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not signed in (problem+json)"},
    403: {"description": "Signed in without the role this needs (problem+json)"},
    404: {"description": "No such user or token (problem+json)"},
    409: {"description": "Exists already, or already done (problem+json)"},
    422: {"description": "Invalid input; `field` names it (problem+json)"},
}


class Me(BaseModel):
    name: str
    role: str
    via: str
    acting_for: str | None


class UserRequest(BaseModel):
    name: str = Field(max_length=64)
    role: str = Field(max_length=20)
    email: str = Field("", max_length=320)


class NewUser(BaseModel):
    user: UserView
    password: str = Field(description="a one-time password, shown once; it must be changed at the first sign-in")


class RoleChange(BaseModel):
    role: str = Field(max_length=20)


class TokenRequest(BaseModel):
    name: str = Field(max_length=64)
    role: str = Field(max_length=20)
    user: str | None = Field(None, max_length=64, description="the user the token acts as (never above their role)")
    bot: bool = Field(False, description="an admin token that may say on whose behalf it acts (`by`)")
    expires: str | None = Field(None, max_length=20, description="a lifetime such as 90d or 12h")


class NewToken(BaseModel):
    token: TokenView
    secret: str = Field(description="the token itself, shown once; only its digest is stored")


class ActAsRequest(BaseModel):
    user: str = Field(max_length=64)
    reason: str = Field(max_length=2000)
    minutes: int = Field(60, ge=1, le=240)


def lifetime(text: str | None) -> timedelta | None:
    if not text:
        return None
    try:
        return parse_fixed(text)
    except DurationError as exc:
        raise Invalid(str(exc), field="expires") from None


@router.get("/auth/me", response_model=Me, responses=ERRORS)
def me(who: Who) -> Me:
    p = who.principal
    return Me(name=p.name, role=p.role.value, via=p.via, acting_for=p.acting_for)


@router.get("/users", response_model=list[UserView], responses=ERRORS)
def list_users(c: Ctx) -> list[UserView]:
    return users.list_users(c)


@router.post("/users", status_code=201, response_model=NewUser, responses=ERRORS)
def add_user(body: UserRequest, c: Ctx) -> NewUser:
    view, password = users.add(c, body.name, body.role, body.email)
    return NewUser(user=view, password=password)


@router.post("/users/{name}/role", response_model=UserView, responses=ERRORS)
def set_role(name: str, body: RoleChange, c: Ctx) -> UserView:
    return users.set_role(c, name, body.role)


@router.post("/users/{name}/disable", response_model=UserView, responses=ERRORS)
def disable(name: str, c: Ctx) -> UserView:
    view = users.disable(c, name)
    tokens.forget()
    sessions.forget()
    return view


@router.get("/tokens", response_model=list[TokenView], responses=ERRORS)
def list_tokens(c: Ctx) -> list[TokenView]:
    return tokens.list_tokens(c)


@router.post("/tokens", status_code=201, response_model=NewToken, responses=ERRORS)
def create_token(body: TokenRequest, c: Ctx, who: Who) -> NewToken:
    view, secret = tokens.create(c, body.name, body.role, who(), lifetime(body.expires), body.user, body.bot)
    return NewToken(token=view, secret=secret)


@router.delete("/tokens/{name}", response_model=TokenView, responses=ERRORS)
def revoke_token(name: str, c: Ctx) -> TokenView:
    return tokens.revoke(c, name)


@router.post("/auth/act-as", status_code=201, response_model=GrantView, responses=ERRORS)
def start_acting(body: ActAsRequest, c: Ctx, who: Who) -> GrantView:
    """An admin acts for someone who is away: every action until it ends carries both names."""
    return act_as.start(c, who.principal, body.user, body.reason, body.minutes)


@router.delete("/auth/act-as", responses=ERRORS)
def stop_acting(c: Ctx, who: Who) -> dict[str, int]:
    return {"ended": act_as.end(c, who.principal)}


@router.get("/audit", response_model=list[AuditView], responses=ERRORS)
def audit(
    c: Ctx,
    request: Request,
    response: Response,
    since: Annotated[When, Query(description="ISO-8601 time with a zone")] = None,
    who: str | None = Query(None, max_length=120),
    limit: int = Query(200, ge=1, le=5000),
    cursor: Cursor = None,
) -> list[AuditView]:
    """Every state-changing request, newest first: who, what, target, when, from where, and how it ended;
    `Link: <...>; rel="next"` names the next (older) page when there is one."""
    if since is not None and since.tzinfo is None:
        raise Invalid("since needs a time zone (e.g. 2026-05-07T14:00Z)", field="since")
    rows, following = by_id("audit", lambda n, before: entries(c, since, who, n, before), limit, cursor, lambda e: e.id)
    link_next(request, response, following)
    return rows

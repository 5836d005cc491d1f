"""API tokens: shown once, stored as a digest, revocable; looked up on every request through a short cache."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.auth.cache import TimedCache
from warroom.auth.principal import RANK, Principal, Role, parse_role
from warroom.auth.secrets import digest, new_token
from warroom.auth.users import check_name, load
from warroom.domain.errors import Conflict, Invalid, NotFound
from warroom.domain.view import View
from warroom.store.auth_models import ApiToken, User
from warroom.store.unit import Context, run


class TokenView(View):
    name: str
    prefix: str
    role: str
    user_name: str | None
    bot: bool
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def create(
    ctx: Context,
    name: str,
    role: str,
    by: str,
    expires: timedelta | None = None,
    user: str | None = None,
    bot: bool = False,
) -> tuple[TokenView, str]:
    """A new token; the secret is returned here and never again. A user's token acts as that user
    (never above their role); a bot token (admin only) may say on whose behalf it acts."""
    label = check_name(name)
    level = parse_role(role)
    if bot and level is not Role.ADMIN:
        raise Invalid("a bot token acts on others' behalf, so it needs the admin role", field="role")
    if expires is not None and expires <= timedelta(0):
        raise Invalid("a token's lifetime must be positive", field="expires")
    secret = new_token()

    def apply(session: Session, now: datetime) -> TokenView:
        owner = None
        if user:
            owner = load(session, user)
            if RANK[Role(owner.role)] < RANK[level]:
                raise Invalid(f"{owner.name} is a {owner.role}; their token cannot be {level.value}", field="role")
        if session.scalar(select(ApiToken.id).where(ApiToken.name == label)) is not None:
            raise Conflict(f"a token named {label} exists already")
        row = ApiToken(
            name=label,
            token_hash=digest(secret),
            prefix=secret[:10],
            role=level.value,
            user_name=owner.name if owner else None,
            bot=bot,
            created_by=by,
            created_at=now,
            expires_at=now + expires if expires else None,
        )
        session.add(row)
        session.flush()
        return TokenView.model_validate(row)

    return run(ctx, apply), secret


def revoke(ctx: Context, name: str) -> TokenView:
    def apply(session: Session, now: datetime) -> TokenView:
        row = session.scalar(select(ApiToken).where(ApiToken.name == name.strip().lower()))
        if row is None:
            raise NotFound(f"no token {name}", field="name")
        if row.revoked_at is not None:
            raise Conflict(f"token {row.name} was revoked already")
        row.revoked_at = now
        return TokenView.model_validate(row)

    view = run(ctx, apply)
    _cache.clear()
    return view


def list_tokens(ctx: Context) -> list[TokenView]:
    with ctx.db.read() as session:
        return [TokenView.model_validate(t) for t in session.scalars(select(ApiToken).order_by(ApiToken.name))]


_cache: TimedCache[Principal | None] = TimedCache()


def authenticate(ctx: Context, secret: str) -> Principal | None:
    """The principal a bearer token stands for, or None (unknown, expired, revoked, its user disabled)."""
    key = digest(secret)
    known, principal = _cache.get(key)
    if known:
        return principal
    now = ctx.clock.now()
    with ctx.db.read() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == key))
        principal = None
        if row is not None and row.revoked_at is None and (row.expires_at is None or row.expires_at > now):
            owner = session.get(User, row.user_name) if row.user_name else None
            if row.user_name is None:
                principal = Principal(row.name, Role(row.role), "token", bot=row.bot)
            elif owner is not None and not owner.disabled:
                role = min(Role(row.role), Role(owner.role), key=RANK.__getitem__)  # never above its user now
                principal = Principal(owner.name, role, "token")
    _cache.put(key, principal)
    return principal


def forget() -> None:
    """Drop what this process remembers of tokens (after a revocation or a user disabled here)."""
    _cache.clear()

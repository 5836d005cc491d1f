"""Web sign-in: a password checked against its argon2 hash, a server-side session, and throttling.

Five wrong passwords within a minute, for one user name or from one address, and the next try
is refused with 429 and the seconds to wait, whatever the password (the database counts, so
every replica agrees).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from warroom.auth import passwords
from warroom.auth.cache import TimedCache
from warroom.auth.principal import Principal, Role
from warroom.auth.secrets import digest, new_token
from warroom.auth.users import UserView
from warroom.domain.errors import Throttled, Unauthorized
from warroom.store.auth_models import LoginFailure, User, WebSession
from warroom.store.unit import Context, run

WINDOW = timedelta(minutes=1)
TRIES = 5
LIFETIME = timedelta(hours=12)


def _throttle(session: Session, name: str, address: str, now: datetime) -> None:
    since = now - WINDOW
    row = session.execute(
        select(func.count(), func.min(LoginFailure.at)).where(
            LoginFailure.at > since, or_(LoginFailure.user_name == name, LoginFailure.address == address)
        )
    ).one()
    count, oldest = row
    if count >= TRIES:
        wait = max(1, int(((oldest or now) + WINDOW - now).total_seconds()) + 1)
        raise Throttled(f"too many wrong passwords; try again in {wait} s", retry_after=wait, field="password")


def sign_in(
    ctx: Context, name: str, password: str, address: str, lifetime: timedelta = LIFETIME
) -> tuple[str, UserView]:
    """A new session for the user, or Unauthorized (the same sentence for an unknown name and a wrong
    password), or Throttled."""
    who = name.strip().lower()[:120]
    with ctx.db.read() as session:
        _throttle(session, who, address, ctx.clock.now())
        user = session.get(User, who)
        stored = user.password_hash if user is not None and not user.disabled else None
    if not passwords.verify(stored, password):
        # Outside `run`: this is the record of a refusal, not a change the request made (its audit row
        # says how it ended).
        with ctx.db.unit() as session:
            session.add(LoginFailure(user_name=who, address=address[:64], at=ctx.clock.now()))
        raise Unauthorized("wrong user name or password", field="password")
    secret = new_token()

    def opened(session: Session, now: datetime) -> UserView:
        _throttle(session, who, address, now)
        row = session.get(User, who)
        if row is None or row.disabled:
            raise Unauthorized("wrong user name or password", field="password")
        session.add(WebSession(id_hash=digest(secret), user_name=who, created_at=now, expires_at=now + lifetime,
                               address=address[:64]))  # fmt: skip
        return UserView.model_validate(row)

    return secret, run(ctx, opened)


def sign_out(ctx: Context, secret: str) -> None:
    def apply(session: Session, now: datetime) -> None:
        row = session.get(WebSession, digest(secret))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now

    run(ctx, apply)
    _seen.drop(digest(secret))


_seen: TimedCache[tuple[Principal | None, bool]] = TimedCache()


def authenticate(ctx: Context, secret: str) -> tuple[Principal | None, bool]:
    """The signed-in user of a session cookie (and whether they must change their password), or None."""
    key = digest(secret)
    known, hit = _seen.get(key)
    if known and hit is not None:
        return hit
    now = ctx.clock.now()
    principal, must_change = None, False
    with ctx.db.read() as session:
        row = session.get(WebSession, key)
        if row is not None and row.revoked_at is None and row.expires_at > now:
            user = session.get(User, row.user_name)
            if user is not None and not user.disabled:
                principal = Principal(user.name, Role(user.role), "session")
                must_change = user.must_change_password
    _seen.put(key, (principal, must_change))
    return principal, must_change


def forget() -> None:
    _seen.clear()

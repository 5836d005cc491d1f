"""Users and their roles: added by an admin (or the first run), disabled rather than deleted."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from warroom.auth import passwords
from warroom.auth.principal import Role, parse_role
from warroom.auth.secrets import new_password
from warroom.domain.errors import Conflict, Invalid, NotFound
from warroom.domain.view import View
from warroom.store.auth_models import ApiToken, User, WebSession
from warroom.store.unit import Context, run

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
FIRST_ADMIN = "admin"


class UserView(View):
    name: str
    email: str
    role: str
    disabled: bool
    must_change_password: bool
    created_at: datetime


def check_name(name: str) -> str:
    value = name.strip().lower()
    if not NAME.match(value):
        raise Invalid(
            "a user name is 1-64 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="name",
        )
    return value


def load(session: Session, name: str) -> User:
    user = session.get(User, name.strip().lower())
    if user is None:
        raise NotFound(f"no user {name}", field="name")
    return user


def add(ctx: Context, name: str, role: str, email: str = "", password: str | None = None) -> tuple[UserView, str]:
    """Add a user; returns the view and the password (a generated one-time password when none is
    given, which must be changed at the first sign-in)."""
    who = check_name(name)
    level = parse_role(role)
    secret = password or new_password()
    hashed = passwords.hash_password(secret)

    def apply(session: Session, now: datetime) -> UserView:
        if session.get(User, who) is not None:
            raise Conflict(f"user {who} exists already")
        user = User(
            name=who,
            email=email.strip(),
            role=level.value,
            password_hash=hashed,
            must_change_password=password is None,
            disabled=False,
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        session.flush()
        return UserView.model_validate(user)

    return run(ctx, apply), secret


def ensure_first_admin(ctx: Context) -> str | None:
    """On a database with no users, add `admin` with a one-time password and return it (once)."""
    with ctx.db.read() as session:
        if session.scalar(select(func.count()).select_from(User)):
            return None
    try:
        return add(ctx, FIRST_ADMIN, Role.ADMIN.value)[1]
    except (Conflict, IntegrityError):
        return None  # another replica made it first


def list_users(ctx: Context) -> list[UserView]:
    with ctx.db.read() as session:
        return [UserView.model_validate(u) for u in session.scalars(select(User).order_by(User.name))]


def set_role(ctx: Context, name: str, role: str) -> UserView:
    level = parse_role(role)

    def apply(session: Session, now: datetime) -> UserView:
        user = load(session, name)
        user.role, user.updated_at = level.value, now
        return UserView.model_validate(user)

    return run(ctx, apply)


def disable(ctx: Context, name: str) -> UserView:
    """Disabled, never deleted (the records keep their name): sessions end and tokens stop working."""

    def apply(session: Session, now: datetime) -> UserView:
        user = load(session, name)
        if user.disabled:
            raise Conflict(f"user {user.name} is already disabled")
        user.disabled, user.updated_at = True, now
        session.execute(
            update(WebSession)
            .where(WebSession.user_name == user.name, WebSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_name == user.name, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return UserView.model_validate(user)

    return run(ctx, apply)


def check_password(ctx: Context, name: str, password: str) -> bool:
    with ctx.db.read() as session:
        user = session.get(User, name.strip().lower())
        stored = user.password_hash if user is not None and not user.disabled else None
    return passwords.verify(stored, password)


def set_password(ctx: Context, name: str, password: str) -> UserView:
    hashed = passwords.hash_password(password)

    def apply(session: Session, now: datetime) -> UserView:
        user = load(session, name)
        user.password_hash, user.must_change_password, user.updated_at = hashed, False, now
        return UserView.model_validate(user)

    return run(ctx, apply)

"""Which warroom user a Slack or Mattermost user is: set by an operator (`warroom user link`), read by
the chat faces before anything is done, so every action is attributed to a person."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.domain.errors import Invalid, NotFound
from warroom.domain.view import View
from warroom.store.auth_models import User
from warroom.store.chat_models import ChatIdentity
from warroom.store.unit import Context, run

PLATFORMS = ("slack", "mattermost")
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class IdentityView(View):
    platform: str
    external_id: str
    user_name: str
    linked_by: str
    linked_at: datetime


@dataclass(frozen=True)
class ChatUser:
    name: str
    role: str
    disabled: bool


def _platform(value: str) -> str:
    platform = value.strip().lower()
    if platform not in PLATFORMS:
        raise Invalid(f"unknown chat platform '{value[:20]}'; use {' or '.join(PLATFORMS)}", field="platform")
    return platform


def _external(platform: str, value: str) -> str:
    ident = value.strip()
    if not EXTERNAL_ID.match(ident):
        raise Invalid(f"a {platform} user id is letters and digits (such as U024BE7LH), not '{value[:40]}'",
                      field=platform)  # fmt: skip
    return ident.upper() if platform == "slack" else ident


def link(ctx: Context, user_name: str, platform: str, external_id: str, by: str) -> IdentityView:
    """Link a chat user id to a warroom user (an id linked before is moved to this user)."""
    kind = _platform(platform)
    ident = _external(kind, external_id)

    def apply(session: Session, now: datetime) -> IdentityView:
        user = session.get(User, user_name.strip().lower())
        if user is None:
            raise NotFound(f"no user {user_name}; add them first with `warroom user add`", field="name")
        row = session.get(ChatIdentity, (kind, ident))
        if row is None:
            row = ChatIdentity(platform=kind, external_id=ident, user_name=user.name, linked_by=by, linked_at=now)
            session.add(row)
        else:
            row.user_name, row.linked_by, row.linked_at = user.name, by, now
        session.flush()
        return IdentityView.model_validate(row)

    return run(ctx, apply)


def linked(ctx: Context, user_name: str) -> list[IdentityView]:
    with ctx.db.read() as session:
        rows = session.scalars(
            select(ChatIdentity).where(ChatIdentity.user_name == user_name.strip().lower()).order_by(
                ChatIdentity.platform, ChatIdentity.external_id)
        )  # fmt: skip
        return [IdentityView.model_validate(r) for r in rows]


def resolve(ctx: Context, platform: str, external_id: str) -> ChatUser | None:
    """The warroom user behind a chat user id, or None when nobody linked it."""
    kind = platform.strip().lower()
    if kind not in PLATFORMS or not EXTERNAL_ID.match(external_id.strip()):
        return None
    ident = _external(kind, external_id)
    with ctx.db.read() as session:
        row = session.get(ChatIdentity, (kind, ident))
        if row is None:
            return None
        user = session.get(User, row.user_name)
        if user is None:
            return None
        return ChatUser(user.name, user.role, user.disabled)

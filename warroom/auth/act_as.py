"""An admin acting for someone who is away: with a reason, for a limited time, both names on the record."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from warroom.auth.principal import Principal, Role
from warroom.auth.users import load
from warroom.domain.errors import Conflict, Forbidden, Invalid
from warroom.domain.view import View
from warroom.store.auth_models import ActAsGrant
from warroom.store.unit import Context, run

LONGEST = timedelta(hours=4)


class GrantView(View):
    id: int
    admin: str
    user_name: str
    reason: str
    created_at: datetime
    until: datetime
    ended_at: datetime | None


def start(ctx: Context, admin: Principal, user: str, reason: str, minutes: int) -> GrantView:
    if not admin.allows(Role.ADMIN):
        raise Forbidden("only an admin may act for someone else")
    why = reason.strip()
    if not why:
        raise Invalid("say why you act for them (reason); it goes on the record", field="reason")
    span = timedelta(minutes=minutes)
    if not timedelta(0) < span <= LONGEST:
        raise Invalid(f"act for someone for 1 to {int(LONGEST.total_seconds() // 60)} minutes", field="minutes")

    def apply(session: Session, now: datetime) -> GrantView:
        other = load(session, user)
        if other.disabled:
            raise Conflict(f"{other.name} is disabled")
        if other.name == admin.name:
            raise Invalid("you cannot act for yourself", field="user")
        for old in session.scalars(_live(admin.name, now)):
            old.ended_at = now
        row = ActAsGrant(admin=admin.name, user_name=other.name, reason=why[:2000], created_at=now, until=now + span)
        session.add(row)
        session.flush()
        return GrantView.model_validate(row)

    return run(ctx, apply)


def end(ctx: Context, admin: Principal) -> int:
    def apply(session: Session, now: datetime) -> int:
        rows = list(session.scalars(_live(admin.name, now)))
        for row in rows:
            row.ended_at = now
        return len(rows)

    return run(ctx, apply)


def _live(admin: str, now: datetime) -> Select[ActAsGrant]:
    return select(ActAsGrant).where(ActAsGrant.admin == admin, ActAsGrant.ended_at.is_(None), ActAsGrant.until > now)


def apply_grant(ctx: Context, principal: Principal) -> Principal:
    """An admin with a live grant acts for its user until it ends."""
    if not principal.allows(Role.ADMIN) or principal.bot:
        return principal
    with ctx.db.read() as session:
        grant = session.scalars(_live(principal.name, ctx.clock.now()).order_by(ActAsGrant.id.desc())).first()
        other = grant.user_name if grant else None
    return replace(principal, acting_for=other) if other else principal

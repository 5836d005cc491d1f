"""Reading the audit log, and writing the row of a request that committed no change (refused, or a read)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from warroom.domain.view import View
from warroom.store.auth_models import AuditEntry
from warroom.store.unit import AuditNote, Context


class AuditView(View):
    id: int
    at: datetime
    actor: str
    on_behalf_of: str | None
    via: str
    action: str
    target: str
    address: str
    result: str


def entries(
    ctx: Context, since: datetime | None = None, who: str | None = None, limit: int = 200, before: int | None = None
) -> list[AuditView]:
    """Newest first; `before` an entry id: the page after the one that ended there."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    if since is not None:
        stmt = stmt.where(AuditEntry.at >= since)
    if who:
        stmt = stmt.where(AuditEntry.actor == who)
    with ctx.db.read() as session:
        return [AuditView.model_validate(e) for e in session.scalars(stmt)]


def close(ctx: Context, note: AuditNote, result: str) -> None:
    """The request ended without a unit of work writing its row: write it now, with how it ended."""
    if note.written:
        return
    with ctx.db.unit() as session:
        session.add(note.entry(ctx.clock.now(), result))
    note.written = True

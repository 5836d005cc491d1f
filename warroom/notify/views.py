"""Read and act on the outbox: list notifications with their delivery log, retry a dead one by hand."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sqlalchemy import select

from warroom.domain.errors import Conflict, Invalid, NotFound
from warroom.domain.view import View
from warroom.notify.outbox import RETRYABLE, max_attempts_for
from warroom.notify.settings import current
from warroom.store.notify_models import Attempt, Outbox
from warroom.store.unit import Context

STATES = ("pending", "sending", "sent", "failed", "dead", "unknown", "coalesced")
TROUBLE = ("failed", "dead", "unknown")
"""`--failed`: everything that has not arrived and needs an eye."""


class AttemptView(View):
    number: int
    at: datetime
    worker: str
    outcome: str
    error: str
    elapsed_ms: int


class NotificationView(View):
    id: int
    event_key: str
    destination: str
    kind: str
    incident_id: str | None
    person: str | None
    method: str | None
    address: str | None
    title: str
    body: str
    state: str
    attempts: int
    max_attempts: int
    next_attempt_at: datetime
    due_by: datetime | None
    last_error: str
    note: str
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None
    fallback_of: int | None
    coalesced_into: int | None
    log: list[AttemptView] = Field(default_factory=list, description="every attempt, oldest first")


def _view(row: Outbox, log: list[Attempt] | None = None) -> NotificationView:
    view = NotificationView.model_validate(row)
    if log:
        view.log = [AttemptView.model_validate(a) for a in log]
    return view


def list_notifications(
    ctx: Context,
    state: str | None = None,
    incident: str | None = None,
    limit: int = 100,
    with_log: bool = False,
    before: int | None = None,
) -> list[NotificationView]:
    """Newest first, older than the notification `before` when given (the API's pages). `state` is one state,
    a comma-separated list, or `failed` for failed+dead+unknown."""
    stmt = select(Outbox) if before is None else select(Outbox).where(Outbox.id < before)
    if state:
        wanted = list(TROUBLE) if state == "failed" else [s.strip() for s in state.split(",") if s.strip()]
        bad = [s for s in wanted if s not in STATES]
        if bad:
            raise Invalid(f"unknown state '{bad[0]}'; states: {', '.join(STATES)}", field="state")
        stmt = stmt.where(Outbox.state.in_(wanted))
    if incident:
        stmt = stmt.where(Outbox.incident_id == incident.strip().upper())
    with ctx.db.unit() as session:
        rows = list(session.scalars(stmt.order_by(Outbox.id.desc()).limit(max(1, min(limit, 1001)))))
        logs: dict[int, list[Attempt]] = {}
        if with_log and rows:
            for a in session.scalars(
                select(Attempt).where(Attempt.outbox_id.in_([r.id for r in rows])).order_by(Attempt.id)
            ):
                logs.setdefault(a.outbox_id, []).append(a)
        return [_view(r, logs.get(r.id)) for r in rows]


def get_notification(ctx: Context, notification_id: int) -> NotificationView:
    with ctx.db.unit() as session:
        row = session.get(Outbox, notification_id)
        if row is None:
            raise NotFound(f"no notification {notification_id}", field="id")
        log = list(session.scalars(select(Attempt).where(Attempt.outbox_id == row.id).order_by(Attempt.id)))
        return _view(row, log)


def retry(ctx: Context, notification_id: int, by: str = "cli") -> NotificationView:
    """Send a dead (or unknown, or failed) notification again now, with a fresh set of attempts."""
    with ctx.db.unit() as session:
        row = session.scalars(select(Outbox).where(Outbox.id == notification_id).with_for_update()).first()
        if row is None:
            raise NotFound(f"no notification {notification_id}", field="id")
        if row.state not in RETRYABLE:
            when = f" at {row.sent_at:%Y-%m-%d %H:%M UTC}" if row.sent_at else ""
            raise Conflict(
                f"notification {row.id} is {row.state}{when}; only failed, dead or unknown ones can be retried"
            )
        now = ctx.clock.now()
        session.add(
            Attempt(
                outbox_id=row.id,
                number=row.attempts,
                destination=row.destination,
                address=row.address,
                at=now,
                worker=by,
                outcome="retry",
                error=f"retried by hand by {by} (was {row.state}: {row.last_error[:300]})",
            )
        )
        row.max_attempts = row.attempts + max_attempts_for(session, row.destination, current())
        row.state = "pending"
        row.next_attempt_at = now
        row.claimed_by = None
        row.claimed_until = None
        row.updated_at = now
        row.note = (row.note + "; " if row.note else "") + f"retried by hand by {by}"
        session.flush()
        log = list(session.scalars(select(Attempt).where(Attempt.outbox_id == row.id).order_by(Attempt.id)))
        return _view(row, log)

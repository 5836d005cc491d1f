"""The outbox: one row per (event, destination), inserted in the transaction of the event.

Inserting is idempotent: a second insert of the same (event key, destination) does nothing,
which is how a storm of identical events, a retried transaction or a page reaching the same
person twice in one tier stays one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from warroom.notify.settings import NotifySettings
from warroom.store.db import insert_new
from warroom.store.engine_models import Page
from warroom.store.notify_models import Channel, Outbox, PageLink
from warroom.store.unit import Signal

PERSON_PREFIX = "person:"
FINAL = ("sent", "dead", "unknown", "coalesced")
RETRYABLE = ("dead", "unknown", "failed")


@dataclass
class Message:
    event_key: str
    destination: str
    kind: str
    title: str
    body: str
    incident_id: str | None = None
    page_id: int | None = None
    person: str | None = None
    method: str | None = None
    address: str | None = None
    notify_type: str = "info"
    not_before: datetime | None = None
    due_by: datetime | None = None
    note: str = ""
    fallback_of: int | None = None


CHANNEL_ATTEMPTS = "warroom.notify.channel_attempts"
"""in a session's info: each channel's max_attempts as this transaction read it (None: no such channel)"""


def person_destination(person: str, method: str | None) -> str:
    return f"{PERSON_PREFIX}{person}:{method}" if method else f"{PERSON_PREFIX}{person}"


def split_person(destination: str) -> tuple[str, str | None] | None:
    """`person:alice:sms` → (alice, sms); None for a channel."""
    if not destination.startswith(PERSON_PREFIX):
        return None
    rest = destination[len(PERSON_PREFIX) :]
    name, _, method = rest.rpartition(":")
    if not name:
        return rest, None
    return name, method or None


def max_attempts_for(session: Session, destination: str, settings: NotifySettings) -> int:
    if split_person(destination) is None:
        # Once per transaction: a pass that declares 20 incidents asked for the same (often missing) channels
        # 40 times, and the session keeps neither a row nobody holds nor a row that is not there.
        known: dict[str, int | None] = session.info.setdefault(CHANNEL_ATTEMPTS, {})
        if destination not in known:
            channel = session.get(Channel, destination)
            known[destination] = channel.max_attempts if channel is not None else None
        attempts = known[destination]
        if attempts:
            return attempts
    return settings.max_attempts


def enqueue(
    session: Session, messages: list[Message], now: datetime, settings: NotifySettings | None = None
) -> list[int]:
    """Insert the messages that are new; returns the ids of the rows this call created."""
    if not messages:
        return []
    settings = settings or NotifySettings()
    created: list[int] = []
    seen: set[tuple[str, str]] = set()
    for m in messages:
        key = (m.event_key[:200], m.destination[:200])
        if key in seen:
            continue
        seen.add(key)
        values = {
            "event_key": key[0],
            "destination": key[1],
            "kind": m.kind,
            "incident_id": m.incident_id,
            "page_id": m.page_id,
            "person": m.person,
            "method": m.method,
            "address": m.address,
            "title": m.title,
            "body": m.body,
            "notify_type": m.notify_type,
            "state": "pending",
            "attempts": 0,
            "max_attempts": max_attempts_for(session, m.destination, settings),
            "next_attempt_at": max(now, m.not_before) if m.not_before else now,
            "due_by": m.due_by,
            "last_error": "",
            "note": m.note,
            "created_at": now,
            "updated_at": now,
            "fallback_of": m.fallback_of,
        }
        new_id = insert_new(session, Outbox, ("event_key", "destination"), "id", values)
        if new_id is not None:
            created.append(int(new_id))
    if created:
        queued.raise_after_commit(session)
    return created


queued = Signal("outbox")
"""messages were committed to the outbox: a page should leave now, not at the delivery loop's next poll"""


def link_page(session: Session, page: Page, event_key: str, now: datetime) -> None:
    """The page is now the notification service's: it leaves `pending` and follows its outbox event."""
    values = {"page_id": page.id, "event_key": event_key, "incident_id": page.incident_id, "created_at": now}
    insert_new(session, PageLink, ("page_id",), "page_id", values)
    if page.delivery == "pending":
        page.delivery = "queued"
    # Tier 1 shares the messages the declaration queued (and may already have sent): they carry the page
    # from now on, and what they already reached decides its state now.
    session.execute(
        update(Outbox)
        .where(Outbox.event_key == event_key, Outbox.page_id.is_(None))
        .values(page_id=page.id)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    settle_pages(session, event_key)


def settle_pages(session: Session, event_key: str) -> None:
    """After a row of a page event changed state: a page is `sent` once any of its messages arrived;
    `failed` once all of them are final and none arrived (`unknown` if one may have: a worker died mid-send)."""
    page_ids = list(session.scalars(select(PageLink.page_id).where(PageLink.event_key == event_key)))
    if not page_ids:
        return
    rows = session.execute(select(Outbox.state, Outbox.sent_at).where(Outbox.event_key == event_key)).all()
    sent = [r.sent_at for r in rows if r.state == "sent" and r.sent_at is not None]
    if sent:
        delivery, at = "sent", min(sent)
    elif rows and all(r.state in FINAL for r in rows):
        delivery, at = ("unknown" if any(r.state == "unknown" for r in rows) else "failed"), None
    else:
        return
    session.execute(
        update(Page)
        .where(Page.id.in_(page_ids), Page.delivery != delivery)
        .values(delivery=delivery, delivered_at=at)
        .execution_options(synchronize_session=False)
    )

"""Subscribers by e-mail (double opt-in, an unsubscribe link in every mail) and by webhook (a JSON POST in
Statuspage's webhook shape, see webhooks.py): each public post and maintenance start is queued in the
notification outbox for every confirmed subscriber of its components (or of everything), with its retries,
backoff and delivery log.

Mail goes to the channel named `status-subscribers` (an Apprise mailto URL whose `{channel}` is replaced
by the subscriber's address), so where and how mail is sent stays configuration, like every destination.
A webhook asked for on the public page is confirmed like an address: its first POST carries the link.
One a responder adds is confirmed at once (they vouch for it); an e-mail address they add still confirms.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from warroom.domain.errors import Conflict, Forbidden, Invalid, NotFound
from warroom.domain.view import WHO
from warroom.incidents.record import actor
from warroom.notify.outbox import Message, enqueue
from warroom.notify.views import AttemptView
from warroom.statuspage import webhooks
from warroom.statuspage.records import leaf
from warroom.statuspage.settings import StatusSettings, page_name_and_url
from warroom.store.notify_models import Attempt, Outbox
from warroom.store.status_models import StatusSubscriber
from warroom.store.unit import Context, run

CHANNEL = "status-subscribers"
KIND = "status_subscriber"
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)
RESEND_AFTER = timedelta(minutes=10)
"""a pending address asked again gets a new confirmation at most this often"""
DELIVERIES = 200


class SubscriberRequest(BaseModel):
    """A responder adds a subscriber: an e-mail address (sent a confirmation) or a webhook (confirmed now)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"webhook": "https://example.com/hooks/status", "components": ["API"]}]},
    )
    email: str | None = Field(None, max_length=320)
    webhook: str | None = Field(None, max_length=webhooks.LIMIT)
    components: list[str] = Field(default_factory=list, max_length=50, description="names or codes; none: all")
    by: str = Field("", description=WHO)


class RemoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str = Field("", description=WHO)


class SubscriberView(BaseModel):
    id: int
    kind: str
    address: str
    """the address, or the webhook's URL with its password and query values hidden"""
    components: list[str]
    state: str
    created_at: datetime
    created_by: str
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    removed_by: str | None
    sent: int
    failed: int
    pending: int
    last_error: str | None


class DeliveryView(BaseModel):
    """One message to a subscriber and every attempt to deliver it."""

    id: int
    title: str
    state: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime
    last_error: str
    log: list[AttemptView]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _address(value: str) -> str:
    text = value.strip()
    if len(text) > 320 or not EMAIL.match(text):
        raise Invalid("give an e-mail address such as you@example.com", field="email")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def _footer(url: str, sub: StatusSubscriber) -> str:
    link = f"{url}/subscribers/unsubscribe?token={sub.unsubscribe_token}"
    return f"\n\n--\nYou get this because you subscribed to {url}.\nUnsubscribe: {link}\n"


def _codes(session: Session, components: list[str] | None) -> list[str]:
    return [leaf(session, ref, f"components.{i}").code for i, ref in enumerate(components or [])]


def _live(session: Session, kind: str, address: str) -> StatusSubscriber | None:
    same = func.lower(StatusSubscriber.address) == address.lower() if kind == "email" else (
        StatusSubscriber.address == address
    )  # fmt: skip
    return session.scalar(
        select(StatusSubscriber)
        .where(StatusSubscriber.kind == kind, same, StatusSubscriber.unsubscribed_at.is_(None))
        .with_for_update()
    )


def _ask(
    session: Session, now: datetime, kind: str, address: str, codes: list[str], by: str = ""
) -> StatusSubscriber | None:
    """A pending subscriber with a fresh confirmation secret, and its confirmation queued; None when the
    address is already subscribed or was asked for a moment ago (the answer is the same either way)."""
    sub = _live(session, kind, address)
    if sub is not None and sub.confirmed_at is not None:
        return None
    if sub is not None and now - sub.created_at < RESEND_AFTER:
        return None
    token = secrets.token_urlsafe(24)
    if sub is None:
        sub = StatusSubscriber(
            kind=kind,
            address=address,
            components=codes,
            token_hash=_hash(token),
            unsubscribe_token=secrets.token_urlsafe(24),
            created_at=now,
            created_by=by,
        )
        session.add(sub)
    else:
        sub.token_hash, sub.created_at, sub.components = _hash(token), now, codes
    session.flush()
    name, url = page_name_and_url()
    if kind == "email":
        title = f"Confirm your subscription to {name} status"
        body = (
            f"Someone (we hope you) asked for updates from {name} status at {url}.\n\n"
            f"Confirm here: {url}/subscribers/confirm?token={token}\n\nIf it was not you, ignore this mail: "
            "nothing more will come."
        ) + _footer(url, sub)
        destination = CHANNEL
    else:
        webhooks.ensure_channel(session, now)
        title = f"Confirm this webhook's subscription to {name} status"
        body = webhooks.confirmation(session, now, sub, token)
        destination = webhooks.CHANNEL
    key = f"status-confirm:{sub.id}:{sub.token_hash[:12]}"
    message = Message(event_key=key, destination=destination, kind=KIND, title=title, body=body, address=address)
    enqueue(session, [message], now)
    return sub


def subscribe(ctx: Context, email: str, components: list[str] | None = None) -> None:
    """Ask for updates by mail: a confirmation mail goes out; nothing is sent until its link is followed.

    The answer is the same whether or not the address was already subscribed (it tells nobody who is).
    """
    address = _address(email)
    run(ctx, lambda session, now: _ask(session, now, "email", address, _codes(session, components)))


def subscribe_webhook(ctx: Context, url: str, components: list[str] | None = None) -> None:
    """Ask for updates at a webhook from the public page: its first POST carries the confirmation link."""
    if not StatusSettings().public_webhooks:
        raise Forbidden("this status page takes webhook subscribers from its admins only", field="webhook")
    address = webhooks.check_url(url)
    run(ctx, lambda session, now: _ask(session, now, "webhook", address, _codes(session, components)))


def add(ctx: Context, req: SubscriberRequest) -> SubscriberView:
    """A responder adds a subscriber: a webhook is confirmed at once; an address is sent its confirmation."""
    if bool(req.email) == bool(req.webhook):
        raise Invalid("give either an e-mail address or a webhook URL", field="webhook" if req.webhook else "email")

    def apply(session: Session, now: datetime) -> int:
        by = actor(req.by)
        codes = _codes(session, req.components)
        if req.email:
            address = _address(req.email)
            live = _live(session, "email", address)
            if live is not None and live.confirmed_at is not None:
                raise Conflict(f"{address} is subscribed already (subscriber {live.id})", field="email")
            sub = _ask(session, now, "email", address, codes, by) or live
            assert sub is not None
            return sub.id
        address = webhooks.check_url(req.webhook or "")
        live = _live(session, "webhook", address)
        if live is not None:
            if live.confirmed_at is not None:
                raise Conflict(f"that webhook is subscribed already (subscriber {live.id})", field="webhook")
            live.confirmed_at, live.created_by, live.components = now, by, codes  # vouched for by a responder
            return live.id
        webhooks.ensure_channel(session, now)
        sub = StatusSubscriber(
            kind="webhook",
            address=address,
            components=codes,
            token_hash=_hash(secrets.token_urlsafe(24)),
            unsubscribe_token=secrets.token_urlsafe(24),
            created_at=now,
            created_by=by,
            confirmed_at=now,
        )
        session.add(sub)
        session.flush()
        return sub.id

    return get(ctx, run(ctx, apply))


def remove(ctx: Context, subscriber_id: int, by: str) -> SubscriberView:
    """A responder removes a subscriber: nothing more is queued for it (its delivery log stays)."""

    def apply(session: Session, now: datetime) -> None:
        who = actor(by)
        sub = session.get(StatusSubscriber, subscriber_id, with_for_update=True)
        if sub is None:
            raise NotFound(f"no subscriber {subscriber_id}", field="id")
        if sub.unsubscribed_at is not None:
            raise Conflict(f"subscriber {subscriber_id} was removed at {sub.unsubscribed_at:%Y-%m-%d %H:%M} UTC")
        sub.unsubscribed_at, sub.removed_by = now, who

    run(ctx, apply)
    return get(ctx, subscriber_id)


def confirm(ctx: Context, token: str) -> bool:
    def apply(session: Session, now: datetime) -> bool:
        sub = session.scalar(select(StatusSubscriber).where(StatusSubscriber.token_hash == _hash(token.strip())))
        if sub is None or sub.unsubscribed_at is not None:
            return False
        if sub.confirmed_at is None:
            sub.confirmed_at = now
        return True

    return run(ctx, apply)


def unsubscribe(ctx: Context, token: str) -> bool:
    def apply(session: Session, now: datetime) -> bool:
        sub = session.scalar(select(StatusSubscriber).where(StatusSubscriber.unsubscribe_token == token.strip()))
        if sub is None:
            return False
        if sub.unsubscribed_at is None:
            sub.unsubscribed_at = now
        return True

    return run(ctx, apply)


def tell(
    session: Session,
    key: str,
    title: str,
    text: str,
    link: str,
    codes: list[str],
    now: datetime,
    story: str,
    changes: list[dict[str, str]] | None = None,
) -> int:
    """Queue the news for each confirmed subscriber who asked for these components (or for everything):
    a mail to each address; to each webhook the story (`story`: the incident's or window's public code) and
    a component update for each of `changes` it follows."""
    name, url = page_name_and_url()
    subs = session.scalars(
        select(StatusSubscriber)
        .where(StatusSubscriber.confirmed_at.is_not(None), StatusSubscriber.unsubscribed_at.is_(None))
        .order_by(StatusSubscriber.id)
    ).all()
    wanted = set(codes)
    messages = []
    bodies: webhooks.Bodies | None = None
    for s in subs:
        follows = set(s.components)
        if follows and not wanted & follows:
            continue
        if s.kind == "email":
            messages.append(
                Message(
                    event_key=f"status:{key}:{s.id}",
                    destination=CHANNEL,
                    kind=KIND,
                    title=f"[{name} status] {title}",
                    body=f"{text}\n\n{url}{link}" + _footer(url, s),
                    address=s.address,
                )
            )
            continue
        bodies = bodies or webhooks.Bodies(session, now, story, changes or [])
        body = bodies.incident(s)
        if body is not None:
            messages.append(_hook(f"status:{key}:{s.id}", title, body, s))
        for code, update in bodies.updates.items():
            if not follows or code in follows:
                title_ = f"Component update: {update['component']['name']}"
                messages.append(_hook(f"status:{key}/{code}:{s.id}", title_, bodies.component(s, code), s))
    return len(enqueue(session, messages, now))


def _hook(key: str, title: str, body: str, s: StatusSubscriber) -> Message:
    return Message(event_key=key, destination=webhooks.CHANNEL, kind=KIND, title=title, body=body, address=s.address)


def _view(s: StatusSubscriber, stats: dict[str, int], error: str | None) -> SubscriberView:
    state = "unsubscribed" if s.unsubscribed_at else "confirmed" if s.confirmed_at else "pending"
    return SubscriberView(
        id=s.id,
        kind=s.kind,
        address=s.address if s.kind == "email" else webhooks.mask(s.address),
        components=list(s.components),
        state=state,
        created_at=s.created_at,
        created_by=s.created_by,
        confirmed_at=s.confirmed_at,
        unsubscribed_at=s.unsubscribed_at,
        removed_by=s.removed_by,
        sent=stats.get("sent", 0),
        failed=stats.get("failed", 0) + stats.get("dead", 0) + stats.get("unknown", 0),
        pending=stats.get("pending", 0) + stats.get("sending", 0),
        last_error=error,
    )


def _theirs(subscriber_id: int) -> ColumnElement[bool]:
    """The outbox rows of one subscriber: their event keys end in its id (a confirmation's names it first)."""
    return or_(
        Outbox.event_key.like(f"status:%:{subscriber_id}"), Outbox.event_key.like(f"status-confirm:{subscriber_id}:%")
    )


def list_subscribers(ctx: Context) -> list[SubscriberView]:
    """Every subscriber with what was delivered to them: an admin sees at once whose mail does not arrive."""
    with ctx.db.read() as session:
        subs = session.scalars(select(StatusSubscriber).order_by(StatusSubscriber.id)).all()
        stats: dict[str, dict[str, int]] = {}
        for address, state, count in session.execute(
            select(Outbox.address, Outbox.state, func.count())
            .where(Outbox.kind == KIND)
            .group_by(Outbox.address, Outbox.state)
        ):
            stats.setdefault(address or "", {})[state] = count
        errors = dict(
            session.execute(
                select(Outbox.address, Outbox.last_error)
                .where(Outbox.kind == KIND, Outbox.last_error.is_not(None), Outbox.last_error != "")
                .order_by(Outbox.id)
            ).all()
        )
        return [_view(s, stats.get(s.address, {}), errors.get(s.address)) for s in subs]


def get(ctx: Context, subscriber_id: int) -> SubscriberView:
    with ctx.db.read() as session:
        s = session.get(StatusSubscriber, subscriber_id)
        if s is None:
            raise NotFound(f"no subscriber {subscriber_id}", field="id")
        rows = session.execute(
            select(Outbox.state, Outbox.last_error).where(Outbox.kind == KIND, _theirs(s.id)).order_by(Outbox.id)
        ).all()
        stats: dict[str, int] = {}
        for state, _ in rows:
            stats[state] = stats.get(state, 0) + 1
        error = next((e for _, e in reversed(rows) if e), None)
        return _view(s, stats, error)


def deliveries(ctx: Context, subscriber_id: int, limit: int = DELIVERIES) -> list[DeliveryView]:
    """A subscriber's delivery log, newest first: each message, its state and every attempt."""
    with ctx.db.read() as session:
        if session.get(StatusSubscriber, subscriber_id) is None:
            raise NotFound(f"no subscriber {subscriber_id}", field="id")
        rows = list(
            session.scalars(
                select(Outbox)
                .where(Outbox.kind == KIND, _theirs(subscriber_id))
                .order_by(Outbox.id.desc())
                .limit(max(1, min(limit, 1000)))
            )
        )
        log: dict[int, list[Attempt]] = {}
        if rows:
            for a in session.scalars(
                select(Attempt).where(Attempt.outbox_id.in_([r.id for r in rows])).order_by(Attempt.id)
            ):
                log.setdefault(a.outbox_id, []).append(a)
        return [
            DeliveryView(
                id=r.id,
                title=r.title,
                state=r.state,
                attempts=r.attempts,
                created_at=r.created_at,
                sent_at=r.sent_at,
                next_attempt_at=r.next_attempt_at,
                last_error=r.last_error or "",
                log=[AttemptView.model_validate(a) for a in log.get(r.id, [])],
            )
            for r in rows
        ]

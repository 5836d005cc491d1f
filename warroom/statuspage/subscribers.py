"""Subscribers by e-mail: double opt-in, an unsubscribe link in every mail, and each public post and
maintenance start queued in the notification outbox (its retries, backoff and delivery log).

Mail goes to the channel named `status-subscribers` (an Apprise mailto URL whose `{channel}` is replaced
by the subscriber's address), so where and how mail is sent stays configuration, like every destination.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warroom.domain.errors import Invalid
from warroom.notify.outbox import Message, enqueue
from warroom.statuspage.records import leaf
from warroom.statuspage.settings import page_name_and_url
from warroom.store.notify_models import Outbox
from warroom.store.status_models import StatusSubscriber
from warroom.store.unit import Context, run

CHANNEL = "status-subscribers"
KIND = "status_subscriber"
EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$"
)
RESEND_AFTER = timedelta(minutes=10)
"""a pending address asked again gets a new confirmation mail at most this often"""


class SubscriberView(BaseModel):
    id: int
    address: str
    components: list[str]
    state: str
    created_at: datetime
    confirmed_at: datetime | None
    unsubscribed_at: datetime | None
    sent: int
    failed: int
    pending: int
    last_error: str | None


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


def subscribe(ctx: Context, email: str, components: list[str] | None = None) -> None:
    """Ask for updates: a confirmation mail goes out; nothing is sent until its link is followed.

    The answer is the same whether or not the address was already subscribed (it tells nobody who is).
    """
    address = _address(email)

    def apply(session: Session, now: datetime) -> None:
        codes = [leaf(session, ref, f"components.{i}").code for i, ref in enumerate(components or [])]
        sub = session.scalar(
            select(StatusSubscriber)
            .where(func.lower(StatusSubscriber.address) == address.lower(), StatusSubscriber.unsubscribed_at.is_(None))
            .with_for_update()
        )
        if sub is not None and sub.confirmed_at is not None:
            return
        if sub is not None and now - sub.created_at < RESEND_AFTER:
            return
        token = secrets.token_urlsafe(24)
        if sub is None:
            sub = StatusSubscriber(
                kind="email",
                address=address,
                components=codes,
                token_hash=_hash(token),
                unsubscribe_token=secrets.token_urlsafe(24),
                created_at=now,
            )
            session.add(sub)
        else:
            sub.token_hash, sub.created_at, sub.components = _hash(token), now, codes
        session.flush()
        name, url = page_name_and_url()
        body = (
            f"Someone (we hope you) asked for updates from {name} status at {url}.\n\n"
            f"Confirm here: {url}/subscribers/confirm?token={token}\n\nIf it was not you, ignore this mail: "
            "nothing more will come."
        ) + _footer(url, sub)
        enqueue(
            session,
            [
                Message(
                    event_key=f"status-confirm:{sub.id}:{sub.token_hash[:12]}",
                    destination=CHANNEL,
                    kind=KIND,
                    title=f"Confirm your subscription to {name} status",
                    body=body,
                    address=sub.address,
                )
            ],
            now,
        )

    run(ctx, apply)


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


def tell(session: Session, key: str, title: str, text: str, link: str, codes: list[str], now: datetime) -> int:
    """Queue one mail per confirmed subscriber who asked for these components (or for everything)."""
    name, url = page_name_and_url()
    subs = session.scalars(
        select(StatusSubscriber).where(
            StatusSubscriber.confirmed_at.is_not(None), StatusSubscriber.unsubscribed_at.is_(None)
        )
    ).all()
    wanted = set(codes)
    messages = [
        Message(
            event_key=f"status:{key}:{s.id}",
            destination=CHANNEL,
            kind=KIND,
            title=f"[{name} status] {title}",
            body=f"{text}\n\n{url}{link}" + _footer(url, s),
            address=s.address,
        )
        for s in subs
        if not s.components or wanted & set(s.components)
    ]
    return len(enqueue(session, messages, now))


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
        out = []
        for s in subs:
            st = stats.get(s.address, {})
            state = "unsubscribed" if s.unsubscribed_at else "confirmed" if s.confirmed_at else "pending"
            out.append(
                SubscriberView(
                    id=s.id,
                    address=s.address,
                    components=list(s.components),
                    state=state,
                    created_at=s.created_at,
                    confirmed_at=s.confirmed_at,
                    unsubscribed_at=s.unsubscribed_at,
                    sent=st.get("sent", 0),
                    failed=st.get("failed", 0) + st.get("dead", 0) + st.get("unknown", 0),
                    pending=st.get("pending", 0) + st.get("sending", 0),
                    last_error=errors.get(s.address),
                )
            )
        return out

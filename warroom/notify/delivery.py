"""Delivery: claim due outbox rows, send them through Apprise, record what happened.

The protocol, per row:

1. Claim (one short transaction): due rows are locked (`FOR UPDATE SKIP LOCKED` on PostgreSQL;
   SQLite's `BEGIN IMMEDIATE` is the single writer), marked `sending` with the worker's lease
   and the attempt counted, and committed, all *before* anything is sent.
2. Send through Apprise with no transaction open.
3. Finish (one transaction): `sent`; or `failed` with the next try after an exponential
   backoff; or, after the last attempt, `dead`, and the destination's fallback gets the message.

A worker that dies between 1 and 3 leaves its rows `sending` with a lease that runs out. Whether
such a message went out is unknown, and the destination decides what happens next:

- at-most-once (e-mail, the customer e-mail, the status page): the row becomes `unknown` and is
  never sent again by itself, so a crash never doubles an e-mail; a human retries it if it did
  not arrive (`warroom notifications retry ID`).
- at-least-once (pages, push, SMS, calls, chat): the row is sent again, so a crash never loses a
  page; the price is a possible duplicate.

Each destination may choose (`warroom contact add-channel --delivery`).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from warroom.domain.clock import stamp
from warroom.notify import contacts, customer, routing
from warroom.notify.outbox import Message, enqueue, settle_pages, split_person
from warroom.notify.rules import METHODS, backoff
from warroom.notify.settings import NotifySettings, current
from warroom.store.notify_models import Attempt, Channel, ContactMethod, Outbox
from warroom.store.unit import Context

log = logging.getLogger("warroom.notify")

AT_MOST_ONCE = "at-most-once"
AT_LEAST_ONCE = "at-least-once"
EMAIL_SCHEMES = ("mailto", "mailtos")
ONCE_DESTINATIONS = (routing.CUSTOMER_EMAIL, routing.STATUS_PAGE)
MAX_FALLBACK_DEPTH = 3
DIGEST_LIMIT = 8000


@dataclass
class SendResult:
    ok: bool
    error: str = ""
    elapsed_ms: int = 0


Sender = Callable[[str, str, str, str], SendResult]
"""(url, title, body, notify_type) → result; the real one is Apprise."""


def warm_up() -> None:
    """Import Apprise and load its plugins now: the first page after a start would wait ~0.2 s for it."""
    import apprise

    apprise.Apprise.instantiate("json://127.0.0.1")


def apprise_send(url: str, title: str, body: str, notify_type: str = "info") -> SendResult:
    """Send one message through Apprise's Python API; its warnings become the error text."""
    import apprise

    started = time.monotonic()
    a = apprise.Apprise()
    if not a.add(url):
        scheme = url.split("://", 1)[0]
        return SendResult(False, f"Apprise does not understand this {scheme}:// URL")
    try:
        kind = apprise.NotifyType(notify_type)
    except ValueError:
        kind = apprise.NotifyType.INFO
    with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as out:  # type: ignore[no-untyped-call]
        ok = a.notify(title=title, body=body, notify_type=kind, body_format=apprise.NotifyFormat.TEXT)
    elapsed = int((time.monotonic() - started) * 1000)
    if ok:
        return SendResult(True, "", elapsed)
    lines = [ln.strip() for ln in out.getvalue().splitlines() if ln.strip()]
    return SendResult(False, " | ".join(lines[-3:]) or "Apprise reported a failure", elapsed)


@dataclass
class Job:
    id: int
    url: str
    title: str
    body: str
    notify_type: str
    destination: str
    address: str | None


@dataclass
class Report:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    unknown: int = 0
    resent: int = 0
    coalesced: int = 0
    deferred: int = 0
    caught_up: int = 0
    errors: list[str] = field(default_factory=list)


# --- where a row goes ---------------------------------------------------------------------------


@dataclass
class Route:
    url: str | None
    error: str = ""
    semantics: str = AT_LEAST_ONCE
    rate: int | None = None


def _fill(url: str, row: Outbox) -> str:
    channel = (row.address or "").lstrip("#")
    return url.replace("{channel}", quote(channel, safe="")).replace(
        "{incident}", quote(row.incident_id or "", safe="")
    )


def resolve(session: Session, row: Outbox) -> Route:
    """The URL this row is sent to now (configuration may have changed since it was queued)."""
    person = split_person(row.destination)
    if person is not None:
        name, method = person
        if method is None:
            return Route(
                None,
                f"{name} has no contact methods; add one with `warroom contact add-method {name} email mailto://…`",
                AT_LEAST_ONCE,
            )
        cm = session.get(ContactMethod, (name, method))
        semantics = AT_MOST_ONCE if method == "email" else AT_LEAST_ONCE
        if cm is None:
            return Route(None, f"{name} has no {method} contact (any more)", semantics)
        if cm.url.split("://", 1)[0].lower() in EMAIL_SCHEMES:
            semantics = AT_MOST_ONCE
        return Route(_fill(cm.url, row), "", semantics)
    if row.destination.startswith("target:"):
        return Route(None, row.note or f"{row.destination[7:]} reached nobody", AT_LEAST_ONCE)
    ch = session.get(Channel, row.destination)
    once = row.destination in ONCE_DESTINATIONS or row.kind == "customer_email"
    if ch is None:
        return Route(
            None,
            f"no destination '{row.destination}' is configured; add it with "
            f"`warroom contact add-channel '{row.destination}' URL`",
            AT_MOST_ONCE if once else AT_LEAST_ONCE,
        )
    if row.destination == routing.WAR_ROOM and "{channel}" in ch.url and not row.address:
        return Route(None, "the incident has no channel name for the war-room URL", AT_LEAST_ONCE)
    if ch.delivery:
        semantics = ch.delivery
    elif once or ch.url.split("://", 1)[0].lower() in EMAIL_SCHEMES:
        semantics = AT_MOST_ONCE
    else:
        semantics = AT_LEAST_ONCE
    return Route(_fill(ch.url, row), "", semantics, ch.rate_per_minute)


# --- state changes ------------------------------------------------------------------------------


def _log(
    session: Session, row: Outbox, now: datetime, worker: str, outcome: str, error: str = "", elapsed_ms: int = 0
) -> None:
    session.add(
        Attempt(
            outbox_id=row.id,
            number=row.attempts,
            destination=row.destination,
            address=row.address,
            at=now,
            worker=worker,
            outcome=outcome,
            error=error[:4000],
            elapsed_ms=elapsed_ms,
        )
    )


def _release(row: Outbox, now: datetime) -> None:
    row.claimed_by = None
    row.claimed_until = None
    row.updated_at = now


def _members(session: Session, row: Outbox) -> list[Outbox]:
    """The rows a digest carries (only a digest has any)."""
    if row.kind != "digest":
        return []
    return list(session.scalars(select(Outbox).where(Outbox.coalesced_into == row.id)))


def _settle(session: Session, row: Outbox) -> None:
    """A page's messages decide its delivery state (only page messages carry a page)."""
    if row.page_id is not None:
        settle_pages(session, row.event_key)


def _mark_sent(session: Session, row: Outbox, now: datetime) -> None:
    row.state = "sent"
    row.sent_at = now
    row.last_error = ""
    _release(row, now)
    for m in _members(session, row):
        m.state = "sent"
        m.sent_at = now
        m.updated_at = now
        m.note = (m.note + "; " if m.note else "") + f"delivered in digest #{row.id}"
        _settle(session, m)
    _settle(session, row)


def _fallback_target(session: Session, row: Outbox) -> str | None:
    person = split_person(row.destination)
    if person is not None:
        name, method = person
        target = contacts.contact(session, name).fallback
        if target is None:
            return None
        if target in METHODS:
            return None if target == method else f"person:{name}:{target}"
        return target
    ch = session.get(Channel, row.destination)
    return ch.fallback if ch is not None else None


def _depth(session: Session, row: Outbox) -> int:
    depth, current_id = 0, row.fallback_of
    while current_id is not None and depth <= MAX_FALLBACK_DEPTH:
        depth += 1
        parent = session.get(Outbox, current_id)
        current_id = parent.fallback_of if parent is not None else None
    return depth


def fall_back(session: Session, row: Outbox, now: datetime, settings: NotifySettings) -> int | None:
    """A dead message goes to its destination's fallback, once per (event, destination)."""
    target = _fallback_target(session, row)
    if not target or _depth(session, row) >= MAX_FALLBACK_DEPTH:
        return None
    person = split_person(target)
    msg = Message(
        event_key=row.event_key,
        destination=target,
        kind=row.kind,
        title=row.title,
        body=row.body,
        incident_id=row.incident_id,
        page_id=row.page_id,
        person=person[0] if person else row.person,
        method=person[1] if person else None,
        address=row.address,
        notify_type=row.notify_type,
        note=f"fallback for {row.destination} (#{row.id}): {row.last_error[:300]}",
        fallback_of=row.id,
    )
    ids = enqueue(session, [msg], now, settings)
    if ids:
        row.note = (row.note + "; " if row.note else "") + f"fell back to {target} (#{ids[0]})"
        return ids[0]
    return None


def _mark_dead(session: Session, row: Outbox, now: datetime, error: str, settings: NotifySettings) -> None:
    row.state = "dead"
    row.last_error = error
    _release(row, now)
    fall_back(session, row, now, settings)
    for m in _members(session, row):
        m.state = "dead"
        m.last_error = f"digest #{row.id} dead: {error}"
        m.updated_at = now
        fall_back(session, m, now, settings)
        _settle(session, m)
    _settle(session, row)


def _mark_unknown(session: Session, row: Outbox, now: datetime, error: str) -> None:
    row.state = "unknown"
    row.last_error = error
    _release(row, now)
    for m in _members(session, row):
        m.state = "unknown"
        m.last_error = f"digest #{row.id}: {error}"
        m.updated_at = now
        _settle(session, m)
    _settle(session, row)


# --- claiming -----------------------------------------------------------------------------------


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Outbox.state.in_(("pending", "failed")), Outbox.next_attempt_at <= now),
        and_(Outbox.state == "sending", Outbox.claimed_until < now),
    )


def _recover(
    session: Session, row: Outbox, route: Route, now: datetime, worker: str, settings: NotifySettings, report: Report
) -> bool:
    """A row whose worker's lease ran out mid-send; returns whether to send it again now."""
    lost = row.claimed_by or "a worker"
    if route.semantics == AT_MOST_ONCE:
        why = (
            f"{lost} stopped while sending attempt {row.attempts}; it may have arrived, so it is not sent again "
            f"(at-most-once) — check, and `warroom notifications retry {row.id}` if it did not"
        )
        _log(session, row, now, worker, "unknown", why)
        _mark_unknown(session, row, now, why)
        report.unknown += 1
        return False
    why = f"{lost} stopped while sending attempt {row.attempts}; sending again (at-least-once)"
    _log(session, row, now, worker, "resend", why)
    row.last_error = why
    report.resent += 1
    if row.attempts >= row.max_attempts:
        _mark_dead(session, row, now, why + f"; but all {row.max_attempts} attempts are used", settings)
        report.dead += 1
        return False
    return True


def _recent(session: Session, destination: str, address: str | None, now: datetime) -> list[datetime]:
    stmt = select(Attempt.at).where(
        Attempt.destination == destination,
        Attempt.at > now - timedelta(minutes=1),
        Attempt.outcome.in_(("sent", "failed", "dead")),
    )
    stmt = stmt.where(Attempt.address == address) if address else stmt.where(Attempt.address.is_(None))
    return list(session.scalars(stmt))


def _digest(session: Session, rows: list[Outbox], now: datetime, settings: NotifySettings) -> Outbox:
    first = rows[0]
    parts: list[str] = []
    size = 0
    for r in rows:
        piece = f"• {r.title}\n{r.body}".strip()
        if size + len(piece) > DIGEST_LIMIT:
            parts.append(f"… and {len(rows) - len(parts)} more (see `warroom notifications`)")
            break
        parts.append(piece)
        size += len(piece) + 2
    incidents = {r.incident_id for r in rows}
    digest = Outbox(
        event_key=f"digest:{first.destination}:{stamp(now)}:{first.id}",
        destination=first.destination,
        kind="digest",
        incident_id=first.incident_id if len(incidents) == 1 else None,
        person=first.person,
        method=first.method,
        address=first.address,
        title=f"{len(rows)} notifications (rate limit for {first.destination})",
        body="\n\n".join(parts),
        notify_type="failure" if any(r.notify_type == "failure" for r in rows) else first.notify_type,
        state="pending",
        attempts=0,
        max_attempts=max(r.max_attempts for r in rows),
        next_attempt_at=now,
        last_error="",
        note=f"coalesces #{', #'.join(str(r.id) for r in rows)}",
        created_at=now,
        updated_at=now,
    )
    session.add(digest)
    session.flush()
    for r in rows:
        r.state = "coalesced"
        r.coalesced_into = digest.id
        r.note = (r.note + "; " if r.note else "") + f"coalesced into digest #{digest.id} (rate limit)"
        _release(r, now)
    return digest


def claim(
    session: Session, worker: str, now: datetime, limit: int, settings: NotifySettings, report: Report
) -> list[Job]:
    stmt = select(Outbox).where(_due(now)).order_by(Outbox.next_attempt_at, Outbox.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    rows = list(session.scalars(stmt))
    contacts.remember(session)
    lease = timedelta(seconds=settings.lease_seconds)
    groups: dict[tuple[str, str | None], list[tuple[Outbox, Route]]] = defaultdict(list)
    for row in rows:
        route = resolve(session, row)
        if row.state == "sending" and not _recover(session, row, route, now, worker, settings, report):
            continue
        if route.url is None:
            row.attempts += 1
            _log(session, row, now, worker, "unroutable", route.error)
            _mark_dead(session, row, now, route.error, settings)
            report.dead += 1
            continue
        groups[(row.destination, row.address)].append((row, route))
    jobs: list[Job] = []
    for (destination, address), items in groups.items():
        cap = items[0][1].rate or settings.rate_per_minute
        recent = _recent(session, destination, address, now)
        budget = cap - len(recent)
        if budget <= 0:
            wait_until = min(recent) + timedelta(minutes=1)
            for row, _ in items:
                row.state = "pending" if row.attempts == 0 else "failed"
                row.next_attempt_at = wait_until
                _release(row, now)
                row.note = (row.note + "; " if row.note else "") + f"rate limit {cap}/min: waited"
                report.deferred += 1
            continue
        send = [row for row, _ in items]
        if len(items) > budget:
            keep = items[: budget - 1]
            digest = _digest(session, [row for row, _ in items[budget - 1 :]], now, settings)
            report.coalesced += len(items) - len(keep)
            send = [row for row, _ in keep] + [digest]
        url_for = {row.id: route.url for row, route in items}
        for row in send:
            row.state = "sending"
            row.claimed_by = worker
            row.claimed_until = now + lease
            row.attempts += 1
            row.updated_at = now
            url = url_for.get(row.id) or items[0][1].url
            assert url is not None
            jobs.append(Job(row.id, url, row.title, row.body, row.notify_type, row.destination, row.address))
    report.claimed += len(jobs)
    return jobs


# --- finishing ----------------------------------------------------------------------------------


def finish(ctx: Context, job: Job, result: SendResult, worker: str, settings: NotifySettings, report: Report) -> str:
    with ctx.db.unit() as session:
        now = ctx.clock.now()
        stmt = select(Outbox).where(Outbox.id == job.id).with_for_update().execution_options(populate_existing=True)
        row = session.scalars(stmt).one()
        ours = row.state == "sending" and row.claimed_by == worker
        if not ours:
            # The lease ran out before the send returned and someone else took over: record what we saw.
            _log(
                session,
                row,
                now,
                worker,
                "sent" if result.ok else "failed",
                (result.error or "") + f" (lease lost; row is {row.state})",
                result.elapsed_ms,
            )
            if result.ok and row.state != "sent":
                _mark_sent(session, row, now)
            return "late"
        if result.ok:
            _log(session, row, now, worker, "sent", "", result.elapsed_ms)
            _mark_sent(session, row, now)
            report.sent += 1
            return "sent"
        error = result.error or "failed"
        if row.attempts >= row.max_attempts:
            _log(session, row, now, worker, "dead", error, result.elapsed_ms)
            _mark_dead(session, row, now, f"{error} (after {row.attempts} attempts)", settings)
            report.dead += 1
            return "dead"
        _log(session, row, now, worker, "failed", error, result.elapsed_ms)
        row.state = "failed"
        row.last_error = error
        row.next_attempt_at = now + backoff(row.attempts, settings.backoff_seconds, settings.backoff_max_seconds)
        _release(row, now)
        report.failed += 1
        return "failed"


def housekeeping(ctx: Context, settings: NotifySettings, report: Report) -> None:
    """Pages nobody handed over yet, and customer e-mails that are due: both from the durable record."""
    with ctx.db.unit() as session:
        now = ctx.clock.now()
        report.caught_up += routing.catch_up_pages(session, ctx.policy, now, settings)
        customer.scan(session, ctx.policy, now, settings)


def deliver_due(
    ctx: Context,
    worker_id: str,
    limit: int | None = None,
    *,
    sender: Sender | None = None,
    settings: NotifySettings | None = None,
) -> Report:
    """One round: catch up, claim what is due, send each, record each. Returns what happened."""
    settings = settings or current()
    send = sender or apprise_send
    report = Report()
    housekeeping(ctx, settings, report)
    with ctx.db.unit() as session:
        jobs = claim(session, worker_id, ctx.clock.now(), limit or settings.batch, settings, report)
    for job in jobs:
        try:
            result = send(job.url, job.title, job.body, job.notify_type)
        except Exception as exc:  # a plugin bug is a failed attempt, not a dead worker
            result = SendResult(False, f"{type(exc).__name__}: {exc}")
        finish(ctx, job, result, worker_id, settings, report)
    return report


def next_due(ctx: Context) -> datetime | None:
    with ctx.db.read() as session:
        due = session.scalar(select(func.min(Outbox.next_attempt_at)).where(Outbox.state.in_(("pending", "failed"))))
        lease = session.scalar(select(func.min(Outbox.claimed_until)).where(Outbox.state == "sending"))
        return min(filter(None, [due, lease]), default=None)

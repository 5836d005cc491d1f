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
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy import ColumnElement, and_, func, not_, or_, select
from sqlalchemy.orm import Session

from warroom.domain.clock import stamp
from warroom.notify import contacts, customer, routing
from warroom.notify.dispatch import Dispatcher, Key
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
PAGE_KINDS = ("page", "escalation")
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
    """Send one message through Apprise's plugin for the URL, in the calling thread; its warnings become
    the error text. (`Apprise.notify` would run it in Apprise's process-wide pool of a few threads, which
    a handful of hung destinations fill, and every other page would wait behind them.)"""
    import apprise

    started = time.monotonic()
    a = apprise.Apprise.instantiate(url)
    if not a:
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
    method: str | None = None
    """the person's method, None for a channel: it picks the timeouts"""
    semantics: str = AT_LEAST_ONCE
    page: bool = False
    """a page or escalation: when it times out, its fallback is told at once"""

    @property
    def key(self) -> Key:
        return (self.destination, self.address)


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
    timed_out: int = 0
    skipped: int = 0
    """new pages sent straight to the fallback because their destination is suspect (it timed out)"""
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


def with_timeouts(url: str, connect: float, total: float) -> str:
    """Apprise's connect (`cto`) and read (`rto`) timeouts for this method, unless the URL sets its own."""
    _, mark, query = url.partition("?")
    params = {part.split("=", 1)[0].lower() for part in query.split("&") if part}
    extra = []
    if "cto" not in params:
        extra.append(f"cto={connect:g}")
    if "rto" not in params:
        extra.append(f"rto={max(1.0, total - connect):g}")
    if not extra:
        return url
    return url + ("&" if mark else "?") + "&".join(extra)


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
    """A page's messages decide its delivery state (tier 1's were queued by the declaration, before the
    page existed, so they are found by their event key)."""
    if row.page_id is not None or row.event_key.startswith("page:"):
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


def _not_busy(busy: Collection[Key]) -> ColumnElement[bool]:
    """Rows of destinations that have no send in flight in this worker (one at a time per destination)."""
    held = [
        and_(Outbox.destination == d, Outbox.address == a if a is not None else Outbox.address.is_(None))
        for d, a in busy
    ]
    return not_(or_(*held)) if held else and_(True)


def _suspect(session: Session, destination: str, address: str | None, now: datetime,
             settings: NotifySettings) -> datetime | None:  # fmt: skip
    """When this destination last timed out, if that is recent and nothing got through to it since."""
    if settings.suspect_seconds <= 0:
        return None
    here = [Attempt.destination == destination]
    here.append(Attempt.address == address if address else Attempt.address.is_(None))
    stmt = select(Attempt.id, Attempt.at).where(
        *here, Attempt.outcome == "timeout", Attempt.at > now - timedelta(seconds=settings.suspect_seconds)
    )
    latest = session.execute(stmt.order_by(Attempt.id.desc()).limit(1)).first()
    if latest is None:
        return None
    since = select(Attempt.id).where(*here, Attempt.outcome == "sent", Attempt.id > latest.id).limit(1)
    return None if session.scalar(since) is not None else latest.at


def _skip_suspect(
    session: Session, items: list[tuple[Outbox, Route]], since: datetime, now: datetime, worker: str,
    settings: NotifySettings, report: Report,
) -> list[tuple[Outbox, Route]]:  # fmt: skip
    """New pages for a destination that just timed out go to its fallback at once, not after the backoffs."""
    keep: list[tuple[Outbox, Route]] = []
    for row, route in items:
        if row.attempts == 0 and row.kind in PAGE_KINDS and _fallback_target(session, row):
            why = f"{row.destination} timed out at {since:%H:%M:%S} UTC; sent to its fallback at once"
            _log(session, row, now, worker, "suspect", why)
            _mark_dead(session, row, now, why, settings)
            report.skipped += 1
        else:
            keep.append((row, route))
    return keep


def claim(
    session: Session, worker: str, now: datetime, limit: int, settings: NotifySettings, report: Report,
    busy: Collection[Key] = (),
) -> list[Job]:  # fmt: skip
    """Take up to `limit` due rows (none of a destination in `busy`), in the order they are due."""
    stmt = select(Outbox).where(_due(now), _not_busy(busy)).order_by(Outbox.next_attempt_at, Outbox.id).limit(limit)
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
        since = _suspect(session, destination, address, now, settings)
        if since is not None:
            items = _skip_suspect(session, items, since, now, worker, settings, report)
            if not items:
                continue
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
        semantics = items[0][1].semantics
        for row in send:
            row.state = "sending"
            row.claimed_by = worker
            row.claimed_until = now + lease
            row.attempts += 1
            row.updated_at = now
            url = url_for.get(row.id) or items[0][1].url
            assert url is not None
            person = split_person(row.destination)
            method = person[1] if person else None
            connect, total = settings.timeouts(method)
            jobs.append(
                Job(row.id, with_timeouts(url, connect, total), row.title, row.body, row.notify_type,
                    row.destination, row.address, method, semantics, row.kind in PAGE_KINDS)
            )  # fmt: skip
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
                (result.error or "") + f" (returned after its lease ran out or it timed out; row is {row.state})",
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


def timed_out(ctx: Context, job: Job, seconds: float, worker: str, settings: NotifySettings, report: Report) -> str:
    """A send that outlived its total timeout. The destination is suspect from now on (the attempt says
    `timeout`); a page's fallback is told at once instead of after the backoff schedule, and the row
    itself is retried as usual. An at-most-once message waits for its send's own answer instead."""
    if job.semantics == AT_MOST_ONCE:
        return "waiting"
    error = f"timed out: no answer within {seconds:g} s"
    with ctx.db.unit() as session:
        now = ctx.clock.now()
        stmt = select(Outbox).where(Outbox.id == job.id).with_for_update().execution_options(populate_existing=True)
        row = session.scalars(stmt).one()
        if row.state != "sending" or row.claimed_by != worker:
            return "late"
        report.timed_out += 1
        _log(session, row, now, worker, "timeout", error, int(seconds * 1000))
        if row.attempts >= row.max_attempts:
            _mark_dead(session, row, now, f"{error} (after {row.attempts} attempts)", settings)
            report.dead += 1
            return "dead"
        row.state = "failed"
        row.last_error = error
        row.next_attempt_at = now + backoff(row.attempts, settings.backoff_seconds, settings.backoff_max_seconds)
        _release(row, now)
        if job.page:
            fall_back(session, row, now, settings)
        report.failed += 1
        return "failed"


def hand_back(ctx: Context, jobs: list[Job], worker: str) -> None:
    """Claimed rows that were never sent (their destination timed out first) go back as they were."""
    with ctx.db.unit() as session:
        now = ctx.clock.now()
        for job in jobs:
            row = session.get(Outbox, job.id, with_for_update=True, populate_existing=True)
            if row is None or row.state != "sending" or row.claimed_by != worker:
                continue
            row.attempts = max(0, row.attempts - 1)
            row.state = "pending" if row.attempts == 0 else "failed"
            row.next_attempt_at = now
            _release(row, now)


def send_with(send: Sender, job: Job) -> SendResult:
    try:
        return send(job.url, job.title, job.body, job.notify_type)
    except Exception as exc:  # a plugin bug is a failed attempt, not a dead worker
        return SendResult(False, f"{type(exc).__name__}: {exc}")


def dispatcher(ctx: Context, worker_id: str, settings: NotifySettings, send: Sender,
               report: Report) -> Dispatcher[Job, SendResult]:  # fmt: skip
    """A worker's sends, each recorded in the outbox as it returns (or times out)."""
    return Dispatcher(
        settings,
        lambda job: send_with(send, job),
        lambda job: job.key,
        lambda job: settings.timeouts(job.method)[1],
        done=lambda job, result: finish(ctx, job, result, worker_id, settings, report),
        timed_out=lambda job, seconds: timed_out(ctx, job, seconds, worker_id, settings, report),
        late=lambda job, result: finish(ctx, job, result, worker_id, settings, report),
        released=lambda jobs: hand_back(ctx, jobs, worker_id),
    )


def housekeeping(ctx: Context, settings: NotifySettings, report: Report) -> None:
    """Pages nobody handed over yet, and customer e-mails that are due: both from the durable record."""
    with ctx.db.unit() as session:
        now = ctx.clock.now()
        report.caught_up += routing.catch_up_pages(session, ctx.policy, now, settings)
        customer.scan(session, ctx.policy, now, settings)


def claim_due(ctx: Context, worker_id: str, limit: int, settings: NotifySettings, report: Report,
              busy: Collection[Key] = ()) -> list[Job]:  # fmt: skip
    with ctx.db.unit() as session:
        return claim(session, worker_id, ctx.clock.now(), limit, settings, report, busy)


def deliver_due(
    ctx: Context,
    worker_id: str,
    limit: int | None = None,
    *,
    sender: Sender | None = None,
    settings: NotifySettings | None = None,
) -> Report:
    """One round: catch up, claim what is due, send it (concurrently, one at a time per destination),
    record each, and return when every send has returned. Returns what happened."""
    settings = settings or current()
    report = Report()
    housekeeping(ctx, settings, report)
    sends = dispatcher(ctx, worker_id, settings, sender or apprise_send, report)
    sends.add(claim_due(ctx, worker_id, limit or settings.batch, settings, report))
    sends.drain()
    return report


def next_due(ctx: Context, busy: Collection[Key] = ()) -> datetime | None:
    """When the next row of a destination not in `busy` is due (a busy one is looked at when its send ends)."""
    free = _not_busy(busy)
    with ctx.db.read() as session:
        due = session.scalar(
            select(func.min(Outbox.next_attempt_at)).where(Outbox.state.in_(("pending", "failed")), free)
        )
        lease = session.scalar(select(func.min(Outbox.claimed_until)).where(Outbox.state == "sending", free))
        return min(filter(None, [due, lease]), default=None)

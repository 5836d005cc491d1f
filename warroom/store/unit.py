"""The unit of work: one use case, one transaction, and who is told what it wrote.

Every use case runs through `run`. What a transaction wrote to incident timelines is handed, in
that same transaction, to the context's subscribers (the engine planner, notification routing):
they add their rows (timers, outbox messages) before the commit, so a change and what it causes
commit together or not at all. After the commit, `Signal`s wake whoever waits in this process
(the engine loop, the delivery loop, live pages). Subscribers are wired by the composition
(`warroom.compose`), never imported by a service.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from sqlalchemy import event, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from warroom.domain.clock import Clock
from warroom.domain.errors import Conflict, Invalid
from warroom.domain.lifecycle import TransitionError
from warroom.domain.text import TextError
from warroom.policy.model import Policy, UnknownSeverity
from warroom.store.auth_models import AuditEntry
from warroom.store.db import Database
from warroom.store.models import Incident, TimelineEntry

T = TypeVar("T")
log = logging.getLogger("warroom.store")

NEW_ENTRIES = "warroom.new_timeline_entries"
"""in a session's info: the timeline entries this transaction wrote that no subscriber has seen yet"""
HELD = "warroom.incidents_written"
"""in a session's info: the incidents whose timelines it wrote (`record`)"""


class Subscriber(Protocol):
    """Told, inside the transaction, of the timeline entries it wrote; may add rows of its own."""

    def __call__(self, session: Session, policy: Policy, entries: list[TimelineEntry], now: datetime) -> None: ...


@dataclass
class Context:
    """What every use case needs: the database, the policy in force, a clock, and who hears of changes."""

    db: Database
    policy: Policy
    clock: Clock
    subscribers: tuple[Subscriber, ...] = ()


@contextmanager
def domain_errors() -> Iterator[None]:
    """Domain errors become service errors the faces know how to show."""
    try:
        yield
    except TransitionError as exc:
        raise Conflict(str(exc)) from None
    except TextError as exc:
        raise Invalid(str(exc), field=exc.field) from None
    except UnknownSeverity as exc:
        raise Invalid(str(exc), field="severity") from None


def run(ctx: Context, fn: Callable[[Session, datetime], T], incident_id: str | None = None) -> T:
    """One transaction; an optimistic-lock clash is retried so the loser sees the winner's state.

    The write lock comes before the clock is read (SQLite: the database, PostgreSQL: the incident's
    row), and time never runs backwards for an incident, so its times follow commit order.
    """
    for attempt in range(3):
        try:
            with domain_errors(), ctx.db.unit() as session:
                session.connection()
                last = None
                if incident_id is not None:
                    last = session.scalar(
                        select(Incident.updated_at).where(Incident.id == incident_id.strip().upper()).with_for_update()
                    )
                now = ctx.clock.now()
                if last is not None and last > now:
                    now = last
                result = fn(session, now)
                publish(session, ctx, now)
                note = auditing.get()
                if note is not None and not note.written:
                    session.add(note.entry(now, "done"))
            if note is not None:
                note.written = True
            return result
        except StaleDataError:
            if attempt == 2:
                raise Conflict("the incident changed while this request was applied; try again") from None
    raise AssertionError("unreachable")


@dataclass
class AuditNote:
    """The request being served, as its audit row will say; written by the first unit of work that
    commits a change for it (so the change and its audit row commit together), else by the face
    with how the request ended."""

    actor: str
    via: str
    action: str
    target: str = ""
    address: str = ""
    on_behalf_of: str | None = None
    written: bool = False

    def entry(self, at: datetime, result: str) -> AuditEntry:
        return AuditEntry(
            at=at,
            actor=self.actor[:120],
            on_behalf_of=self.on_behalf_of,
            via=self.via,
            action=self.action[:200],
            target=self.target[:300],
            address=self.address[:64],
            result=result[:200],
        )


auditing: ContextVar[AuditNote | None] = ContextVar("warroom_audit", default=None)
"""the audit note of the request or command being served, set by its face"""


def record(session: Session, row: TimelineEntry, inc: Incident) -> None:
    """Note a new timeline entry for the subscribers (the timeline's writer calls this for every entry).

    Its incident is held until the session ends: the session keeps a clean object only while someone
    refers to it, and the subscribers, which run after the use case let go of it, would read it again
    (two round trips more for each incident an alert declared)."""
    session.info.setdefault(NEW_ENTRIES, []).append(row)
    session.info.setdefault(HELD, {})[inc.id] = inc


def recorded(session: Session) -> bool:
    """Timeline entries were written in this transaction and not yet handed to the subscribers."""
    return bool(session.info.get(NEW_ENTRIES))


def publish(session: Session, ctx: Context, now: datetime) -> None:
    """Hand the entries written since the last call to every subscriber, in order, in this transaction.

    Entries a subscriber writes (a queued customer e-mail is on the timeline too) are handed on in turn.
    """
    while entries := session.info.pop(NEW_ENTRIES, []):
        for subscriber in ctx.subscribers:
            subscriber(session, ctx.policy, entries, now)
        changed.raise_after_commit(session)


class Signal:
    """Callbacks in this process, called once a transaction that raised the signal has committed.

    SQLAlchemy also calls after_commit when a savepoint is released; only the outer commit counts.
    A transaction that rolls back calls nobody.
    """

    def __init__(self, name: str) -> None:
        self._callbacks: list[Callable[[], None]] = []
        self._raised = f"warroom.signal.{name}"
        self._listening = f"warroom.signal.{name}.listening"

    def connect(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[[], None]) -> None:
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def raise_after_commit(self, session: Session) -> None:
        if not self._callbacks:
            return
        session.info[self._raised] = True
        if not session.info.get(self._listening):
            session.info[self._listening] = True
            event.listen(session, "after_commit", self._fire)

    def _fire(self, session: Session) -> None:
        if session.in_nested_transaction() or not session.info.pop(self._raised, None):
            return
        for callback in list(self._callbacks):
            try:
                callback()
            except Exception:  # the change is committed: a listener's trouble must not look like the change's
                log.exception("a listener of %s failed after a commit", self._raised)


changed = Signal("changed")
"""an incident's record changed (a timeline entry was committed): live pages and caches refresh"""

"""Durable timers in the store: schedule (idempotent by key), cancel, claim with a lease, release.

Claiming uses `FOR UPDATE SKIP LOCKED` on PostgreSQL, so any number of workers share the
table without waiting on each other; on SQLite the `BEGIN IMMEDIATE` transaction is the
single writer. A claim is a lease: if its worker dies, the row is claimable again once
`claimed_until` has passed.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, union_all, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from warroom.store.engine_models import Timer

LIVE = ("pending", "claimed")
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Plan:
    """A timer the engine wants to exist. `family`: a key prefix whose live timers also satisfy this plan."""

    key: str
    kind: str
    due_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)
    family: str | None = None


def schedule(session: Session, incident_id: str | None, plans: Sequence[Plan], now: datetime) -> None:
    """Insert the planned timers. An existing key is left alone, except a cancelled one, which is revived."""
    if not plans:
        return
    rows = [
        {
            "key": p.key,
            "kind": p.kind,
            "incident_id": incident_id,
            "due_at": p.due_at,
            "payload": p.payload,
            "state": "pending",
            "attempts": 0,
            "created_at": now,
            "outcome": "",
        }
        for p in plans
    ]
    # One compiled statement for any number of rows (executemany), built and cached once.
    session.execute(_upsert(session.get_bind().dialect.name), rows)


@functools.cache
def _upsert(dialect: str) -> Any:
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(Timer)
    return stmt.on_conflict_do_update(
        index_elements=[Timer.key],
        set_={
            "state": "pending",
            "due_at": stmt.excluded.due_at,
            "payload": stmt.excluded.payload,
            "claimed_by": None,
            "claimed_until": None,
            "finished_at": None,
            "outcome": "",
        },
        where=Timer.state == "cancelled",
    )


def live(session: Session, incident_id: str, kinds: Iterable[str] | None = None) -> list[Timer]:
    stmt = select(Timer).where(Timer.incident_id == incident_id, Timer.state.in_(LIVE))
    if kinds is not None:
        stmt = stmt.where(Timer.kind.in_(list(kinds)))
    return list(session.scalars(stmt.order_by(Timer.due_at, Timer.id)))


def cancel_ids(session: Session, ids: Sequence[int], now: datetime, why: str) -> None:
    if ids:
        session.execute(
            update(Timer)
            .where(Timer.id.in_(list(ids)), Timer.state.in_(LIVE))
            .values(state="cancelled", finished_at=now, outcome=why, claimed_by=None, claimed_until=None),
            execution_options={"synchronize_session": False},
        )


def cancel(session: Session, incident_id: str, kinds: Iterable[str], now: datetime, why: str) -> int:
    """Cancel the incident's live timers of these kinds, including ones a worker holds (it will see that)."""
    result = session.execute(
        update(Timer)
        .where(Timer.incident_id == incident_id, Timer.kind.in_(list(kinds)), Timer.state.in_(LIVE))
        .values(state="cancelled", finished_at=now, outcome=why, claimed_by=None, claimed_until=None),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _claimable(now: datetime) -> Any:
    return and_(
        Timer.due_at <= now,
        or_(Timer.state == "pending", and_(Timer.state == "claimed", Timer.claimed_until < now)),
    )


def claim(session: Session, worker: str, now: datetime, lease: timedelta, limit: int) -> list[int]:
    """Take up to `limit` due timers for `worker` until now + lease; returns their ids, earliest first."""
    return [timer_id for timer_id, _ in claim_with_incidents(session, worker, now, lease, limit)]


def claim_with_incidents(
    session: Session, worker: str, now: datetime, lease: timedelta, limit: int
) -> list[tuple[int, str | None]]:
    """`claim`, also returning each timer's incident (the firing locks the incident before the timer)."""
    pick = select(Timer.id).where(_claimable(now)).order_by(Timer.due_at, Timer.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    rows = session.execute(
        update(Timer)
        .where(Timer.id.in_(pick.scalar_subquery()))
        .values(state="claimed", claimed_by=worker, claimed_until=now + lease, attempts=Timer.attempts + 1)
        .returning(Timer.id, Timer.due_at, Timer.incident_id),
        execution_options={"synchronize_session": False},
    ).all()
    return [(r.id, r.incident_id) for r in sorted(rows, key=lambda r: (r.due_at, r.id))]


_both = union_all(
    select(func.min(Timer.due_at).label("at")).where(Timer.state == "pending"),
    select(func.min(Timer.claimed_until).label("at")).where(Timer.state == "claimed"),
).subquery()
_NEXT_DUE = select(func.min(_both.c.at))


def next_due(session: Session | Connection) -> datetime | None:
    """The earliest moment anything becomes claimable (a pending due time or an expiring lease)."""
    value = session.execute(_NEXT_DUE).scalar()
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back the stored text through the union
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def release(session: Session, timer_id: int, worker: str, now: datetime, error: str) -> str:
    """A firing failed: retry later with backoff, or give up after MAX_ATTEMPTS. Returns the new state."""
    t = session.get(Timer, timer_id)
    if t is None or t.state != "claimed" or t.claimed_by != worker:
        return t.state if t else "gone"
    t.claimed_by = None
    t.claimed_until = None
    t.outcome = error[:2000]
    if t.attempts >= MAX_ATTEMPTS:
        t.state = "failed"
        t.finished_at = now
    else:
        t.state = "pending"
        t.due_at = now + timedelta(seconds=2**t.attempts)
    return t.state

"""The engine loop: claim due timers, fire them with their effects, repeat.

Runs as a background thread inside `warroom serve` and as the `warroom worker` process. A
firing locks the incident row first (the same lock every incident use case takes), then
checks that it still holds the timer's claim, performs the effect, records it under its
idempotency key and marks the timer done, in the same transaction.

Several firings share one transaction (up to `chunk` of them): a busy engine pays one
commit, and one locking read of incidents and one of timers, per chunk instead of per timer.
If any firing of a chunk fails, the whole chunk rolls back and its timers are fired again one
per transaction, so one bad timer never holds back or undoes the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.engine import (
    action_items,
    breaches,
    cadence,
    conditions,
    escalation,
    phases,
    planner,
    postmortem,
    timers,
    watch,
)
from warroom.engine.firing import Firing
from warroom.notify import contacts, routing
from warroom.oncall.directory import Directory
from warroom.store.engine_models import Timer
from warroom.store.models import Incident
from warroom.store.unit import Context, publish
from warroom.store.workers import default_worker_id

log = logging.getLogger("warroom.engine")

Handler = Callable[[Firing, Timer, Incident | None], str]

HANDLERS: dict[str, Handler] = {
    "page": escalation.fire_page,
    "exhausted": escalation.fire_exhausted,
    "sla": breaches.fire,
    "reminder": cadence.fire,
    "condition": conditions.fire,
    "watch": watch.fire,
    "phase": phases.fire,
    "postmortem": postmortem.fire,
    "action_item": action_items.fire,
}


def _lock(session: Session, chunk: list[tuple[int, str | None]]) -> tuple[dict[str, Incident], dict[int, Timer]]:
    """Lock the chunk's incident rows, then its timer rows, each in id order, reading them afresh.

    Incidents first, as every incident use case takes them: an ack either committed before this
    (and its cancellation of the tiers is seen in the timers read here) or waits for this commit.
    One order everywhere, so two chunks (or a chunk and a use case) never wait on each other in a cycle.
    """
    fresh = {"populate_existing": True}
    ids = sorted({iid for _, iid in chunk if iid is not None})
    incs = session.scalars(
        select(Incident).where(Incident.id.in_(ids)).order_by(Incident.id).with_for_update().execution_options(**fresh)
    )
    timer_ids = sorted(tid for tid, _ in chunk)
    held = session.scalars(
        select(Timer).where(Timer.id.in_(timer_ids)).order_by(Timer.id).with_for_update().execution_options(**fresh)
    )
    return {i.id: i for i in incs}, {t.id: t for t in held}


@dataclass
class Stats:
    fired: int = 0
    failed: int = 0
    ticks: int = 0
    last_tick: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    """when last_error happened; both clear on the next tick that reaches the database"""
    running: bool = False
    started_at: datetime | None = None
    lag_seconds: list[float] = field(default_factory=list)


class EngineLoop:
    def __init__(
        self,
        ctx: Context,
        *,
        worker_id: str | None = None,
        directory: Directory | None = None,
        batch: int = 50,
        lease: timedelta = timedelta(seconds=30),
        interval: float = 0.5,
        strict: bool = False,
        threads: int | None = None,
        chunk: int = 16,
    ) -> None:
        self.ctx = ctx
        self.worker_id = worker_id or default_worker_id()
        self.directory = directory or Directory()
        self.batch = batch
        self.lease = lease
        self.interval = interval
        self.strict = strict
        """Re-raise a failing handler (drills and tests) instead of retrying it later."""
        self.threads = threads or (1 if ctx.db.dialect == "sqlite" else 4)
        """Firing threads in `run`: SQLite has one writer; on PostgreSQL concurrent commits share WAL flushes."""
        self.chunk = chunk
        """firings per transaction: it holds their incidents' locks (SQLite: the write lock), so keep it short"""
        self.stats = Stats()
        self._count = threading.Lock()
        self._signal = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- one step ---

    def tick(self) -> int:
        """Claim what is due now and fire it; returns how many timers were processed."""
        now = self.ctx.clock.now()
        with self.ctx.db.unit() as session:
            claimed = timers.claim_with_incidents(session, self.worker_id, now, self.lease, self.batch)
        with self._count:  # the database answered: an outage reported before is over
            self.stats.last_error = self.stats.last_error_at = None
        for n in range(0, len(claimed), self.chunk):
            self._fire_chunk(claimed[n : n + self.chunk])
        with self._count:
            self.stats.ticks += 1
            self.stats.last_tick = now
        return len(claimed)

    def _failed(self, exc: BaseException) -> None:
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
        self.stats.last_error_at = self.ctx.clock.now()

    def _fire_chunk(self, chunk: list[tuple[int, str | None]]) -> None:
        """Fire these timers in one transaction; if any fails, fire each in its own instead."""
        if len(chunk) == 1:
            self.fire(*chunk[0])
            return
        try:
            with self.ctx.db.unit() as session:
                session.connection()  # begin (SQLite's write lock) before reading the clock: times follow commit order
                contacts.remember(session)
                session.info[routing.RETRIED] = True
                incs, held = _lock(session, chunk)
                fired = [self._fire_in(session, held.get(tid), incs.get(iid or "")) for tid, iid in chunk]
        except Exception:
            if self.strict:
                raise
            log.warning("a chunk of %d firings failed; firing them one at a time", len(chunk), exc_info=True)
            for timer_id, incident_id in chunk:
                self.fire(timer_id, incident_id)
            return
        self._fired([lag for _, lag in fired if lag is not None])

    def fire(self, timer_id: int, incident_id: str | None = None) -> str:
        """Fire one timer in its own transaction; returns what happened."""
        try:
            with self.ctx.db.unit() as session:
                session.connection()
                if incident_id is None:
                    incident_id = session.scalar(select(Timer.incident_id).where(Timer.id == timer_id))
                incs, held = _lock(session, [(timer_id, incident_id)])
                outcome, lag = self._fire_in(session, held.get(timer_id), incs.get(incident_id or ""))
            self._fired([] if lag is None else [lag])
            return outcome
        except Exception as exc:  # one bad timer must not stop the engine; it is retried with backoff
            if self.strict:
                raise
            log.exception("timer %s failed", timer_id)
            with self._count:
                self.stats.failed += 1
                self._failed(exc)
            with self.ctx.db.unit() as session:
                error = f"{type(exc).__name__}: {exc}"
                return timers.release(session, timer_id, self.worker_id, self.ctx.clock.now(), error)

    def _fired(self, lags: list[float]) -> None:
        with self._count:
            self.stats.fired += len(lags)
            self.stats.lag_seconds.extend(lags)
            if len(self.stats.lag_seconds) > 10_000:
                del self.stats.lag_seconds[:5_000]

    def _fire_in(self, session: Session, t: Timer | None, inc: Incident | None) -> tuple[str, float | None]:
        """Fire one locked timer in the open transaction; returns what happened and its lag (None if it
        was not ours to fire)."""
        now = self.ctx.clock.now()
        if inc is not None and inc.updated_at > now:
            now = inc.updated_at  # time never runs backwards for an incident
        if t is None:
            return "gone", None
        if t.state != "claimed" or t.claimed_by != self.worker_id:
            return f"not ours any more ({t.state})", None
        handler = HANDLERS.get(t.kind)
        if handler is None:
            outcome = f"no handler for timer kind '{t.kind}'"
            t.state = "failed"
        else:
            fx = Firing(session, self.ctx.policy, now, self.directory, self.worker_id, t)
            outcome = handler(fx, t, inc)
            t.state = "done"
        t.finished_at = now
        t.outcome = outcome[:2000]
        t.claimed_until = None
        publish(session, self.ctx, now)
        return outcome, (now - t.due_at).total_seconds()

    def next_due(self) -> datetime | None:
        with self.ctx.db.read() as session:
            return timers.next_due(session)

    # --- running ---

    def wake(self) -> None:
        self._signal.set()

    def run(self, stop: threading.Event | None = None) -> None:
        """Loop until `stop` (or `self.stop()`): fire what is due, then sleep until the next due time."""
        stop = stop or self._stop
        self.stats.running = True
        self.stats.started_at = self.ctx.clock.now()
        planner.timers_planned.connect(self.wake)
        over = threading.Event()
        helpers = [
            threading.Thread(target=self._run_one, args=(stop, over), name=f"warroom-engine-{n}", daemon=True)
            for n in range(1, self.threads)
        ]
        try:
            for h in helpers:
                h.start()
            self._run_one(stop, over)
        finally:
            over.set()
            self._signal.set()
            for h in helpers:
                h.join(30)
            planner.timers_planned.disconnect(self.wake)
            self.stats.running = False

    def _run_one(self, stop: threading.Event, over: threading.Event) -> None:
        while not (stop.is_set() or self._stop.is_set() or over.is_set()):
            try:
                if self.tick() >= self.batch:
                    continue
                nxt = self.next_due()
            except Exception as exc:  # the database may be away for a moment; keep trying
                log.warning("engine tick failed: %s", exc)
                with self._count:
                    self._failed(exc)
                nxt = None
            wait = self.interval
            if nxt is not None:
                wait = min(wait, max(0.0, (nxt - self.ctx.clock.now()).total_seconds()))
            if wait > 0:
                self._signal.wait(wait)
            self._signal.clear()

    def start(self) -> None:
        """Run in a daemon thread (inside `warroom serve`)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="warroom-engine", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._signal.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def status(self) -> dict[str, object]:
        s = self.stats
        with self._count:
            lags = sorted(s.lag_seconds[-1000:])
        return {
            "running": s.running,
            "worker": self.worker_id,
            "threads": self.threads,
            "fired": s.fired,
            "failed": s.failed,
            "last_tick": s.last_tick.isoformat().replace("+00:00", "Z") if s.last_tick else None,
            "last_error": s.last_error,
            "last_error_at": s.last_error_at.isoformat().replace("+00:00", "Z") if s.last_error_at else None,
            "lag_p50_ms": round(lags[len(lags) // 2] * 1000) if lags else None,
            "lag_p99_ms": round(lags[min(len(lags) - 1, len(lags) * 99 // 100)] * 1000) if lags else None,
        }

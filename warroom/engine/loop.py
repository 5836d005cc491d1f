"""The engine loop: claim due timers, fire each in its own transaction with its effect, repeat.

Runs as a background thread inside `warroom serve` and as the `warroom worker` process. A
firing locks the incident row first (the same lock every incident use case takes), then
checks that it still holds the timer's claim, performs the effect, records it under its
idempotency key and marks the timer done, all in one transaction.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from warroom.engine import breaches, cadence, conditions, escalation, phases, planner, postmortem, timers, watch
from warroom.engine.firing import Firing
from warroom.engine.people import Directory
from warroom.incidents.service import NEW_ENTRIES, Context
from warroom.store.engine_models import Timer
from warroom.store.models import Incident

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
}


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class Stats:
    fired: int = 0
    failed: int = 0
    ticks: int = 0
    last_tick: datetime | None = None
    last_error: str | None = None
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
        for timer_id, incident_id in claimed:
            self.fire(timer_id, incident_id)
        with self._count:
            self.stats.ticks += 1
            self.stats.last_tick = now
        return len(claimed)

    def fire(self, timer_id: int, incident_id: str | None = None) -> str:
        try:
            return self._fire(timer_id, incident_id)
        except Exception as exc:  # one bad timer must not stop the engine; it is retried with backoff
            if self.strict:
                raise
            log.exception("timer %s failed", timer_id)
            with self._count:
                self.stats.failed += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
            with self.ctx.db.unit() as session:
                return timers.release(session, timer_id, self.worker_id, self.ctx.clock.now(), self.stats.last_error)

    def _fire(self, timer_id: int, incident_id: str | None = None) -> str:
        with self.ctx.db.unit() as session:
            session.connection()  # begin (SQLite's write lock) before reading the clock: times follow commit order
            now = self.ctx.clock.now()
            if incident_id is None:
                head = session.get(Timer, timer_id)
                if head is None:
                    return "gone"
                incident_id = head.incident_id
            inc = None
            if incident_id is not None:
                # The incident's row lock first, as every incident use case takes it: an ack either
                # committed before this (and is seen below) or waits until this firing commits.
                inc = session.scalars(
                    select(Incident)
                    .where(Incident.id == incident_id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                ).first()
                if inc is not None and inc.updated_at > now:
                    now = inc.updated_at  # time never runs backwards for an incident
            t = session.scalars(
                select(Timer).where(Timer.id == timer_id).with_for_update().execution_options(populate_existing=True)
            ).first()
            if t is None:
                return "gone"
            if t.state != "claimed" or t.claimed_by != self.worker_id:
                return f"not ours any more ({t.state})"
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
            new = session.info.pop(NEW_ENTRIES, [])
            if new:
                planner.plan_entries(session, self.ctx.policy, new, now)
            with self._count:
                self.stats.fired += 1
                self.stats.lag_seconds.append((now - t.due_at).total_seconds())
                if len(self.stats.lag_seconds) > 10_000:
                    del self.stats.lag_seconds[:5_000]
            return outcome

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
        planner.add_listener(self.wake)
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
            planner.remove_listener(self.wake)
            self.stats.running = False

    def _run_one(self, stop: threading.Event, over: threading.Event) -> None:
        while not (stop.is_set() or self._stop.is_set() or over.is_set()):
            try:
                if self.tick() >= self.batch:
                    continue
                nxt = self.next_due()
            except Exception as exc:  # the database may be away for a moment; keep trying
                log.warning("engine tick failed: %s", exc)
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
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
            "lag_p50_ms": round(lags[len(lags) // 2] * 1000) if lags else None,
            "lag_p99_ms": round(lags[min(len(lags) - 1, len(lags) * 99 // 100)] * 1000) if lags else None,
        }

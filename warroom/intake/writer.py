"""Group commit: one writer thread commits many concurrent requests' alerts in one transaction.

A request hands its alerts over and awaits its batch's commit, so "accepted" always means
"committed", while SQLite pays one transaction per batch instead of one per request. The
thread takes everything queued when it is free (up to `intake_batch_max` alerts), so batches
grow with load and a lone alert is committed at once. A batch that fails is retried request
by request, so one poisoned request cannot sink the others; the poisoned one is dead-lettered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError

from warroom.incidents.service import Context, run
from warroom.intake import pipeline
from warroom.intake.config import IntakeSettings
from warroom.intake.pipeline import Refused, Submission

log = logging.getLogger("warroom.intake")

Job = Submission | Refused


class Stored(Exception):
    """A request whose alerts could not be committed; `dead_letter` is where its body was kept."""

    def __init__(self, message: str, dead_letter: int | None) -> None:
        super().__init__(message)
        self.dead_letter = dead_letter


@dataclass
class Stats:
    batches: int = 0
    requests: int = 0
    alerts: int = 0
    largest: int = 0
    failures: int = 0
    last_error: str | None = None
    sizes: list[int] = field(default_factory=list)


@dataclass
class _Waiting:
    job: Job
    loop: asyncio.AbstractEventLoop | None
    future: Any
    size: int


class Writer:
    def __init__(self, ctx: Context, cfg: IntakeSettings) -> None:
        self.ctx = ctx
        self.cfg = cfg
        self.stats = Stats()
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._tidy_at: float = time.monotonic() + 30.0
        self._next_hold: float = time.monotonic()
        """when to look for held alert groups whose wait is over (checked at once on start)"""

    # --- the request side -------------------------------------------------------------------------

    async def submit(self, job: Job) -> Any:
        """Queue a job and wait for its commit; returns the job's result or raises Stored."""
        self.start()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        size = len(job.items) if isinstance(job, Submission) else 1
        self._queue.put(_Waiting(job, loop, future, size))
        return await future

    def submit_blocking(self, job: Job, timeout: float = 60) -> Any:
        """The same from a thread without an event loop (tests, the CLI)."""
        import concurrent.futures

        self.start()
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        size = len(job.items) if isinstance(job, Submission) else 1
        self._queue.put(_Waiting(job, None, future, size))
        return future.result(timeout)

    # --- the writer thread --------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="warroom-intake-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = max(0.0, min(1.0, self._next_hold - time.monotonic()))
            try:
                first = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                self._release_held()
                continue
            if first is None:
                break
            batch, size = [first], first.size
            while size < self.cfg.intake_batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._stop.set()
                    break
                batch.append(nxt)
                size += nxt.size
            self._commit(batch)
            if time.monotonic() >= self._next_hold:
                self._release_held()

    def _commit(self, batch: list[_Waiting]) -> None:
        try:
            results, hold = self._apply([w.job for w in batch])
        except Exception as exc:  # one bad request must not fail its neighbours: retry them one by one
            self.stats.failures += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            if len(batch) > 1 or isinstance(exc, IntegrityError | OperationalError):
                for w in batch:
                    self._commit_alone(w)
                return
            self._fail(batch[0], exc)
            return
        self._done(batch, results, hold)

    def _commit_alone(self, w: _Waiting) -> None:
        for attempt in range(3):
            try:
                results, hold = self._apply([w.job])
            except (IntegrityError, OperationalError) as exc:  # a concurrent replica won a race: look again
                if attempt == 2:
                    self._fail(w, exc)
                    return
                continue
            except Exception as exc:
                self._fail(w, exc)
                return
            self._done([w], results, hold)
            return

    def _apply(self, jobs: list[Job]) -> tuple[list[Any], datetime | None]:
        return run(self.ctx, lambda session, now: pipeline.ingest(session, self.ctx, now, jobs, self.cfg))

    def _done(self, batch: list[_Waiting], results: list[Any], hold: datetime | None) -> None:
        s = self.stats
        s.batches += 1
        s.requests += len(batch)
        size = sum(w.size for w in batch)
        s.alerts += size
        s.largest = max(s.largest, size)
        s.sizes.append(size)
        if len(s.sizes) > 10_000:
            del s.sizes[:5_000]
        if hold is not None:
            self._next_hold = min(
                self._next_hold, time.monotonic() + max(0.0, (hold - self.ctx.clock.now()).total_seconds())
            )
        for w, result in zip(batch, results, strict=True):
            _resolve(w, result, None)

    def _fail(self, w: _Waiting, exc: Exception) -> None:
        log.exception("alert intake could not commit a request", exc_info=exc)
        job = w.job
        dead: int | None = None
        if isinstance(job, Submission):
            import orjson

            refused = Refused(
                source=job.items[0].source if job.items else "unknown",
                integration=job.integration,
                received_at=job.received_at,
                status=500,
                error=f"could not be stored: {type(exc).__name__}: {exc}",
                field=None,
                content_type="application/json",
                body=orjson.dumps([i.raw for i in job.items], default=str),
            )
            try:
                dead = run(
                    self.ctx, lambda session, now: pipeline.dead_letter(session, refused, self.cfg.dead_letters_keep)
                )
            except Exception:
                log.exception("the dead-letter table could not take it either")
        _resolve(w, None, Stored(str(exc), dead))

    def _release_held(self) -> None:
        self._next_hold = time.monotonic() + 1.0
        if time.monotonic() >= self._tidy_at:
            self._tidy_at = time.monotonic() + 30.0
            try:
                run(self.ctx, lambda session, now: pipeline.close_stale(session, self.ctx, now))
            except Exception as exc:  # tidying can wait for the next round
                log.warning("closing stale alert groups failed: %s", exc)
        try:
            with self.ctx.db.read() as session:
                due = pipeline.next_hold(session)
            if due is None:
                self._next_hold = time.monotonic() + 5.0
                return
            if due > self.ctx.clock.now():
                self._next_hold = time.monotonic() + min(1.0, (due - self.ctx.clock.now()).total_seconds())
                return
            run(self.ctx, lambda session, now: pipeline.release_held(session, self.ctx, now, self.cfg))
        except Exception as exc:  # the database may be away for a moment; try again shortly
            log.warning("releasing held alert groups failed: %s", exc)

    def status(self) -> dict[str, Any]:
        s = self.stats
        sizes = sorted(s.sizes[-1000:])
        return {
            "running": self._thread is not None and self._thread.is_alive(),
            "batches": s.batches,
            "requests": s.requests,
            "alerts": s.alerts,
            "largest_batch": s.largest,
            "median_batch": sizes[len(sizes) // 2] if sizes else 0,
            "failures": s.failures,
            "last_error": s.last_error,
        }


def _resolve(w: _Waiting, result: Any, exc: Exception | None) -> None:
    if w.loop is None:
        if exc is not None:
            w.future.set_exception(exc)
        else:
            w.future.set_result(result)
        return

    def deliver() -> None:
        if w.future.done():  # the client went away; its alerts are committed all the same
            return
        if exc is not None:
            w.future.set_exception(exc)
        else:
            w.future.set_result(result)

    with contextlib.suppress(RuntimeError):  # the loop has closed (shutdown)
        w.loop.call_soon_threadsafe(deliver)

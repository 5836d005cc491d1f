"""Group commit, then the pipeline behind the answer, both scheduled on the server's event loop.

A webhook hands its parsed alerts over and awaits their commit. Every request that one turn of
the event loop parsed is stored in one transaction (`inbox.store`) at the end of that turn:
"accepted" always means "committed", SQLite pays one commit per turn instead of one per request,
and no request waits for another thread to be scheduled. A batch that fails is retried request by
request, so one poisoned request cannot sink the others.

The stored requests are applied (`inbox.process`: dedup, silences, grouping, storms, triage) in
passes between turns: at full speed while webhooks come at about a hundred a second or fewer, and
while more keep coming in short passes that take `intake_process_share` of the time, more as the backlog
nears its bound (see `Pacer`), so a burst is accepted first and a flood is applied as it comes. Running
both on the loop keeps them from fighting over the interpreter lock with each other; the loop reads new requests between
any two passes. A request the pipeline cannot apply is marked failed and dead-lettered; nothing
accepted is ever dropped. Past `intake_max_lag` seconds of backlog (`lag`) new webhooks are pushed
back (503) instead of accepted, and passes take the work that can page someone first (`priority`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from warroom.intake import inbox, ingest
from warroom.intake.config import IntakeSettings
from warroom.intake.inbox import Accepted, Processed
from warroom.intake.ingest import Refused
from warroom.intake.normal import Incoming
from warroom.intake.priority import Backlog, Shape, cover, shape_of
from warroom.store.unit import Context, run

log = logging.getLogger("warroom.intake")

Job = Accepted | Refused
GAP = 0.001
"""seconds between two passes, for the loop to read what arrived during the last one"""
BUSY_WINDOW = 0.1
BUSY_REQUESTS = 20
"""webhooks within one to two BUSY_WINDOWs from which the server counts as busy (100-200 a second)"""
BUSY_PASS = 100
"""alerts a pass may always take (below it a pass is mostly its fixed cost)"""
PASS_SECONDS = 0.04
"""a quiet server's pass takes about this long at most, at the measured cost per alert (the loop answers between)"""
BUSY_SECONDS = 0.02
"""a busy server's pass takes about this long at most (a short pass delays the next commit less)"""
START_PASS = 500
"""alerts a pass takes before passes have been timed"""
LARGE = 1000
"""alerts in one request from which its passes run in a worker thread (a 1 MiB webhook is seconds of work)"""
BURST = 0.05
"""seconds of applying a busy server may do at once, from the credit its share earned while it waited"""
RETRY = 0.05
"""seconds before looking again when another replica is applying requests, or the database was away"""
HOUSEKEEPING = 1.0
"""seconds between looks for held groups whose wait is over and for a backlog a replica left"""
RECOUNT = 0.25
"""seconds between reads of the backlog every replica shares, on PostgreSQL while webhooks come fast: between
reads a replica counts only what it accepted itself, and at HOUSEKEEPING it took the other replicas' last second
of webhooks (over a second of applying, in a flood of batches) past the bound"""
SHARED_FOR = timedelta(seconds=30)
"""how long another replica's recorded cost of applying is taken for this one's"""
URGENT_WAIT = 0.02
"""seconds a busy server waits at most before a pass of the work that can page someone, while it is pending"""
URGENT_LAG = 5.0
"""times `intake_max_lag` up to which a webhook that can page someone is taken while the flood is pushed back,
unless `intake_urgent_lag` says otherwise"""
COST = 0.00004
REQUEST_COST = 0.00015
"""seconds of applying an alert and a request, assumed until this process has measured a pass (about what
this machine measured): a flood of single alerts cannot tell the two apart, so the split it keeps is this one's,
and a batch of a hundred is not taken for a hundred single alerts"""


class Stored(Exception):
    """A request whose alerts could not be committed; `dead_letter` is where its body was kept."""

    def __init__(self, message: str, dead_letter: int | None) -> None:
        super().__init__(message)
        self.dead_letter = dead_letter


@dataclass
class Stats:
    batches: int = 0
    requests: int = 0
    """jobs committed: accepted requests and dead letters alike"""
    quick: int = 0
    alerts: int = 0
    accepted: int = 0
    accepted_alerts: int = 0
    """requests answered 202, and their alerts (`requests` and `alerts` count dead letters too)"""
    largest: int = 0
    failures: int = 0
    passes: int = 0
    applied_requests: int = 0
    applied_alerts: int = 0
    pushed_back: int = 0
    """webhooks answered 503 because the backlog was over `intake_max_lag` seconds of applying"""
    taken_over_bound: int = 0
    """webhooks taken while over the bound because they can page someone (`Writer.pushback`)"""
    last_error: str | None = None
    sizes: list[int] = field(default_factory=list)


@dataclass
class _Waiting:
    job: Job
    future: asyncio.Future[Any]
    size: int


class Pacer:
    """When a pass may run: at once while webhooks are few; while many keep coming, within a share of the time.

    Busy means BUSY_REQUESTS webhooks within the last one to two BUSY_WINDOWs. A busy server earns
    credit at `share` of the time that passes and spends it on passes, up to BURST at once, so a
    storm's first alerts are applied at once and the rest at most `share` of the time. Times are
    monotonic seconds, passed in.
    """

    def __init__(self, share: float) -> None:
        self.share = share
        self._window_start = -2 * BUSY_WINDOW
        self._count = 0
        self._previous = 0
        """webhooks in the current BUSY_WINDOW, and in the one before it"""
        self._credit = BURST
        self._credit_at = 0.0

    def arrived(self, now: float) -> None:
        if now - self._window_start >= BUSY_WINDOW:
            self._previous = self._count if now - self._window_start < 2 * BUSY_WINDOW else 0
            self._window_start, self._count = now, 0
        self._count += 1

    def busy(self, now: float) -> bool:
        if now - self._window_start >= 2 * BUSY_WINDOW:
            return False
        if now - self._window_start >= BUSY_WINDOW:  # the current window is over: it is the one before now
            return self._count >= BUSY_REQUESTS
        return self._previous + self._count >= BUSY_REQUESTS

    def wait(self, now: float, pressure: float = 0.0) -> float:
        """Seconds before a busy server's next pass may start (0: now).

        `pressure` is the backlog as a share of its bound: applying's share of the time grows with it, from
        `share` with no backlog to all of it at the bound, so a flood the server can absorb fills the backlog
        slowly instead of running into the bound (and its 503s) at `share`'s pace."""
        share = self.share + (1 - self.share) * min(1.0, max(0.0, pressure))
        self._credit = min(BURST, self._credit + (now - self._credit_at) * share)
        self._credit_at = now
        return max(0.0, -self._credit / share)

    def ran(self, spent: float, ended: float, busy: bool) -> None:
        """A pass that ended at `ended` took `spent` seconds of the server's time: a busy server pays for it;
        a quiet one starts afresh."""
        if busy:
            self._credit -= spent
        else:
            self._credit, self._credit_at = BURST, ended


class Costs:
    """What applying costs, in seconds per request and per alert, fitted over recent passes.

    A pass of R requests and A alerts takes about `per_request * R + per_alert * A` (its fixed part is
    spread over both at the sizes passes run at). A flood of single alerts costs per request, one of
    batches per alert; a backlog in seconds (`Writer.lag`) needs both. Least squares over the passes'
    sums, each pass weighing a little more than the one before, held towards the last fit where the
    passes so far cannot tell the two apart (every pass the same mix). The hold is relative: each cost is held in
    proportion to its own size, so passes that all cost more than the last fit (a busy machine) scale both costs,
    rather than add the same microseconds to each (which took a flood of single alerts on a busy machine for a
    costly alert, and a batch that came after it for several times its real cost).
    """

    DECAY = 0.9
    HOLD = 1e-3
    """how strongly a direction the passes cannot resolve stays where it was, relative to what they say"""
    SWING = 2.0
    """a pass is taken for at most this many times what the costs so far predict for it (and at least one over it)"""
    STEP = 1.25
    """each cost moves by at most this factor a pass: a process's first passes decide alone, and one of them that
    waited on a busy machine put 50,000 pending alerts at 7.6 s (the next pass, at 3 s) where they took 2.4"""

    def __init__(self, per_alert: float = COST, per_request: float = REQUEST_COST) -> None:
        self.per_alert = per_alert
        self.per_request = per_request
        self._sums = (0.0, 0.0, 0.0, 0.0, 0.0)
        """decayed sums of R², RA, A², Rt, At"""
        self._cold = True
        """no pass measured yet: the first one also pays for the process's warm-up and is not counted"""

    def ran(self, requests: int, alerts: int, seconds: float) -> None:
        if self._cold:
            self._cold = False
            return
        predicted = self.seconds(requests, alerts)
        if predicted > 0:
            seconds = min(max(seconds, predicted / self.SWING), predicted * self.SWING)
        d = self.DECAY
        rr, ra, aa, rt, at = (x * d for x in self._sums)
        rr, ra, aa = rr + requests * requests, ra + requests * alerts, aa + alerts * alerts
        rt, at = rt + requests * seconds, at + alerts * seconds
        self._sums = (rr, ra, aa, rt, at)
        # Ridge towards the last fit, each cost weighed by 1/its size: the penalty's gradient moves both costs in
        # proportion to their sizes (HOLD * (rr + aa) is the weight where the two are equal).
        mean = (self.per_request + self.per_alert) / 2
        hold_r = self.HOLD * (rr + aa) * mean / max(self.per_request, mean / 10)  # a cost at 0 can grow again
        hold_a = self.HOLD * (rr + aa) * mean / max(self.per_alert, mean / 10)
        m11, m12, m22 = rr + hold_r, ra, aa + hold_a
        v1, v2 = rt + hold_r * self.per_request, at + hold_a * self.per_alert
        det = m11 * m22 - m12 * m12
        if det <= 0:
            return
        per_request = (v1 * m22 - v2 * m12) / det
        per_alert = (m11 * v2 - m12 * v1) / det
        if per_request < 0:  # all of it per alert
            per_request, per_alert = 0.0, at / aa
        elif per_alert < 0:  # all of it per request
            per_request, per_alert = rt / rr, 0.0
        self.per_request = self._step(self.per_request, per_request, mean)
        self.per_alert = max(self._step(self.per_alert, per_alert, mean), 1e-7)

    def _step(self, old: float, fitted: float, mean: float) -> float:
        """The fitted cost, within STEP of the old one (a cost near nothing may grow from a tenth of the mean)."""
        return min(max(fitted, old / self.STEP), max(old, mean / 10) * self.STEP)

    @property
    def fitted(self) -> bool:
        """Some pass of this process has been measured."""
        return self._sums[2] > 0

    def adopt(self, per_alert: float, per_request: float) -> None:
        """Take another replica's measured costs (this one has not applied anything lately)."""
        self.per_alert, self.per_request = max(per_alert, 1e-7), max(per_request, 0.0)

    def seconds(self, requests: float, alerts: float) -> float:
        """How long applying this many requests and alerts takes, at full speed."""
        return requests * self.per_request + alerts * self.per_alert


class Writer:
    """One per process; everything it does runs on the event loop that first uses it."""

    def __init__(self, ctx: Context, cfg: IntakeSettings) -> None:
        self.ctx = ctx
        self.cfg = cfg
        self.stats = Stats()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connection: list[Any] = []
        """the driver connection the group commit keeps (see `Database.driver`)"""
        self._outbox: list[_Waiting] = []
        """the jobs submitted in this turn of the loop, committed together at its end"""
        self._step: asyncio.Handle | None = None
        self._step_at = 0.0
        """the next look at what is pending, when one is due"""
        self._housekeeping: asyncio.TimerHandle | None = None
        self._recounting: asyncio.TimerHandle | None = None
        self._pending = True
        """requests may be waiting to be applied (a backlog from before a restart is looked for at once)"""
        self.pacer = Pacer(cfg.intake_process_share)
        self._tidy_at = time.monotonic() + 30.0
        self._applied: dict[int, list[asyncio.Future[None]]] = {}
        """request id → whoever waits for it to be applied"""
        self._large = False
        """a request larger than one pass is waiting: passes run in a worker thread until it is applied"""
        self._away: asyncio.Future[tuple[Processed | None, float]] | None = None
        """the pass running in a worker thread, if one is (what it did, and the CPU seconds it took)"""
        self._threaded = ctx.db.dialect == "postgresql"
        """every pass runs in a worker thread: on PostgreSQL a pass spends much of its time waiting for the
        server, and the loop accepts webhooks meanwhile (SQLite's loop would wait for the pass's write lock)"""
        self._looked: dict[Shape, tuple[float, bool]] = {}
        """shape → until when (monotonic) and whether it can page someone, for `can_page` before any pass looked"""
        self._committing = False
        """a commit is running in a worker thread (`_threaded`)"""
        self._unread: list[tuple[int, Accepted]] = []
        """requests committed while a pass was away: pending whatever the pass found, and read for their
        priority once it is back"""
        self._parsed: dict[int, list[Incoming]] = {}
        """the alerts of the large request being applied, kept between its slices"""
        self._backlog = 0
        self._backlog_requests = 0
        """alerts (and requests) accepted and not applied yet: counted here as they come and go, read again
        every HOUSEKEEPING"""
        self._others = (0.0, 0.0)
        """requests and alerts a second that other replicas added to the shared backlog between its last two
        reads (RECOUNT apart), counted into `lag` until the next read"""
        self._read_at = 0.0
        """when the shared backlog was last read (monotonic)"""
        self.costs = Costs()
        """seconds of applying a request and an alert, as the last passes measured them (this replica's, or
        the applying replica's: `share_costs`)"""
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._shared_passes = 0
        """this process's passes when it last recorded its costs"""
        self._size = float(START_PASS)
        """alerts a quiet server's pass takes, steered towards PASS_SECONDS (`pass_size`)"""
        self._seen = Backlog()
        """pending requests already read for their priority (see `inbox.process`)"""
        self._urgent = False
        """the last pass left work that can page someone: the next one borrows from the flood's share"""
        self._last_pass = 0.0
        """when the last pass ended (monotonic)"""
        self.started_at: datetime | None = None
        """when this process's writer attached to its event loop: what its counters (`Stats`) count since"""

    # --- the request side -------------------------------------------------------------------------

    def start(self) -> None:
        """Attach to the running event loop (the server's lifespan does this; so does the first webhook)."""
        if self._loop is not None:
            return
        self._loop = asyncio.get_running_loop()
        self.started_at = self.ctx.clock.now()
        self._arm(0)
        self._housekeeping = self._loop.call_later(0, self._housekeep)
        if self._threaded:
            self._recounting = self._loop.call_later(RECOUNT, self._recount)

    def stop(self) -> None:
        for handle in (self._step, self._housekeeping, self._recounting):
            if handle is not None:
                handle.cancel()
        self._step = self._housekeeping = self._recounting = None
        self._loop = None
        for conn in self._connection:
            conn.close()
        self._connection.clear()

    def lag(self, now: float | None = None) -> float:
        """Seconds of applying the backlog would take at the measured cost per alert: the backlog as last read
        and counted since, with what the other replicas add at the rate they added it between the last reads."""
        per_request, per_alert = self._others
        since = 0.0
        if per_request or per_alert:
            since = min((time.monotonic() if now is None else now) - self._read_at, 2 * RECOUNT)
        return self.costs.seconds(self._backlog_requests + per_request * since, self._backlog + per_alert * since)

    def read_backlog(self, session: Session, now: float) -> int:
        """The shared backlog read again (`now` monotonic): what it grew by beyond this replica's own count is
        the other replicas' doing, a rate until the next read if the last one was at most RECOUNT x 2 ago.
        Returns the pending requests."""
        requests, alerts = inbox.backlog(session)
        elapsed = now - self._read_at
        if 0 < elapsed <= 2 * RECOUNT:  # reads RECOUNT apart: PostgreSQL's replicas while webhooks come fast
            self._others = (max(0, requests - self._backlog_requests) / elapsed,
                            max(0, alerts - self._backlog) / elapsed)  # fmt: skip
        else:
            self._others = (0.0, 0.0)
        self._backlog_requests, self._backlog, self._read_at = requests, alerts, now
        return requests

    def pushback(self, can_page: Callable[[], bool] | None = None) -> int | None:
        """Seconds a new webhook's sender should wait (503 with Retry-After) while the backlog is over the bound.

        Over the bound, a webhook `can_page` says can page someone is still taken, up to `intake_urgent_lag`
        (URGENT_LAG times the bound unless set): back-pressure holds off more of a flood, not another outage
        (which goes before the flood's backlog).
        """
        lag = self.lag()
        if lag <= self.cfg.intake_max_lag:
            return None
        ceiling = self.cfg.intake_urgent_lag or URGENT_LAG * self.cfg.intake_max_lag
        if can_page is not None and lag <= ceiling and can_page():
            self.stats.taken_over_bound += 1
            return None
        self.stats.pushed_back += 1
        return max(1, min(60, math.ceil(lag)))

    def can_page(self, source: str, body: bytes, headers: Mapping[str, str]) -> bool:
        """Whether a webhook's alerts can page someone, as far as the last look at the open incidents tells
        (`priority.Cover.routine`: the last pass's, else one for this shape, kept for a second); a body that
        does not parse has the shape that is never routine, and is let through to be refused with its reason."""
        shape = shape_of(self.ctx.policy, inbox.read_alerts(source, body, headers))[0]
        now = time.monotonic()
        if self._seen.cover is not None and self._seen.covered_at > now - 1.0:
            return not self._seen.cover.routine(shape)
        known = self._looked.get(shape)
        if known is None or known[0] < now:
            if len(self._looked) > 1000:
                self._looked.clear()
            with self.ctx.db.read() as session:
                routine = cover(session, self.ctx.policy, [shape], self.ctx.clock.now()).routine(shape)
            known = self._looked[shape] = (now + 1.0, not routine)
        return known[1]

    def arrived(self) -> None:
        """A webhook arrived (its rate decides whether applying keeps to its share of the time)."""
        self.pacer.arrived(time.monotonic())

    async def submit(self, job: Job) -> Any:
        """Commit a job with the others of this turn of the loop: a request's id, or a dead letter's.

        Raises Stored when it could not be committed.
        """
        self.start()
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        if not self._outbox:  # the first of this turn: commit them all once the turn's requests are parsed
            loop.call_soon(self._commit_turn)
        self._outbox.append(_Waiting(job, future, job.alerts if isinstance(job, Accepted) else 1))
        return await future

    async def applied(self, request_id: int, timeout: float) -> None:
        """Return when this process has applied the request, or after `timeout` seconds (look again then)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._applied.setdefault(request_id, []).append(future)
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            pass
        finally:
            waiting = self._applied.get(request_id, [])
            if future in waiting:
                waiting.remove(future)
            if not waiting:
                self._applied.pop(request_id, None)

    def _commit_turn(self) -> None:
        if self._committing:  # the commit in flight takes this turn's requests when it is back
            return
        batch, self._outbox = self._outbox, []
        chunks = [batch[start : start + self.cfg.intake_batch_max]
                  for start in range(0, len(batch), self.cfg.intake_batch_max)]  # fmt: skip
        if self._threaded and self._loop is not None and chunks:
            # PostgreSQL: the commit waits for the server in a worker thread while the loop reads the next
            # requests, which go together in the commit after this one.
            self._committing = True
            away = self._loop.run_in_executor(None, self._store_chunks, chunks)
            away.add_done_callback(lambda future: self._committed(chunks, _outcomes(future, len(chunks))))
            return
        for chunk in chunks:
            self._commit(chunk, self._store_chunks([chunk])[0])
        self._arm(GAP)

    def _store_chunks(self, chunks: list[list[_Waiting]]) -> list[list[int] | Exception]:
        """Each chunk's requests stored in one transaction: their ids, or what went wrong."""
        out: list[list[int] | Exception] = []
        for chunk in chunks:
            try:
                out.append(self._store([w.job for w in chunk]))
            except Exception as exc:
                out.append(exc)
        return out

    def _committed(self, chunks: list[list[_Waiting]], results: list[list[int] | Exception]) -> None:
        """A commit off the loop is back (on the loop): answer its requests, then commit what came meanwhile."""
        self._committing = False
        for chunk, result in zip(chunks, results, strict=True):
            self._commit(chunk, result)
        if self._outbox:
            self._commit_turn()
        self._arm(GAP)

    def _commit(self, batch: list[_Waiting], stored: list[int] | Exception) -> None:
        """Answer a chunk of requests as its commit went; a failed one is tried again request by request."""
        if isinstance(stored, Exception):  # one bad request must not fail its neighbours: retry them one by one
            exc = stored
            self.stats.failures += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            if len(batch) > 1 or isinstance(exc, IntegrityError | OperationalError):
                for w in batch:
                    self._commit_alone(w)
                return
            self._fail(batch[0], exc)
            return
        self._done(batch, stored)

    def _commit_alone(self, w: _Waiting) -> None:
        for attempt in range(3):
            try:
                results = self._store([w.job])
            except (IntegrityError, OperationalError) as exc:  # the database was busy: look again
                if attempt == 2:
                    self._fail(w, exc)
                    return
                continue
            except Exception as exc:
                self._fail(w, exc)
                return
            self._done([w], results)
            return

    def _store(self, jobs: list[Job]) -> list[int]:
        accepted = [j for j in jobs if isinstance(j, Accepted)]
        ids: list[int] = []
        if accepted:
            with self.ctx.db.driver(self._connection) as cursor:
                ids = inbox.store(cursor, self.ctx.db.dialect == "postgresql", accepted)
        refused = [j for j in jobs if isinstance(j, Refused)]
        dead: list[int] = []
        if refused:
            keep = self.cfg.dead_letters_keep
            dead = run(self.ctx, lambda session, now: [ingest.dead_letter(session, j, keep) for j in refused])
        taken, given = iter(ids), iter(dead)
        return [next(taken) if isinstance(j, Accepted) else next(given) for j in jobs]

    def _done(self, batch: list[_Waiting], results: list[int]) -> None:
        s = self.stats
        s.batches += 1
        s.requests += len(batch)
        size = sum(w.size for w in batch)
        s.alerts += size
        s.largest = max(s.largest, size)
        s.sizes.append(size)
        if len(s.sizes) > 10_000:
            del s.sizes[:5_000]
        urgent = False
        for w, result in zip(batch, results, strict=True):
            job = w.job
            if isinstance(job, Accepted):
                self._pending = True
                self._backlog += job.alerts
                self._backlog_requests += 1
                self._large = self._large or job.alerts > LARGE
                s.quick += job.quick
                s.accepted += 1
                s.accepted_alerts += job.alerts
                if self._away is not None:  # a pass in a worker thread is using the backlog's memory
                    self._unread.append((result, job))
                elif job.alerts <= LARGE:
                    urgent |= self._classify(result, job)
            if not w.future.done():  # the client went away; its alerts are committed all the same
                w.future.set_result(result)
        if urgent:  # the next pass does not wait for the flood's share of the time
            self._urgent = True

    def _classify(self, rid: int, job: Accepted) -> bool:
        """Read a request for its priority as it is committed (it is parsed once: its alerts are kept for
        applying); True when it can page someone. Reading it costs about what the pass would have spent."""
        try:
            return inbox.classify(self.ctx.policy, self._seen, rid, job.alerts, job.source, job.body, job.headers)
        except Exception:  # the pass reads it again, and fails it there if it must
            log.exception("reading request %s for its priority failed", rid)
            return False

    def _fail(self, w: _Waiting, exc: Exception) -> None:
        log.exception("alert intake could not commit a request", exc_info=exc)
        job = w.job
        dead: int | None = None
        if isinstance(job, Accepted):
            refused = Refused(
                source=job.source,
                integration=job.integration,
                received_at=job.received_at,
                status=500,
                error=f"could not be stored: {type(exc).__name__}: {exc}",
                field=None,
                content_type="application/json",
                body=job.body,
            )
            try:
                dead = run(
                    self.ctx, lambda session, now: ingest.dead_letter(session, refused, self.cfg.dead_letters_keep)
                )
            except Exception:
                log.exception("the dead-letter table could not take it either")
        if not w.future.done():
            stored = Stored(str(exc), dead)
            stored.__cause__ = exc  # the face tells a database outage (503) from a bug (500) by it
            w.future.set_exception(stored)

    # --- applying what was accepted -------------------------------------------------------------------

    def _arm(self, delay: float) -> None:
        """Look at what is pending after `delay` seconds, or sooner if a look is already due sooner."""
        if not self._pending or self._loop is None:
            return
        due = self._loop.time() + delay
        if self._step is not None:
            if self._step_at <= due:
                return
            self._step.cancel()
        # Our own record of when: uvloop answers a delay under half a millisecond with a plain Handle.
        self._step, self._step_at = self._loop.call_later(delay, self._look), due

    def _look(self) -> None:
        self._step = None
        if not self._pending or self._away is not None:  # a pass off the loop re-arms when it is back
            return
        now = time.monotonic()
        # Over the lag bound new webhooks are already held off at their senders: apply at full speed.
        pressure = self.lag() / self.cfg.intake_max_lag
        busy = self.pacer.busy(now) and pressure <= 1
        wait = self.pacer.wait(now, pressure) if busy else 0.0
        urgent_only = False
        if self._urgent and wait > 0:  # work that can page someone goes now, alone; the flood waits its turn
            soon = max(0.0, self._last_pass + URGENT_WAIT - now)
            if soon < wait:
                wait, urgent_only = soon, True
        if wait > 0:
            self._arm(wait)
            return
        limit = self.pass_size(busy)
        if (self._large or self._threaded) and self._loop is not None:
            # A request larger than a pass is applied a slice per pass in a worker thread: a 1 MiB
            # webhook is seconds of work, and the loop keeps answering (/healthz, the API) meanwhile.
            self._away = self._loop.run_in_executor(None, self._pass_away, limit, urgent_only)
            self._away.add_done_callback(lambda future: self._back(future, now, busy))
            return
        try:
            ran = self._after(self._pass(limit, urgent_only), time.monotonic() - now, busy)
        except Exception as exc:  # the database is away: the rows stay pending, look again shortly
            log.warning("applying accepted alerts failed: %s", exc)
            ran = False
        self._last_pass = time.monotonic()
        self.pacer.ran(self._last_pass - now, self._last_pass, busy)
        self._arm(GAP if ran else RETRY)

    def pass_size(self, busy: bool) -> int:
        """Alerts the next pass takes at most: about PASS_SECONDS of applying (BUSY_SECONDS while busy), within
        `intake_process_max`. A pass costs a fixed part (its reads, its commit, each group's triage) and a part
        per alert, so the size is steered by the time the last full passes took, not by a cost per alert."""
        most = self.cfg.intake_process_max
        size = self._size * (BUSY_SECONDS / PASS_SECONDS) if busy else self._size
        return max(min(BUSY_PASS, most), min(most, int(size)))

    def _steer(self, done: Processed, seconds: float, busy: bool) -> None:
        """After a pass that left work pending: the size that would have taken its time target (within twice
        and 0.7 times the last one, so one slow pass on a busy machine does not swing it)."""
        if seconds <= 0:
            return
        target = BUSY_SECONDS if busy else PASS_SECONDS
        fit = done.alerts * (target / seconds) * (PASS_SECONDS / target)
        self._size = max(BUSY_PASS, min(self._size * 2, max(self._size * 0.7, fit)))

    def _back(self, future: asyncio.Future[tuple[Processed | None, float]], started: float, busy: bool) -> None:
        """A pass that ran off the loop is done: its bookkeeping happens here, on the loop.

        On PostgreSQL the pass pays its CPU time out of the share (the loop went on while it waited for the
        server); a large request's pass on SQLite pays the time it took (the loop's commits wait for its lock).
        """
        self._away = None
        self._last_pass = time.monotonic()
        spent = self._last_pass - started
        done: Processed | None = None
        try:
            done, cpu = future.result()
            spent = cpu if self._threaded else spent
            ran = self._after(done, self._last_pass - started, busy, spent)
        except Exception as exc:
            log.warning("applying accepted alerts failed: %s", exc)
            ran = False
        unread, self._unread = self._unread, []
        applied = set(done.ids) if done is not None else set()
        for rid, job in unread:
            if rid in applied:
                continue
            self._pending = True  # the pass may have looked before it was committed
            if job.alerts <= LARGE and self._classify(rid, job):
                self._urgent = True
        self.pacer.ran(spent, self._last_pass, busy)
        self._arm(GAP if ran else RETRY)

    def _pass_away(self, limit: int, urgent_only: bool) -> tuple[Processed | None, float]:
        """A pass in a worker thread, with the CPU seconds it took there."""
        cpu = time.thread_time()
        done = self._pass(limit, urgent_only)
        return done, time.thread_time() - cpu

    def _pass(self, limit: int, urgent_only: bool = False) -> Processed | None:
        """One pass's database work (on the loop, or in a worker thread: `_pass_away`)."""
        try:
            return run(self.ctx, lambda s, now: inbox.process(s, self.ctx, now, self.cfg, limit, parsed=self._parsed,
                                                              seen=self._seen, urgent_only=urgent_only))  # fmt: skip
        except Exception as exc:
            log.warning("applying accepted alerts failed (%r); trying them one request at a time", exc, exc_info=True)
            self.stats.failures += 1
            self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self._parsed.clear()
            self._seen = Backlog()  # what it forgot as applied was rolled back: read the backlog afresh
            return self._apply_alone(limit)

    def _after(self, done: Processed | None, seconds: float, busy: bool = False, held: float | None = None) -> bool:
        """Record a pass that took `seconds` and kept the loop from answering for `held` of them (all of them
        unless it ran in a worker thread); False when another replica is applying requests (look again after
        RETRY)."""
        if done is None:
            return False
        if done.more and done.alerts >= 10 and not done.cut:  # a pass that took all it could: a short one is
            # Mostly its fixed cost; one that read more ahead than it applied is mostly that reading, done once for
            # later. Counting those too (PostgreSQL's every pass in a flood) put a busy machine's backlog at 11 s
            # where it drained in 3, and a lag past URGENT_LAG turns away the webhooks that can page someone.
            if done.read <= done.alerts:
                self.costs.ran(done.requests, done.alerts, seconds)
            self._steer(done, seconds if held is None else held, busy)
        self._pending = done.more
        self._large = done.sliced
        self._urgent = done.urgent > 0
        self._applied_now(done)
        return True

    def _apply_alone(self, limit: int) -> Processed | None:
        """After a failed pass: each of its requests alone; one that fails alone is dead-lettered."""
        with self.ctx.db.read() as session:
            ids = inbox.pending_ids(session, limit)
        total = Processed(0, 0, True, [])
        for rid in ids:
            one = self._apply_one(rid)
            if one is None:
                return total if total.ids else None
            total.requests += one.requests
            total.alerts += one.alerts
            total.ids += one.ids
        return total

    def _apply_one(self, rid: int) -> Processed | None:
        try:
            return run(self.ctx, lambda s, now: inbox.process(s, self.ctx, now, self.cfg, 1, only=rid))
        except Exception as exc:
            log.exception("request %s could not be applied; it is dead-lettered", rid)
            why = f"{type(exc).__name__}: {exc}"
        try:
            run(self.ctx, lambda s, now: inbox.fail(s, now, self.cfg, rid, why))
        except Exception:
            log.exception("request %s could not be marked failed either; it stays pending", rid)
            return None
        return Processed(1, 0, True, [rid])

    def _applied_now(self, done: Processed) -> None:
        s = self.stats
        if done.requests:
            s.passes += 1
            s.applied_requests += done.requests
            s.applied_alerts += done.alerts
            self._backlog = max(0, self._backlog - done.alerts)
            self._backlog_requests = max(0, self._backlog_requests - len(done.ids))
        for rid in done.ids:
            for future in self._applied.pop(rid, ()):
                if not future.done():
                    future.set_result(None)

    def status(self) -> dict[str, Any]:
        """The writer's counters since start, with the backlog every replica shares (a database read)."""
        s = self.stats
        sizes = sorted(s.sizes[-1000:])
        with self.ctx.db.read() as session:
            pending, alerts = inbox.backlog(session)
        return {
            "running": self._loop is not None,
            "started_at": self.started_at.isoformat() if self.started_at else None,
            "batches": s.batches,
            "requests": s.requests,
            "quick_checked": s.quick,
            "alerts": s.alerts,
            "accepted_requests": s.accepted,
            "accepted_alerts": s.accepted_alerts,
            "largest_batch": s.largest,
            "median_batch": sizes[len(sizes) // 2] if sizes else 0,
            "applied_requests": s.applied_requests,
            "applied_alerts": s.applied_alerts,
            "passes": s.passes,
            "pending_requests": pending,
            "pending_alerts": alerts,
            "lag_seconds": round(self.costs.seconds(pending, alerts), 3),
            "max_lag_seconds": self.cfg.intake_max_lag,
            "cost_per_alert_us": round(self.costs.per_alert * 1e6, 1),
            "cost_per_request_us": round(self.costs.per_request * 1e6, 1),
            "pushed_back": s.pushed_back,
            "taken_over_bound": s.taken_over_bound,
            "failures": s.failures,
            "last_error": s.last_error,
        }

    # --- housekeeping ---------------------------------------------------------------------------------

    def _housekeep(self) -> None:
        """Held groups whose wait is over, stale groups, old request records, a backlog a replica left."""
        assert self._loop is not None
        self._housekeeping = self._loop.call_later(HOUSEKEEPING, self._housekeep)
        if time.monotonic() >= self._tidy_at:
            self._tidy_at = time.monotonic() + 30.0
            keep = timedelta(seconds=self.cfg.intake_requests_keep_seconds)
            try:
                run(self.ctx, lambda session, now: ingest.close_stale(session, self.ctx, now))
                run(self.ctx, lambda session, now: inbox.prune(session, now - keep))
            except Exception as exc:  # tidying can wait for the next round
                log.warning("tidying alert intake failed: %s", exc)
        try:
            self.share_costs()
        except Exception as exc:  # the costs are shared again next round
            log.warning("sharing the cost of applying failed: %s", exc)
        try:
            with self.ctx.db.read() as session:
                requests = self.read_backlog(session, time.monotonic())
                if not self._pending and requests:
                    self._pending = True
                    self._arm(0)
                due = ingest.next_hold(session)
            if due is not None and due <= self.ctx.clock.now():
                run(self.ctx, lambda session, now: ingest.release_held(session, self.ctx, now, self.cfg))
        except Exception as exc:  # the database may be away for a moment; try again shortly
            log.warning("releasing held alert groups failed: %s", exc)

    def _recount(self) -> None:
        """The backlog every replica shares, read again while webhooks come fast (PostgreSQL: RECOUNT)."""
        assert self._loop is not None
        self._recounting = self._loop.call_later(RECOUNT, self._recount)
        if not self.pacer.busy(time.monotonic()):
            self._others = (0.0, 0.0)  # webhooks come slowly again: the next read starts a rate afresh
            return
        try:
            with self.ctx.db.read() as session:
                self.read_backlog(session, time.monotonic())
        except Exception as exc:  # the database may be away for a moment; the next look reads it
            log.warning("reading the alert backlog failed: %s", exc)

    def share_costs(self) -> None:
        """Record this replica's measured costs if it applied since the last round; else take those of the
        replica that applied most recently (within SHARED_FOR), so the lag every replica bounds is the same.

        On PostgreSQL one replica applies at a time: another one's own figure is whatever its last pass, long
        ago and maybe its first (the most costly), measured, and it would push back webhooks the applying
        replica could take.
        """
        if self.stats.passes != self._shared_passes and self.costs.fitted:
            self._shared_passes = self.stats.passes
            per_alert, per_request = self.costs.per_alert, self.costs.per_request
            run(self.ctx, lambda session, now: inbox.record_costs(session, self.worker, per_alert, per_request, now))
            return
        with self.ctx.db.read() as session:
            found = inbox.applying_costs(session, self.worker, self.ctx.clock.now() - SHARED_FOR)
        if found is not None:
            self.costs.adopt(*found)


def _outcomes(future: asyncio.Future[list[list[int] | Exception]], chunks: int) -> list[list[int] | Exception]:
    """What a commit off the loop returned; a commit the executor dropped (the server stopping) failed."""
    if future.cancelled():
        return [RuntimeError("the server stopped before the commit ran")] * chunks
    return future.result()

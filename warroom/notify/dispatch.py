"""Sending claimed messages: concurrently, one in flight per destination, each under a watchdog.

One hung destination must never hold up anybody else's page: each send runs in a thread of its
own (at most `concurrency` live at once), a destination's messages go one after another in their
order, and a send that outlives its method's total timeout is recorded as timed out at once while
its thread is left to end by itself (its destination stays busy until it does, so it is never sent
to twice at the same time).
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from warroom.notify.settings import NotifySettings

Key = tuple[str, str | None]
J = TypeVar("J")
R = TypeVar("R")


@dataclass
class Flight(Generic[J]):
    job: J
    key: Key
    deadline: float
    total: float


class Dispatcher(Generic[J, R]):
    """The sends of one delivery worker. Not thread-safe: one coordinating thread calls every method."""

    def __init__(
        self,
        settings: NotifySettings,
        run: Callable[[J], R],
        key: Callable[[J], Key],
        total: Callable[[J], float],
        *,
        done: Callable[[J, R], object],
        timed_out: Callable[[J, float], object],
        late: Callable[[J, R], object],
        released: Callable[[list[J]], object],
    ) -> None:
        """`run` sends one job; `done` records a live send's result, `timed_out` one that outlived its
        total timeout, `late` the result such a send returned after all; `released` gets back the jobs
        that were waiting behind a send that timed out."""
        self.concurrency = settings.concurrency
        self._run, self._key, self._total = run, key, total
        self._done, self._timed_out, self._late, self._released = done, timed_out, late, released
        self._events: queue.Queue[tuple[Flight[J], R | None, BaseException | None] | None] = queue.Queue()
        self.live: dict[Key, Flight[J]] = {}
        self.hung: dict[Key, Flight[J]] = {}
        self.waiting: dict[Key, deque[J]] = {}

    # --- what the claim must leave alone -----------------------------------------------------------

    def busy(self) -> set[Key]:
        """Destinations with a send in flight (live or hung) or messages waiting their turn."""
        return set(self.live) | set(self.hung) | {k for k, q in self.waiting.items() if q}

    def free(self) -> int:
        return max(0, self.concurrency - len(self.live))

    def idle(self) -> bool:
        return not self.live and not self.hung and not any(self.waiting.values())

    # --- sending ---------------------------------------------------------------------------------

    def add(self, jobs: list[J]) -> None:
        for job in jobs:
            self.waiting.setdefault(self._key(job), deque()).append(job)
        self._launch()

    def _launch(self) -> None:
        for key, waiting in list(self.waiting.items()):
            if not waiting:
                del self.waiting[key]
                continue
            if key in self.live or key in self.hung or len(self.live) >= self.concurrency:
                continue
            job = waiting.popleft()
            total = self._total(job)
            flight = Flight(job, key, time.monotonic() + total, total)
            self.live[key] = flight
            threading.Thread(target=self._send, args=(flight,), name="warroom-send", daemon=True).start()

    def _send(self, flight: Flight[J]) -> None:
        try:
            result = self._run(flight.job)
        except BaseException as exc:  # a dying process (tests' Crash): the coordinator re-raises it
            self._events.put((flight, None, exc))
            return
        self._events.put((flight, result, None))

    def wake(self) -> None:
        """Make a waiting `poll` return now (new messages were queued)."""
        self._events.put(None)

    def poll(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for sends to return (or a wake); record what returned and what
        outlived its deadline. Returns whether it was woken."""
        end = time.monotonic() + max(0.0, timeout)
        while True:
            self._expire()
            nearest = min([f.deadline for f in self.live.values()] + [end])
            try:
                first = self._events.get(timeout=max(0.0, nearest - time.monotonic()))
            except queue.Empty:
                if time.monotonic() >= end:
                    self._expire()
                    return False
                continue
            events = [first]
            while True:  # take everything already here before going back to the claim
                try:
                    events.append(self._events.get_nowait())
                except queue.Empty:
                    break
            woken, failure = False, None
            for event in events:
                if event is None:
                    woken = True
                    continue
                try:
                    self._record(*event)
                except Exception as exc:  # recording needs the database; the others are still recorded
                    failure = failure or exc
            self._expire()
            if failure is not None:
                raise failure
            return woken

    def drain(self) -> None:
        """Wait until every send returned (a hung one until its socket gives up)."""
        while not self.idle():
            self.poll(1.0)

    def _record(self, flight: Flight[J], result: R | None, error: BaseException | None) -> None:
        if self.live.get(flight.key) is flight:
            del self.live[flight.key]
            if error is not None or result is None:
                raise error or RuntimeError("a send returned nothing")
            self._done(flight.job, result)
        elif self.hung.get(flight.key) is flight:
            del self.hung[flight.key]
            if error is not None or result is None:
                raise error or RuntimeError("a send returned nothing")
            self._late(flight.job, result)
        self._launch()

    def _expire(self) -> bool:
        """Sends past their deadline are timed out now; their destination's waiting messages go back."""
        now = time.monotonic()
        expired = [f for f in self.live.values() if f.deadline <= now]
        for flight in expired:
            del self.live[flight.key]
            self.hung[flight.key] = flight
            back = list(self.waiting.pop(flight.key, ()))
            self._timed_out(flight.job, flight.total)
            if back:
                self._released(back)
        if expired:
            self._launch()
        return bool(expired)

"""What pages and lists read, kept for a moment in this process so a crowd of readers costs one read, not thirty.

An entry is used while nothing changed and it is younger than `TTL`: every commit in this process that
changes an incident (the unit of work's `changed` signal) and every change the live watcher sees committed
by another process or the CLI starts a new generation, and so does every form this process handles. What
changes without a timeline entry (an alert's count, a delivery's state) and the clocks' wording are at most
`TTL` old. Readers arriving while an entry is computed wait for that one computation instead of each
running their own. Nothing here is per user unless its key says so.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from warroom.store import unit

T = TypeVar("T")
TTL = 1.0
"""seconds; the live pages' own poll of other processes' changes is as long"""
MOST = 512
"""entries kept (incident pages and drafts per viewer); past it the oldest half goes"""


class PageCache:
    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self.generation = 0
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[int, float, Any]] = {}
        self._turns: dict[Hashable, threading.Lock] = {}

    def bump(self) -> None:
        """Something changed: nothing kept so far is used again."""
        with self._lock:
            self.generation += 1

    def _fresh(self, key: Hashable) -> tuple[bool, Any]:
        found = self._entries.get(key)
        if found is not None and found[0] == self.generation and time.monotonic() - found[1] < self.ttl:
            return True, found[2]
        return False, None

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        hit, value = self._fresh(key)
        if hit:
            return value  # type: ignore[no-any-return]
        with self._lock:
            turn = self._turns.setdefault(key, threading.Lock())
        with turn:  # one computes; the readers that came meanwhile take its answer
            hit, value = self._fresh(key)
            if hit:
                return value  # type: ignore[no-any-return]
            generation = self.generation  # a change during the computation makes the answer stale at once
            value = compute()
            with self._lock:
                if len(self._entries) >= MOST:
                    for old in sorted(self._entries, key=lambda k: self._entries[k][1])[: MOST // 2]:
                        self._entries.pop(old, None)
                        self._turns.pop(old, None)
                self._entries[key] = (generation, time.monotonic(), value)
            return value


def of(app_state: Any) -> PageCache:
    """The application's cache, made (and told of every commit in this process) on first use."""
    found: PageCache | None = getattr(app_state, "page_cache", None)
    if found is None:
        found = app_state.page_cache = PageCache()
        unit.changed.connect(found.bump)
    return found

"""What a process remembers of a credential for a few seconds, so every request need not read it again."""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

V = TypeVar("V")

CACHE_SECONDS = 5.0
"""how long a process trusts what it read (a revocation reaches other processes within this)"""


class TimedCache(Generic[V]):
    """Values by key, each trusted for CACHE_SECONDS; thread-safe and bounded (cleared past 10,000 keys)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[float, V]] = {}

    def get(self, key: str) -> tuple[bool, V | None]:
        with self._lock:
            hit = self._rows.get(key)
        if hit is None or hit[0] < time.monotonic():
            return False, None
        return True, hit[1]

    def put(self, key: str, value: V) -> None:
        with self._lock:
            if len(self._rows) > 10_000:
                self._rows.clear()
            self._rows[key] = (time.monotonic() + CACHE_SECONDS, value)

    def drop(self, key: str) -> None:
        with self._lock:
            self._rows.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

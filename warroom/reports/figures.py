"""The arithmetic of a report, pure: per-incident durations from their timestamps, and their summaries.

Percentiles are nearest-rank (the smallest value with at least p% of the values at or below it), so
every figure is one of the durations measured, never an interpolation between two incidents.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel


class Stat(BaseModel):
    """Seconds; None where no incident had the duration."""

    count: int
    mean: float | None
    p50: float | None
    p90: float | None


def percentile(values: Sequence[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def stat(values: Sequence[float]) -> Stat:
    if not values:
        return Stat(count=0, mean=None, p50=None, p90=None)
    return Stat(
        count=len(values), mean=sum(values) / len(values), p50=percentile(values, 50), p90=percentile(values, 90)
    )


@dataclass(frozen=True)
class Times:
    """The timestamps a report reads of one incident."""

    declared_at: datetime
    acknowledged_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    alerts_cleared_at: datetime | None


def cleared_before_ack(t: Times) -> bool:
    """Its alerts all resolved while nobody had acknowledged it: no human response to time."""
    return t.alerts_cleared_at is not None and (t.acknowledged_at is None or t.acknowledged_at > t.alerts_cleared_at)


def _seconds(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else max(0.0, (end - start).total_seconds())


def tta(t: Times) -> float | None:
    """declared → first human acknowledgement; None when alerts cleared it first."""
    return None if cleared_before_ack(t) else _seconds(t.declared_at, t.acknowledged_at)


def ttm(t: Times) -> float | None:
    """declared → mitigated by people; None when its alerts mitigated it unacknowledged."""
    return None if cleared_before_ack(t) else _seconds(t.declared_at, t.mitigated_at)


def ttr(t: Times) -> float | None:
    """declared → resolved (its duration)."""
    return _seconds(t.declared_at, t.resolved_at)


def summarise(times: Sequence[Times]) -> tuple[Stat, Stat, Stat]:
    """MTTA, MTTM, MTTR over the incidents that have each duration."""

    def pick(f: Callable[[Times], float | None]) -> list[float]:
        return [v for v in (f(t) for t in times) if v is not None]

    return stat(pick(tta)), stat(pick(ttm)), stat(pick(ttr))

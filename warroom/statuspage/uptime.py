"""Uptime arithmetic: how much of a day a component was down, from the intervals its history gives.

Pure functions over (start, end, status) intervals: overlapping incidents never count a moment twice
(the worst status at each moment counts), a major outage counts in full, a partial outage for 30 %,
degraded performance and maintenance not at all (as Statuspage counts them).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from warroom.statuspage.vocab import RANK

WEIGHT = {"major_outage": 1.0, "partial_outage": 0.3}


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime
    status: str


def downtime(intervals: Iterable[Interval], start: datetime, end: datetime) -> float:
    """Weighted seconds of outage within [start, end)."""
    inside = [
        Interval(max(i.start, start), min(i.end, end), i.status)
        for i in intervals
        if i.status in WEIGHT and i.end > start and i.start < end and i.end > i.start
    ]
    if not inside:
        return 0.0
    cuts = sorted({t for i in inside for t in (i.start, i.end)})
    total = 0.0
    for a, b in itertools.pairwise(cuts):
        covering = [i.status for i in inside if i.start <= a and i.end >= b]
        if covering:
            total += WEIGHT[max(covering, key=RANK.__getitem__)] * (b - a).total_seconds()
    return total


def uptime(intervals: Iterable[Interval], start: datetime, end: datetime) -> float:
    """The share of [start, end) the component was up: 1.0 for no outage, never below 0 or above 1."""
    span = (end - start).total_seconds()
    if span <= 0:
        return 1.0
    return min(1.0, max(0.0, 1.0 - downtime(intervals, start, end) / span))


def days(intervals: list[Interval], first: datetime, count: int, now: datetime) -> list[tuple[datetime, float, str]]:
    """Per UTC day from `first`: its start, its uptime (today's so far) and the worst status seen that day."""
    out = []
    for n in range(count):
        a = first + timedelta(days=n)
        b = min(a + timedelta(days=1), now)
        seen = [i.status for i in intervals if i.end > a and i.start < b]
        out.append(
            (a, uptime(intervals, a, b) if b > a else 1.0, max(seen, key=RANK.__getitem__, default="operational"))
        )
    return out

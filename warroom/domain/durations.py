"""Durations as runbooks write them: `5m`, `4h`, `1h30m`, `5bd`, `next-business-day`, `next-sprint`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class SpanKind(StrEnum):
    FIXED = "fixed"
    BUSINESS_DAYS = "business_days"
    NEXT_BUSINESS_DAY = "next_business_day"
    NEXT_SPRINT = "next_sprint"


_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_FIXED = re.compile(r"^(?:(\d+)(w|d|h|m|s))+$")
_PART = re.compile(r"(\d+)(w|d|h|m|s)")
_BUSINESS = re.compile(r"^(\d+)\s*bd$")


class DurationError(ValueError):
    pass


@dataclass(frozen=True)
class Span:
    """A span of time measured from an anchor; business kinds need a calendar to resolve."""

    kind: SpanKind
    seconds: int = 0
    business_days: int = 0

    @property
    def is_fixed(self) -> bool:
        return self.kind is SpanKind.FIXED

    def as_timedelta(self) -> timedelta:
        if not self.is_fixed:
            raise DurationError(f"{self} depends on the business calendar; it has no fixed length")
        return timedelta(seconds=self.seconds)

    def __str__(self) -> str:
        if self.kind is SpanKind.BUSINESS_DAYS:
            return f"{self.business_days}bd"
        if self.kind is SpanKind.NEXT_BUSINESS_DAY:
            return "next-business-day"
        if self.kind is SpanKind.NEXT_SPRINT:
            return "next-sprint"
        return format_seconds(self.seconds)


_DAYS_FROM = 4 * 86400
"""Below four days runbooks count in hours (24h, 48h, 72h), so that is how warroom prints them."""


def format_seconds(seconds: int) -> str:
    """The spelling a runbook would use (48h, 14d, 1h30m) that parses back to the same number of seconds."""
    if seconds == 0:
        return "0m"
    out = []
    rest = seconds
    for unit in ("d", "h", "m", "s") if seconds >= _DAYS_FROM else ("h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if rest >= size:
            out.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(out)


MAX_SECONDS = 100 * 366 * 86400
"""no wait, window or silence is longer than a century (timedelta and datetimes overflow past that)"""


def parse_span(text: str) -> Span:
    """Parse a policy duration; raise DurationError with a sentence a human can act on."""
    raw = text.strip().lower()
    if raw in ("next-business-day", "next business day"):
        return Span(SpanKind.NEXT_BUSINESS_DAY)
    if raw in ("next-sprint", "next sprint"):
        return Span(SpanKind.NEXT_SPRINT)
    if raw.startswith("-"):
        raise DurationError(f"'{text}' is negative; durations must be zero or more")
    business = _BUSINESS.match(raw)
    if business:
        if len(business.group(1)) > 5:
            raise DurationError(f"'{text[:40]}' is more business days than a calendar holds")
        return Span(SpanKind.BUSINESS_DAYS, business_days=int(business.group(1)))
    compact = raw.replace(" ", "")
    if compact and _FIXED.match(compact):
        parts = _PART.findall(compact)
        if any(len(n) > 12 for n, _ in parts) or sum(int(n) * _UNIT_SECONDS[u] for n, u in parts) > MAX_SECONDS:
            raise DurationError(f"'{text[:40]}' is longer than 100 years")
        return Span(SpanKind.FIXED, seconds=sum(int(n) * _UNIT_SECONDS[u] for n, u in parts))
    raise DurationError(
        f"'{text}' is not a duration; use forms like 90s, 5m, 4h, 1h30m, 2d, 5bd, next-business-day or next-sprint"
    )


def parse_fixed(text: str) -> timedelta:
    """Parse a duration that must not depend on the calendar (waits, windows, cadences)."""
    span = parse_span(text)
    if not span.is_fixed:
        raise DurationError(f"'{text}' must be a fixed length such as 10m here, not a business-day span")
    return span.as_timedelta()

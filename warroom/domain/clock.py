"""Time enters the domain only through a Clock, so drills and tests run on simulated time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, always timezone-aware UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FakeClock:
    """A clock that only moves when told to: drills and tests."""

    def __init__(self, start: datetime) -> None:
        self._now = ensure_utc(start)

    def now(self) -> datetime:
        return self._now

    def set(self, at: datetime) -> None:
        self._now = ensure_utc(at)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


def ensure_utc(value: datetime) -> datetime:
    """Reject naive datetimes and normalise aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone; warroom stores UTC only")
    return value.astimezone(UTC)


EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
"""the times a person may ask about: the calendar's ends overflow a schedule's or a zone's arithmetic"""


def within_calendar(value: datetime) -> bool:
    """An aware time between EARLIEST and LATEST (one in the year 1 east of UTC overflows even comparing it)."""
    try:
        return EARLIEST <= value <= LATEST
    except OverflowError:
        return False


def iso_z(value: datetime) -> str:
    """ISO-8601 in UTC with a trailing Z, the wire format."""
    return ensure_utc(value).isoformat().replace("+00:00", "Z")


def hhmm_utc(value: datetime) -> str:
    return ensure_utc(value).strftime("%H:%M UTC")


def stamp(at: datetime) -> str:
    """A compact, sortable form of a moment for use inside keys."""
    return at.strftime("%Y%m%dT%H%M%S") + (f".{at.microsecond:06d}" if at.microsecond else "")

"""The business calendar: working days and hours in a named zone; every answer is in UTC."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from warroom.domain.clock import ensure_utc
from warroom.domain.durations import Span, SpanKind

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class BusinessCalendar:
    timezone: str = "UTC"
    working_days: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)
    sprint_length: timedelta = timedelta(days=14)

    def __post_init__(self) -> None:
        if not self.working_days:
            raise ValueError("a business calendar needs at least one working day")
        if self.day_end <= self.day_start:
            raise ValueError("business hours must end after they start")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() in self.working_days and day not in self.holidays

    def _local(self, at: datetime) -> datetime:
        return ensure_utc(at).astimezone(self.zone)

    def _at(self, day: date, clock_time: time) -> datetime:
        return datetime.combine(day, clock_time, tzinfo=self.zone).astimezone(UTC)

    def _next_business_date(self, day: date) -> date:
        nxt = day + timedelta(days=1)
        while not self.is_business_day(nxt):
            nxt += timedelta(days=1)
        return nxt

    def in_business_hours(self, at: datetime) -> bool:
        local = self._local(at)
        return self.is_business_day(local.date()) and self.day_start <= local.time() < self.day_end

    def next_business_open(self, at: datetime) -> datetime:
        """`at` itself when inside business hours, else the next opening: where deferred work waits."""
        if self.in_business_hours(at):
            return ensure_utc(at)
        local = self._local(at)
        day = local.date()
        if self.is_business_day(day) and local.time() < self.day_start:
            return self._at(day, self.day_start)
        return self._at(self._next_business_date(day), self.day_start)

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """Same local time N business days later.

        A start outside business hours counts from the next opening (no business time passes in
        between), so Friday 20:00, Saturday and Monday 08:00 all give Tuesday 09:00 for 1bd. That
        keeps the answer monotonic in the start and always inside business hours.
        """
        if days < 0:
            raise ValueError("business days to add must be zero or more")
        start = ensure_utc(start)
        if days == 0:
            return start
        local = self._local(self.next_business_open(start))
        day = local.date()
        clock_time = local.time().replace(tzinfo=None, fold=0)
        for _ in range(days):
            day = self._next_business_date(day)
        return max(start, self._at(day, clock_time))

    def end_of_next_business_day(self, start: datetime) -> datetime:
        return self._at(self._next_business_date(self._local(start).date()), self.day_end)

    def deadline(self, start: datetime, span: Span) -> datetime:
        """Where a policy duration measured from `start` ends."""
        start = ensure_utc(start)
        if span.kind is SpanKind.FIXED:
            return start + timedelta(seconds=span.seconds)
        if span.kind is SpanKind.BUSINESS_DAYS:
            return self.add_business_days(start, span.business_days)
        if span.kind is SpanKind.NEXT_BUSINESS_DAY:
            return self.end_of_next_business_day(start)
        return start + self.sprint_length

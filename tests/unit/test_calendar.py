"""Durations and the business calendar: properties that must hold for any input, and hand-checked cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from warroom.domain.calendar import BusinessCalendar
from warroom.domain.durations import DurationError, Span, SpanKind, format_seconds, parse_fixed, parse_span

# Zones with and without daylight saving, both hemispheres. Business hours are drawn from 06:00-22:00
# so that no opening or closing time falls inside a DST jump (those happen between 00:00 and 04:00).
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "America/Sao_Paulo"]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    start_hour = draw(st.integers(6, 12))
    end_hour = draw(st.integers(start_hour + 1, 22))
    days = draw(st.sets(st.integers(0, 6), min_size=1, max_size=7))
    base = date(2026, 1, 1)
    holidays = draw(st.sets(st.integers(0, 800).map(lambda n: base + timedelta(days=n)), max_size=20))
    return BusinessCalendar(
        timezone=draw(st.sampled_from(ZONES)),
        working_days=frozenset(days),
        day_start=time(start_hour, draw(st.sampled_from([0, 30]))),
        day_end=time(end_hour, 0),
        holidays=frozenset(holidays),
    )


instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)).map(
    lambda d: d.replace(microsecond=0)
)
business_days = st.integers(0, 30)


def local_date(cal: BusinessCalendar, at: datetime) -> date:
    return at.astimezone(ZoneInfo(cal.timezone)).date()


# --- properties of the calendar -----------------------------------------------------------------


@given(calendars(), instants, st.integers(1, 30))
def test_n_business_days_lands_on_a_business_day(cal: BusinessCalendar, start: datetime, n: int) -> None:
    end = cal.add_business_days(start, n)
    assert cal.is_business_day(local_date(cal, end))
    assert end.tzinfo is not None and end.utcoffset() == timedelta(0)


@given(calendars(), instants)
def test_adding_zero_business_days_is_identity(cal: BusinessCalendar, start: datetime) -> None:
    assert cal.add_business_days(start, 0) == start


@given(calendars(), instants, business_days)
def test_more_business_days_end_later(cal: BusinessCalendar, start: datetime, n: int) -> None:
    assert cal.add_business_days(start, n) < cal.add_business_days(start, n + 1)


@given(calendars(), instants, st.timedeltas(timedelta(0), timedelta(days=4)), business_days)
def test_a_later_start_never_ends_earlier(cal: BusinessCalendar, start: datetime, gap: timedelta, n: int) -> None:
    """Close pairs are where it could break: a closed day next to an early-morning start."""
    assert cal.add_business_days(start, n) <= cal.add_business_days(start + gap, n)


@given(calendars(), instants, st.integers(1, 30))
def test_n_business_days_ends_inside_business_hours(cal: BusinessCalendar, start: datetime, n: int) -> None:
    assert cal.in_business_hours(cal.add_business_days(start, n))


@given(calendars(), instants, st.integers(1, 30))
def test_n_business_days_skips_exactly_n_business_days(cal: BusinessCalendar, start: datetime, n: int) -> None:
    """After the day business time resumes, exactly n business days pass, the end's day included."""
    begin = local_date(cal, cal.next_business_open(start))
    end = local_date(cal, cal.add_business_days(start, n))
    counted = sum(cal.is_business_day(begin + timedelta(days=i)) for i in range(1, (end - begin).days + 1))
    assert counted == n


@given(calendars(), instants)
def test_next_business_open_is_inside_business_hours(cal: BusinessCalendar, at: datetime) -> None:
    opening = cal.next_business_open(at)
    assert cal.in_business_hours(opening)
    assert opening >= at


@given(calendars(), instants)
def test_next_business_open_is_the_first_open_moment(cal: BusinessCalendar, at: datetime) -> None:
    """Nothing between `at` and the answer is business time (checked at the day's opening moments)."""
    opening = cal.next_business_open(at)
    if opening == at:
        return
    zone = ZoneInfo(cal.timezone)
    day = at.astimezone(zone).date()
    while True:
        candidate = datetime.combine(day, cal.day_start, tzinfo=zone).astimezone(UTC)
        if candidate >= opening:
            break
        if candidate > at:
            assert not cal.in_business_hours(candidate)
        day += timedelta(days=1)


@given(calendars(), instants)
def test_next_business_day_deadline_is_a_closing_time_after_the_start(cal: BusinessCalendar, at: datetime) -> None:
    end = cal.end_of_next_business_day(at)
    assert end > at
    assert cal.is_business_day(local_date(cal, end))
    assert end.astimezone(ZoneInfo(cal.timezone)).time() == cal.day_end


@given(calendars(), instants, business_days)
def test_deadline_dispatches_on_the_span_kind(cal: BusinessCalendar, at: datetime, n: int) -> None:
    assert cal.deadline(at, Span(SpanKind.BUSINESS_DAYS, business_days=n)) == cal.add_business_days(at, n)
    assert cal.deadline(at, Span(SpanKind.FIXED, seconds=n * 60)) == at + timedelta(minutes=n)
    assert cal.deadline(at, Span(SpanKind.NEXT_SPRINT)) == at + cal.sprint_length


# --- properties of durations --------------------------------------------------------------------


@given(st.integers(0, 10 * 365 * 86400))
def test_format_then_parse_gives_back_the_seconds(seconds: int) -> None:
    text = format_seconds(seconds)
    span = parse_span(text)
    assert span.is_fixed and span.seconds == seconds
    assert str(span) == text


@given(st.integers(0, 999))
def test_business_day_spans_round_trip(n: int) -> None:
    span = parse_span(f"{n}bd")
    assert span == Span(SpanKind.BUSINESS_DAYS, business_days=n)
    assert parse_span(str(span)) == span


@given(st.lists(st.tuples(st.integers(0, 500), st.sampled_from("wdhms")), min_size=1, max_size=5))
def test_compound_durations_add_up(parts: list[tuple[int, str]]) -> None:
    size = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
    text = "".join(f"{n}{unit}" for n, unit in parts)
    assert parse_fixed(text) == timedelta(seconds=sum(n * size[u] for n, u in parts))


@given(st.text(max_size=12))
def test_parse_either_succeeds_or_says_why(text: str) -> None:
    try:
        span = parse_span(text)
    except DurationError as exc:
        assert str(exc)
        return
    assume(span.kind is SpanKind.FIXED)
    assert parse_span(str(span)) == span


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5m", "5m"),
        ("90s", "1m30s"),
        ("60m", "1h"),
        ("1h30m", "1h30m"),
        ("1d", "24h"),
        ("48h", "48h"),
        ("3d", "72h"),
        ("96h", "4d"),
        ("2w", "14d"),
        ("1h 30m", "1h30m"),
    ],
)
def test_durations_print_as_a_runbook_writes_them(text: str, expected: str) -> None:
    assert str(parse_span(text)) == expected


@pytest.mark.parametrize("text", ["-5m", "5", "m", "five minutes", "", "5x", "2.5h", "bd"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(DurationError):
        parse_span(text)


def test_business_spans_are_not_fixed() -> None:
    with pytest.raises(DurationError, match="fixed length"):
        parse_fixed("5bd")
    with pytest.raises(DurationError):
        parse_span("next-sprint").as_timedelta()


# --- hand-checked cases -------------------------------------------------------------------------

UTC_CAL = BusinessCalendar()


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_friday_afternoon_plus_one_business_day_is_monday_afternoon() -> None:
    assert UTC_CAL.add_business_days(utc(2026, 5, 8, 16, 0), 1) == utc(2026, 5, 11, 16, 0)


def test_five_business_days_from_thursday() -> None:
    assert UTC_CAL.add_business_days(utc(2026, 5, 7, 14, 17), 5) == utc(2026, 5, 14, 14, 17)


def test_saturday_start_counts_from_monday_opening() -> None:
    saturday = utc(2026, 5, 9, 11, 0)
    assert UTC_CAL.next_business_open(saturday) == utc(2026, 5, 11, 9, 0)
    assert UTC_CAL.add_business_days(saturday, 1) == utc(2026, 5, 12, 9, 0)


def test_outside_business_hours_counts_from_the_next_opening() -> None:
    """Monday 08:00 must not end before Sunday 10:00 does: both count from Monday 09:00, as does Friday night."""
    tuesday_open = utc(2026, 5, 12, 9, 0)
    for start in (utc(2026, 5, 8, 20, 0), utc(2026, 5, 10, 10, 0), utc(2026, 5, 11, 8, 0), utc(2026, 5, 11, 9, 0)):
        assert UTC_CAL.add_business_days(start, 1) == tuesday_open, start


def test_a_holiday_is_skipped() -> None:
    cal = BusinessCalendar(holidays=frozenset({date(2026, 5, 8)}))  # the Friday
    assert cal.add_business_days(utc(2026, 5, 7, 10, 0), 1) == utc(2026, 5, 11, 10, 0)
    assert cal.next_business_open(utc(2026, 5, 8, 10, 0)) == utc(2026, 5, 11, 9, 0)
    assert not cal.in_business_hours(utc(2026, 5, 8, 10, 0))


def test_next_business_day_deadline() -> None:
    assert UTC_CAL.end_of_next_business_day(utc(2026, 5, 8, 16, 0)) == utc(2026, 5, 11, 17, 0)
    assert UTC_CAL.end_of_next_business_day(utc(2026, 5, 11, 8, 0)) == utc(2026, 5, 12, 17, 0)


def test_local_business_time_holds_across_a_dst_change() -> None:
    """Berlin springs forward on 2026-03-29: Friday 16:00 CET + 1bd is Monday 16:00 CEST, an hour less in UTC."""
    berlin = BusinessCalendar(timezone="Europe/Berlin")
    friday = datetime(2026, 3, 27, 16, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    monday = berlin.add_business_days(friday, 1)
    assert monday == datetime(2026, 3, 30, 16, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert monday - friday == timedelta(hours=71)
    assert berlin.next_business_open(utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 30, 7, 0)


def test_new_york_fall_back() -> None:
    """New York falls back on 2026-11-01: the Monday opening is 14:00 UTC, not 13:00."""
    ny = BusinessCalendar(timezone="America/New_York")
    assert ny.next_business_open(utc(2026, 10, 31, 12, 0)) == utc(2026, 11, 2, 14, 0)
    assert ny.in_business_hours(utc(2026, 10, 30, 13, 0))  # 09:00 EDT
    assert not ny.in_business_hours(utc(2026, 11, 2, 13, 30))  # 08:30 EST


def test_sprint_deadline_uses_the_sprint_length() -> None:
    cal = BusinessCalendar(sprint_length=timedelta(days=7))
    assert cal.deadline(utc(2026, 5, 7, 0, 0), parse_span("next-sprint")) == utc(2026, 5, 14, 0, 0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        UTC_CAL.add_business_days(datetime(2026, 5, 7, 12, 0), 1)


def test_calendar_needs_a_working_day_and_real_hours() -> None:
    with pytest.raises(ValueError):
        BusinessCalendar(working_days=frozenset())
    with pytest.raises(ValueError):
        BusinessCalendar(day_start=time(17, 0), day_end=time(9, 0))

"""Uptime arithmetic, property-based: never above 100 % or below 0, overlaps never counted twice, and a
1 h major outage in a day lowers that day by exactly 1/24 for its component."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from warroom.statuspage.uptime import Interval, downtime, uptime

DAY = datetime(2026, 5, 7, tzinfo=UTC)
END = DAY + timedelta(days=1)
STATUSES = st.sampled_from(
    ["major_outage", "partial_outage", "degraded_performance", "under_maintenance", "operational"]
)
MINUTES = st.integers(min_value=-600, max_value=2040)


@st.composite
def intervals(draw: st.DrawFn) -> Interval:
    a, b = sorted((draw(MINUTES), draw(MINUTES)))
    return Interval(DAY + timedelta(minutes=a), DAY + timedelta(minutes=b), draw(STATUSES))


@given(st.lists(intervals(), max_size=12))
def test_uptime_is_a_share(items: list[Interval]) -> None:
    u = uptime(items, DAY, END)
    assert 0.0 <= u <= 1.0


@given(st.lists(intervals(), max_size=8), intervals())
def test_more_outage_never_raises_uptime(items: list[Interval], extra: Interval) -> None:
    assert uptime([*items, extra], DAY, END) <= uptime(items, DAY, END) + 1e-12


@given(st.integers(min_value=0, max_value=23 * 60), st.integers(min_value=1, max_value=6))
def test_one_hour_major_outage_costs_one_24th_however_many_incidents_report_it(start: int, copies: int) -> None:
    at = DAY + timedelta(minutes=start)
    hour = [Interval(at, at + timedelta(hours=1), "major_outage")] * copies
    assert abs(uptime(hour, DAY, END) - (1 - 1 / 24)) < 1e-9
    partial = [Interval(at, at + timedelta(hours=1), "partial_outage")]
    assert abs(downtime(partial + hour, DAY, END) - 3600) < 1e-6  # the worst status at each moment counts


@given(st.integers(min_value=-240, max_value=24 * 60))
def test_only_the_part_inside_the_day_counts(start: int) -> None:
    at = DAY + timedelta(minutes=start)
    one = [Interval(at, at + timedelta(hours=2), "major_outage")]
    inside = (min(at + timedelta(hours=2), END) - max(at, DAY)).total_seconds()
    assert abs(downtime(one, DAY, END) - max(0.0, inside)) < 1e-6


def test_degraded_and_maintenance_are_not_downtime() -> None:
    items = [Interval(DAY, END, "degraded_performance"), Interval(DAY, END, "under_maintenance")]
    assert uptime(items, DAY, END) == 1.0

"""SLA clocks: each deadline from declaration, and how far the incident is from (or past) it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from warroom.domain.calendar import BusinessCalendar
from warroom.domain.durations import Span

CLOCKS = ("ack", "mitigate", "resolve")


@dataclass(frozen=True)
class Clock:
    name: str
    deadline: datetime | None
    met_at: datetime | None
    state: str
    """none (no SLA) | running | breached | met | met_late"""
    remaining_seconds: int | None
    """Seconds left while running; negative when breached (by how much); None when met or no SLA."""


def clock(
    name: str, span: Span | None, calendar: BusinessCalendar, start: datetime, met_at: datetime | None, now: datetime
) -> Clock:
    if span is None:
        return Clock(name, None, met_at, "none", None)
    deadline = calendar.deadline(start, span)
    if met_at is not None:
        return Clock(name, deadline, met_at, "met" if met_at <= deadline else "met_late", None)
    remaining = int((deadline - now).total_seconds())
    return Clock(name, deadline, None, "running" if remaining >= 0 else "breached", remaining)


def clocks(
    spans: dict[str, Span | None],
    calendar: BusinessCalendar,
    declared_at: datetime,
    met: dict[str, datetime | None],
    now: datetime,
) -> list[Clock]:
    return [clock(n, spans.get(n), calendar, declared_at, met.get(n), now) for n in CLOCKS]


def nearest_deadline(items: list[Clock]) -> Clock | None:
    running = [c for c in items if c.state in ("running", "breached")]
    return min(running, key=lambda c: c.deadline or datetime.max) if running else None


def describe(c: Clock) -> str:
    """`12m left`, `breached by 3m`, `met`, `—`."""
    if c.state == "none":
        return "—"
    if c.state in ("met", "met_late"):
        return "met" if c.state == "met" else "met late"
    assert c.remaining_seconds is not None
    span = _human(abs(c.remaining_seconds))
    return f"{span} left" if c.remaining_seconds >= 0 else f"breached by {span}"


def _human(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h{minutes:02d}m"
    return f"{hours // 24}d{hours % 24}h"

"""A maintenance window's status as the clock gives it, and when the clock next moves one: what the public
snapshot needs of windows, apart from the use cases that move them."""

from __future__ import annotations

from datetime import datetime

from warroom.store.status_models import StatusMaintenance


def effective(m: StatusMaintenance, now: datetime) -> str:
    """The status the clock gives a window that nobody moved by hand."""
    if m.status == "completed":
        return "completed"
    if now >= m.scheduled_until:
        return "completed"
    if m.status == "scheduled" and now >= m.scheduled_for:
        return "in_progress"
    return m.status


def next_boundary(rows: list[StatusMaintenance], now: datetime) -> datetime | None:
    """When the clock next moves one of these windows (the cache is rebuilt then)."""
    times = [t for m in rows if m.status != "completed" for t in (m.scheduled_for, m.scheduled_until) if t > now]
    return min(times, default=None)

"""Bounds on the numbers and times people and senders supply: what a column can hold and what is plausible."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from warroom.domain.text import TextError

INT_MAX = 2**63 - 1
"""the largest integer every column (SQLite INTEGER, PostgreSQL BIGINT) holds; ids and counts stay below it"""
MONEY_MAX = 1e15
"""a revenue impact above a quadrillion is a typo"""
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""no incident or alert of this software's life started before 2000"""
AHEAD = timedelta(days=366)
"""how far past now a supplied time may lie (a silence planned for next year's maintenance)"""
SENDER_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""a sender's timestamps are checked without a clock (parsers are pure): before 2100"""
LIST_LIMIT = 50
"""entries in a list people give (impact services, silence matchers)"""


def check_int(field: str, value: int, *, low: int = 0, high: int = INT_MAX) -> int:
    if not low <= value <= high:
        raise TextError(field, f"must be between {low} and {high}")
    return value


def check_float(field: str, value: float, *, low: float = 0.0, high: float = MONEY_MAX) -> float:
    if not math.isfinite(value):
        raise TextError(field, "must be a finite number")
    if not low <= value <= high:
        raise TextError(field, f"must be between {low:g} and {high:g}")
    return value


def check_time(field: str, value: datetime, now: datetime, *, future: bool = True) -> datetime:
    """A supplied time between 2000-01-01 and a year from now (or now, when `future` is False)."""
    latest = now + AHEAD if future else now
    if value < EARLIEST:
        raise TextError(field, f"{value:%Y-%m-%d} is before {EARLIEST:%Y-%m-%d}; send a real time")
    if value > latest:
        raise TextError(field, "is in the future" if not future else f"is more than a year ahead ({value:%Y-%m-%d})")
    return value

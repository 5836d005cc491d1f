"""Who is on call: rotations, layers and overrides as pure functions of time (no I/O).

A schedule has layers; each layer is a rotation (members take turns, handing off at a local
time every day, week or custom length), optionally active only on some days/hours. The
highest layer active at a moment wins; an override (a person covering a window) beats every
layer, and the newest override wins where overrides overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from warroom.domain.calendar import WEEKDAYS
from warroom.domain.clock import ensure_utc
from warroom.domain.durations import DurationError, parse_fixed

DAY = 86400
WEEK = 7 * DAY


class RotationError(ValueError):
    """A schedule definition that cannot work; the message says which part and why."""


@dataclass(frozen=True)
class Layer:
    position: int
    members: tuple[str, ...]
    length_seconds: int
    handoff: time
    start_date: date
    days: frozenset[int] | None = None
    hours: tuple[time, time] | None = None

    @property
    def calendar_days(self) -> int | None:
        """Daily and weekly rotations hand off by the local calendar (DST-proof); custom ones by the clock."""
        if self.length_seconds == DAY:
            return 1
        if self.length_seconds == WEEK:
            return 7
        return None


@dataclass(frozen=True)
class Override:
    person: str
    starts_at: datetime
    ends_at: datetime
    order: int = 0


@dataclass(frozen=True)
class Rota:
    name: str
    timezone: str = "UTC"
    layers: tuple[Layer, ...] = ()
    overrides: tuple[Override, ...] = field(default_factory=tuple)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class OnCall:
    schedule: str
    person: str | None
    source: str
    """override | layer N | nobody"""
    until: datetime | None = None


@dataclass(frozen=True)
class Shift:
    person: str | None
    source: str
    start: datetime
    end: datetime


# --- parsing the human forms ------------------------------------------------------------------


def parse_length(text: str) -> tuple[str, int]:
    """`daily`, `weekly` or a fixed duration such as `12h` or `3d`."""
    raw = text.strip().lower()
    if raw == "daily":
        return "daily", DAY
    if raw == "weekly":
        return "weekly", WEEK
    try:
        seconds = int(parse_fixed(raw).total_seconds())
    except DurationError as exc:
        raise RotationError(f"length '{text}' must be daily, weekly or a duration such as 12h or 3d") from exc
    if seconds < 3600:
        raise RotationError(f"length '{text}' is shorter than an hour; nobody can hand off that often")
    return "custom", seconds


def parse_clock(text: str, what: str = "handoff") -> time:
    try:
        hh, mm = text.strip().split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise RotationError(f"{what} '{text}' must be a local time such as 09:00") from None


def parse_days(text: str | None) -> frozenset[int] | None:
    """`mon-fri`, `sat,sun`, `mon-wed,fri`."""
    if text is None or not text.strip():
        return None
    out: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        try:
            if "-" in part:
                a, b = part.split("-")
                i, j = WEEKDAYS.index(a), WEEKDAYS.index(b)
                out.update(range(i, j + 1) if i <= j else [*range(i, 7), *range(0, j + 1)])
            else:
                out.add(WEEKDAYS.index(part))
        except ValueError:
            raise RotationError(f"days '{text}' must name weekdays such as mon-fri or sat,sun") from None
    return frozenset(out)


def format_days(days: frozenset[int] | None) -> str | None:
    """The shortest form that parses back: `mon-fri`, `sat,sun`, `mon-wed,fri`."""
    if days is None:
        return None
    runs: list[list[int]] = []
    for d in sorted(days):
        if runs and d == runs[-1][-1] + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = [WEEKDAYS[r[0]] if len(r) == 1 else f"{WEEKDAYS[r[0]]}-{WEEKDAYS[r[-1]]}" for r in runs]
    return ",".join(parts)


def parse_hours(text: str | None) -> tuple[time, time] | None:
    """`09:00-17:00`; `22:00-06:00` runs overnight."""
    if text is None or not text.strip():
        return None
    if "-" not in text:
        raise RotationError(f"hours '{text}' must be a local range such as 09:00-17:00")
    a, b = text.split("-", 1)
    try:
        start, end = parse_clock(a, "hours"), parse_clock(b, "hours")
    except RotationError:
        raise RotationError(f"hours '{text}' must be a local range such as 09:00-17:00") from None
    if start == end:
        raise RotationError(f"hours '{text}' is an empty range")
    return start, end


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RotationError(f"unknown time zone '{name}'; use an IANA name such as Europe/Berlin or UTC") from None
    return name


# --- evaluation -------------------------------------------------------------------------------


def _local(rota: Rota, at: datetime) -> datetime:
    return ensure_utc(at).astimezone(rota.zone)


def _anchor(rota: Rota, layer: Layer) -> datetime:
    return datetime.combine(layer.start_date, layer.handoff, tzinfo=rota.zone).astimezone(UTC)


def _active(layer: Layer, local: datetime) -> bool:
    if layer.days is not None and local.weekday() not in layer.days:
        return False
    if layer.hours is not None:
        start, end = layer.hours
        now = local.time().replace(tzinfo=None)
        inside = start <= now < end if start < end else (now >= start or now < end)
        if not inside:
            return False
    return True


def _member(rota: Rota, layer: Layer, at: datetime) -> str:
    step = layer.calendar_days
    if step is not None:
        local = _local(rota, at)
        days = (local.date() - layer.start_date).days
        if local.time().replace(tzinfo=None) < layer.handoff:
            days -= 1
        index = days // step
    else:
        index = math.floor((ensure_utc(at) - _anchor(rota, layer)).total_seconds() / layer.length_seconds)
    return layer.members[index % len(layer.members)]


def _who(rota: Rota, at: datetime) -> tuple[str | None, str]:
    at = ensure_utc(at)
    covering = [o for o in rota.overrides if o.starts_at <= at < o.ends_at]
    if covering:
        return max(covering, key=lambda o: o.order).person, "override"
    local = _local(rota, at)
    for layer in sorted(rota.layers, key=lambda la: -la.position):
        if layer.members and _active(layer, local):
            return _member(rota, layer, at), f"layer {layer.position}"
    return None, "nobody"


def _boundaries(rota: Rota, start: datetime, end: datetime) -> list[datetime]:
    """Every moment in (start, end) at which the answer might change."""
    zone = rota.zone
    out: set[datetime] = set()
    first = _local(rota, start).date() - timedelta(days=1)
    last = _local(rota, end).date() + timedelta(days=1)
    day_count = (last - first).days + 1
    for layer in rota.layers:
        step = layer.calendar_days
        edges = list(layer.hours) if layer.hours is not None else []
        for i in range(day_count):
            day = first + timedelta(days=i)
            if step == 1 or (step == 7 and (day - layer.start_date).days % 7 == 0):
                edges_today = [layer.handoff, *edges]
            else:
                edges_today = edges
            for t in edges_today:
                out.add(datetime.combine(day, t, tzinfo=zone).astimezone(UTC))
            if layer.days is not None:
                out.add(datetime.combine(day, time(0, 0), tzinfo=zone).astimezone(UTC))
        if step is None:
            anchor = _anchor(rota, layer)
            length = timedelta(seconds=layer.length_seconds)
            k = math.floor((start - anchor) / length) + 1
            moment = anchor + k * length
            while moment < end:
                out.add(moment)
                moment += length
    for o in rota.overrides:
        out.update((o.starts_at, o.ends_at))
    return sorted(m for m in out if start < m < end)


def shifts(rota: Rota, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call over [start, end), merged into continuous shifts."""
    start, end = ensure_utc(start), ensure_utc(end)
    if end <= start:
        return []
    out: list[Shift] = []
    person, source = _who(rota, start)
    since = start
    for moment in _boundaries(rota, start, end):
        p, s = _who(rota, moment)
        if (p, s) != (person, source):
            out.append(Shift(person, source, since, moment))
            person, source, since = p, s, moment
    out.append(Shift(person, source, since, end))
    return out


def who(rota: Rota, at: datetime, horizon: timedelta = timedelta(days=15)) -> OnCall:
    """The person on call at `at`, what decided it, and when that changes (None: not within the horizon)."""
    at = ensure_utc(at)
    longest = max((la.length_seconds for la in rota.layers), default=0)
    span = max(horizon, timedelta(seconds=longest))
    first = shifts(rota, at, at + span)[0]
    until = first.end if first.end < at + span else None
    return OnCall(rota.name, first.person, first.source, until)

"""Personal notification rules, pure: which of a person's methods to use, and whether to wait.

A person's rules are an ordered list; the first whose severities include the incident's
severity (or that names none) applies. A rule may replace the methods the policy asks for
(`only e-mail for P3`) and may set quiet hours in the person's time zone, during which
their notifications wait until the quiet hours end (`page for P0 at any hour` is a P0 rule
placed before a quiet-hours rule).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

METHODS = ("page", "push", "sms", "email", "phone", "chat")
PAGE_ORDER = ("page", "push", "sms", "phone")
"""What `page` means for a person: their dedicated pager URL, else push, else SMS, else a call."""
ANY_ORDER = ("page", "push", "sms", "phone", "email", "chat")
"""When none of the asked methods exists, the first of these a person has is used rather than nothing."""

_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class RuleError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    severities: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    quiet_hours: str | None = None
    note: str = ""

    def matches(self, severity_names: Iterable[str]) -> bool:
        if not self.severities:
            return True
        wanted = {s.upper() for s in self.severities}
        return any(n.upper() in wanted for n in severity_names)


@dataclass(frozen=True)
class Choice:
    """The methods to use for one person, when, and why (shown in the delivery log)."""

    methods: tuple[str, ...]
    not_before: datetime | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)


def parse_quiet_hours(text: str) -> tuple[time, time]:
    m = _HOURS.match(text.strip())
    if not m:
        raise RuleError(f"quiet hours '{text}' must look like 22:00-07:00 (24-hour clock, local time)")
    start = time(int(m.group(1)), int(m.group(2)))
    end = time(int(m.group(3)), int(m.group(4)))
    if start == end:
        raise RuleError(f"quiet hours '{text}' start and end at the same time")
    return start, end


def check_methods(methods: Iterable[str]) -> tuple[str, ...]:
    out = []
    for m in methods:
        if m not in METHODS:
            raise RuleError(f"unknown method '{m}'; methods are {', '.join(METHODS)}")
        out.append(m)
    return tuple(dict.fromkeys(out))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RuleError(f"unknown time zone '{name}'; use an IANA name such as Europe/Berlin") from None


def quiet_until(quiet_hours: str | None, tz: str, at: datetime) -> datetime | None:
    """The end of the quiet period `at` falls in (UTC), or None when `at` is not in quiet hours."""
    if not quiet_hours:
        return None
    start, end = parse_quiet_hours(quiet_hours)
    local = at.astimezone(zone(tz))
    now = local.time()
    overnight = start > end
    inside = (now >= start or now < end) if overnight else (start <= now < end)
    if not inside:
        return None
    day = local.date()
    if overnight and now >= start:
        day = day + timedelta(days=1)
    ends = datetime.combine(day, end, tzinfo=zone(tz))
    return ends.astimezone(UTC)


def first_rule(rules: Sequence[Rule], severity_names: Iterable[str]) -> Rule | None:
    names = list(severity_names)
    return next((r for r in rules if r.matches(names)), None)


def choose(
    asked: Sequence[str],
    have: Mapping[str, str],
    rule: Rule | None,
    *,
    any_method: bool = False,
    tz: str = "UTC",
    at: datetime,
) -> Choice:
    """Turn the methods the policy asks for into the methods this person has, under their rule."""
    notes: list[str] = []
    wanted = list(asked) or ["page"]
    if rule is not None and rule.methods:
        if tuple(rule.methods) != tuple(wanted):
            notes.append(f"personal rule: {', '.join(rule.methods)} instead of {', '.join(wanted)}")
        wanted = list(rule.methods)
    concrete: list[str] = []
    for m in wanted:
        if m == "page":
            pick = next((p for p in PAGE_ORDER if p in have), None)
            if pick is not None:
                concrete.append(pick)
        elif m in have:
            concrete.append(m)
    concrete = list(dict.fromkeys(concrete))
    if any_method and concrete:
        concrete = concrete[:1]
    if not concrete:
        spare = next((m for m in ANY_ORDER if m in have), None)
        if spare is not None:
            notes.append(f"no {'/'.join(wanted)} contact; used {spare} instead")
            concrete = [spare]
    not_before = quiet_until(rule.quiet_hours, tz, at) if rule is not None else None
    if not_before is not None and rule is not None:
        notes.append(f"quiet hours {rule.quiet_hours} ({tz}): waits until {not_before.strftime('%H:%M UTC')}")
    return Choice(tuple(concrete), not_before, tuple(notes))


def backoff(attempt: int, base: float, cap: float) -> timedelta:
    """Exponential: base, 2·base, 4·base, ... after the 1st, 2nd, 3rd failure, never more than cap."""
    exponent = max(0, attempt - 1)
    seconds = cap if exponent > 30 else min(cap, base * (2**exponent))
    return timedelta(seconds=seconds)

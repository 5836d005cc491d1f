"""Silences: Alertmanager-style label matchers (=, !=, =~, !~) with a time box.

A silenced alert is stored like any other but joins no group, declares nothing and pages nobody.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from warroom.domain.errors import Invalid

_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str
    pattern: re.Pattern[str] | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.name, "")
        if self.op == "=":
            return have == self.value
        if self.op == "!=":
            return have != self.value
        assert self.pattern is not None
        hit = self.pattern.fullmatch(have) is not None
        return hit if self.op == "=~" else not hit

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op, "value": self.value}

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'


def parse_matcher(item: Any, where: str) -> Matcher:
    """'service=api', 'env!=prod', 'alertname=~High.*' or {name, op, value}; values may be "quoted"."""
    if isinstance(item, str):
        m = _MATCHER.match(item)
        if not m:
            raise Invalid(f"'{item[:80]}' is not a matcher; write name=value, name!=value, name=~regex or name!~regex",
                          field=where)  # fmt: skip
        name, op, value = m.group(1), m.group(2), m.group(3)
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
    elif isinstance(item, dict):
        name, op, value = item.get("name"), item.get("op", "="), item.get("value", "")
        if not isinstance(name, str) or not name or not isinstance(value, str) or op not in OPS:
            raise Invalid("a matcher object needs name, op (=, !=, =~, !~) and a string value", field=where)
    else:
        raise Invalid("a matcher is a string such as service=api or an object {name, op, value}", field=where)
    pattern = None
    if op in ("=~", "!~"):
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise Invalid(f"'{value[:80]}' is not a regular expression: {exc}", field=where) from None
    return Matcher(name, op, value, pattern)


def parse_matchers(items: Any) -> list[Matcher]:
    if not isinstance(items, list) or not items:
        raise Invalid("give at least one matcher, such as service=api", field="matchers")
    matchers = [parse_matcher(item, f"matchers.{i}") for i, item in enumerate(items)]
    if all(m.matches({}) for m in matchers):
        raise Invalid(
            "these matchers also match an alert without those labels, so they would silence everything; "
            "add one that needs a label, such as service=api",
            field="matchers",
        )
    return matchers


def from_stored(items: list[Any]) -> list[Matcher]:
    return [parse_matcher(item, "matchers") for item in items]


@dataclass(frozen=True)
class Active:
    id: int
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime

    def silences(self, labels: Mapping[str, str], at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at and all(m.matches(labels) for m in self.matchers)


def match_labels(labels: Mapping[str, str], service: str | None, source: str, hint: str | None) -> dict[str, str]:
    """What a silence sees: the alert's labels, plus service, source and severity when it lacks them."""
    out = dict(labels)
    if service:
        out.setdefault("service", service)
    out.setdefault("source", source)
    if hint:
        out.setdefault("severity", hint)
    return out


def names_a_service(items: list[Any]) -> bool:
    """Whether a silence is held to one service (`service=NAME`): what a responder may silence on their own."""
    return any(m.name == "service" and m.op == "=" and m.value for m in parse_matchers(items))

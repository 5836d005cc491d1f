"""The drill scenario file: a policy, a start, events at offsets, and optionally what must happen."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from warroom.domain.clock import ensure_utc
from warroom.domain.durations import DurationError, parse_fixed
from warroom.intake.normal import PayloadError
from warroom.intake.parsers import PARSERS, SOURCES

ACTIONS = (
    "declare",
    "ack",
    "update",
    "hypothesis",
    "hypothesis_status",
    "mitigate",
    "resolve",
    "flag",
    "severity",
    "status",
    "impact",
    "role",
    "decide",
    "reopen",
    "close",
    "note",
    "alert",
    "action_item",
    "action_item_change",
    "postmortem",
)
ALERT_FIELDS = ("source", "payload", "headers", "ref")


class ScenarioError(ValueError):
    """A scenario that cannot run; the message names the event or field."""


class LayerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    members: list[str] = Field(min_length=1)
    length: str = "weekly"
    handoff: str = "09:00"
    start: str | None = None
    timezone: str | None = None
    days: str | None = None
    hours: str | None = None
    layer: int = 1


class Event(BaseModel):
    index: int
    offset: timedelta
    action: str
    args: dict[str, Any]
    incident: str | int | None = None
    raw_at: str

    def label(self) -> str:
        return f"event {self.index + 1} ({self.action} at {self.raw_at})"


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    policy: str | None = None
    start: datetime
    until: str = "+24h"
    oncall: dict[str, str] = Field(default_factory=dict)
    schedules: dict[str, LayerSpec | list[LayerSpec]] = Field(default_factory=dict)
    events: list[dict[str, Any]] = Field(default_factory=list)
    expect: list[dict[str, Any]] | None = None
    expect_none: list[str] = Field(default_factory=list, description="kinds of action that must not happen")

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return ensure_utc(value)

    def end(self) -> datetime:
        return at_of(self.start, self.until, "until")

    def parsed_events(self) -> list[Event]:
        out = []
        for i, raw in enumerate(self.events):
            out.append(_event(i, raw))
        end = self.end() - self.start
        for ev in out:
            if ev.offset > end:
                raise ScenarioError(f"{ev.label()} is after until ({self.until})")
        return sorted(out, key=lambda e: (e.offset, e.index))


def at_of(start: datetime, text: Any, what: str) -> datetime:
    """`+7m` from the start, or an absolute ISO-8601 time."""
    if isinstance(text, datetime):
        return ensure_utc(text)
    value = str(text).strip()
    if value.startswith("+"):
        try:
            return start + parse_fixed(value[1:])
        except DurationError as exc:
            raise ScenarioError(f"{what}: {exc}") from None
    try:
        return ensure_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        raise ScenarioError(f"{what}: '{value}' is neither an offset such as +7m nor an ISO time") from None


def _event(index: int, raw: Any) -> Event:
    where = f"event {index + 1}"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: must be a mapping such as {{at: '+5m', ack: {{by: alice}}}}")
    data = dict(raw)
    if "at" not in data:
        raise ScenarioError(f"{where}: needs 'at' (an offset such as +5m)")
    raw_at = str(data.pop("at"))
    incident = data.pop("incident", None)
    actions = [k for k in data if k in ACTIONS]
    unknown = [k for k in data if k not in ACTIONS]
    if unknown:
        raise ScenarioError(f"{where} at {raw_at}: unknown key '{unknown[0]}'; events are {', '.join(ACTIONS)}")
    if len(actions) != 1:
        raise ScenarioError(f"{where} at {raw_at}: needs exactly one action ({', '.join(ACTIONS)})")
    action = actions[0]
    args = data[action] if data[action] is not None else {}
    if not isinstance(args, dict):
        raise ScenarioError(f"{where} ({action} at {raw_at}): the {action} details must be a mapping")
    args = dict(args)
    if "incident" in args:
        incident = args.pop("incident")
    if not raw_at.startswith("+"):
        raise ScenarioError(f"{where}: at '{raw_at}' must be an offset from start such as +5m")
    try:
        offset = parse_fixed(raw_at[1:])
    except DurationError as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    ev = Event(index=index, offset=offset, action=action, args=args, incident=incident, raw_at=raw_at)
    if action == "alert":
        _check_alert(ev)
    return ev


def _check_alert(ev: Event) -> None:
    """An alert event names a sender and carries its payload, which must parse as that sender's body.

    Checked when the scenario loads, so a typo in a payload fails before the drill runs.
    """
    if ev.incident is not None:
        raise ScenarioError(
            f"{ev.label()}: an alert cannot name an incident; it joins one through the policy's grouping "
            "(give it a ref to name the incident it declares or joins)"
        )
    unknown = sorted(set(ev.args) - set(ALERT_FIELDS))
    if unknown:
        fields = ", ".join(ALERT_FIELDS)
        raise ScenarioError(f"{ev.label()}: unknown field(s) {', '.join(unknown)}; an alert has {fields}")
    source = ev.args.get("source")
    if source not in PARSERS:
        raise ScenarioError(f"{ev.label()}: source must be one of {', '.join(SOURCES)}, not {source!r}")
    if "payload" not in ev.args:
        raise ScenarioError(f"{ev.label()}: needs a payload (the body the sender would post)")
    headers = ev.args.get("headers") or {}
    if not isinstance(headers, dict):
        raise ScenarioError(f"{ev.label()}: headers must be a mapping")
    try:
        PARSERS[source](ev.args["payload"], {str(k).lower(): str(v) for k, v in headers.items()})
    except PayloadError as exc:
        raise ScenarioError(f"{ev.label()}: {source} payload: {exc.field}: {exc.message}") from None


def load_scenario(path: Path) -> Scenario:
    try:
        # libyaml's loader when PyYAML has it: a long scenario parses in a tenth of the time.
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        raise ScenarioError(f"no scenario file at {path}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{path}: not valid YAML: {exc}") from None
    return parse_scenario(data, str(path))


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario must be a YAML mapping")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise ScenarioError(f"{source}: {path}: {first['msg']}") from None
    scenario.parsed_events()
    return scenario

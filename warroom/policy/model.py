"""The policy file: a runbook written as data, validated by pydantic.

Every rule of the seed runbooks has a field here. Durations are strings (`5m`, `4h`, `5bd`,
`next-business-day`, `next-sprint`); `null` means "no such deadline".
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from warroom.domain.calendar import WEEKDAYS, BusinessCalendar
from warroom.domain.durations import DurationError, Span, parse_span
from warroom.domain.flags import KNOWN_FLAGS
from warroom.policy import templates

KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def _to_span(value: Any) -> Span | None:
    if value is None or isinstance(value, Span):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f"{value} has no unit; write it as a duration such as {int(value)}m")
    if not isinstance(value, str):
        raise ValueError("must be a duration string such as 5m, 4h or 5bd")
    if value.strip().lower() in ("none", "-", "—", ""):
        return None
    try:
        return parse_span(value)
    except DurationError as exc:
        raise ValueError(str(exc)) from exc


def _to_fixed(value: Any) -> Span:
    span = _to_span(value)
    if span is None:
        raise ValueError("a duration is required here")
    if not span.is_fixed:
        raise ValueError(f"'{span}' depends on the business calendar; use a fixed length such as 10m here")
    return span


def _span_out(value: Span | None) -> str | None:
    return None if value is None else str(value)


Duration = Annotated[Span | None, BeforeValidator(_to_span), PlainSerializer(_span_out, return_type=str | None)]
"""A deadline-style duration that may depend on the calendar, or null for none."""

FixedDuration = Annotated[Span, BeforeValidator(_to_fixed), PlainSerializer(str, return_type=str)]
"""A wait, window or cadence: always a fixed length."""


def _kebab(value: Any) -> str:
    if not isinstance(value, str) or not KEBAB.match(value):
        raise ValueError(f"'{value}' must be a kebab-case name such as engineering-lead")
    return value


Name = Annotated[str, BeforeValidator(_kebab)]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Method = Literal["page", "push", "sms", "email", "phone", "chat"]
PAGING_METHODS: frozenset[str] = frozenset({"page", "push", "sms", "phone"})
"""Methods that interrupt a person (as opposed to a chat post or an e-mail they read later)."""


def _weekdays() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri"]


def _known_flag(value: str) -> str:
    if value not in KNOWN_FLAGS:
        raise ValueError(f"unknown flag '{value}'; known flags: {', '.join(sorted(KNOWN_FLAGS))}")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --- calendar -----------------------------------------------------------------------------------


class CalendarSpec(Strict):
    timezone: str = "UTC"
    working_days: list[Weekday] = Field(default_factory=_weekdays)
    hours_start: time = time(9, 0)
    hours_end: time = time(17, 0)
    holidays: list[date] = Field(default_factory=list)
    sprint_length: FixedDuration = Field(default_factory=lambda: _to_fixed("14d"))

    @model_validator(mode="after")
    def _check(self) -> CalendarSpec:
        try:
            self.build()
        except Exception as exc:  # zoneinfo raises several kinds; all mean "bad calendar"
            raise ValueError(str(exc) or f"unknown time zone '{self.timezone}'") from exc
        return self

    def build(self) -> BusinessCalendar:
        return BusinessCalendar(
            timezone=self.timezone,
            working_days=frozenset(WEEKDAYS.index(d) for d in self.working_days),
            day_start=self.hours_start,
            day_end=self.hours_end,
            holidays=frozenset(self.holidays),
            sprint_length=self.sprint_length.as_timedelta(),
        )


# --- severities ---------------------------------------------------------------------------------


ClockName = Literal["ack", "respond", "mitigate", "resolve"]


def _target_list(value: Any) -> Any:
    """`escalate_to: engineering-lead` and `escalate_to: [a, b]` both name targets."""
    return [value] if isinstance(value, str) else value


class BreachAction(Strict):
    """What a missed deadline does, besides the `sla_breach` entry on the timeline."""

    page_next_tier: bool = Field(
        default=False, description="page the pending tier of the escalation policy now instead of after its wait"
    )
    notify: list[Name] = Field(default_factory=list, description="targets told of the breach, always")
    escalate_to: Annotated[list[Name], BeforeValidator(_target_list)] = Field(
        default_factory=list,
        description="targets brought in, unless page_next_tier paged a tier (then paging carries on as usual)",
    )


class SLA(Strict):
    ack: Duration = None
    respond: Duration = Field(
        default=None,
        description="a responder at work on it (a status, hypothesis, decision, mitigation, update or note), "
        "when a runbook times that apart from the ack",
    )
    mitigate: Duration = None
    resolve: Duration = None
    on_breach: dict[ClockName, BreachAction] = Field(
        default_factory=dict,
        description="per clock, what a breach does; a clock left out acts as before: an ack breach pages the "
        "next tier, else (and for the other clocks) the commander targets or the last tier are told",
    )


class ExternalRule(Strict):
    """What must hold before anything is posted to the external audience (and before its cadence nags)."""

    requires: list[str] = Field(
        default_factory=list,
        description="flags that must be set first, e.g. [impact_confirmed]: never post speculation externally",
    )

    @field_validator("requires")
    @classmethod
    def _flags_known(cls, value: list[str]) -> list[str]:
        return [_known_flag(v) for v in value]


class PostmortemNeed(StrEnum):
    REQUIRED = "required"
    OPTIONAL = "optional"
    NONE = "none"


class PostmortemRule(Strict):
    need: PostmortemNeed = PostmortemNeed.NONE
    due: Duration = None
    anchor: Literal["resolved", "mitigated", "declared"] = "resolved"
    publish_within: Duration = None
    reminders_before: list[FixedDuration] = Field(default_factory=list)
    earliest: FixedDuration | None = Field(
        default=None, description="not before this long after the anchor (e.g. SO1: 24-48h after resolution)"
    )
    analysis: Literal["5-whys"] | None = None
    owner: Name | None = Field(default=None, description="a role or target that leads the postmortem")


class Cadence(Strict):
    """How often an audience hears from the war room: a period, and/or on given events."""

    every: FixedDuration | None = None
    on: list[Literal["declared", "state_change", "mitigated", "resolved"]] = Field(default_factory=list)
    first_within: FixedDuration | None = Field(
        default=None, description="the first message to this audience is due this long after declaration"
    )
    channel: str | None = Field(default=None, description="where this audience reads it, e.g. #incidents")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        """Accept the runbook's own phrases: `every 10m`, `on state change`, `on resolution`."""
        if isinstance(data, dict) and True in data and "on" not in data:
            # YAML 1.1 reads a bare `on:` key as the boolean true; take it as the `on` field it was meant to be.
            return {("on" if k is True else k): v for k, v in data.items()}
        if not isinstance(data, str):
            return data
        text = data.strip().lower()
        if text.startswith("every "):
            return {"every": text.removeprefix("every ").strip()}
        events = {
            "on state change": ["state_change"],
            "on resolution": ["resolved"],
            "on detect/mitigate/resolve": ["declared", "mitigated", "resolved"],
            "none": [],
        }
        if text in events:
            return {"on": events[text]}
        raise ValueError(f"'{data}' is not a cadence; use 'every 10m', 'on state change' or 'on resolution'")


class StatusPageRule(Strict):
    post: Literal["on_detect", "on_confirmed_impact", "optional", "never"] = "never"
    customer_facing_only: bool = False


class CustomerEmailRule(Strict):
    send: Literal["never", "after_mitigation", "after_resolution", "optional"] = "never"
    within: FixedDuration | None = None
    on_request: bool = Field(default=False, description="also send when a customer asks (contacts support)")


class NotifyRule(Strict):
    """One row of the notification matrix."""

    who: list[Name]
    channels: list[str] = Field(
        default_factory=list, description="chat channels; the name `war-room` means the incident's own channel"
    )
    methods: list[Method] = Field(default_factory=list)
    any_method: bool = Field(default=False, description="one of the methods is enough ('page or push')")
    timing: Literal["immediately", "within_ack_sla", "business_hours"] = "immediately"


class ResolutionRule(Strict):
    quiet_window: FixedDuration | None = None
    monitor: FixedDuration | None = None


class Severity(Strict):
    name: str
    aliases: list[str] = Field(default_factory=list)
    label: str = ""
    threshold: str = ""
    examples: list[str] = Field(default_factory=list)
    sla: SLA = Field(default_factory=SLA)
    postmortem: PostmortemRule = Field(default_factory=PostmortemRule)
    status_page: StatusPageRule = Field(default_factory=StatusPageRule)
    external: ExternalRule = Field(default_factory=ExternalRule)
    customer_email: CustomerEmailRule = Field(default_factory=CustomerEmailRule)
    roles_required: list[Name] = Field(default_factory=list)
    roles_optional: list[Name] = Field(default_factory=list)
    commander: list[Name] = Field(default_factory=list)
    response_team: list[Name] = Field(default_factory=list)
    cadence: dict[Literal["internal", "external", "executive"], Cadence] = Field(default_factory=dict)
    resolution: ResolutionRule = Field(default_factory=ResolutionRule)
    notify: list[NotifyRule] = Field(default_factory=list)
    escalation_policy: Name | None = None
    triage_outcome: Literal["incident", "ticket", "none"] = "incident"

    @property
    def all_names(self) -> list[str]:
        return [self.name, *self.aliases]

    def external_blocked_by(self, flags: dict[str, Any]) -> list[str]:
        """The `external.requires` flags not yet set: external posts (and their reminders) wait for them."""
        return [f for f in self.external.requires if not flags.get(f)]


# --- people, targets, escalation ----------------------------------------------------------------


class Role(Strict):
    title: str
    responsibility: str = ""
    filled_by: list[Name] = Field(
        default_factory=list, description="targets that can take this role; a target of the same name also can"
    )


class Target(Strict):
    """Who an escalation reaches: an on-call schedule slot, a fixed person, or a channel."""

    description: str = ""
    via: Literal["schedule", "person", "channel"] = "schedule"
    ref: str | None = None
    response_time: FixedDuration | None = None
    methods: list[Method] = Field(default_factory=list, description="how this target is usually reached")


class Tier(Strict):
    targets: list[Name]
    methods: list[Method] = Field(default_factory=list)
    wait: FixedDuration = Field(description="how long this tier has to acknowledge before the next")


class EscalationPolicy(Strict):
    tiers: list[Tier] = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=10)
    when_exhausted: Literal["flag_unacknowledged"] = "flag_unacknowledged"


class ConditionTrigger(Strict):
    """Exactly one test; `severities` narrows where it applies."""

    unresolved_for: FixedDuration | None = None
    unacknowledged_for: FixedDuration | None = None
    no_hypothesis_for: FixedDuration | None = None
    mitigation_failures: int | None = Field(default=None, ge=1)
    flag: str | None = None
    revenue_impact_over: float | None = Field(default=None, ge=0)
    severities: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _exactly_one(self) -> ConditionTrigger:
        tests = [
            self.unresolved_for,
            self.unacknowledged_for,
            self.no_hypothesis_for,
            self.mitigation_failures,
            self.flag,
            self.revenue_impact_over,
        ]
        if sum(t is not None for t in tests) != 1:
            raise ValueError(
                "a condition needs exactly one of unresolved_for, unacknowledged_for, no_hypothesis_for, "
                "mitigation_failures, flag, revenue_impact_over"
            )
        return self

    @field_validator("flag")
    @classmethod
    def _flag_known(cls, value: str | None) -> str | None:
        return None if value is None else _known_flag(value)


class Condition(Strict):
    """A row of an escalation matrix: when this holds, bring in these targets, once per incident."""

    id: Name
    when: ConditionTrigger
    targets: list[Name] = Field(min_length=1)
    action: str = ""


class Phase(Strict):
    name: Name
    start: FixedDuration | None = None
    end: FixedDuration | None = None
    every: FixedDuration | None = None
    due: Duration = None
    exit: str = ""
    exit_when: Literal["hypothesis", "decision", "mitigated", "resolved", "postmortem"] | None = None
    checklist: list[str] = Field(default_factory=list)


# --- classification -----------------------------------------------------------------------------


class Floor(Strict):
    id: Name
    flag: str
    at_least: str
    reason: str

    @field_validator("flag")
    @classmethod
    def _flag_known(cls, value: str) -> str:
        return _known_flag(value)


class UncertainRule(Strict):
    between: list[str] = Field(min_length=2, max_length=2)
    pick: str


class TriageMatch(Strict):
    labels: dict[str, str] = Field(default_factory=dict)
    keywords: list[str] = Field(default_factory=list)
    metric: str | None = None
    value_over: float | None = None
    users_over: int | None = None
    service: str | None = None


class TriageRule(Strict):
    id: Name
    match: TriageMatch
    severity: str
    confidence: int = Field(ge=0, le=100)
    sets_flags: list[str] = Field(default_factory=list)
    reason: str = ""


class StormRule(Strict):
    threshold: int = Field(ge=2)
    window: FixedDuration


class GroupingRule(Strict):
    by: list[str] = Field(default_factory=lambda: ["service"])
    window: FixedDuration = Field(default_factory=lambda: _to_fixed("30m"))


class Classification(Strict):
    confidence_threshold: int = Field(default=0, ge=0, le=100)
    below_threshold: Literal["investigation_required"] = "investigation_required"
    below_threshold_escalate_to: list[Name] = Field(default_factory=list)
    default_severity: str | None = None
    floors: list[Floor] = Field(default_factory=list)
    uncertain: UncertainRule | None = None
    rules: list[TriageRule] = Field(default_factory=list)
    grouping: GroupingRule = Field(default_factory=GroupingRule)
    storm: StormRule | None = None


# --- playbooks ----------------------------------------------------------------------------------


class RunbookRoute(Strict):
    symptom: str
    keywords: list[str] = Field(default_factory=list)
    runbook: str
    checklist: list[str] = Field(default_factory=list)


class Scenario(Strict):
    title: str
    severity: str | None = None
    symptoms: list[str] = Field(default_factory=list)
    checklist: list[str] = Field(default_factory=list)
    escalation: str = ""


class MitigationStrategy(Strict):
    name: Name
    when: str
    risk: Literal["low", "medium", "high"] | None = None
    speed: str = ""


class DecisionBranch(Strict):
    cause: Name
    strategies: list[Name]
    steps: list[str] = Field(default_factory=list)


class Templates(Strict):
    """Jinja2 sources, rendered in a sandbox with the incident record."""

    channel_name: str = "#incident-{{ incident.declared_at | date }}-{{ incident.slug }}"
    channel_topic: str = "{{ incident.severity }} | {{ incident.title }} | IC: {{ incident.commander or 'unassigned' }}"
    ack: str = "{{ incident.severity }} acknowledged by {{ actor }}"
    war_room_opening: str = ""
    internal_update: str = "[{{ now | hhmm }}] Update #{{ update.number }}: {{ update.text }}"
    status_investigating: str = ""
    status_identified: str = ""
    status_monitoring: str = ""
    status_resolved: str = ""
    customer_email_subject: str = ""
    customer_email: str = ""
    executive_brief: str = ""
    resolution: str = ""
    working_doc: str = ""
    postmortem: str = ""
    timeline_entry: str = "{{ entry.at | hhmm }} | {{ entry.actor }} | {{ entry.what }} | {{ entry.outcome }}"
    hypothesis: str = ""
    page: str = ""

    @model_validator(mode="after")
    def _compile(self) -> Templates:
        problems = []
        for field_name in type(self).model_fields:
            why = templates.check(getattr(self, field_name))
            if why:
                problems.append(f"templates.{field_name}: {why}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class ActionItemRule(Strict):
    """When a postmortem's action item is past its due time and still open or in progress."""

    remind_overdue: bool = Field(default=True, description="remind the owner through the notifications")
    remind_every: FixedDuration | None = Field(
        default_factory=lambda: _to_fixed("1d"),
        description="remind again this often while the item stays unfinished; null: once per due date",
    )


class IdFormat(Strict):
    prefix: str = Field(default="INC", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    digits: int = Field(default=4, ge=3, le=8)


class Policy(Strict):
    name: Name
    description: str = ""
    source: str = ""
    incident_id: IdFormat = Field(default_factory=IdFormat)
    calendar: CalendarSpec = Field(default_factory=CalendarSpec)
    severities: list[Severity] = Field(min_length=1)
    roles: dict[Name, Role] = Field(default_factory=dict)
    targets: dict[Name, Target] = Field(default_factory=dict)
    escalation_policies: dict[Name, EscalationPolicy] = Field(default_factory=dict)
    conditions: list[Condition] = Field(default_factory=list)
    phases: list[Phase] = Field(default_factory=list)
    classification: Classification = Field(default_factory=Classification)
    runbooks: list[RunbookRoute] = Field(default_factory=list)
    scenarios: dict[Name, Scenario] = Field(default_factory=dict)
    mitigation_strategies: list[MitigationStrategy] = Field(default_factory=list)
    decision_tree: list[DecisionBranch] = Field(default_factory=list)
    runbook_fallback: str = Field(default="", description="what to do when no runbook route matches")
    channels: dict[str, str] = Field(
        default_factory=dict, description="channel name -> what it is for (and any fallback)"
    )
    templates: Templates = Field(default_factory=Templates)
    action_items: ActionItemRule = Field(default_factory=ActionItemRule)

    @model_validator(mode="after")
    def _cross_references(self) -> Policy:
        errors: list[str] = []
        seen: dict[str, str] = {}
        for sev in self.severities:
            for alias in sev.all_names:
                key = alias.upper()
                if key in seen:
                    errors.append(f"severities: '{alias}' names both {seen[key]} and {sev.name}")
                seen[key] = sev.name
        names = {n.upper() for n in seen}

        def sev_ok(where: str, value: str) -> None:
            if value.upper() not in names:
                errors.append(f"{where}: unknown severity '{value}'")

        def target_ok(where: str, value: str) -> None:
            if value not in self.targets:
                errors.append(f"{where}: unknown target '{value}' (define it under targets)")

        def role_ok(where: str, value: str) -> None:
            if value not in self.roles:
                errors.append(f"{where}: unknown role '{value}' (define it under roles)")

        for i, sev in enumerate(self.severities):
            where = f"severities.{i}"
            for r in sev.roles_required + sev.roles_optional:
                role_ok(f"{where}.roles", r)
            for t in sev.commander:
                target_ok(f"{where}.commander", t)
            if sev.escalation_policy and sev.escalation_policy not in self.escalation_policies:
                errors.append(f"{where}.escalation_policy: unknown escalation policy '{sev.escalation_policy}'")
            for j, notify in enumerate(sev.notify):
                for t in notify.who:
                    target_ok(f"{where}.notify.{j}.who", t)
            for clock, action in sev.sla.on_breach.items():
                for t in [*action.notify, *action.escalate_to]:
                    target_ok(f"{where}.sla.on_breach.{clock}", t)
                if action.page_next_tier and not sev.escalation_policy:
                    errors.append(
                        f"{where}.sla.on_breach.{clock}.page_next_tier: {sev.name} has no escalation_policy to page"
                    )
            owner = sev.postmortem.owner
            if owner and owner not in self.roles and owner not in self.targets:
                errors.append(f"{where}.postmortem.owner: '{owner}' is neither a role nor a target")
        for name, role in self.roles.items():
            for t in role.filled_by:
                target_ok(f"roles.{name}.filled_by", t)
        for name, pol in self.escalation_policies.items():
            for i, tier in enumerate(pol.tiers):
                for t in tier.targets:
                    target_ok(f"escalation_policies.{name}.tiers.{i}.targets", t)
        for i, cond in enumerate(self.conditions):
            for t in cond.targets:
                target_ok(f"conditions.{i}.targets", t)
            for s in cond.when.severities:
                sev_ok(f"conditions.{i}.when.severities", s)
        cls = self.classification
        for i, floor in enumerate(cls.floors):
            sev_ok(f"classification.floors.{i}.at_least", floor.at_least)
        for i, rule in enumerate(cls.rules):
            sev_ok(f"classification.rules.{i}.severity", rule.severity)
        if cls.uncertain:
            for s in [*cls.uncertain.between, cls.uncertain.pick]:
                sev_ok("classification.uncertain", s)
        if cls.default_severity:
            sev_ok("classification.default_severity", cls.default_severity)
        for t in cls.below_threshold_escalate_to:
            target_ok("classification.below_threshold_escalate_to", t)
        strategies = {s.name for s in self.mitigation_strategies}
        for i, branch in enumerate(self.decision_tree):
            for s in branch.strategies:
                if s not in strategies:
                    errors.append(f"decision_tree.{i}.strategies: unknown mitigation strategy '{s}'")
        for key, sc in self.scenarios.items():
            if sc.severity:
                sev_ok(f"scenarios.{key}.severity", sc.severity)
        if errors:
            raise ValueError("; ".join(errors))
        return self

    # --- lookups used by the domain and services ---

    @cached_property
    def severity_ranks(self) -> dict[str, int]:
        """Every severity name and alias, upper-cased, to its rank (0 is the most severe)."""
        ranks: dict[str, int] = {}
        for i, sev in enumerate(self.severities):
            for n in sev.all_names:
                ranks.setdefault(n.upper(), i)
        return ranks

    def severity(self, name: str) -> Severity:
        """Find a severity by name or alias, case-insensitively."""
        return self.severities[self.rank(name)]

    def rank(self, name: str) -> int:
        """0 is the most severe."""
        found = self.severity_ranks.get(name.strip().upper())
        if found is None:
            known = ", ".join(f"{s.name} ({'/'.join(s.aliases)})" if s.aliases else s.name for s in self.severities)
            raise UnknownSeverity(f"unknown severity '{name}'; this policy knows {known}")
        return found

    def more_severe(self, a: str, b: str) -> str:
        return self.severity(a).name if self.rank(a) <= self.rank(b) else self.severity(b).name

    def business_calendar(self) -> BusinessCalendar:
        return self.calendar.build()

    def escalation_for(self, severity: str) -> EscalationPolicy | None:
        sev = self.severity(severity)
        if sev.escalation_policy is None:
            return None
        return self.escalation_policies[sev.escalation_policy]


class UnknownSeverity(ValueError):
    pass


def strategy_key(name: str) -> str:
    """How strategy names compare: `Config_Change`, `config-change` and `config change` are one name."""
    return re.sub(r"[-_\s]+", "", name.strip().lower())


def match_strategy(policy: Policy, name: str) -> str | None:
    """The policy's own spelling of a mitigation strategy, or None when its table lists nothing like it."""
    key = strategy_key(name)
    return next((s.name for s in policy.mitigation_strategies if strategy_key(s.name) == key), None)


def fixed(span: Span | None) -> timedelta | None:
    return None if span is None else span.as_timedelta()

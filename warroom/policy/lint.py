"""Contradictions a valid policy can still hold, found before an incident finds them.

`lint` is pure: it reads a Policy and returns findings. Validation (model.py) refuses files that
cannot be run; lint points at files that run but say two incompatible things, such as a mitigate
SLA longer than the resolve SLA, or a required role nobody who is paged can fill.

Durations that depend on the business calendar (`5bd`, `next-business-day`) are compared by
evaluating both deadlines from a fortnight of hourly start times: longer from every start is an
error, longer from only some starts (say, a Friday evening) is a warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Literal

from warroom.domain.calendar import BusinessCalendar
from warroom.domain.durations import Span
from warroom.policy.model import PAGING_METHODS, Policy, Severity

Level = Literal["error", "warning"]
SLA_ORDER = ("ack", "respond", "mitigate", "resolve")
_VERB = {"ack": "acknowledged", "respond": "responded to", "mitigate": "mitigated", "resolve": "resolved"}

# Hourly starts over two weeks from a Monday: every weekday, hour and weekend position.
_SAMPLE_STARTS = tuple(datetime(2026, 1, 5, tzinfo=UTC) + timedelta(hours=h) for h in range(14 * 24))


@dataclass(frozen=True)
class Finding:
    level: Level
    path: str
    message: str
    code: str = ""

    def __str__(self) -> str:
        return f"{self.level}: {self.path}: {self.message}"


@dataclass(frozen=True)
class _Comparison:
    """How often span `a` ends after span `b`, over the sample starts, with one example."""

    later: Literal["always", "sometimes", "never"]
    example: str = ""


def _compare(cal: BusinessCalendar, a: Span, b: Span) -> _Comparison:
    if a.is_fixed and b.is_fixed:
        return _Comparison("always" if a.seconds > b.seconds else "never")
    hits = 0
    example = ""
    for start in _SAMPLE_STARTS:
        end_a, end_b = cal.deadline(start, a), cal.deadline(start, b)
        if end_a > end_b:
            hits += 1
            if not example:
                example = f"declared {start:%a %H:%M} UTC: {a} ends {end_a:%a %H:%M}, {b} ends {end_b:%a %H:%M}"
    if hits == 0:
        return _Comparison("never")
    return _Comparison("always" if hits == len(_SAMPLE_STARTS) else "sometimes", example)


def _when(comparison: _Comparison) -> str:
    return "" if comparison.later == "always" else f" for some start times ({comparison.example})"


def _level(comparison: _Comparison) -> Level:
    return "error" if comparison.later == "always" else "warning"


def lint(policy: Policy) -> list[Finding]:
    """Every contradiction found, errors and warnings, in a stable order."""
    cal = policy.business_calendar()
    findings: list[Finding] = []
    for check in (
        _sla_order,
        _sla_monotonic,
        _cadence,
        _paging,
        _roles,
        _targets,
        _duplicates,
        _communication,
        _classification,
    ):
        findings.extend(check(policy, cal))
    return findings


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.level == "error"]


# --- SLAs ---------------------------------------------------------------------------------------


def _slas(sev: Severity) -> list[tuple[str, Span]]:
    return [(k, s) for k in SLA_ORDER if (s := getattr(sev.sla, k)) is not None]


def _sla_order(policy: Policy, cal: BusinessCalendar) -> Iterator[Finding]:
    """Within a severity each deadline must not come after the next one (ack <= respond <= mitigate <= resolve)."""
    for i, sev in enumerate(policy.severities):
        present = _slas(sev)
        for (first, a), (then, b) in pairwise(present):
            cmp = _compare(cal, a, b)
            if cmp.later != "never":
                yield Finding(
                    _level(cmp),
                    f"severities.{i}.sla.{first}",
                    f"{sev.name}: the {first} SLA ({a}) is longer than the {then} SLA ({b}){_when(cmp)}; "
                    f"it would have to be {_VERB[then]} before it must be {_VERB[first]}",
                    "sla-order",
                )


def _sla_monotonic(policy: Policy, cal: BusinessCalendar) -> Iterator[Finding]:
    """A less severe level must not have a tighter deadline than a more severe one."""
    for kind in SLA_ORDER:
        present = [(i, s, span) for i, s in enumerate(policy.severities) if (span := getattr(s.sla, kind)) is not None]
        for (_, worse, a), (j, milder, b) in pairwise(present):
            cmp = _compare(cal, a, b)
            if cmp.later != "never":
                yield Finding(
                    _level(cmp),
                    f"severities.{j}.sla.{kind}",
                    f"{milder.name} is less severe than {worse.name} but its {kind} SLA ({b}) is tighter "
                    f"than {worse.name}'s ({a}){_when(cmp)}",
                    "sla-not-monotonic",
                )


def _cadence(policy: Policy, cal: BusinessCalendar) -> Iterator[Finding]:
    for i, sev in enumerate(policy.severities):
        for audience, cadence in sev.cadence.items():
            if cadence.every is None:
                continue
            where = f"severities.{i}.cadence.{audience}.every"
            if sev.sla.resolve is not None and _compare(cal, cadence.every, sev.sla.resolve).later == "always":
                yield Finding(
                    "error",
                    where,
                    f"{sev.name} {audience} updates every {cadence.every}, longer than its resolve SLA "
                    f"({sev.sla.resolve}): no scheduled update falls inside an on-time incident",
                    "cadence-slower-than-resolve",
                )
            if sev.sla.ack is not None and _compare(cal, cadence.every, sev.sla.ack).later != "never":
                yield Finding(
                    "warning",
                    where,
                    f"{sev.name} {audience} updates every {cadence.every}, longer than its ack SLA ({sev.sla.ack}): "
                    "the first scheduled update is due after the incident should have been acknowledged",
                    "cadence-slower-than-ack",
                )
            if cadence.first_within is not None and cadence.first_within.as_timedelta() > cadence.every.as_timedelta():
                yield Finding(
                    "warning",
                    f"severities.{i}.cadence.{audience}.first_within",
                    f"{sev.name} {audience}: the first message ({cadence.first_within}) comes later than the "
                    f"regular period ({cadence.every})",
                    "cadence-first-after-period",
                )


# --- paging and roles ---------------------------------------------------------------------------


def _pages(sev: Severity) -> int | None:
    """Index of the first notify rule that interrupts someone, or None."""
    for j, rule in enumerate(sev.notify):
        if PAGING_METHODS.intersection(rule.methods):
            return j
    return None


def _reached(policy: Policy, sev: Severity) -> set[str]:
    """Targets contacted for a severity whatever happens: notified, paged, commanding or on its team."""
    reached = {t for rule in sev.notify for t in rule.who} | set(sev.commander) | set(sev.response_team)
    escalation = policy.escalation_for(sev.name)
    if escalation is not None:
        reached |= {t for tier in escalation.tiers for t in tier.targets}
    return reached


def _paging(policy: Policy, cal: BusinessCalendar) -> Iterator[Finding]:
    for i, sev in enumerate(policy.severities):
        j = _pages(sev)
        escalation = policy.escalation_for(sev.name)
        if j is not None and escalation is None:
            yield Finding(
                "error",
                f"severities.{i}.escalation_policy",
                f"{sev.name} pages ({', '.join(sorted(PAGING_METHODS.intersection(sev.notify[j].methods)))} "
                f"in notify.{j}) but has no escalation policy: an unanswered page goes nowhere",
                "pages-without-escalation",
            )
        if escalation is not None and sev.sla.ack is not None:
            first = escalation.tiers[0]
            cmp = _compare(cal, first.wait, sev.sla.ack)
            if cmp.later != "never":
                yield Finding(
                    "warning",
                    f"escalation_policies.{sev.escalation_policy}.tiers.0.wait",
                    f"the first tier waits {first.wait} but {sev.name} must be acknowledged within {sev.sla.ack}: "
                    "the SLA is breached before the next tier is tried",
                    "first-tier-slower-than-ack",
                )
        if escalation is not None and sev.triage_outcome != "incident":
            yield Finding(
                "warning",
                f"severities.{i}.escalation_policy",
                f"{sev.name} pages through '{sev.escalation_policy}' but triage makes it a {sev.triage_outcome}, "
                "not an incident",
                "pages-for-non-incident",
            )


def _fillers(policy: Policy, role: str) -> set[str]:
    spec = policy.roles.get(role)
    fillers = set(spec.filled_by) if spec else set()
    if role in policy.targets:
        fillers.add(role)
    return fillers


def _roles(policy: Policy, cal: BusinessCalendar) -> Iterator[Finding]:
    """A role is reachable when a target that can fill it (filled_by, or a target of the same name) is contacted."""
    unfillable: set[str] = set()
    for i, sev in enumerate(policy.severities):
        reached = _reached(policy, sev)
        for kind, names in (("roles_required", sev.roles_required), ("roles_optional", sev.roles_optional)):
            for name in names:
                fillers = _fillers(policy, name)
                if not fillers:
                    if name not in unfillable:
                        unfillable.add(name)
                        yield Finding(
                            "error" if kind == "roles_required" else "warning",
                            f"roles.{name}.filled_by",
                            f"no target can fill role '{name}' ({sev.name} {kind.replace('_', ' ')}); "
                            f"list targets under roles.{name}.filled_by or define a target named '{name}'",
                            "role-unfillable",
                        )
                    continue
                if kind == "roles_required" and not fillers & reached:
                    who = ", ".join(sorted(fillers))
                    yield Finding(
                        "error",
                        f"severities.{i}.roles_required",
                        f"{sev.name} requires role '{name}' but none of those who can fill it ({who}) is paged, "
                        f"notified, commanding or on the response team for {sev.name}",
                        "role-unreachable",
                    )


def _targets(policy: Policy, cal: BusinessCalendar) -> Iterator[Finding]:
    """Targets that must be contacted need an address; response teams must be targets."""
    contacted: dict[str, str] = {}
    for i, cond in enumerate(policy.conditions):
        for t in cond.targets:
            contacted.setdefault(t, f"condition '{cond.id}' (conditions.{i})")
    for name, esc in policy.escalation_policies.items():
        for k, tier in enumerate(esc.tiers):
            for t in tier.targets:
                contacted.setdefault(t, f"escalation_policies.{name}.tiers.{k}")
    for i, sev in enumerate(policy.severities):
        for j, rule in enumerate(sev.notify):
            for t in rule.who:
                contacted.setdefault(t, f"severities.{i}.notify.{j}")
    for t in policy.classification.below_threshold_escalate_to:
        contacted.setdefault(t, "classification.below_threshold_escalate_to")
    for name, target in policy.targets.items():
        if target.via in ("person", "channel") and not (target.ref or "").strip():
            used = contacted.get(name)
            yield Finding(
                "error" if used else "warning",
                f"targets.{name}.ref",
                f"'{name}' is a {target.via} with no ref"
                + (f", yet {used} contacts it: nobody would be reached" if used else ": it could not be contacted"),
                "target-without-ref",
            )
    for i, sev in enumerate(policy.severities):
        for member in sev.response_team:
            if member not in policy.targets:
                yield Finding(
                    "error",
                    f"severities.{i}.response_team",
                    f"'{member}' on {sev.name}'s response team is not a target, so nobody can reach it",
                    "team-member-not-target",
                )


# --- duplicates ---------------------------------------------------------------------------------


def _duplicates(policy: Policy, cal: BusinessCalendar) -> Iterator[Finding]:
    seen_when: dict[str, int] = {}
    for i, cond in enumerate(policy.conditions):
        when = cond.when.model_dump(mode="json")
        when["severities"] = sorted(policy.severity(s).name for s in cond.when.severities)
        key = repr(sorted(when.items()))
        if key in seen_when:
            yield Finding(
                "warning",
                f"conditions.{i}.when",
                f"condition '{cond.id}' has the same trigger as conditions.{seen_when[key]}; merge their targets",
                "duplicate-condition",
            )
        else:
            seen_when[key] = i
    floors: dict[str, int] = {}
    for i, floor in enumerate(policy.classification.floors):
        if floor.flag in floors:
            other = policy.classification.floors[floors[floor.flag]]
            same = policy.severity(other.at_least).name == policy.severity(floor.at_least).name
            yield Finding(
                "warning",
                f"classification.floors.{i}.flag",
                f"flag '{floor.flag}' already has a floor (classification.floors.{floors[floor.flag]}, "
                f"at least {other.at_least})"
                + ("" if same else f"; only the more severe of {other.at_least} and {floor.at_least} can ever apply"),
                "duplicate-floor",
            )
        else:
            floors[floor.flag] = i
    thresholds: dict[str, str] = {}
    for i, sev in enumerate(policy.severities):
        text = " ".join(sev.threshold.lower().split())
        if text and text in thresholds:
            yield Finding(
                "warning",
                f"severities.{i}.threshold",
                f"{sev.name} has the same threshold as {thresholds[text]}: nothing tells them apart",
                "duplicate-threshold",
            )
        elif text:
            thresholds[text] = sev.name
    matches: dict[str, int] = {}
    for i, rule in enumerate(policy.classification.rules):
        key = repr(sorted(rule.match.model_dump(mode="json").items()))
        if key in matches:
            twin = policy.classification.rules[matches[key]]
            differs = policy.severity(twin.severity).name != policy.severity(rule.severity).name
            yield Finding(
                "error" if differs else "warning",
                f"classification.rules.{i}.match",
                f"triage rule '{rule.id}' matches exactly what '{twin.id}' matches"
                + (f" but says {rule.severity} where it says {twin.severity}" if differs else ""),
                "duplicate-triage-rule",
            )
        else:
            matches[key] = i


# --- communication and classification -----------------------------------------------------------


def _communication(policy: Policy, cal: BusinessCalendar) -> Iterator[Finding]:
    for i, sev in enumerate(policy.severities):
        external = sev.cadence.get("external")
        if external is not None and sev.status_page.post == "never" and external.channel in (None, "status-page"):
            yield Finding(
                "warning",
                f"severities.{i}.cadence.external",
                f"{sev.name} schedules external updates but its status page rule says never post",
                "external-cadence-without-status-page",
            )
        if sev.customer_email.within is not None and sev.customer_email.send == "never":
            yield Finding(
                "warning",
                f"severities.{i}.customer_email.within",
                f"{sev.name} gives a customer e-mail deadline but never sends one",
                "email-deadline-never-sent",
            )
        pm = sev.postmortem
        if pm.need.value == "required" and pm.due is None:
            yield Finding(
                "warning",
                f"severities.{i}.postmortem.due",
                f"{sev.name} requires a postmortem but gives it no due date",
                "postmortem-without-due",
            )
        if pm.earliest is not None and pm.due is not None:
            cmp = _compare(cal, pm.earliest, pm.due)
            if cmp.later != "never":
                yield Finding(
                    _level(cmp),
                    f"severities.{i}.postmortem.earliest",
                    f"{sev.name}: the postmortem may not start before {pm.earliest} but is due at {pm.due}{_when(cmp)}",
                    "postmortem-window-empty",
                )
        if (
            sev.resolution.quiet_window
            and sev.resolution.monitor
            and sev.resolution.quiet_window.as_timedelta() > sev.resolution.monitor.as_timedelta()
        ):
            yield Finding(
                "warning",
                f"severities.{i}.resolution.quiet_window",
                f"{sev.name}: the quiet window ({sev.resolution.quiet_window}) is longer than the monitoring "
                f"period ({sev.resolution.monitor})",
                "quiet-window-longer-than-monitor",
            )
        if policy.channels:
            used = [(f"severities.{i}.notify.{j}.channels", c) for j, r in enumerate(sev.notify) for c in r.channels]
            used += [(f"severities.{i}.cadence.{a}.channel", c.channel) for a, c in sev.cadence.items() if c.channel]
            for where, channel in used:
                if channel not in policy.channels:
                    yield Finding(
                        "warning",
                        where,
                        f"channel '{channel}' is not listed under channels (a typo?)",
                        "unknown-channel",
                    )


def _classification(policy: Policy, cal: BusinessCalendar) -> Iterator[Finding]:
    cls = policy.classification
    if cls.uncertain is not None:
        between = {policy.severity(s).name for s in cls.uncertain.between}
        if policy.severity(cls.uncertain.pick).name not in between:
            yield Finding(
                "error",
                "classification.uncertain.pick",
                f"when unsure between {' and '.join(cls.uncertain.between)} the rule picks {cls.uncertain.pick}, "
                "which is neither",
                "uncertain-pick-outside",
            )
    for i, floor in enumerate(cls.floors):
        sev = policy.severity(floor.at_least)
        if sev.triage_outcome != "incident":
            yield Finding(
                "warning",
                f"classification.floors.{i}.at_least",
                f"the floor for '{floor.flag}' is {sev.name}, which triage turns into a {sev.triage_outcome}",
                "floor-below-incident",
            )
    for i, rule in enumerate(cls.rules):
        if cls.confidence_threshold and rule.confidence < cls.confidence_threshold:
            yield Finding(
                "warning",
                f"classification.rules.{i}.confidence",
                f"triage rule '{rule.id}' has confidence {rule.confidence}, below the policy threshold "
                f"({cls.confidence_threshold}): it can only ever yield investigation_required",
                "rule-below-threshold",
            )

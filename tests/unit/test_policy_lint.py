"""lint(): contradictions a valid policy can hold. Each test builds a small policy with one flaw."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from warroom.policy import list_presets, load_policy
from warroom.policy.lint import Finding, errors, lint
from warroom.policy.loader import parse_policy

BASE: dict[str, Any] = {
    "name": "small",
    "severities": [
        {
            "name": "P1",
            "threshold": "Customers are down.",
            "sla": {"ack": "5m", "mitigate": "1h", "resolve": "4h"},
            "roles_required": ["incident-commander"],
            "cadence": {"internal": {"every": "5m"}},
            "notify": [{"who": ["primary"], "methods": ["page"]}],
            "escalation_policy": "paging",
        },
        {
            "name": "P2",
            "threshold": "Customers are slowed down.",
            "sla": {"ack": "1h", "mitigate": "8h", "resolve": "2bd"},
            "roles_required": ["incident-commander"],
            "notify": [{"who": ["primary"], "methods": ["chat"]}],
        },
    ],
    "roles": {"incident-commander": {"title": "IC", "filled_by": ["primary"]}},
    "targets": {
        "primary": {"via": "schedule", "ref": "primary"},
        "lead": {"via": "person", "ref": "alice@example.com"},
    },
    "escalation_policies": {
        "paging": {"tiers": [{"targets": ["primary"], "wait": "5m"}, {"targets": ["lead"], "wait": "10m"}]}
    },
    "conditions": [{"id": "slow", "when": {"unresolved_for": "2h", "severities": ["P1"]}, "targets": ["lead"]}],
}


def policy_with(**changes: Any) -> Any:
    """BASE with changes applied; keys are dotted paths, list indexes are numbers."""
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node: Any = data
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value
    return parse_policy(data)


def codes(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.level, f.code, f.path) for f in findings]


def test_a_consistent_policy_has_no_findings() -> None:
    assert lint(policy_with()) == []


# --- SLA order inside a severity ----------------------------------------------------------------


def test_mitigate_longer_than_resolve() -> None:
    findings = lint(policy_with(severities__0__sla={"ack": "5m", "mitigate": "6h", "resolve": "4h"}))
    assert codes(findings) == [("error", "sla-order", "severities.0.sla.mitigate")]
    assert "mitigate SLA (6h) is longer than the resolve SLA (4h)" in findings[0].message


def test_ack_longer_than_mitigate() -> None:
    findings = lint(policy_with(severities__0__sla={"ack": "2h", "mitigate": "1h", "resolve": "4h"}))
    assert ("error", "sla-order", "severities.0.sla.ack") in codes(findings)


def test_ack_longer_than_resolve_when_mitigate_is_missing() -> None:
    findings = lint(policy_with(severities__1__sla={"ack": "3bd", "resolve": "2bd"}))
    assert ("error", "sla-order", "severities.1.sla.ack") in codes(findings)


def test_calendar_spans_that_only_sometimes_cross_are_a_warning() -> None:
    """48h beats 'next business day' from a Monday morning but not from a Friday afternoon."""
    findings = lint(policy_with(severities__1__sla={"ack": "48h", "mitigate": "next-business-day"}))
    [finding] = [f for f in findings if f.code == "sla-order"]
    assert finding.level == "warning"
    assert "for some start times (declared Mon " in finding.message


# --- SLA order across severities ----------------------------------------------------------------


def test_less_severe_level_with_a_tighter_sla() -> None:
    findings = lint(policy_with(severities__1__sla={"ack": "2m", "mitigate": "8h", "resolve": "2bd"}))
    assert codes(findings) == [("error", "sla-not-monotonic", "severities.1.sla.ack")]
    assert "P2 is less severe than P1 but its ack SLA (2m) is tighter than P1's (5m)" in findings[0].message


def test_business_day_resolve_that_is_sometimes_tighter() -> None:
    """P1 resolve 48h; P2 resolve next business day: from Monday 10:00 that is 31h, tighter than P1."""
    findings = lint(
        policy_with(
            severities__0__sla={"ack": "5m", "mitigate": "1h", "resolve": "48h"},
            severities__1__sla={"ack": "1h", "mitigate": "8h", "resolve": "next-business-day"},
        )
    )
    assert codes(findings) == [("warning", "sla-not-monotonic", "severities.1.sla.resolve")]


def test_monotonic_check_skips_levels_without_that_sla() -> None:
    data = copy.deepcopy(BASE)
    data["severities"].insert(1, {"name": "P1b", "sla": {}})
    data["severities"][2]["sla"]["ack"] = "1m"
    findings = lint(parse_policy(data))
    assert ("error", "sla-not-monotonic", "severities.2.sla.ack") in codes(findings)


# --- cadence ------------------------------------------------------------------------------------


def test_cadence_longer_than_ack_is_a_warning() -> None:
    findings = lint(policy_with(severities__0__cadence={"internal": {"every": "10m"}}))
    assert codes(findings) == [("warning", "cadence-slower-than-ack", "severities.0.cadence.internal.every")]


def test_cadence_longer_than_resolve_is_an_error() -> None:
    findings = lint(policy_with(severities__0__cadence={"external": "every 6h"}))
    assert ("error", "cadence-slower-than-resolve", "severities.0.cadence.external.every") in codes(findings)


def test_first_message_later_than_the_period() -> None:
    findings = lint(policy_with(severities__0__cadence={"internal": {"every": "5m", "first_within": "10m"}}))
    assert codes(findings) == [("warning", "cadence-first-after-period", "severities.0.cadence.internal.first_within")]


def test_event_cadences_have_no_period_to_check() -> None:
    assert lint(policy_with(severities__0__cadence={"internal": "on state change"})) == []


# --- paging -------------------------------------------------------------------------------------


def test_severity_that_pages_without_an_escalation_policy() -> None:
    findings = lint(policy_with(severities__1__notify=[{"who": ["primary"], "methods": ["chat", "sms"]}]))
    assert codes(findings) == [("error", "pages-without-escalation", "severities.1.escalation_policy")]
    assert "pages (sms in notify.0)" in findings[0].message


def test_first_tier_waits_past_the_ack_sla() -> None:
    findings = lint(policy_with(escalation_policies__paging__tiers__0__wait="15m"))
    assert codes(findings) == [("warning", "first-tier-slower-than-ack", "escalation_policies.paging.tiers.0.wait")]


# --- roles --------------------------------------------------------------------------------------


def test_required_role_nobody_contacted_can_fill() -> None:
    findings = lint(
        policy_with(
            roles={
                "incident-commander": {"title": "IC", "filled_by": ["primary"]},
                "scribe": {"title": "Scribe", "filled_by": ["lead"]},
            },
            severities__1__roles_required=["incident-commander", "scribe"],
        )
    )
    assert codes(findings) == [("error", "role-unreachable", "severities.1.roles_required")]
    assert "P2 requires role 'scribe' but none of those who can fill it (lead)" in findings[0].message


def test_escalation_tiers_count_as_reaching_a_role() -> None:
    """The lead is only in P1's second paging tier; that is enough for P1 to reach a lead-filled role."""
    roles = {
        "incident-commander": {"title": "IC", "filled_by": ["primary"]},
        "tech-lead": {"title": "Tech lead", "filled_by": ["lead"]},
    }
    findings = lint(policy_with(roles=roles, severities__0__roles_required=["incident-commander", "tech-lead"]))
    assert findings == []


def test_role_filled_by_a_target_of_the_same_name() -> None:
    data = copy.deepcopy(BASE)
    data["roles"]["scribe"] = {"title": "Scribe"}
    data["targets"]["scribe"] = {"via": "channel", "ref": "#scribes"}
    data["severities"][0]["roles_required"].append("scribe")
    data["severities"][0]["notify"][0]["who"].append("scribe")
    assert lint(parse_policy(data)) == []


def test_role_that_nobody_can_fill() -> None:
    findings = lint(policy_with(roles={"incident-commander": {"title": "IC"}}))
    assert codes(findings) == [("error", "role-unfillable", "roles.incident-commander.filled_by")]


def test_optional_role_nobody_can_fill_is_a_warning() -> None:
    data = copy.deepcopy(BASE)
    data["roles"]["comms"] = {"title": "Comms"}
    data["severities"][0]["roles_optional"] = ["comms"]
    assert codes(lint(parse_policy(data))) == [("warning", "role-unfillable", "roles.comms.filled_by")]


# --- targets ------------------------------------------------------------------------------------


def test_condition_targets_a_person_with_no_address() -> None:
    findings = lint(policy_with(targets__lead={"via": "person"}))
    assert codes(findings) == [("error", "target-without-ref", "targets.lead.ref")]
    assert "condition 'slow' (conditions.0) contacts it: nobody would be reached" in findings[0].message


def test_condition_only_target_without_ref() -> None:
    data = copy.deepcopy(BASE)
    data["targets"]["legal"] = {"via": "channel", "ref": "  "}
    data["conditions"].append({"id": "breach", "when": {"flag": "data_breach_suspected"}, "targets": ["legal"]})
    findings = lint(parse_policy(data))
    assert codes(findings) == [("error", "target-without-ref", "targets.legal.ref")]
    assert "condition 'breach'" in findings[0].message


def test_unused_person_without_ref_is_a_warning() -> None:
    data = copy.deepcopy(BASE)
    data["targets"]["someone"] = {"via": "person"}
    assert codes(lint(parse_policy(data))) == [("warning", "target-without-ref", "targets.someone.ref")]


def test_schedule_targets_need_no_ref() -> None:
    assert lint(policy_with(targets__primary={"via": "schedule"})) == []


def test_response_team_member_that_is_not_a_target() -> None:
    findings = lint(policy_with(severities__0__response_team=["primary", "ghost-agent"]))
    assert codes(findings) == [("error", "team-member-not-target", "severities.0.response_team")]


# --- duplicates ---------------------------------------------------------------------------------


def test_two_conditions_with_the_same_trigger() -> None:
    data = copy.deepcopy(BASE)
    data["conditions"].append(
        {"id": "slow-too", "when": {"severities": ["p1"], "unresolved_for": "120m"}, "targets": ["primary"]}
    )
    assert codes(lint(parse_policy(data))) == [("warning", "duplicate-condition", "conditions.1.when")]


def test_same_trigger_for_another_severity_is_not_a_duplicate() -> None:
    data = copy.deepcopy(BASE)
    data["conditions"].append(
        {"id": "slow-p2", "when": {"unresolved_for": "2h", "severities": ["P2"]}, "targets": ["lead"]}
    )
    assert lint(parse_policy(data)) == []


def test_two_floors_on_one_flag() -> None:
    floors = [
        {"id": "a", "flag": "auth_broken", "at_least": "P2", "reason": "x"},
        {"id": "b", "flag": "auth_broken", "at_least": "P1", "reason": "y"},
    ]
    findings = lint(policy_with(classification={"floors": floors}))
    assert codes(findings) == [("warning", "duplicate-floor", "classification.floors.1.flag")]
    assert "only the more severe of P2 and P1 can ever apply" in findings[0].message


def test_two_severities_with_the_same_threshold() -> None:
    findings = lint(policy_with(severities__1__threshold="customers are  DOWN."))
    assert codes(findings) == [("warning", "duplicate-threshold", "severities.1.threshold")]


def test_two_triage_rules_that_match_the_same_but_disagree() -> None:
    rules = [
        {"id": "errors-high", "match": {"metric": "error_rate", "value_over": 5}, "severity": "P1", "confidence": 90},
        {"id": "errors-meh", "match": {"metric": "error_rate", "value_over": 5}, "severity": "P2", "confidence": 90},
    ]
    findings = lint(policy_with(classification={"rules": rules}))
    assert codes(findings) == [("error", "duplicate-triage-rule", "classification.rules.1.match")]


# --- communication and classification -----------------------------------------------------------


def test_external_updates_with_a_status_page_that_never_posts() -> None:
    findings = lint(
        policy_with(severities__1__cadence={"external": "on resolution"}, severities__1__status_page={"post": "never"})
    )
    assert codes(findings) == [("warning", "external-cadence-without-status-page", "severities.1.cadence.external")]


def test_postmortem_window_that_closes_before_it_opens() -> None:
    rule = {"need": "required", "earliest": "72h", "due": "48h"}
    findings = lint(policy_with(severities__0__postmortem=rule))
    assert codes(findings) == [("error", "postmortem-window-empty", "severities.0.postmortem.earliest")]


def test_required_postmortem_without_a_due_date() -> None:
    findings = lint(policy_with(severities__0__postmortem={"need": "required"}))
    assert codes(findings) == [("warning", "postmortem-without-due", "severities.0.postmortem.due")]


def test_uncertain_rule_that_picks_neither() -> None:
    data = copy.deepcopy(BASE)
    data["severities"].append({"name": "P3"})
    data["classification"] = {"uncertain": {"between": ["P1", "P2"], "pick": "P3"}}
    assert codes(lint(parse_policy(data))) == [("error", "uncertain-pick-outside", "classification.uncertain.pick")]


def test_channel_typo() -> None:
    data = copy.deepcopy(BASE)
    data["channels"] = {"#incidents": "where acks go"}
    data["severities"][1]["notify"][0]["channels"] = ["#incidnets"]
    assert codes(lint(parse_policy(data))) == [("warning", "unknown-channel", "severities.1.notify.0.channels")]


def test_triage_rule_below_the_confidence_threshold() -> None:
    cls = {
        "confidence_threshold": 70,
        "rules": [{"id": "weak", "match": {"keywords": ["oops"]}, "severity": "P2", "confidence": 50}],
    }
    assert codes(lint(policy_with(classification=cls))) == [
        ("warning", "rule-below-threshold", "classification.rules.0.confidence")
    ]


def test_findings_print_as_level_path_message() -> None:
    [finding] = lint(policy_with(severities__0__cadence={"internal": {"every": "10m"}}))
    assert str(finding).startswith("warning: severities.0.cadence.internal.every: P1 internal updates every 10m")


def test_several_flaws_are_all_found_errors_first_by_check() -> None:
    findings = lint(
        policy_with(
            severities__0__sla={"ack": "5m", "mitigate": "6h", "resolve": "4h"},
            severities__1__notify=[{"who": ["primary"], "methods": ["page"]}],
            targets__lead={"via": "person"},
        )
    )
    assert [f.code for f in errors(findings)] == ["sla-order", "pages-without-escalation", "target-without-ref"]


# --- the presets --------------------------------------------------------------------------------

# Warnings the seeds themselves cause. Each one is the runbook's own pair of numbers, kept because the
# presets reproduce the seeds exactly:
#   nself   P0: ack within 5m, yet internal updates every 10m and status page every 15m (seed 000 tables).
#   novavms P1: the three audiences every 15m; phase 1 (identify) ends at 5m, which sets the ack.
#   nexus   P0: "immediate" response, status page every 15m (the executive and internal audiences follow it).
#   so1     SEV0-3: every alert acknowledged within 2 minutes, updates every 15 minutes.
SEED_WARNINGS = {
    "nself": {"severities.0.cadence.internal.every", "severities.0.cadence.external.every"},
    "novavms": {f"severities.0.cadence.{a}.every" for a in ("internal", "executive", "external")},
    "nexus": {f"severities.0.cadence.{a}.every" for a in ("internal", "executive", "external")},
    "so1": {
        "severities.0.cadence.internal.every",
        "severities.0.cadence.external.every",
        "severities.1.cadence.internal.every",
        "severities.1.cadence.external.every",
        "severities.2.cadence.internal.every",
        "severities.3.cadence.internal.every",
    },
}


@pytest.mark.parametrize("name", list_presets())
def test_presets_lint_without_errors(name: str) -> None:
    findings = lint(load_policy(name))
    assert errors(findings) == []
    assert {(f.code, f.path) for f in findings} == {("cadence-slower-than-ack", p) for p in SEED_WARNINGS[name]}


def test_lint_is_pure() -> None:
    policy = load_policy("nself")
    before = policy.model_dump(mode="json")
    assert lint(policy) == lint(policy)
    assert policy.model_dump(mode="json") == before

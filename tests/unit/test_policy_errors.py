"""A broken policy file is refused with every problem named by its field path, one line each."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from warroom.policy import PolicyError, load_policy
from warroom.policy.loader import parse_policy, parse_policy_text, read_policy_file

ONE_LINE_WITH_PATH = re.compile(r"^(\(yaml\) line \d+, column \d+|\([a-z ]+\)|[\w\-]+(\.[\w\-]+)*): \S[^\n]*$")

GOOD: dict[str, Any] = {
    "name": "tiny",
    "severities": [
        {
            "name": "P1",
            "aliases": ["SEV1"],
            "sla": {"ack": "5m", "mitigate": "1h", "resolve": "4h"},
            "notify": [{"who": ["primary"], "methods": ["page"]}],
            "escalation_policy": "paging",
        },
        {"name": "P2", "sla": {"ack": "1h"}},
    ],
    "targets": {"primary": {"via": "schedule", "ref": "primary"}},
    "escalation_policies": {"paging": {"tiers": [{"targets": ["primary"], "wait": "5m"}]}},
    "classification": {"floors": [{"id": "auth", "flag": "auth_broken", "at_least": "P1", "reason": "auth"}]},
}


def problems_of(data: Any) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(data, "test.yaml")
    problems = info.value.problems
    assert problems, "a refusal names at least one problem"
    for p in problems:
        assert ONE_LINE_WITH_PATH.match(p), f"not 'path: what is wrong' on one line: {p!r}"
    return problems


def mutated(path: str, value: Any) -> dict[str, Any]:
    """GOOD with one value replaced; `path` is dotted, list indexes are numbers; value DELETE removes the key."""
    data = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    key: Any = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return data


DELETE = object()


def test_the_baseline_is_valid() -> None:
    assert parse_policy(copy.deepcopy(GOOD)).severity("sev1").name == "P1"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("severities", DELETE, "severities: Field required"),
        ("name", DELETE, "name: Field required"),
        ("severities.0.name", DELETE, "severities.0.name: Field required"),
        ("escalation_policies.paging.tiers.0.wait", DELETE, "escalation_policies.paging.tiers.0.wait: Field required"),
    ],
)
def test_missing_field(path: str, value: Any, expected: str) -> None:
    assert expected in problems_of(mutated(path, value))


def test_negative_duration() -> None:
    [problem] = problems_of(mutated("severities.0.sla.ack", "-5m"))
    assert problem.startswith("severities.0.sla.ack: ")
    assert "negative" in problem


def test_duration_without_unit() -> None:
    [problem] = problems_of(mutated("severities.0.sla.resolve", 30))
    assert problem == "severities.0.sla.resolve: 30 has no unit; write it as a duration such as 30m"


def test_garbage_duration() -> None:
    [problem] = problems_of(mutated("severities.1.sla.ack", "soon"))
    assert problem.startswith("severities.1.sla.ack: 'soon' is not a duration")


def test_business_days_where_a_fixed_length_is_needed() -> None:
    [problem] = problems_of(mutated("escalation_policies.paging.tiers.0.wait", "2bd"))
    assert problem.startswith("escalation_policies.paging.tiers.0.wait: '2bd' depends on the business calendar")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("severities.0.notify.0.who", ["ghost"], "severities.0.notify.0.who: unknown target 'ghost'"),
        (
            "escalation_policies.paging.tiers.0.targets",
            ["ghost"],
            "escalation_policies.paging.tiers.0.targets: unknown target 'ghost'",
        ),
        (
            "conditions",
            [{"id": "late", "when": {"unresolved_for": "30m"}, "targets": ["ghost"]}],
            "conditions.0.targets: unknown target 'ghost'",
        ),
        ("severities.0.commander", ["ghost"], "severities.0.commander: unknown target 'ghost'"),
        ("roles", {"scribe": {"title": "Scribe", "filled_by": ["ghost"]}}, "roles.scribe.filled_by: unknown target"),
    ],
)
def test_unknown_target(path: str, value: Any, expected: str) -> None:
    problems = problems_of(mutated(path, value))
    assert any(p.startswith(expected) for p in problems), problems


def test_unknown_severity_in_a_floor() -> None:
    [problem] = problems_of(mutated("classification.floors.0.at_least", "P9"))
    assert problem == "classification.floors.0.at_least: unknown severity 'P9'"


def test_unknown_flag_in_a_floor_names_the_flag_field() -> None:
    [problem] = problems_of(mutated("classification.floors.0.flag", "moon_on_fire"))
    assert problem.startswith("classification.floors.0.flag: unknown flag 'moon_on_fire'; known flags: ")


def test_unknown_severity_in_a_condition() -> None:
    cond = [{"id": "late", "when": {"unresolved_for": "30m", "severities": ["P7"]}, "targets": ["primary"]}]
    assert problems_of(mutated("conditions", cond)) == ["conditions.0.when.severities: unknown severity 'P7'"]


def test_condition_with_two_tests() -> None:
    cond = [{"id": "late", "when": {"unresolved_for": "30m", "mitigation_failures": 2}, "targets": ["primary"]}]
    [problem] = problems_of(mutated("conditions", cond))
    assert problem.startswith("conditions.0.when: a condition needs exactly one of")


def test_alias_naming_two_severities() -> None:
    [problem] = problems_of(mutated("severities.1.aliases", ["sev1"]))
    assert problem == "severities: 'sev1' names both P1 and P2"


def test_unknown_escalation_policy() -> None:
    [problem] = problems_of(mutated("severities.0.escalation_policy", "nope"))
    assert problem == "severities.0.escalation_policy: unknown escalation policy 'nope'"


def test_not_kebab_case() -> None:
    [problem] = problems_of(mutated("name", "Tiny Policy"))
    assert problem.startswith("name: 'Tiny Policy' must be a kebab-case name")


def test_cadence_phrase_it_does_not_know() -> None:
    [problem] = problems_of(mutated("severities.0.cadence", {"internal": "whenever"}))
    assert problem.startswith("severities.0.cadence.internal: 'whenever' is not a cadence")


def test_template_with_an_undefined_variable() -> None:
    [problem] = problems_of(mutated("templates", {"ack": "{{ incident.nickname }} acked"}))
    assert problem.startswith("templates.ack: UndefinedError: ")
    assert "nickname" in problem


def test_template_that_tries_to_leave_the_sandbox() -> None:
    [problem] = problems_of(mutated("templates", {"resolution": "{{ ''.__class__.__mro__ }}"}))
    assert problem.startswith("templates.resolution: SecurityError: ")


def test_template_that_reaches_for_globals() -> None:
    source = "{{ incident.title.__init__.__globals__ }}"
    [problem] = problems_of(mutated("templates", {"postmortem": source}))
    assert problem.startswith("templates.postmortem: SecurityError: ")


def test_template_syntax_error() -> None:
    [problem] = problems_of(mutated("templates", {"working_doc": "{% for h in incident.hypotheses %}"}))
    assert problem.startswith("templates.working_doc: TemplateSyntaxError: ")


def test_two_bad_templates_are_both_reported() -> None:
    problems = problems_of(mutated("templates", {"ack": "{{ nope }}", "page": "{{ ().__class__ }}"}))
    assert [p.split(":")[0] for p in problems] == ["templates.ack", "templates.page"]


def test_every_problem_is_reported_at_once() -> None:
    data = mutated("severities.0.sla.ack", "-1m")
    data["targets"]["primary"]["via"] = "carrier-pigeon"
    data["escalation_policies"]["paging"]["tiers"][0]["wait"] = "later"
    paths = sorted(p.split(": ")[0] for p in problems_of(data))
    assert paths == ["escalation_policies.paging.tiers.0.wait", "severities.0.sla.ack", "targets.primary.via"]


def test_extra_keys_are_refused() -> None:
    [problem] = problems_of(mutated("severities.0.sla.acknowledge", "5m"))
    assert problem.startswith("severities.0.sla.acknowledge: Extra inputs are not permitted")


# --- the file itself ----------------------------------------------------------------------------


def yaml_problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy_text(text, "broken.yaml")
    for p in info.value.problems:
        assert ONE_LINE_WITH_PATH.match(p), p
    return info.value.problems


def test_malformed_yaml_points_at_the_line() -> None:
    [problem] = yaml_problems("name: tiny\nseverities:\n  - name: P1\n    sla: {ack: 5m\n")
    assert problem.startswith("(yaml) line 5, column 1: ")


def test_yaml_tab_indent() -> None:
    [problem] = yaml_problems("name: tiny\nseverities:\n\t- name: P1\n")
    assert problem.startswith("(yaml) line 3, column 1: ")


def test_duplicate_key_is_an_error_not_a_silent_overwrite() -> None:
    [problem] = yaml_problems("name: tiny\nseverities: []\nname: other\n")
    assert (
        problem
        == "(yaml) line 3, column 1: key 'name' appears twice (first on line 1); the second would replace the first"
    )


def test_yaml_that_is_not_a_mapping() -> None:
    assert yaml_problems("- just\n- a list\n") == ["(top level): a policy file must be a YAML mapping"]
    assert yaml_problems("") == ["(top level): a policy file must be a YAML mapping"]


def test_yaml_on_key_means_the_cadence_field() -> None:
    """YAML 1.1 reads a bare `on:` as true; the policy still means the cadence's `on`."""
    text = (
        "name: tiny\nseverities:\n  - name: P1\n    cadence:\n      external: {on: [resolved]}\n"
        "      internal:\n        on: [state_change]\n"
    )
    sev = parse_policy_text(text).severity("P1")
    assert sev.cadence["external"].on == ["resolved"]
    assert sev.cadence["internal"].on == ["state_change"]


def test_read_policy_file_reports_the_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: tiny\nseverities:\n  - name: P1\n    sla: {ack: -5m}\n", encoding="utf-8")
    with pytest.raises(PolicyError) as info:
        read_policy_file(bad)
    assert info.value.source == str(bad)
    assert info.value.problems == ["severities.0.sla.ack: '-5m' is negative; durations must be zero or more"]
    assert str(bad) in str(info.value)


def test_non_utf8_file(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(PolicyError) as info:
        read_policy_file(bad)
    assert info.value.problems == ["(file): not UTF-8 text"]


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(PolicyError) as info:
        load_policy("pagerdoodie")
    assert info.value.problems == ["no preset named 'pagerdoodie'; presets: nexus, novavms, nself, so1"]


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError) as info:
        load_policy(str(tmp_path / "nowhere.yaml"))
    assert info.value.problems[0].startswith("no policy file at ")

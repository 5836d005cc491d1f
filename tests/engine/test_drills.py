"""`warroom drill`: every example scenario meets its golden expectations; the CLI and its errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine.conftest import DRILLS, load_yaml
from warroom.drill import report
from warroom.drill.runner import run
from warroom.drill.scenario import ScenarioError, load_scenario, parse_scenario
from warroom.policy import load_policy

EXAMPLES = sorted(DRILLS.glob("*.yaml"))

# What the issue promises for each kind of action in --json output.
REQUIRED = {
    "declared": {"severity"},
    "acknowledged": {"by"},
    "mitigated": set(),
    "resolved": set(),
    "resolve_refused": {"reason", "remaining"},
    "page": {"target", "person", "tier", "channels"},
    "reminder": {"audience", "overdue"},
    "sla_breach": {"clock"},
    "escalation": {"target", "person", "reason"},
    "postmortem_due": {"due_at"},
    "phase_overrun": {"phase"},
    "alert": {"source", "fingerprint", "status", "outcome", "service", "group", "triage"},
}


def test_there_are_examples_for_every_preset() -> None:
    policies = {load_yaml(p)["policy"] for p in EXAMPLES}
    assert policies >= {"nself", "novavms", "nexus", "so1"}


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_meets_its_expectations(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.expect, f"{path.name} must say what it expects"
    result = run(scenario, load_policy(scenario.policy or "nself"))
    problems = report.check(result, scenario.expect, scenario.expect_none)
    assert problems == [], "\n".join(problems)
    # Output is in time order.
    times = [a.at for a in result.actions]
    assert times == sorted(times)


def _drill(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "warroom", "drill", *args],
        env={**os.environ, "COLUMNS": "160", "WARROOM_URL": ""},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_drill_json_lines_carry_the_promised_fields() -> None:
    out = _drill(str(DRILLS / "nself-p0-auth-down.yaml"), "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows and all({"at", "kind", "incident"} <= r.keys() for r in rows)
    for r in rows:
        assert r["at"].endswith("Z")
        missing = REQUIRED.get(r["kind"], set()) - r.keys()
        assert not missing, f"{r['kind']} lacks {missing}"
    assert [datetime.fromisoformat(r["at"].replace("Z", "+00:00")) for r in rows] == sorted(
        datetime.fromisoformat(r["at"].replace("Z", "+00:00")) for r in rows
    )
    first_page = next(r for r in rows if r["kind"] == "page")
    assert first_page | {"text": ""} == {
        "at": "2026-05-07T14:17:00Z",
        "kind": "page",
        "incident": "INC-20260507-0001",
        "target": "primary-on-call",
        "person": "user-a",
        "tier": 1,
        "channels": ["push", "sms"],
        "round": 0,
        "text": "",
    }
    refused = next(r for r in rows if r["kind"] == "resolve_refused")
    assert refused["remaining"] == 300 and "5m00s left" in refused["reason"]


def test_drill_table_and_check(tmp_path: Path) -> None:
    table = _drill(str(DRILLS / "so1-sev1-first-comms.yaml"))
    assert table.returncode == 0, table.stderr
    assert "drill · policy so1" in table.stdout and "resolve_refused" in table.stdout
    assert "96 simulated hours" in table.stdout

    ok = _drill(str(DRILLS / "so1-sev1-first-comms.yaml"), "--json", "--check")
    assert ok.returncode == 0 and "expectations met" in ok.stderr

    data = load_yaml(DRILLS / "nself-p0-auth-down.yaml")
    page = next(e for e in data["expect"] if e["kind"] == "page" and e["tier"] == 2)
    page["person"] = "user-z"
    data["expect_none"] = ["reminder"]
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text(yaml.safe_dump(data), encoding="utf-8")
    bad = _drill(str(wrong), "--check", "--json")
    assert bad.returncode == 1
    assert "wanted page at +5m" in bad.stderr and "person is 'user-b'" in bad.stderr
    assert "expect_none: reminder at +0:10" in bad.stderr


def test_policy_option_overrides_the_scenario(tmp_path: Path) -> None:
    scenario = DRILLS / "nself-p1-nobody-answers.yaml"
    data = load_yaml(_preset_path("nself"))
    data["escalation_policies"]["nself-paging"]["repeat"] = 1
    custom = tmp_path / "nself-repeat.yaml"
    custom.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = _drill(str(scenario), "--policy", str(custom), "--json")
    assert out.returncode == 0, out.stderr
    pages = [json.loads(line) for line in out.stdout.splitlines() if '"kind":"page"' in line]
    assert [(p["tier"], p["round"]) for p in pages] == [(1, 0), (2, 0), (3, 0), (3, 0), (1, 1), (2, 1), (3, 1), (3, 1)]


def _preset_path(name: str) -> Path:
    from warroom.policy.loader import PRESET_DIR

    return PRESET_DIR / f"{name}.yaml"


BASE: dict[str, Any] = {"policy": "nself", "start": "2026-05-07T14:17:00Z", "until": "+1h"}


@pytest.mark.parametrize(
    ("events", "extra", "message"),
    [
        (
            [{"at": "+0m", "declare": {"title": "x", "severity": "P1"}}, {"at": "+2m", "alert": {"source": "generic"}}],
            {},
            "event 2 (alert at +2m): needs a payload",
        ),
        (
            [{"at": "+1m", "alert": {"source": "nagios", "payload": {}}}],
            {},
            "event 1 (alert at +1m): source must be one of alertmanager, grafana",
        ),
        (
            [{"at": "+1m", "alert": {"source": "generic", "payload": {"summary": "x", "sevrity": "P1"}}}],
            {},
            "event 1 (alert at +1m): generic payload: sevrity: is not a field of the generic alert shape",
        ),
        (
            [{"at": "+1m", "alert": {"source": "generic", "payload": {"alerts": []}}}],
            {},
            "event 1 (alert at +1m): generic payload: alerts: is empty",
        ),
        (
            [{"at": "+1m", "alert": {"source": "generic", "payload": {"summary": "x"}, "by": "bob"}}],
            {},
            "event 1 (alert at +1m): unknown field(s) by; an alert has source, payload, headers, ref",
        ),
        (
            [{"at": "+1m", "alert": {"incident": 1, "source": "generic", "payload": {"summary": "x"}}}],
            {},
            "event 1 (alert at +1m): an alert cannot name an incident",
        ),
        ([{"at": "+0m", "page": {"by": "x"}}], {}, "event 1 at +0m: unknown key 'page'"),
        ([{"declare": {"title": "x", "severity": "P1"}}], {}, "event 1: needs 'at'"),
        ([{"at": "+2h", "declare": {"title": "x", "severity": "P1"}}], {}, "is after until (+1h)"),
        ([{"at": "soon", "declare": {"title": "x", "severity": "P1"}}], {}, "must be an offset from start"),
        ([], {"oncall": {"night-owl": "x"}}, "oncall: 'night-owl' matches no target of policy nself"),
    ],
)
def test_bad_scenarios_say_which_event_is_wrong(events: list[Any], extra: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        scenario = parse_scenario({**BASE, **extra, "events": events})
        run(scenario, load_policy("nself"))


def test_events_refer_to_incidents_by_order_or_ref() -> None:
    with pytest.raises(ScenarioError, match=r"event 2 \(ack at \+1m\): incident 3 has not been declared"):
        run(
            parse_scenario(
                {
                    **BASE,
                    "events": [
                        {"at": "+0m", "declare": {"title": "x", "severity": "P1"}},
                        {"at": "+1m", "ack": {"incident": 3, "by": "a"}},
                    ],
                }
            ),
            load_policy("nself"),
        )
    with pytest.raises(ScenarioError, match="no incident has been declared yet"):
        run(parse_scenario({**BASE, "events": [{"at": "+0m", "ack": {"by": "a"}}]}), load_policy("nself"))


def test_the_cli_rejects_a_bad_alert_payload_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "storm.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                **BASE,
                "policy": "so1",
                "events": [{"at": "+0m", "alert": {"source": "alertmanager", "payload": {"status": "firing"}}}],
            }
        ),
        encoding="utf-8",
    )
    out = _drill(str(path))
    assert out.returncode == 2
    assert out.stderr.startswith("warroom: event 1 (alert at +0m): alertmanager payload: alerts:"), out.stderr
    assert "Traceback" not in out.stderr


def test_alert_lines_in_json_output() -> None:
    out = _drill(str(DRILLS / "so1-alert-storm.yaml"), "--json", "--check")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    for r in rows:
        missing = REQUIRED.get(r["kind"], set()) - r.keys()
        assert not missing, f"{r['kind']} lacks {missing}"
    alerts = [r for r in rows if r["kind"] == "alert"]
    assert len(alerts) == 24 and {r["source"] for r in alerts} == {"generic"}
    assert [r["kind"] for r in rows].count("page") == 1 and [r["kind"] for r in rows].count("declared") == 1
    mitigated = next(r for r in rows if r["kind"] == "mitigated")
    assert mitigated["auto"] is True and mitigated["by"] == "integration drill"

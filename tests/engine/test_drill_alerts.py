"""Drill `alert:` events: through the intake pipeline on the simulated clock (SQLite, like every drill)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from warroom.drill.runner import Action, DrillResult, run
from warroom.drill.scenario import ScenarioError, parse_scenario
from warroom.policy import load_policy

START = "2026-03-02T10:00:00Z"
T0 = datetime.fromisoformat(START.replace("Z", "+00:00"))


def drill(policy: str, events: list[dict[str, Any]], until: str = "+1h") -> DrillResult:
    oncall = {"on-call-engineer": "ann", "primary": "ann"} if policy == "so1" else {"primary": "ann", "backup": "bo"}
    spec = {"policy": policy, "start": START, "until": until, "oncall": oncall, "events": events}
    return run(parse_scenario(spec), load_policy(policy))


def alert(service: str, **extra: Any) -> dict[str, Any]:
    return {"summary": f"5xx rate above 5% on {service}", "service": service, "fingerprint": f"{service}-5xx",
            "severity": "critical", **extra}  # fmt: skip


def seconds(a: Action) -> int:
    return int((a.at - T0).total_seconds())


def lines(result: DrillResult, *kinds: str) -> list[tuple[int, str, str | None]]:
    return [(seconds(a), a.kind, a.incident) for a in result.actions if a.kind in kinds]


def test_a_held_group_is_decided_when_the_clock_passes_its_hold() -> None:
    result = drill(
        "so1",
        [
            {"at": "+0m", "alert": {"source": "generic", "payload": alert("api")}},
            {"at": "+0m", "alert": {"source": "generic", "ref": "cache", "payload": alert("cache")}},
            {"at": "+1m", "ack": {"incident": "cache", "by": "ann"}},
            {"at": "+1m", "ack": {"incident": 1, "by": "ann"}},
        ],
    )
    first, second = result.incidents
    assert result.refs == {"cache": second}
    # The second group opened right after the first: held for the storm hold (10 s), then declared on its own.
    assert lines(result, "alert", "declared", "page", "acknowledged") == [
        (0, "alert", first),
        (0, "declared", first),
        (0, "page", first),
        (0, "alert", None),
        (10, "declared", second),
        (10, "page", second),
        (60, "acknowledged", second),
        (60, "acknowledged", first),
    ]
    held = next(a for a in result.actions if a.kind == "alert" and a.fields["service"] == "cache")
    assert held.fields["triage"] == "pending" and "held" in held.text


def test_alerts_of_one_service_join_its_incident_and_unnamed_events_act_on_it() -> None:
    result = drill(
        "nself",
        [
            {"at": "+0m", "alert": {"source": "generic", "payload": alert("billing", severity="P1")}},
            {"at": "+3m", "alert": {"source": "generic", "ref": "b", "payload": alert("billing", fingerprint="b2")}},
            {"at": "+4m", "ack": {"by": "ann"}},
        ],
    )
    (inc,) = result.incidents
    assert result.refs == {"b": inc}
    joined = [a for a in result.actions if a.kind == "alert"][1]
    assert (joined.incident, joined.fields["outcome"], joined.fields["triage"]) == (inc, "new", "incident")
    assert [a.kind for a in result.actions].count("page") == 1
    assert next(a for a in result.actions if a.kind == "acknowledged").fields["by"] == "ann"


def test_an_alert_does_not_change_which_incident_unnamed_events_act_on() -> None:
    result = drill(
        "nself",
        [
            {"at": "+0m", "declare": {"title": "Checkout broken", "severity": "P1", "by": "ann"}},
            {"at": "+1m", "alert": {"source": "generic", "payload": alert("search", severity="P1")}},
            {"at": "+2m", "ack": {"by": "ann"}},
        ],
    )
    declared, by_alert = result.incidents
    assert lines(result, "acknowledged") == [(120, "acknowledged", declared)]
    assert lines(result, "declared") == [(0, "declared", declared), (60, "declared", by_alert)]


def test_resolved_alerts_mitigate_an_alert_declared_incident_and_a_repeat_restarts_the_watch() -> None:
    result = drill(
        "nself",
        [
            {"at": "+0m", "alert": {"source": "generic", "payload": alert("auth", severity="P1")}},
            {"at": "+10m", "alert": {"source": "generic", "payload": alert("auth", severity="P1", status="resolved")}},
            {"at": "+12m", "alert": {"source": "generic", "payload": alert("auth", severity="P1")}},
            {"at": "+14m", "resolve": {"by": "ann"}},
        ],
    )
    (inc,) = result.incidents
    mitigated = next(a for a in result.actions if a.kind == "mitigated")
    assert (seconds(mitigated), mitigated.fields) == (600, {"by": "integration drill", "strategy": None, "auto": True})
    assert "all 1 alerts resolved" in mitigated.text
    # The same fingerprint firing again is a new alert (the old one resolved); it joins the open incident.
    refire = [a for a in result.actions if a.kind == "alert"][2]
    assert (refire.incident, refire.fields["outcome"]) == (inc, "new")
    assert lines(result, "watch_restarted", "resolve_refused") == [
        (720, "watch_restarted", inc),
        (840, "resolve_refused", inc),
    ]
    refused = next(a for a in result.actions if a.kind == "resolve_refused")
    assert refused.fields["remaining"] == 180  # nself P1: 5 minutes quiet from +12m


def test_a_ref_on_an_alert_that_declared_nothing_says_why() -> None:
    with pytest.raises(ScenarioError, match=r"event 2 \(ack at \+1m\): no incident called 'disk': the alerts of event 1"
                       r" \(alert at \+0m\) declared no incident \(triage: none\)"):  # fmt: skip
        drill(
            "nself",
            [
                {"at": "+0m", "alert": {"source": "generic", "ref": "disk",
                                        "payload": {"summary": "disk 60%", "service": "disk", "severity": "info"}}},
                {"at": "+1m", "ack": {"incident": "disk", "by": "ann"}},
            ],
        )  # fmt: skip

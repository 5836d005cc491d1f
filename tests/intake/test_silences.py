"""Silences: time-boxed label matchers; matching alerts are kept but neither declare nor page."""

from __future__ import annotations

import pytest

from tests.intake.conftest import Intake, unique
from warroom.domain.errors import Invalid
from warroom.intake.silences import parse_matcher, parse_matchers


def test_matcher_operators() -> None:
    labels = {"service": "billing", "env": "prod", "alertname": "HighLatency"}
    assert parse_matcher("service=billing", "m").matches(labels)
    assert not parse_matcher("service=auth", "m").matches(labels)
    assert parse_matcher("env!=staging", "m").matches(labels)
    assert not parse_matcher("env!=prod", "m").matches(labels)
    assert parse_matcher('alertname=~"High.*"', "m").matches(labels)
    assert not parse_matcher("alertname=~High", "m").matches(labels), "regexes are anchored, as in Alertmanager"
    assert parse_matcher("alertname!~Low.*", "m").matches(labels)
    assert parse_matcher({"name": "team", "op": "=", "value": ""}, "m").matches(labels), "absent is empty"
    with pytest.raises(Invalid) as bad:
        parse_matcher("service=~(", "matchers.0")
    assert bad.value.field == "matchers.0"
    with pytest.raises(Invalid):
        parse_matchers(["env!=prod"])  # would silence every alert without env=prod
    with pytest.raises(Invalid):
        parse_matchers([])


def test_silenced_alerts_are_stored_but_do_not_declare_or_page(intake: Intake) -> None:
    service = unique("billing")
    silence = intake.call(
        "/api/v1/silences",
        {"matchers": [f"service={service}", "severity=~crit.*"], "duration": "1h", "by": "alice",
         "comment": "planned maintenance"},
        expect=201,
    )  # fmt: skip
    assert silence["active"] and silence["matchers"] == [f'service="{service}"', 'severity=~"crit.*"']
    result = intake.generic(summary="Billing down (maintenance)", service=service, severity="critical")
    alert = result["alerts"][0]
    assert alert["outcome"] == "silenced" and alert["incident_id"] is None and alert["group_id"] is None
    stored = intake.get(f"/api/v1/alerts/{alert['id']}")
    assert stored["silence_id"] == silence["id"] and stored["status"] == "firing"
    warning = intake.generic(summary="Billing slow", service=service, severity="warning")
    assert warning["alerts"][0]["outcome"] == "new", "every matcher must match"
    assert any(s["id"] == silence["id"] for s in intake.get("/api/v1/silences"))

    ended = intake.call(f"/api/v1/silences/{silence['id']}/expire", {"by": "alice"})
    assert ended["active"] is False and ended["expired_by"] == "alice"
    assert all(s["id"] != silence["id"] for s in intake.get("/api/v1/silences"))
    assert any(s["id"] == silence["id"] for s in intake.get("/api/v1/silences", expired="true"))
    again = intake.generic(summary="Billing down (maintenance)", service=service, severity="critical")
    a = again["alerts"][0]
    assert a["id"] == alert["id"] and a["outcome"] == "repeat"
    assert a["incident_id"], "once the silence ends, the still-firing alert is triaged and declares"


def test_silence_needs_a_time_box_and_valid_matchers(intake: Intake) -> None:
    resp = intake.http.post("/api/v1/silences", json={"matchers": ["service=x"], "by": "a"})
    assert resp.status_code == 422 and resp.json()["field"] == "duration"
    resp = intake.http.post("/api/v1/silences", json={"matchers": ["service"], "duration": "1h"})
    assert resp.status_code == 422 and resp.json()["field"] == "matchers.0"
    resp = intake.http.post("/api/v1/silences", json={"matchers": ["service=x"], "duration": "1 fortnight"})
    assert resp.status_code == 422 and resp.json()["field"] == "duration"

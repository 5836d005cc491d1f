"""Triage through the real server: confidence, reasons, floors, below-threshold escalation, outcomes,
the runbook, and a human reversing the decision."""

from __future__ import annotations

from tests.intake.conftest import Intake, unique


def group_of(api: Intake, result: dict) -> dict:  # type: ignore[type-arg]
    return api.get(f"/api/v1/alert-groups/{result['alerts'][0]['group_id']}")  # type: ignore[no-any-return]


def test_rules_metric_users_and_labels_with_confidence(ruled: Intake) -> None:
    pool = ruled.generic(summary="5xx spike: connection pool at 100%", service="api", severity="critical")
    g = group_of(ruled, pool)
    assert g["outcome"] == "incident" and g["severity"] == "SEV1" and g["confidence"] >= 85
    kinds = {r["kind"]: r["detail"] for r in g["triage"]["reasons"]}
    assert "rule 'pool-exhausted'" in kinds["rule"] and "connection pool" in kinds["rule"]
    assert "investigation_required" not in ruled.incident(g["incident_id"])["flags"]

    rate = ruled.generic(summary="Error rate high", service="web", metric="error_rate", value=12, threshold="< 1%")
    g = group_of(ruled, rate)
    assert g["severity"] == "SEV1" and g["confidence"] >= 90
    details = " ".join(r["detail"] for r in g["triage"]["reasons"])
    assert "rule 'error-rate'" in details and "value 12 over 5" in details
    assert "12.0x past its threshold < 1%" in details

    users = ruled.generic(summary="Exports failing", service="exports", severity="warning", users_affected=150)
    g = group_of(ruled, users)
    assert g["severity"] == "SEV1"
    assert any(r["kind"] == "users" and "150 users affected" in r["detail"] for r in g["triage"]["reasons"])

    cosmetic = ruled.generic(summary="Logo misaligned", service="site", labels={"team": "design"})
    g = group_of(ruled, cosmetic)
    assert g["severity"] == "SEV4" and g["outcome"] == "ticket" and g["incident_id"] is None


def test_below_threshold_marks_investigation_required_and_records_escalation(so1: Intake) -> None:
    result = so1.generic(summary="Something odd with control-plane", service="control-plane-api")
    g = group_of(so1, result)
    assert g["severity"] == "SEV2" and g["confidence"] < 70
    assert g["triage"]["below_threshold"] is True and g["triage"]["escalate_to"] == ["engineering-lead"]
    inc = so1.incident(g["incident_id"])
    assert inc["flags"].get("investigation_required") is True
    entries = so1.timeline(inc["id"])
    esc = next(e for e in entries if e["kind"] == "triage_escalation")
    assert esc["data"]["escalate_to"] == ["engineering-lead"] and "below 70%" in esc["what"]
    triage = next(e for e in entries if e["kind"] == "triage")
    assert triage["data"]["confidence"] == g["confidence"]

    confident = so1.generic(summary="Error rate 12%", service=unique("api"), severity="critical",
                            metric="error_rate", value=12, threshold="< 1%")  # fmt: skip
    g = group_of(so1, confident)
    assert g["severity"] == "SEV1" and g["confidence"] >= 70 and not g["triage"]["below_threshold"]
    assert "investigation_required" not in so1.incident(g["incident_id"])["flags"]


def test_floor_runbook_and_ticket_only_with_human_override(so1: Intake) -> None:
    health = so1.generic(summary="Health check failing on gateway", service="gateway", severity="warning")
    g = group_of(so1, health)
    assert g["severity"] == "SEV1", "health endpoints down: SEV1 minimum"
    assert any(r["kind"] == "floor" and "health-endpoints-down" in r["detail"] for r in g["triage"]["reasons"])
    assert so1.incident(g["incident_id"])["flags"]["health_endpoints_down"] is True

    pool = so1.generic(summary="Connection pool exhausted: connection timeout after 5000ms", service="db",
                       severity="critical", value=100, threshold="< 90")  # fmt: skip
    g = group_of(so1, pool)
    assert g["runbook"]["runbook"] == "connection-exhaustion"
    assert g["runbook"]["checklist"] == ["Compare the pool configuration with the current load"]
    entry = next(e for e in so1.timeline(g["incident_id"]) if e["kind"] == "runbook")
    assert entry["data"]["checklist"] == g["runbook"]["checklist"] and "connection-exhaustion" in entry["what"]

    info = so1.generic(summary="Button colour off on settings page", service="web-ui", severity="info")
    g = group_of(so1, info)
    assert g["outcome"] == "ticket" and g["severity"] == "SEV4" and g["incident_id"] is None
    declared = so1.call(f"/api/v1/alert-groups/{g['id']}/declare",
                        {"by": "alice", "severity": "SEV3", "reason": "customers complain"})  # fmt: skip
    assert declared["outcome"] == "incident" and declared["decided_by"] == "alice"
    assert declared["history"][-1]["from"] == "ticket" and declared["history"][-1]["to"] == "incident"
    inc = so1.incident(declared["incident_id"])
    assert inc["severity"] == "SEV3" and inc["declared_by"] == "alice"
    assert so1.get(f"/api/v1/alerts/{info['alerts'][0]['id']}")["incident_id"] == inc["id"]
    again = so1.http.post(f"/api/v1/alert-groups/{g['id']}/dismiss", json={"by": "bob"})
    assert again.status_code == 409 and "resolve or close the incident" in again.json()["detail"]

    other = so1.generic(summary="Typo in footer", service="marketing-site", severity="info")
    g = group_of(so1, other)
    dismissed = so1.call(f"/api/v1/alert-groups/{g['id']}/dismiss", {"by": "bob", "reason": "known"})
    assert dismissed["outcome"] == "dismissed" and dismissed["history"][-1]["by"] == "bob"
    listed = so1.get("/api/v1/alert-groups", outcome="dismissed")
    assert [x["id"] for x in listed] == [g["id"]]


def test_informational_alert_is_no_incident_in_nself(intake: Intake) -> None:
    result = intake.generic(summary="Disk 70% full (capacity warning)", service=unique("disk"), severity="info")
    g = group_of(intake, result)
    assert g["severity"] == "P4" and g["outcome"] == "none" and g["incident_id"] is None
    assert result["alerts"][0]["incident_id"] is None


def test_auth_broken_floor_in_nself(intake: Intake) -> None:
    result = intake.generic(summary="Login failing for some users: 502 from auth", service=unique("auth"),
                            severity="warning")  # fmt: skip
    g = group_of(intake, result)
    assert g["severity"] == "P1" and g["triage"]["flags"]["auth_broken"] is True

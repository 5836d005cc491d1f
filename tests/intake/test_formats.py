"""Each sender's realistic payload (written from its public format docs) lands as normalised alerts."""

from __future__ import annotations

import copy
from typing import Any

from tests.intake.conftest import Intake, payload, unique


def stored(intake: Intake, result: dict[str, Any]) -> list[dict[str, Any]]:
    return [intake.get(f"/api/v1/alerts/{a['id']}") for a in result["alerts"]]


def test_alertmanager_webhook_v4(intake: Intake) -> None:
    body = payload("alertmanager")
    service = unique("api")
    for a in body["alerts"]:
        a["labels"]["service"] = service
        a["fingerprint"] = unique("fp")
    result = intake.post("alertmanager", body)
    assert result["accepted"] == 2
    first, second = stored(intake, result)
    assert first["source"] == "alertmanager" and first["status"] == "firing"
    assert first["service"] == service
    assert first["summary"] == "5xx error rate 12% on api-1"
    assert first["severity_hint"] == "critical"
    assert first["metric"] == "error_rate" and first["value"] == 12.0 and first["threshold"] == "< 1%"
    assert first["labels"]["instance"] == "api-1:8080"
    assert first["starts_at"] == "2026-05-07T14:12:30.123456Z"
    assert first["ends_at"] is None, "Go's zero time means no end"
    assert {link["text"] for link in first["links"]} >= {"source", "runbook", "alertmanager"}
    assert first["raw"]["alert"]["fingerprint"] == body["alerts"][0]["fingerprint"]
    assert first["raw"]["groupKey"] == body["groupKey"]
    assert first["group_id"] == second["group_id"], "same service: one group"
    assert first["incident_id"] and first["incident_id"] == second["incident_id"]


def test_grafana_unified_alerting(intake: Intake) -> None:
    body = payload("grafana")
    body["alerts"][0]["labels"]["service"] = service = unique("billing")
    body["alerts"][0]["fingerprint"] = unique("fp")
    (alert,) = stored(intake, intake.post("grafana", body))
    assert alert["source"] == "grafana" and alert["service"] == service
    assert alert["summary"] == "Memory at 93% on billing-worker (gradual degradation)"
    assert alert["value"] == 93.1 and alert["metric"] == "B"
    assert alert["severity_hint"] == "warning"
    assert {"dashboard", "panel", "silence", "runbook"} <= {link["text"] for link in alert["links"]}
    assert alert["raw"]["alert"]["valueString"].startswith("[ var='B'")


def test_datadog_webhook(intake: Intake) -> None:
    body = payload("datadog")
    service = unique("checkout")
    body["tags"] = body["tags"].replace("service:checkout", f"service:{service}")
    body["alert_cycle_key"] = unique("cycle")
    (alert,) = stored(intake, intake.post("datadog", body))
    assert alert["source"] == "datadog" and alert["status"] == "firing"
    assert alert["service"] == service
    assert alert["summary"] == "Checkout latency p99 above 2s"
    assert alert["severity_hint"] == "error", "Datadog P2 reads as error"
    assert alert["labels"]["team"] == "payments" and alert["labels"]["env"] == "prod"
    assert alert["metric"] == "trace.http.request.duration.by.service.99p"
    assert alert["value"] == 4.2 and alert["threshold"] == "2"
    assert alert["starts_at"] == "2026-05-07T14:17:00Z"
    recovered = copy.deepcopy(body)
    recovered["alert_transition"] = "Recovered"
    recovered["title"] = "[Recovered on {service:checkout}] Checkout latency p99 above 2s"
    result = intake.post("datadog", recovered)
    assert result["alerts"][0]["outcome"] == "resolved" and result["alerts"][0]["id"] == alert["id"]


def test_sentry_issue_alert_and_metric_alert(intake: Intake) -> None:
    body = payload("sentry_event_alert")
    body["data"]["event"]["issue_id"] = issue = unique("")
    tags = body["data"]["event"]["tags"]
    tags[[t[0] for t in tags].index("service")][1] = service = unique("auth")
    (alert,) = stored(intake, intake.post("sentry", body, headers={"Sentry-Hook-Resource": "event_alert"}))
    assert alert["fingerprint"] == f"issue:{issue}" and alert["service"] == service
    assert alert["summary"].startswith("OperationalError: login failed")
    assert alert["severity_hint"] == "error" and alert["labels"]["environment"] == "production"
    assert alert["labels"]["sentry_rule"] == "Auth errors in production"
    assert alert["links"][0]["href"].startswith("https://sentry.io/organizations/example/issues/")

    metric = payload("sentry_metric_alert")
    metric["data"]["metric_alert"]["id"] = unique("m")
    (m,) = stored(intake, intake.post("sentry", metric, headers={"Sentry-Hook-Resource": "metric_alert"}))
    assert m["status"] == "firing" and m["severity_hint"] == "critical" and m["metric"] == "count()"
    metric["action"] = "resolved"
    result = intake.post("sentry", metric, headers={"Sentry-Hook-Resource": "metric_alert"})
    assert result["alerts"][0]["outcome"] == "resolved"


def test_pagerduty_events_v2(intake: Intake) -> None:
    body = payload("pagerduty_trigger")
    body["payload"]["custom_details"]["service"] = service = unique("cp")
    body["dedup_key"] = key = unique("dedup")
    (alert,) = stored(intake, intake.post("pagerduty-events-v2", body))
    assert alert["fingerprint"] == key and alert["service"] == service
    assert alert["severity_hint"] == "critical" and alert["labels"]["component"] == "database"
    assert alert["value"] == 100.0 and alert["threshold"] == "< 90%"
    assert alert["details"]["users"] == 150
    assert alert["raw"]["routing_key"] == "[redacted]", "a routing key is a secret; it is never stored"
    ack = {"routing_key": "x", "event_action": "acknowledge", "dedup_key": key}
    assert intake.post("pagerduty-events-v2", ack)["alerts"][0]["outcome"] == "acknowledged"
    resolve = {"routing_key": "x", "event_action": "resolve", "dedup_key": key}
    assert intake.post("pagerduty-events-v2", resolve)["alerts"][0]["outcome"] == "resolved"
    assert intake.get(f"/api/v1/alerts/{alert['id']}")["status"] == "resolved"


def test_pagerduty_routing_key_is_a_secret(intake: Intake) -> None:
    body = payload("pagerduty_trigger")
    body["routing_key"] = intake.tokens["pagerduty-events-v2"]
    body["dedup_key"] = unique("dedup")
    resp = intake.http.post("/api/v1/alerts/pagerduty-events-v2", json=body)
    assert resp.status_code == 202, resp.text
    assert resp.json()["dedup_key"] == body["dedup_key"], "PagerDuty's own answer names the dedup key"
    body["routing_key"] = "not-a-secret-we-know"
    resp = intake.http.post("/api/v1/alerts/pagerduty-events-v2", json=body)
    assert resp.status_code == 401


def test_generic_shape(intake: Intake) -> None:
    body = payload("generic")
    body["alerts"][0]["service"] = service = unique("pg")
    body["alerts"][0]["fingerprint"] = unique("fp")
    (alert,) = stored(intake, intake.post("generic", body))
    assert alert["service"] == service and alert["severity_hint"] == "error"
    assert alert["labels"] == {"env": "production", "cron": "backup-nightly", "attempt": "3"}
    assert alert["value"] == 30.0 and alert["threshold"] == "26" and alert["metric"] == "backup_age_hours"
    assert [link["href"] for link in alert["links"]][1] == "https://runbooks.example.com/backup"
    single = intake.generic(summary="One alert on its own", service=service)
    assert single["accepted"] == 1

"""An alert storm (SO1: 10+ alerts within the window) becomes one incident with one page."""

from __future__ import annotations

import time

from tests.intake.conftest import Intake


def test_storm_across_services_is_one_incident_and_one_page(so1_storm: Intake) -> None:
    api = so1_storm
    services = [f"svc-{i}" for i in range(6)]
    results = []
    for i in range(12):
        results.append(
            api.generic(
                summary=f"5xx above threshold on {services[i % 6]}",
                service=services[i % 6],
                fingerprint=f"storm-{i}",
                severity="critical",
                metric="error_rate",
                value=12,
                threshold="< 1%",
            )
        )
    first = results[0]["alerts"][0]["incident_id"]
    assert first, "the first alert declares at once"
    time.sleep(2.5)  # past the hold: nothing held may declare on its own
    incidents = api.get("/api/v1/incidents", status="all")
    assert [i["id"] for i in incidents] == [first]
    summary = api.get(f"/api/v1/incidents/{first}/alerts")
    assert summary["alert_count"] == 12 and summary["services"] == sorted(services)
    assert any(g["storm"] for g in summary["groups"])
    inc = api.incident(first)
    assert inc["impact"]["alert_count"] == 12 and len(inc["impact"]["services"]) == 6
    assert any(e["kind"] == "alert_storm" for e in api.timeline(first))
    pages = api.wait(lambda: api.pages(first))
    time.sleep(0.5)
    assert len(api.pages(first)) == len(pages) == 1, "one page for tier 1, not one per alert"
    later = api.generic(summary="5xx on svc-9", service="svc-9", severity="critical", fingerprint="storm-late")
    assert later["alerts"][0]["incident_id"] == first, "alerts during the storm attach without paging"
    assert len(api.pages(first)) == 1


def test_groups_opened_close_together_without_a_storm_each_declare_after_the_hold(so1_storm: Intake) -> None:
    api = so1_storm
    a = api.generic(summary="Queue backlog", service="queue", severity="critical", value=50, threshold="10")
    b = api.generic(summary="Cache misses", service="cache", severity="critical", value=50, threshold="10")
    assert a["alerts"][0]["incident_id"] and b["alerts"][0]["incident_id"] is None
    held = api.get(f"/api/v1/alert-groups/{b['alerts'][0]['group_id']}")
    assert held["outcome"] == "pending" and held["hold_until"]
    released = api.wait(lambda: api.get(f"/api/v1/alerts/{b['alerts'][0]['id']}")["incident_id"], timeout=8)
    assert released != a["alerts"][0]["incident_id"]
    assert api.get(f"/api/v1/alert-groups/{held['id']}")["outcome"] == "incident"

"""Deduplication, grouping into one incident, auto-resolve and re-fire, through the real server."""

from __future__ import annotations

from tests.intake.conftest import Intake, unique


def test_repeat_while_firing_counts_and_resolved_closes(intake: Intake) -> None:
    service, fp = unique(), unique("fp")
    first = intake.generic(summary="Queue depth high", service=service, fingerprint=fp, severity="warning")
    again = intake.generic(summary="Queue depth high", service=service, fingerprint=fp, severity="warning")
    a1, a2 = first["alerts"][0], again["alerts"][0]
    assert a1["outcome"] == "new" and a2["outcome"] == "repeat" and a1["id"] == a2["id"]
    alert = intake.get(f"/api/v1/alerts/{a1['id']}")
    assert alert["count"] == 2 and alert["last_seen"] > alert["first_seen"]
    assert len(intake.get("/api/v1/alerts", service=service)) == 1
    done = intake.generic(summary="Queue depth high", service=service, fingerprint=fp, status="resolved")
    assert done["alerts"][0]["outcome"] == "resolved" and done["alerts"][0]["id"] == a1["id"]
    closed = intake.get(f"/api/v1/alerts/{a1['id']}")
    assert closed["status"] == "resolved" and closed["resolved_at"]
    refired = intake.generic(summary="Queue depth high", service=service, fingerprint=fp, severity="warning")
    assert refired["alerts"][0]["outcome"] == "new" and refired["alerts"][0]["id"] != a1["id"]


def test_same_service_groups_into_one_incident_other_service_apart(intake: Intake) -> None:
    service, other = unique("api"), unique("db")
    a = intake.generic(summary="API 5xx above 5%", service=service, severity="critical")["alerts"][0]
    b = intake.generic(summary="API latency p99 4s", service=service, severity="critical")["alerts"][0]
    c = intake.generic(summary="Replica lag 10 min", service=other, severity="critical")["alerts"][0]
    assert a["group_id"] == b["group_id"] and a["incident_id"] == b["incident_id"]
    assert c["group_id"] != a["group_id"] and c["incident_id"] != a["incident_id"]
    inc = intake.incident(a["incident_id"])
    assert inc["source"] == "alert" and inc["severity"] == "P1" and inc["service"] == service
    assert inc["impact"]["alert_count"] == 2 and inc["impact"]["services"] == [service]
    summary = intake.get(f"/api/v1/incidents/{a['incident_id']}/alerts")
    assert summary["alert_count"] == 2 and summary["firing"] == 2 and summary["services"] == [service]
    pages = intake.wait(lambda: intake.pages(a["incident_id"]))
    assert len(pages) == 1, "the second alert joins the incident without paging again"


def test_all_alerts_resolved_mitigates_and_refire_restarts_the_watch(intake: Intake) -> None:
    service = unique("auth")
    fps = [unique("fp"), unique("fp")]
    for fp in fps:
        result = intake.generic(summary="Checkout errors", service=service, fingerprint=fp, severity="critical")
    iid = result["alerts"][0]["incident_id"]
    intake.generic(summary="Checkout errors", service=service, fingerprint=fps[0], status="resolved")
    assert intake.incident(iid)["status"] == "triggered", "one alert still firing"
    intake.generic(summary="Checkout errors", service=service, fingerprint=fps[1], status="resolved")
    inc = intake.incident(iid)
    assert inc["status"] == "mitigated" and inc["watch_started_at"]
    watch_from = inc["watch_started_at"]
    again = intake.generic(summary="Checkout errors", service=service, fingerprint=fps[0], severity="critical")
    assert again["alerts"][0]["incident_id"] == iid, "a re-fire joins the open incident"
    inc = intake.incident(iid)
    assert inc["watch_started_at"] > watch_from
    kinds = [e["kind"] for e in intake.timeline(iid)]
    assert "watch_restarted" in kinds
    assert intake.get(f"/api/v1/incidents/{iid}/alerts")["firing"] == 1


def test_manual_incidents_are_not_auto_resolved(intake: Intake) -> None:
    """Only incidents that alerts declared are mitigated by their alerts resolving."""
    service = unique("web")
    result = intake.generic(summary="Web 5xx", service=service, severity="critical", fingerprint=unique())
    iid = result["alerts"][0]["incident_id"]
    sender = intake.get(f"/api/v1/intake/requests/{result['request']}")["integration"]
    assert sender.startswith("generic-"), "the integration the test made, by its name"
    assert intake.incident(iid)["declared_by"] == f"integration {sender}", "the integration whose alert declared it"


def test_batched_requests_all_commit(intake: Intake) -> None:
    """Concurrent requests are committed together (group commit) and every one is answered after commit."""
    import concurrent.futures

    service = unique("batch")

    def send(i: int) -> dict[str, object]:
        return intake.generic(summary=f"disk {i} full", service=service, fingerprint=f"{service}-{i}")

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(send, range(64)))
    ids = {r["alerts"][0]["id"] for r in results}  # type: ignore[index]
    assert len(ids) == 64
    assert len(intake.get("/api/v1/alerts", service=service, limit=1000)) == 64
    stats = intake.get("/api/v1/intake")
    assert stats["batches"] >= 1 and stats["alerts"] >= 64


def test_a_more_severe_alert_raises_the_incident_it_joins(intake: Intake) -> None:
    """A worse alert joining a declared group raises the incident; more of the same never overrules a human."""
    service = unique("checkout")
    first = intake.generic(summary="Checkout latency p99 above 2s", service=service, severity="warning")["alerts"][0]
    iid = first["incident_id"]
    assert intake.incident(iid)["severity"] == "P3"
    same = intake.generic(summary="Checkout latency p99 above 2s", service=service, severity="warning")["alerts"][0]
    assert same["incident_id"] == iid and intake.incident(iid)["severity"] == "P3", "as severe: no change"

    sent = intake.generic(summary="Checkout errors 100%", service=service, severity="critical")
    worse = sent["alerts"][0]
    sender = intake.get(f"/api/v1/intake/requests/{sent['request']}")["integration"]
    assert worse["incident_id"] == iid, "it joins the same incident"
    inc = intake.incident(iid)
    assert inc["severity"] == "P1"
    raised = [e for e in intake.timeline(iid) if e["kind"] == "severity_changed"]
    assert len(raised) == 1 and raised[0]["actor"] == f"integration {sender}"
    assert raised[0]["what"] == "Severity raised P3 → P1"
    assert f"alert group {first['group_id']}" in raised[0]["outcome"] and "critical" in raised[0]["outcome"]

    resp = intake.http.post(f"/api/v1/incidents/{iid}/severity",
                            json={"severity": "P2", "by": "user-a", "reason": "only one region"})  # fmt: skip
    assert resp.status_code == 200, resp.text
    again = intake.generic(summary="Checkout errors 100%", service=service, severity="critical")["alerts"][0]
    assert again["incident_id"] == iid
    assert intake.incident(iid)["severity"] == "P2", "the commander's call stands against more of the same"
    assert len([e for e in intake.timeline(iid) if e["kind"] == "severity_changed"]) == 2


def test_an_alert_for_a_service_with_an_open_incident_joins_it(intake: Intake) -> None:
    """An incident declared by hand for a service takes that service's new alerts: no second incident, no page."""
    service = unique("search")
    resp = intake.http.post("/api/v1/incidents", json={"severity": "P1", "title": "Search is slow",
                                                       "service": service, "by": "user-a"})  # fmt: skip
    assert resp.status_code == 201, resp.text
    iid = resp.json()["id"]
    intake.http.post(f"/api/v1/incidents/{iid}/ack", json={"by": "user-a"}).raise_for_status()
    intake.http.post(f"/api/v1/incidents/{iid}/mitigations",
                     json={"strategy": "rollback", "worked": True, "by": "user-a"}).raise_for_status()  # fmt: skip
    watch_from = intake.incident(iid)["watch_started_at"]
    pages_before = len(intake.pages(iid))

    fp = unique("fp")
    joined = intake.generic(summary="Search p99 above 3s", service=service, fingerprint=fp, severity="critical")
    alert = joined["alerts"][0]
    assert alert["incident_id"] == iid, "the alert joins the open incident instead of declaring another"
    inc = intake.incident(iid)
    assert inc["status"] == "mitigated" and inc["watch_started_at"] > watch_from, "the quiet window restarts"
    kinds = [e["kind"] for e in intake.timeline(iid)]
    assert "alerts_joined" in kinds and "watch_restarted" in kinds
    assert len(intake.pages(iid)) == pages_before, "joining pages no one"
    group = intake.get(f"/api/v1/alert-groups/{alert['group_id']}")
    assert group["outcome"] == "incident" and group["incident_id"] == iid

    done = intake.generic(summary="Search p99 above 3s", service=service, fingerprint=fp, status="resolved")
    assert done["alerts"][0]["outcome"] == "resolved"
    assert intake.incident(iid)["status"] == "mitigated", "a human's incident is not moved by its alerts resolving"


def test_a_human_links_an_alert_group_to_an_open_incident(intake: Intake) -> None:
    """The same outage paged twice: link the second incident's alerts to the first, whose watch they restart."""
    first_service, second_service = unique("pay"), unique("ledger")
    a = intake.generic(summary="Payments 5xx", service=first_service, severity="critical", fingerprint=unique())
    b = intake.generic(summary="Ledger writes failing", service=second_service, severity="critical",
                       fingerprint=unique())["alerts"][0]  # fmt: skip
    main, duplicate = a["alerts"][0]["incident_id"], b["incident_id"]
    assert main != duplicate
    intake.http.post(f"/api/v1/incidents/{main}/ack", json={"by": "user-a"}).raise_for_status()
    intake.http.post(f"/api/v1/incidents/{main}/mitigations",
                     json={"strategy": "rollback", "worked": True, "by": "user-a"}).raise_for_status()  # fmt: skip
    watch_from = intake.incident(main)["watch_started_at"]

    resp = intake.http.post(f"/api/v1/alert-groups/{b['group_id']}/link",
                            json={"incident_id": main, "by": "user-a", "reason": "one database"})  # fmt: skip
    assert resp.status_code == 200, resp.text
    group = resp.json()
    assert group["incident_id"] == main and group["history"][-1]["by"] == "user-a"
    assert intake.get(f"/api/v1/alerts/{b['id']}")["incident_id"] == main
    inc = intake.incident(main)
    assert inc["impact"]["alert_count"] == 2 and second_service in inc["impact"]["services"]
    assert inc["watch_started_at"] > watch_from, "a firing alert restarts the quiet window"
    joined = [e for e in intake.timeline(main) if e["kind"] == "alerts_joined"]
    assert joined and joined[-1]["actor"] == "user-a" and joined[-1]["outcome"] == "one database"
    assert [e["kind"] for e in intake.timeline(duplicate)][-1] == "alerts_moved"
    later = intake.generic(summary="Ledger writes failing", service=second_service, severity="critical",
                           fingerprint=unique())["alerts"][0]  # fmt: skip
    assert later["incident_id"] == main, "the group's later alerts join the linked incident"

    again = intake.http.post(f"/api/v1/alert-groups/{b['group_id']}/link", json={"incident_id": main, "by": "x"})
    assert again.status_code == 409 and "already part of" in again.json()["detail"]
    missing = intake.http.post(f"/api/v1/alert-groups/{b['group_id']}/link",
                               json={"incident_id": "INC-20990101-0001", "by": "x"})  # fmt: skip
    assert missing.status_code == 404 and missing.json()["field"] == "incident_id"
    bad = intake.http.post(f"/api/v1/alert-groups/{b['group_id']}/link", json={"by": "x"})
    assert bad.status_code == 422 and bad.json()["field"] == "incident_id"

"""Every incident behaviour through the HTTP API of a real `warroom serve`, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx

PROBLEM = "application/problem+json"


def declare(api: httpx.Client, **body: Any) -> dict[str, Any]:
    payload = {"severity": "P1", "title": "Billing webhooks failing", "service": "billing", "by": "monitor", **body}
    resp = api.post("/api/v1/incidents", json=payload)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def post(api: httpx.Client, path: str, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    resp = api.post(path, json=body)
    assert resp.status_code == status, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_healthz_reports_database_and_policy(api: httpx.Client) -> None:
    body = api.get("/healthz").json()
    # Nobody is on call on this server, so it says paging would reach nobody (degraded, still 200).
    assert body["status"] == "degraded" and body["paging"] == "nobody is on call for nself-primary"
    assert body["database"]["ok"] is True
    assert body["policy"] == "nself"
    assert "engine" in body


def test_tour_declare_ack_roles_hypothesis_update_mitigate_resolve(api: httpx.Client) -> None:
    inc = declare(api, severity="SEV2", title="Checkout fails for one customer")
    iid = inc["id"]
    assert inc["severity"] == "P1" and inc["status"] == "triggered"
    assert iid.startswith("INC-") and len(iid) == len("INC-20260507-0001")
    assert {c["name"] for c in inc["clocks"]} == {"ack", "mitigate", "resolve"}
    assert inc["clocks"][0]["deadline"].endswith("Z")

    acked = post(api, f"/api/v1/incidents/{iid}/ack", {"by": "bob"})
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "bob"
    second = api.post(f"/api/v1/incidents/{iid}/ack", json={"by": "carol"})
    assert second.status_code == 409
    assert second.headers["content-type"].startswith(PROBLEM)
    assert "already acknowledged by bob" in second.json()["detail"]

    roles = api.put(f"/api/v1/incidents/{iid}/roles/technical-lead", json={"person": "carol", "by": "bob"})
    assert roles.status_code == 200
    assert next(r for r in roles.json()["roles"] if r["role"] == "technical-lead")["person"] == "carol"

    hyp = post(
        api,
        f"/api/v1/incidents/{iid}/hypotheses",
        {"text": "Signature check broke in last deploy", "evidence": "401s", "confidence": 75, "by": "bob"},
        201,
    )
    assert hyp["hypotheses"][0]["number"] == 1
    upd = post(
        api,
        f"/api/v1/incidents/{iid}/updates",
        {"audience": "internal", "text": "Rolling back", "next": "watch errors", "by": "bob"},
        201,
    )
    assert upd["number"] == 1 and upd["audience"] == "internal"

    mitigated = post(api, f"/api/v1/incidents/{iid}/mitigations", {"strategy": "rollback", "worked": True, "by": "bob"})
    assert mitigated["status"] == "mitigated" and mitigated["watch_started_at"]
    refused = api.post(f"/api/v1/incidents/{iid}/resolve", json={"by": "bob"})
    assert refused.status_code == 409 and "left" in refused.json()["detail"]
    forced = post(api, f"/api/v1/incidents/{iid}/resolve", {"by": "bob", "force": True, "reason": "verified by hand"})
    assert forced["status"] == "resolved" and forced["postmortem_due_at"]

    timeline = api.get(f"/api/v1/incidents/{iid}/timeline").json()
    kinds = [e["kind"] for e in timeline]
    for kind in ("declared", "acknowledged", "role", "hypothesis", "update", "mitigation", "status", "resolved"):
        assert kind in kinds
    assert [e["id"] for e in timeline] == sorted(e["id"] for e in timeline)

    brief = api.get(f"/api/v1/incidents/{iid}/brief")
    assert brief.status_code == 200 and "Signature check broke" in brief.text

    illegal = api.post(f"/api/v1/incidents/{iid}/status", json={"status": "investigating", "by": "bob"})
    assert illegal.status_code == 409 and "reopen it first" in illegal.json()["detail"]
    reopened = post(api, f"/api/v1/incidents/{iid}/reopen", {"by": "bob", "reason": "errors back"})
    assert reopened["status"] == "investigating"


def test_flag_floor_impact_and_severity(api: httpx.Client) -> None:
    iid = declare(api, severity="P2", title="Settings page slow")["id"]
    raised = post(api, f"/api/v1/incidents/{iid}/flags", {"flags": {"credential_exposed": True}, "by": "alice"})
    assert raised["severity"] == "P0"
    below = api.post(f"/api/v1/incidents/{iid}/severity", json={"severity": "P2", "by": "alice"})
    assert below.status_code == 409 and "floor rule" in below.json()["detail"]
    impact = post(
        api,
        f"/api/v1/incidents/{iid}/impact",
        {"users_affected": 1200, "state": "degraded", "customer_facing": True, "by": "alice"},
    )
    assert impact["impact"]["users_affected"] == 1200 and impact["flags"]["customer_facing"] is True
    decision = post(api, f"/api/v1/incidents/{iid}/decision", {"path": "dig_first", "reason": "keep logs", "by": "a"})
    assert decision["decision"]["checklist"]


def test_log_is_append_only_with_corrections(api: httpx.Client) -> None:
    iid = declare(api)["id"]
    first = post(api, f"/api/v1/incidents/{iid}/timeline", {"what": "Restarted Hasura", "outcome": "clearing"}, 201)
    fix = post(api, f"/api/v1/incidents/{iid}/timeline", {"what": "It was Postgres", "corrects": first["id"]}, 201)
    assert fix["corrects"] == first["id"]
    assert api.delete(f"/api/v1/incidents/{iid}/timeline").status_code == 405
    assert api.put(f"/api/v1/incidents/{iid}/timeline", json={}).status_code == 405


def test_listing_filters(api: httpx.Client) -> None:
    marker = "zebra-unique-text"
    iid = declare(api, severity="P0", title=f"Search down {marker}", service="search-svc")["id"]
    found = api.get("/api/v1/incidents", params={"q": marker, "severity": "SEV1", "service": "search-svc"}).json()
    assert [r["id"] for r in found] == [iid]
    assert found[0]["next_deadline"]["name"] == "ack"
    bad = api.get("/api/v1/incidents", params={"status": "sleeping"})
    assert bad.status_code == 422 and bad.json()["field"] == "status"


def _count(api: httpx.Client) -> int:
    return len(api.get("/api/v1/incidents", params={"status": "all", "limit": 1000}).json())


def test_bad_input_is_a_clear_4xx_and_stores_nothing(api: httpx.Client) -> None:
    before = _count(api)
    cases: list[tuple[Any, int, str]] = [
        ({"severity": "P9", "title": "x"}, 422, "severity"),
        ({"severity": "P1", "title": ""}, 422, "title"),
        ({"severity": "P1", "title": "   "}, 422, "title"),
        ({"severity": "P1", "title": "beep\x07beep"}, 422, "title"),
        ({"severity": "P1"}, 422, "title"),
        ({"severity": "P1", "title": 12}, 422, "title"),
        ({"severity": "P1", "title": "ok", "surprise": 1}, 422, "surprise"),
    ]
    for body, status, field in cases:
        resp = api.post("/api/v1/incidents", json=body)
        assert resp.status_code == status, (body, resp.text)
        assert resp.headers["content-type"].startswith(PROBLEM)
        assert resp.json()["field"] == field, resp.json()
        assert resp.json()["detail"]
    huge = api.post("/api/v1/incidents", json={"severity": "P1", "title": "x" * 10_000_000})
    assert huge.status_code == 413 and huge.headers["content-type"].startswith(PROBLEM)
    garbage = api.post("/api/v1/incidents", content=b"{not json", headers={"content-type": "application/json"})
    assert garbage.status_code == 400  # not JSON at all, as for the webhooks (README: input rules)
    missing = api.post("/api/v1/incidents/INC-20990101-0001/ack", json={"by": "bob"})
    assert missing.status_code == 404 and missing.json()["field"] == "incident_id"
    assert _count(api) == before


def test_openapi_documents_every_route_with_examples(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/incidents",
        "/api/v1/incidents/{incident_id}/ack",
        "/api/v1/incidents/{incident_id}/resolve",
        "/api/v1/incidents/{incident_id}/timeline",
        "/api/v1/incidents/{incident_id}/roles/{role}",
    ):
        assert path in paths
    assert spec["components"]["schemas"]["DeclareRequest"]["examples"]


def test_drafts_render_and_post_through_the_api(api: httpx.Client) -> None:
    iid = declare(api, severity="P0", title="Auth down for all users")["id"]
    ack = api.get(f"/api/v1/incidents/{iid}/drafts/ack", params={"by": "alice"})
    assert ack.status_code == 200 and ack.json()["text"].startswith(":ack: P0 ack — ")
    # nself's P0 status page is posted on detection: no impact_confirmed flag to wait for.
    posted = post(api, f"/api/v1/incidents/{iid}/drafts/status_investigating", {"by": "alice"}, 201)
    assert posted["audience"] == "external" and posted["text"].startswith("[Investigating]")
    unknown = api.get(f"/api/v1/incidents/{iid}/drafts/limerick")
    assert unknown.status_code == 422 and unknown.json()["field"] == "kind"

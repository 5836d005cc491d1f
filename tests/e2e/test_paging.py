"""Cursor paging of the API's long lists (incidents, timeline, alerts, alert groups, audit) and of the web lists,
on a real `warroom serve`, SQLite and PostgreSQL: the body stays a list, `Link: <...>; rel="next"` continues."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import httpx

from tests.conftest import START, Server, make_context
from warroom.domain.clock import FakeClock
from warroom.intake import integrations


def _pages(api: httpx.Client, path: str, params: dict[str, Any]) -> tuple[list[list[Any]], list[str]]:
    """Every page of a list, following Link: next; and the links followed."""
    pages, links = [], []
    resp = api.get(path, params=params)
    while True:
        assert resp.status_code == 200, resp.text
        pages.append(resp.json())
        following = resp.links.get("next", {}).get("url")
        if not following:
            return pages, links
        links.append(following)
        assert following.startswith(path + "?")
        resp = api.get(following)


def test_incidents_page_by_cursor_in_severity_then_age_order(api: httpx.Client) -> None:
    marker = uuid.uuid4().hex[:10]
    made = []
    for sev in ("P3", "P1", "P2", "P1", "P4"):
        resp = api.post("/api/v1/incidents", json={"severity": sev, "title": f"paging {marker} {sev}", "by": "ann"})
        assert resp.status_code == 201, resp.text
        made.append(resp.json()["id"])
    whole = api.get("/api/v1/incidents", params={"q": marker, "status": "all"})
    assert "link" not in whole.headers  # fits one page: exactly the answer an old client always had
    everything = [i["id"] for i in whole.json()]
    assert sorted(everything) == sorted(made)
    assert [i["severity"] for i in whole.json()] == ["P1", "P1", "P2", "P3", "P4"]

    pages, links = _pages(api, "/api/v1/incidents", {"q": marker, "status": "all", "limit": 2})
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i["id"] for p in pages for i in p] == everything
    assert all("q=" + marker in link and "limit=2" in link for link in links)

    # A change between pages neither repeats nor drops a row of the ones already shown.
    first = api.get("/api/v1/incidents", params={"q": marker, "status": "all", "limit": 2})
    api.post(
        "/api/v1/incidents", json={"severity": "P0", "title": f"paging {marker} late P0", "by": "ann"}
    ).raise_for_status()
    rest = api.get(first.links["next"]["url"]).json()
    assert [i["id"] for i in rest] == everything[2:4]


def test_a_bad_cursor_is_a_problem_naming_it(api: httpx.Client) -> None:
    tampered = base64.urlsafe_b64encode(b'["incidents", 1, "yesterday", "INC-1"]').decode()
    other_list = base64.urlsafe_b64encode(b'["alerts", 12]').decode().rstrip("=")
    for path, cursor in [
        ("/api/v1/incidents", "not a cursor"),
        ("/api/v1/incidents", tampered),
        ("/api/v1/incidents", other_list),
        ("/api/v1/incidents", "x" * 2000),
        ("/api/v1/alerts", "%%%"),
        ("/api/v1/alerts", base64.urlsafe_b64encode(b'["alerts", -1]').decode()),
        ("/api/v1/alert-groups", other_list),
        ("/api/v1/audit", base64.urlsafe_b64encode(b'["audit", 1e400]').decode()),
    ]:
        resp = api.get(path, params={"cursor": cursor})
        assert resp.status_code == 422, (path, cursor, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["field"] == "cursor", resp.json()
    iid = api.post("/api/v1/incidents", json={"severity": "P3", "title": "timeline cursor", "by": "ann"}).json()["id"]
    resp = api.get(f"/api/v1/incidents/{iid}/timeline", params={"cursor": other_list})
    assert resp.status_code == 422 and resp.json()["field"] == "cursor"


def test_timeline_and_audit_page_by_cursor(api: httpx.Client) -> None:
    iid = api.post("/api/v1/incidents", json={"severity": "P3", "title": "long timeline", "by": "ann"}).json()["id"]
    for n in range(5):
        api.post(f"/api/v1/incidents/{iid}/timeline", json={"what": f"entry {n}", "by": "ann"}).raise_for_status()
    whole = api.get(f"/api/v1/incidents/{iid}/timeline").json()
    pages, _ = _pages(api, f"/api/v1/incidents/{iid}/timeline", {"limit": 2})
    assert [e["id"] for p in pages for e in p] == [e["id"] for e in whole]
    assert all(len(p) <= 2 for p in pages) and len(pages) >= 3

    who = f"auditor-{uuid.uuid4().hex[:6]}"
    for n in range(3):
        api.post(f"/api/v1/incidents/{iid}/timeline", json={"what": f"by {who} {n}", "by": who}).raise_for_status()
    audit = api.get("/api/v1/audit", params={"who": who}).json()
    assert len(audit) >= 3
    pages, _ = _pages(api, "/api/v1/audit", {"who": who, "limit": 1})
    assert [e["id"] for p in pages for e in p] == [e["id"] for e in audit]


def test_alerts_and_groups_page_newest_first(server: Server, api: httpx.Client) -> None:
    ctx = make_context(server.db_url, "nself", FakeClock(START))
    try:
        token = integrations.add(ctx, "generic", f"paging-{uuid.uuid4().hex[:6]}", "tests").token
    finally:
        ctx.db.dispose()
    source = uuid.uuid4().hex[:8]
    for n in range(3):
        body = {"summary": f"paging alert {n}", "service": f"paging-{source}-{n}", "severity": "warning"}
        accepted = api.post(f"/api/v1/alerts/generic?token={token}", json=body)
        assert accepted.status_code == 202, accepted.text
        done = api.get(f"/api/v1/intake/requests/{accepted.json()['request']}", params={"wait": 10}).json()
        assert done["status"] == "applied", done
    # Intake applies in the background (held groups are decided later): rows added between two reads are newer
    # than the first page, so compare what both saw.
    pages, _ = _pages(api, "/api/v1/alerts", {"source": "generic", "limit": 1})
    ids = [a["id"] for p in pages for a in p]
    assert ids == sorted(set(ids), reverse=True), "newest first, none twice"
    whole = [a["id"] for a in api.get("/api/v1/alerts", params={"source": "generic", "limit": 1000}).json()]
    assert [i for i in whole if i <= ids[0]][: len(ids)] == ids
    mine = {a["summary"] for p in pages for a in p if a["service"].startswith(f"paging-{source}")}
    assert mine == {f"paging alert {n}" for n in range(3)}
    pages, _ = _pages(api, "/api/v1/alert-groups", {"limit": 2})
    gids = [g["id"] for p in pages for g in p]
    assert gids == sorted(set(gids), reverse=True)
    groups = [g["id"] for g in api.get("/api/v1/alert-groups", params={"limit": 1000}).json()]
    assert [g for g in groups if g <= gids[0]][: len(gids)] == gids

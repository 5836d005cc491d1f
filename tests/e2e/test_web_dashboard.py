"""The dashboard's overdue updates and the web lists' next-page links, on a real `warroom serve` (SQLite and
PostgreSQL); the overdue list is seen live in Chromium too."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Server, make_context, token_for
from tests.e2e.test_web import sign_in
from warroom.domain.clock import FakeClock
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.intake import integrations


def declared_ago(server: Server, minutes: int, severity: str, title: str) -> str:
    """An incident declared `minutes` ago, straight on the server's database (another process, as the CLI)."""
    ctx = make_context(server.db_url, "nself", FakeClock(datetime.now(UTC) - timedelta(minutes=minutes)))
    try:
        return service.declare(ctx, DeclareRequest(severity=severity, title=title, by="monitor")).id
    finally:
        ctx.db.dispose()


def section(html: str, ident: str) -> str:
    found = re.search(rf'<section class="panel" id="{ident}">(.*?)</section>', html, re.S)
    assert found, f"no section {ident}"
    return found.group(1)


def test_overdue_updates_are_listed_with_how_late_and_a_link_to_post(server: Server, api: httpx.Client) -> None:
    marker = uuid.uuid4().hex[:8]
    p1 = declared_ago(server, 45, "P1", f"overdue {marker} P1")  # internal every 30m: 15 minutes late
    p0 = declared_ago(server, 20, "P0", f"overdue {marker} P0")  # internal every 10m, external every 15m
    fresh = api.post("/api/v1/incidents", json={"severity": "P1", "title": f"on time {marker}", "by": "ann"}).json()

    overdue = section(api.get("/").text, "overdue-updates")
    assert p1 in overdue and p0 in overdue and fresh["id"] not in overdue
    assert f"/incidents/{p1}?audience=internal#updates" in overdue
    assert f"/incidents/{p0}?audience=external#updates" in overdue
    first = overdue.index(p0)
    assert overdue.index(p1) < first, "the longest overdue first (P1 15m, P0 internal 10m, external 5m)"
    assert re.search(rf"{p1}.*?overdue by 1[45]m", overdue, re.S)

    linked = api.get(f"/incidents/{p0}", params={"audience": "external"}).text
    assert re.search(r"<option selected>external</option>", linked), "the link opens the form on that audience"

    posted = api.post(
        f"/api/v1/incidents/{p1}/updates", json={"audience": "internal", "text": "Still on it", "by": "ann"}
    )
    assert posted.status_code == 201, posted.text
    after = section(api.get("/").text, "overdue-updates")
    assert p1 not in after and p0 in after  # posting resets the audience's clock, at once


def test_web_lists_link_to_the_next_page(server: Server, api: httpx.Client) -> None:
    marker = uuid.uuid4().hex[:8]
    for n in range(3):
        api.post("/api/v1/incidents", json={"severity": "P4", "title": f"pages {marker} {n}", "by": "ann"})
    seen: list[str] = []
    url: str | None = "/?status=all&limit=2"
    while url and len(seen) < 10_000:
        html = api.get(url).text
        seen += re.findall(r'<td><a href="/incidents/(INC-[0-9-]+)">', html)
        found = re.search(r'<a href="([^"]+)" id="next-page"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    everything = [i["id"] for i in api.get("/api/v1/incidents", params={"status": "all", "limit": 1000}).json()]
    assert seen[: len(everything)] == everything[: len(seen)] and len(set(seen)) == len(seen)

    typed = api.get("/incidents", follow_redirects=False)
    assert typed.status_code == 303 and typed.headers["location"] == "/?status=all", typed.text

    bad = api.get("/?status=all&cursor=nonsense")
    assert bad.status_code == 422 and "cursor" in bad.text and 'id="incidents"' in bad.text

    html = api.get("/alerts", params={"limit": 1}).text
    if api.get("/api/v1/alert-groups", params={"limit": 2}).json()[1:]:
        older = re.search(r'<a href="([^"]+)" id="older-groups"', html)
        assert older, "a second group exists, so the first page links to the older ones"
        assert "← the newest" in api.get(older.group(1).replace("&amp;", "&")).text
    assert api.get("/alerts?groups=nonsense").status_code == 422


def test_the_overdue_list_follows_changes_live(browser: Any, server: Server) -> None:
    marker = uuid.uuid4().hex[:8]
    page = browser.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server, "olive")
    late = declared_ago(server, 40, "P1", f"live overdue {marker}")  # committed by another process
    page.locator(f"#overdue-updates a[href='/incidents/{late}']").wait_for()  # no reload
    page.locator(f"#post-{late}-internal").click()
    page.wait_for_url(f"**/incidents/{late}?audience=internal#updates")
    page.locator("#update-text").fill("Still investigating, no change")
    page.locator("#post-update").click()
    page.wait_for_url(f"**/incidents/{late}")
    page.goto(server.base + "/")
    assert page.locator(f"#overdue-updates a[href='/incidents/{late}']").count() == 0
    page.close()


def test_the_alerts_page_shows_intake_and_the_latest_dead_letters(server: Server, api: httpx.Client) -> None:
    """The backlog, this server's counters and the refused requests a responder asks about ("why is my alert
    not here?"): a body that is not the sender's shape is a dead letter, listed with the field at fault."""
    ctx = make_context(server.db_url, "nself", FakeClock(datetime.now(UTC)))
    try:
        secret = integrations.add(ctx, "generic", f"intake-{uuid.uuid4().hex[:6]}", "tests").token
    finally:
        ctx.db.dispose()
    headers = {"Authorization": f"Bearer {secret}"}
    marker = uuid.uuid4().hex[:8]
    sent = api.post("/api/v1/alerts/generic", headers=headers,
                    json={"summary": f"queue depth high {marker}", "service": f"svc-{marker}"})  # fmt: skip
    assert sent.status_code == 202, sent.text
    api.get(f"/api/v1/intake/requests/{sent.json()['request']}", params={"wait": 15})
    refused = api.post("/api/v1/alerts/generic", headers=headers, json={"service": f"svc-{marker}"})
    assert refused.status_code == 422 and refused.json()["field"] == "summary", refused.text
    letter = refused.json()["dead_letter"]

    page = api.get("/alerts").text
    panel = section(page, "intake")
    assert "Nothing waiting to be applied; past 2 s new webhooks are pushed back." in panel, panel
    assert "pushing-back" not in page
    counts = re.search(r"This server since <time[^>]*>[^<]+</time>: ([0-9,]+) webhooks? accepted", panel)
    assert counts and int(counts.group(1).replace(",", "")) >= 1, panel
    rows = re.findall(r"<tr><td class=\"meta num\">(\d+)</td>.*?</tr>", panel, re.S)
    assert rows and int(rows[0]) == letter, "the newest dead letter first"
    assert "<code>summary</code>: " in panel and "generic" in panel
    assert "<code>GET /api/v1/dead-letters</code>" in panel and api.get("/api/v1/dead-letters").status_code == 200
    with httpx.Client(
        base_url=server.base, headers={"Authorization": f"Bearer {token_for(server.db_url, 'vic', 'viewer')}"}
    ) as viewer:
        seen = section(viewer.get("/alerts").text, "intake")
    assert "webhook" in seen and 'id="dead-letters"' not in seen, "dead letters are for responders, as in the API"

"""The one-tap link of a real page, in Chromium at a phone's width without signing in: confirm, tap,
acknowledged as the paged person (timeline and audit); the same link again, an expired one and an altered
one explain themselves and offer sign-in. Screenshots go to WARROOM_SCREENSHOTS when it is set."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.chatops.conftest import Chat
from warroom.chat import acklinks
from warroom.domain.clock import SystemClock
from warroom.store.db import Database

PHONE = {"width": 390, "height": 844}
LINK = re.compile(r"Acknowledge in one tap: (http://127\.0\.0\.1:\d+/ack/[A-Za-z0-9_.\-]+)")


def _shot(page: Any, name: str) -> None:
    if os.environ.get("WARROOM_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["WARROOM_SCREENSHOTS"]) / name), full_page=True)


def _fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], "the page scrolls sideways"


def _page_of(chat: Chat, incident: str) -> str:
    for _ in range(3):
        for body in chat.pager.wait("/alice"):
            if isinstance(body, dict) and incident in str(body.get("title", "")) + str(body.get("message", "")):
                return str(body["message"])
        chat.pager.wait("/alice", len(chat.pager.at("/alice")) + 1)
    raise AssertionError(f"no page for {incident} reached alice")


def test_the_page_link_acknowledges_as_the_paged_person_once(chat: Chat, browser: Any) -> None:
    with chat.server.client() as api:
        inc = api.post("/api/v1/incidents", json={"severity": "P1", "title": "Checkout down on phones"}).json()
    message = _page_of(chat, inc["id"])
    assert f"Incident page: {chat.server.base}/incidents/{inc['id']}" in message
    found = LINK.search(message)
    assert found, message
    link = found.group(1)

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    opened = page.goto(link)
    assert opened is not None and opened.status == 200
    assert page.locator("#message").inner_text() == f"Acknowledge {inc['id']} as alice?"
    assert "Checkout down on phones" in page.locator("#incident").inner_text()
    _fits(page)
    _shot(page, "ack-confirm.png")
    with chat.server.client() as api:
        assert api.get(f"/api/v1/incidents/{inc['id']}").json()["status"] == "triggered"  # opening changed nothing

    page.locator("#ack").tap()
    page.wait_for_selector("text=Paging has stopped")
    assert page.locator("#message").inner_text().startswith(f"{inc['id']} acknowledged by alice at ")
    assert page.locator("#status").inner_text() == "acknowledged"
    _fits(page)
    _shot(page, "ack-done.png")

    again = page.goto(link)
    assert again is not None and again.status == 410
    assert "already used" in page.locator("#message").inner_text()
    assert page.locator("#sign-in").get_attribute("href") == f"/login?next=/incidents/{inc['id']}"
    _shot(page, "ack-used.png")
    replay = httpx.post(link, timeout=10)  # the same tap again, outside the browser
    assert replay.status_code == 410
    context.close()

    with chat.server.client() as api:
        view = api.get(f"/api/v1/incidents/{inc['id']}").json()
        timeline = api.get(f"/api/v1/incidents/{inc['id']}/timeline").json()
    assert view["acknowledged_by"] == "alice"
    assert [e["actor"] for e in timeline if e["kind"] == "acknowledged"] == ["alice"]
    rows = [a for a in chat.audit() if a.action == "POST /ack/{token}" and a.target == f"incident_id={inc['id']}"]
    assert [(a.actor, a.via, a.result) for a in rows] == [("alice", "ack-link", "done"),
                                                         ("alice", "ack-link", "refused 410")]  # fmt: skip


def test_expired_altered_and_already_acknowledged_links_explain_themselves(chat: Chat, browser: Any) -> None:
    with chat.server.client() as api:
        inc = api.post("/api/v1/incidents", json={"severity": "P3", "title": "Old page"}).json()
    db = Database(chat.db_url)
    try:
        with db.unit() as session:
            old = SystemClock().now() - timedelta(hours=13)
            expired = acklinks.url(chat.server.base, acklinks.issue(session, inc["id"], "alice", old))
            fresh = acklinks.url(chat.server.base, acklinks.issue(session, inc["id"], "bob", SystemClock().now()))
    finally:
        db.dispose()
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    answer = page.goto(expired)
    assert answer is not None and answer.status == 410
    assert "This link expired at" in page.locator("#message").inner_text()
    assert page.locator("#ack").count() == 0 and page.locator("#sign-in").count() == 1
    _fits(page)
    _shot(page, "ack-expired.png")
    assert httpx.post(expired, timeout=10).status_code == 410

    altered = fresh[:-3] + ("AAA" if not fresh.endswith("AAA") else "BBB")
    answer = page.goto(altered)
    assert answer is not None and answer.status == 404
    assert "not valid" in page.locator("#message").inner_text()
    _shot(page, "ack-invalid.png")

    assert "acknowledged by alice" in chat.slack(f"ack {inc['id']}").json()["text"]  # from chat, before bob taps
    page.goto(fresh)
    assert "already acknowledged by alice" in page.locator("#message").inner_text()
    assert page.locator("#ack").count() == 0
    tapped = httpx.post(fresh, timeout=10)
    assert tapped.status_code == 409 and "already acknowledged" in tapped.text
    context.close()
    with chat.server.client() as api:
        assert api.get(f"/api/v1/incidents/{inc['id']}").json()["acknowledged_by"] == "alice"

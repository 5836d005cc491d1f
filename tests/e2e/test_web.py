"""The responders' pages in headless Chromium: declare, acknowledge, log, mitigate, read the timeline."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from tests.conftest import PASSWORD, Server


def sign_in(page: Any, server: Server, name: str) -> None:
    """Through the sign-in form, as a person would (the user is made with the tests' password)."""
    server.token_for(name)
    page.goto(server.base + "/")
    page.wait_for_url("**/login?next=/")
    page.locator("#username").fill(name)
    page.locator("#password").fill(PASSWORD)
    page.locator("#sign-in").click()
    page.wait_for_url(server.base + "/")


def test_declare_ack_log_mitigate_in_the_browser(browser: object, server: Server, tmp_path: Path) -> None:
    page = browser.new_page(timezone_id="Europe/Berlin")  # type: ignore[attr-defined]
    page.set_default_timeout(15_000)
    sign_in(page, server, "alice")
    form = page.locator("#declare")
    form.locator("select[name=severity]").select_option("P1")
    form.locator("input[name=title]").fill("Checkout broken in the browser")
    form.locator("input[name=service]").fill("checkout")
    form.locator("button").click()
    page.wait_for_url("**/incidents/INC-*")
    assert page.locator("#status").text_content() == "triggered"
    assert "#incident-" in page.content()

    page.locator("#ack").click()
    page.wait_for_load_state()
    assert page.locator("#status").text_content() == "acknowledged"
    # Signed in: the page says who, and the record names them.
    assert "alice" in page.locator(".whoami").inner_text()
    assert "alice" in page.locator("#timeline").inner_text()

    page.locator("input[name=what]").fill("Restarted the checkout pods")
    page.locator("input[name=outcome]").fill("errors clearing")
    page.locator("#log").click()
    page.wait_for_load_state()
    rows = page.locator("#timeline tbody tr")
    assert "Restarted the checkout pods" in rows.last.inner_text()
    # A viewer in Berlin sees each time in UTC and, after it, in their own zone.
    local = rows.last.locator("time .local")
    local.wait_for()
    assert local.inner_text().startswith("(") and local.inner_text().endswith(")"), local.inner_text()

    page.locator("#mitigate").click()
    page.wait_for_load_state()
    assert page.locator("#status").text_content() == "mitigated"
    # The timeline chart (server-side SVG, no script): a band per phase so far, the clocks' deadlines marked.
    bands = page.locator("#timeline-chart svg rect.phase")
    phases = [bands.nth(i).get_attribute("data-phase") for i in range(bands.count())]
    assert phases == ["triggered", "acknowledged", "mitigated"], phases
    assert page.locator("#timeline-chart svg").bounding_box()["width"] <= page.viewport_size["width"]
    page.locator("#resolve").click()
    page.wait_for_load_state()
    alert = page.locator("#error")
    assert "without new errors" in alert.inner_text()

    # Stored in UTC, shown in UTC and in the viewer's zone.
    first = page.locator("#timeline time").first
    assert first.inner_text().split(" UTC")[0].count(":") == 1
    assert "(" in first.inner_text() and (
        "CET" in first.inner_text() or "CEST" in first.inner_text() or "GMT+" in first.inner_text()
    )
    if os.environ.get("WARROOM_SCREENSHOTS"):
        page.screenshot(path=str(Path(os.environ["WARROOM_SCREENSHOTS"]) / "incident.png"), full_page=True)
    page.goto(server.base + "/")
    assert "Checkout broken in the browser" in page.locator("#incidents").inner_text()
    page.close()


def test_a_long_timeline_shows_its_newest_entries_and_all_on_request(browser: object, server: Server) -> None:
    """Past 200 entries the page shows the newest 200 and says so, with a link to all; the checklist's ticks
    still show however old they are; on a phone each entry is a block inside the screen, its outcome too."""
    with server.client() as api:
        iid = api.post("/api/v1/incidents", json={"severity": "P2", "title": "A long night"}).json()["id"]
        tick = "Checklist (triage): Overall health check (nself health)"
        api.post(f"/api/v1/incidents/{iid}/timeline", json={"what": tick, "outcome": "done"}).raise_for_status()
        for i in range(205):
            api.post(f"/api/v1/incidents/{iid}/timeline",
                     json={"what": f"Step {i}", "outcome": f"outcome of step {i}"}).raise_for_status()  # fmt: skip
        total = len(api.get(f"/api/v1/incidents/{iid}/timeline").json())
    page = browser.new_page(viewport={"width": 390, "height": 800})  # type: ignore[attr-defined]
    sign_in(page, server, "alice")
    page.goto(f"{server.base}/incidents/{iid}")
    rows = page.locator("#timeline tbody tr")
    assert rows.count() == 200
    assert "Step 204" in rows.last.inner_text()
    assert page.locator("#timeline td:text-is('Step 4')").count() == 0, "older entries wait behind the link"
    assert f"The newest 200 of {total} entries" in page.locator("#timeline-window").inner_text()
    assert page.locator("#tick-triage-0").count() == 0, "the tick, older than the 200 shown, still counts"
    assert "Overall health check" in page.locator("#checklist .met").first.locator("..").inner_text()
    last = rows.last.locator("td[data-label=outcome]")
    box = last.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390, box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.locator("#timeline-all").click()
    page.wait_for_load_state()
    assert page.locator("#timeline tbody tr").count() == total
    assert tick in page.locator("#timeline").inner_text()
    assert page.locator("#timeline td:text-is('Step 4')").count() == 1
    page.close()


def test_bad_declare_shows_the_reason(browser: object, server: Server) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    sign_in(page, server, "alice")
    form = page.locator("#declare")
    form.locator("input[name=title]").fill("   ")
    form.locator("button").click()
    page.wait_for_load_state()
    assert "title: must not be empty" in page.locator("#error").inner_text()
    page.close()


def test_draft_page_posts_an_edited_update(browser: object, server: Server) -> None:
    with server.client() as api:
        iid = api.post("/api/v1/incidents", json={"severity": "P0", "title": "Drafts in the browser"}).json()["id"]
    page = browser.new_page()  # type: ignore[attr-defined]
    sign_in(page, server, "carol")
    page.goto(f"{server.base}/incidents/{iid}")
    page.locator("#drafts a", has_text="internal update").click()
    page.wait_for_load_state()
    box = page.locator("#draft-text")
    assert "Update #1" in box.input_value()
    box.fill("[14:30 UTC] Update #1: rolled back by hand. Next: watch errors.")
    page.locator("#post-draft").click()
    page.wait_for_url(f"**/incidents/{iid}")
    assert "rolled back by hand" in page.locator("#timeline").inner_text()
    page.goto(f"{server.base}/incidents/{iid}/drafts/postmortem")
    assert "Post-Mortem" in page.locator("#draft-text").inner_text()
    page.close()


def test_open_pages_follow_changes_made_elsewhere_without_a_reload(browser: object, server: Server) -> None:
    dashboard = browser.new_page()  # type: ignore[attr-defined]
    dashboard.set_default_timeout(15_000)
    sign_in(dashboard, server, "alice")
    title = "Live: queue consumers stalled"
    with server.client() as api:
        iid = api.post("/api/v1/incidents", json={"severity": "P1", "title": title, "by": "bob"}).json()["id"]
        dashboard.locator("#incidents", has_text=title).wait_for()  # no reload: the event stream brought it
        # Its ack countdown ticks in the browser, second by second.
        ticking = dashboard.locator("#incidents tr", has_text=title).locator("[data-deadline]")
        before = ticking.inner_text()
        assert before.startswith("ack: ") and before.endswith(" left")
        dashboard.wait_for_function(
            "([t, b]) => [...document.querySelectorAll('#incidents tr')].some("
            "r => r.innerText.includes(t) && r.querySelector('[data-deadline]').innerText !== b)",
            arg=[title, before],
        )
        incident = browser.new_page()  # type: ignore[attr-defined]
        incident.set_default_timeout(15_000)
        sign_in(incident, server, "carol")
        incident.goto(f"{server.base}/incidents/{iid}")
        assert incident.locator("#status").text_content() == "triggered"
        marker = incident.evaluate("() => (window.__kept = 'same page', window.__kept)")
        api.post(f"/api/v1/incidents/{iid}/ack", json={"by": "bob"})
        incident.locator("#status", has_text="acknowledged").wait_for()
        assert incident.evaluate("() => window.__kept") == marker, "updated in place, not reloaded"
        assert "bob" in incident.locator("#timeline").inner_text()
    dashboard.close()
    incident.close()


def test_what_is_typed_while_a_live_update_is_on_its_way_is_kept(browser: object, server: Server) -> None:
    """A change arrives, the page starts fetching its newer self, the responder starts typing, the fetch lands:
    the form they are filling is not replaced by an empty one (the newer page waits, and says so)."""
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(15_000)
    sign_in(page, server, "alice")
    held: list[Any] = []
    page.route(
        server.base + "/", lambda route: held.append(route)
    )  # the live refresh's fetch of this page, held until released
    with server.client() as api:
        api.post("/api/v1/incidents", json={"severity": "P3", "title": "Changed elsewhere", "by": "bob"})
    deadline = time.monotonic() + 15
    while not held and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert held, "the change reached the page and it began fetching itself"
    page.locator("#declare-title").fill("Typed while the page was being fetched")
    page.locator("#declare-service").focus()
    held[0].continue_()
    page.locator("#live-note").wait_for(state="visible")
    assert page.locator("#declare-title").input_value() == "Typed while the page was being fetched"
    page.close()


def test_the_api_docs_render_with_no_network(browser: object, server: Server) -> None:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.set_default_timeout(15_000)
    outside: list[str] = []

    def only_here(route: Any) -> None:
        url = route.request.url
        if url.startswith(server.base):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", only_here)
    page.goto(server.base + "/docs")
    page.locator(".swagger-ui .info .title", has_text="warroom").wait_for()
    assert page.locator(".opblock").count() > 50
    page.goto(server.base + "/redoc")
    page.locator("h1", has_text="warroom").wait_for()
    assert outside == []
    page.close()


def test_each_request_leaves_one_access_log_line(server: Server) -> None:
    before = len(server.log.read_bytes())  # the server is shared: only the lines of this request count
    with server.client() as api:
        assert api.get("/api/v1/incidents", params={"token": "not-logged"}).status_code == 200
    deadline = time.monotonic() + 10
    lines: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not lines:
        for raw in server.log.read_bytes()[before:].decode(errors="replace").splitlines():
            if raw.startswith("{") and '"method": "GET", "path": "/api/v1/incidents"' in raw:
                lines.append(json.loads(raw))
        time.sleep(0.1)
    assert lines, "an access log line"
    line = lines[-1]
    assert line["method"] == "GET" and line["status"] == 200 and line["user"] == "tester"
    assert line["ms"] >= 0 and "not-logged" not in server.log.read_text()

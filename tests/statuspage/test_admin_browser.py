"""The responders' status page screens in headless Chromium against a real `warroom serve`: components added
and set, a post published from its form, a window scheduled and stepped, a webhook subscriber added, its
delivery log read and the subscriber removed; refused forms come back with the reason and what was typed.
Screenshots at desktop width and at 390 px (no sideways scrolling) go to the test's directory, and to
$WARROOM_SHOTS when set, for a person to look at."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, fresh_database
from tests.e2e.test_web import sign_in
from tests.notify.conftest import WebhookSink


@pytest.fixture
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    gen = fresh_database("sqlite", request, tmp_path)
    srv = Server(next(gen), {"WARROOM_POLICY": "nself", "WARROOM_STATUS_NAME": "Acme"}, tmp_path / "serve.log")
    srv.start()
    yield srv
    srv.stop()
    next(gen, None)


def _shoot(browser: Any, page: Any, url: str, name: str, tmp_path: Path, shots: list[Path]) -> None:
    """The page as it is now at 1200 px, then at 390 px in a phone's context with the same session."""
    shots.append(tmp_path / f"{name}.png")
    page.screenshot(path=str(shots[-1]), full_page=True)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    phone.add_cookies(page.context.cookies())
    small = phone.new_page()
    small.goto(url)
    assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), f"{name} scrolls sideways"
    shots.append(tmp_path / f"{name}-390.png")
    small.screenshot(path=str(shots[-1]), full_page=True)
    phone.close()


def test_components_posts_maintenance_and_subscribers_from_the_browser(
    site: Server, browser: Any, webhook: WebhookSink, tmp_path: Path
) -> None:
    shots: list[Path] = []
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, site, "adele")
    page.locator("header a", has_text="status page").click()
    page.wait_for_url("**/statuspage")

    for name, group, description in (("API", "", "Public REST API"), ("Billing", "Payments", "Card payments")):
        page.locator("#component-name").fill(name)
        page.locator("#component-group").fill(group)
        page.locator("#component-description").fill(description)
        page.locator("#add-component-button").click()
        page.wait_for_url("**/statuspage")
    rows = page.locator("#component-table tbody tr")
    assert rows.count() == 3 and "Payments" in rows.nth(2).inner_text()  # the group, made with Billing
    page.locator("#component-name").fill("API")
    page.locator("#component-description").fill("typed again")
    page.locator("#add-component-button").click()
    page.wait_for_url("**/statuspage**")
    assert "already has a component named 'API'" in page.locator("#error").inner_text()
    assert page.locator("#component-description").input_value() == "typed again"

    # A webhook subscriber first, so the post below reaches it.
    page.locator("#status-tabs a", has_text="Subscribers").click()
    page.wait_for_url("**/statuspage/subscribers")
    page.locator("#subscriber-address").fill("not a url")
    page.locator("#add-subscriber-button").click()
    page.wait_for_url("**/statuspage/subscribers**")
    assert "webhook's URL" in page.locator("#error").inner_text()
    assert page.locator("#subscriber-address").input_value() == "not a url"
    page.locator("#subscriber-address").fill(f"http://127.0.0.1:{webhook.port}/hook?key=s3cret")
    page.locator("label", has_text="Billing").locator("input").check()
    page.locator("#add-subscriber-button").click()
    page.wait_for_url("**/statuspage/subscribers")
    row = page.locator("#subscriber-table tbody tr").first
    assert "confirmed" in row.inner_text().lower() and "key=***" in row.inner_text() and "s3cret" not in page.content()

    with site.client() as api:
        inc = api.post(
            "/api/v1/incidents", json={"severity": "P1", "title": "db-primary-7 failover", "by": "adele"}
        ).json()["id"]
    page.locator("#status-tabs a", has_text="Components and posts").click()
    page.wait_for_url("**/statuspage")
    page.locator("#post-incident").select_option(inc)
    page.locator("#post-status").select_option("identified")
    page.locator("#post-title").fill("Payment failures")
    page.locator("#post-text").fill("Card payments fail for some customers; we are rolling back.")
    code = page.locator("#post-components select").nth(1).get_attribute("name")
    page.locator(f"select[name='{code}']").select_option("major_outage")
    page.locator("#publish").click()
    page.wait_for_url("**/statuspage")
    assert "Major System Outage" in page.locator("#public-state").inner_text()
    story = page.locator("#stories article").first
    assert "Payment failures" in story.inner_text() and inc in story.inner_text()
    assert "Major outage" in page.locator("#component-table tbody tr", has_text="Billing").inner_text()
    page.locator("#component-table tbody tr", has_text="API").locator("select").select_option("degraded_performance")
    page.locator("#component-table tbody tr", has_text="API").locator("button").click()
    page.wait_for_url("**/statuspage")
    assert "Degraded performance" in page.locator("#component-table tbody tr", has_text="API").inner_text()
    _shoot(browser, page, site.base + "/statuspage", "statuspage-components-posts", tmp_path, shots)

    deadline = time.monotonic() + 20
    while len(webhook.delivered("/hook")) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(webhook.delivered("/hook")) == 2  # the incident and Billing's component update
    page.goto(site.base + "/statuspage/subscribers")
    page.locator("#subscriber-table tbody tr").first.locator("a").click()
    page.wait_for_url("**/statuspage/subscribers/*")
    log = page.locator("#deliveries tbody tr")
    assert log.count() == 2 and all("sent" in log.nth(n).inner_text().lower() for n in range(2))
    assert "Identified: Payment failures" in page.locator("#deliveries").inner_text()
    _shoot(browser, page, page.url, "statuspage-deliveries", tmp_path, shots)

    page.locator("#status-tabs a", has_text="Maintenance").click()
    page.wait_for_url("**/statuspage/maintenance")
    past = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    page.locator("#window-name").fill("Database upgrade")
    page.locator("#window-start").fill(past)
    page.locator("#window-minutes").fill("30")
    page.locator("#schedule-button").click()
    page.wait_for_url("**/statuspage/maintenance**")
    assert "already be over" in page.locator("#error").inner_text()
    assert page.locator("#window-name").input_value() == "Database upgrade"
    soon = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    page.locator("#window-start").fill(soon)
    page.locator("#window-minutes").fill("90")
    page.locator("#window-text").fill("The API is read-only meanwhile.")
    page.locator("label", has_text="API").locator("input").check()
    page.locator("#schedule-button").click()
    page.wait_for_url("**/statuspage/maintenance")
    window = page.locator("#windows tbody tr").first
    assert "scheduled" in window.inner_text().lower() and "by adele" in window.inner_text()
    window.locator("select").select_option("in_progress")
    window.locator("button").click()
    page.wait_for_url("**/statuspage/maintenance")
    assert "in progress" in page.locator("#windows tbody tr").first.locator(".status").inner_text().lower()
    _shoot(browser, page, site.base + "/statuspage/maintenance", "statuspage-maintenance", tmp_path, shots)

    page.goto(site.base + "/statuspage/subscribers")
    _shoot(browser, page, site.base + "/statuspage/subscribers", "statuspage-subscribers", tmp_path, shots)
    page.locator("#subscriber-table tbody tr").first.locator("button").click()
    page.wait_for_url("**/statuspage/subscribers")
    assert "unsubscribed by adele" in page.locator("#subscriber-table tbody tr").first.inner_text().lower()
    context.close()

    assert all(p.stat().st_size > 10_000 for p in shots)
    keep = os.environ.get("WARROOM_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for p in shots:
            shutil.copy(p, Path(keep) / p.name)


def test_an_external_update_from_the_incident_page_sets_the_public_status_name_and_components(
    site: Server, browser: Any, tmp_path: Path
) -> None:
    """The comms officer stays on the incident: its update form posts to the status page with a public status,
    name and components; the page then says what the public reads. Status page fields on an internal update are
    refused, naming the field, with everything typed kept; the public page shows the post."""
    shots: list[Path] = []
    with site.client() as api:
        for name, group in (("API", None), ("Billing", "Payments")):
            answer = api.post("/api/v1/status/components", json={"name": name, "group": group, "by": "adele"})
            assert answer.status_code == 201, answer.text
        inc = api.post(
            "/api/v1/incidents", json={"severity": "P1", "title": "db-primary-7 failover", "by": "adele"}
        ).json()["id"]
    context = browser.new_context(viewport={"width": 1200, "height": 900}, timezone_id="America/New_York")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, site, "adele")
    page.goto(f"{site.base}/incidents/{inc}")
    assert "Not on the status page yet" in page.locator("#public-story").inner_text()
    assert page.locator("#update-public").get_attribute("open") is None  # an internal update is the default
    page.locator("#update-public summary").click()
    assert page.locator("#update-components select").count() == 2  # API and Billing; not the Payments group
    default = page.locator("#update-public-status option").first.text_content()
    assert default == "from the incident's stage (Investigating)", "what a post without a status says publicly"

    page.locator("#update-audience").select_option("internal")
    page.locator("#update-text").fill("Failing over to the replica.")
    page.locator("#update-public-status").select_option("identified")
    page.locator("#post-update").click()
    page.wait_for_url(f"**/incidents/{inc}**")
    assert "choose audience external to set public_status" in page.locator("#error").inner_text()
    assert page.locator("#update-text").input_value() == "Failing over to the replica."
    assert page.locator("#update-public-status").input_value() == "identified"
    assert page.locator("#update-public").get_attribute("open") is not None

    page.locator("#update-audience").select_option("external")
    page.locator("#update-text").fill("Card payments fail for some customers; we are failing over.")
    page.locator("#update-next").fill("confirm replica lag is under a second")
    page.locator("#update-public-title").fill("Payment failures")
    billing = page.locator("#update-components label", has_text="Billing").locator("select")
    billing.select_option("major_outage")
    page.locator("#post-update").click()
    page.wait_for_url(f"**/incidents/{inc}")
    story = page.locator("#public-story").inner_text()
    assert "Payment failures" in story and "Identified" in story and "Billing: Major outage" in story, story
    assert "API" not in story and "1 post," in story
    assert page.locator("#update-public-title").count() == 0, "the public name is set by the first post only"
    assert billing.locator("option").first.text_content() == "unchanged (Major outage)"
    assert "Card payments fail for some customers" in page.locator("#timeline").inner_text()
    external = f"{site.base}/incidents/{inc}?audience=external"  # the form as it opens for an external update
    page.goto(f"{site.base}/incidents/{inc}")
    page.locator("#draft-external").click()  # the runbook's status page template for the incident's stage
    page.wait_for_url(external + "#updates")
    assert page.locator("#update-public").get_attribute("open") is not None
    assert "status investigating template" in page.locator("#updates").inner_text()
    assert page.locator("#update-text").input_value().startswith("[Investigating] ")
    assert page.locator("#update-audience").input_value() == "external"
    page.locator("#update-public").scroll_into_view_if_needed()
    _shoot(browser, page, external, "incident-status-post", tmp_path, shots)

    page.locator("#public-story a").click()
    page.wait_for_url("**/status/incidents/*")
    public = page.locator("body").inner_text()
    assert "Payment failures" in public and "Card payments fail for some customers" in public
    assert "replica lag" not in public and "db-primary-7" not in public, "the next step and title stay inside"
    context.close()
    keep = os.environ.get("WARROOM_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for p in shots:
            shutil.copy(p, Path(keep) / p.name)

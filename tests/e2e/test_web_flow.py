"""A responder's whole walk through a P1 in headless Chromium, on a phone, and with JavaScript off.

Every step goes through the page's own forms; screenshots of each step go to WARROOM_SCREENSHOTS when set.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from tests.conftest import Server, token_for
from tests.e2e.test_web import sign_in
from warroom.compose import context
from warroom.domain.clock import SystemClock
from warroom.intake import integrations
from warroom.policy import load_policy
from warroom.store.db import Database


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("WARROOM_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"flow-{name}.png"), full_page=True)


def submit(page: Any, button: str) -> None:
    """Click a form's button and wait for the redirect's page (post/redirect/get)."""
    with page.expect_navigation():
        page.locator(button).click()


def test_a_p1_from_declaration_to_published_postmortem(browser: Any, server: Server) -> None:
    page = browser.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server, "alice")
    watcher = browser.new_page()
    watcher.set_default_timeout(15_000)
    sign_in(watcher, server, "bob")

    page.locator("#declare-severity").select_option("P1")
    page.locator("#declare-title").fill("Checkout flow walk in the browser")
    page.locator("#declare-service").fill("checkout")
    submit(page, "#declare button")
    iid = page.url.rsplit("/", 1)[-1]
    assert iid.startswith("INC-")
    # bob's dashboard, opened before, shows it without a reload
    watcher.locator("#incidents", has_text="Checkout flow walk in the browser").wait_for()
    assert watcher.locator("#on-call").is_visible() and watcher.locator("#recent-groups").is_visible()
    shot(watcher, "01-dashboard-live")
    shot(page, "02-declared")

    assert watcher.locator(f"#unacknowledged #ack-{iid}").is_visible(), "bob's dashboard offers the ack"
    submit(page, "#ack")
    assert page.locator("#status").text_content() == "acknowledged"

    page.locator("#role-name").select_option("technical-lead")
    page.locator("#role-person").fill("bob")
    submit(page, "#assign")
    assert "bob" in page.locator("#roles").inner_text()
    shot(page, "03-roles")

    page.locator("#hypothesis-text").fill("The 14:00 deploy broke the card form")
    page.locator("#hypothesis-evidence").fill("errors since 14:02")
    page.locator("#hypothesis-confidence").fill("70")
    submit(page, "#add-hypothesis")
    submit(page, "#confirm-h1")
    assert page.locator("#status").text_content() == "identified"
    assert "confirmed" in page.locator("#hypotheses").inner_text()
    shot(page, "04-hypothesis")

    drafted = page.locator("#update-text").input_value()
    assert "Update #1" in drafted, "the internal update is pre-filled from the runbook's template"
    assert page.locator("#external-gate").inner_text().startswith("External")
    submit(page, "#post-update")
    assert "Internal update #1" in page.locator("#timeline").inner_text()
    shot(page, "05-update")

    page.locator("#mitigation-strategy").select_option("restart")
    page.locator("#mitigation-worked").select_option("no")
    page.locator("#mitigation-note").fill("pods came back with the same error")
    submit(page, "#mitigate")
    page.locator("#mitigation-strategy").select_option("rollback")
    page.locator("#mitigation-worked").select_option("yes")
    submit(page, "#mitigate")
    attempts = page.locator("#attempts").inner_text()
    assert "failed" in attempts and "pods came back with the same error" in attempts and "worked" in attempts
    assert page.locator("#status").text_content() == "mitigated"
    quiet = page.locator("#quiet").inner_text()
    assert "quiet window: " in quiet and " left" in quiet, "the quiet window counts down live"
    shot(page, "06-mitigated")

    page.locator("#resolve-reason").fill("customers confirm checkout works")
    submit(page, "#resolve")
    error = page.locator("#error").inner_text()
    assert "without new errors" in error and "left" in error, error
    assert page.locator("#resolve-reason").input_value() == "customers confirm checkout works"
    assert page.locator("#status").text_content() == "mitigated"
    assert "/resolve" not in page.url, "the refusal is shown at the incident's own address"
    shot(page, "07-resolve-refused")
    again = page.reload()
    assert again is not None and again.request.method == "GET", "a reload fetches the page, never resends the form"
    assert page.locator("#error").count() == 0, "the refusal is shown once"

    page.locator("#force").check()
    page.locator("#resolve-reason").fill("quiet since the rollback; the customer confirmed")
    submit(page, "#resolve")
    assert page.locator("#status").text_content() == "resolved"

    page.locator("#postmortem-draft").click()
    page.wait_for_load_state()
    assert "Post-Mortem" in page.locator("#draft-text").inner_text()
    shot(page, "08-postmortem-draft")
    page.go_back()
    page.locator("#postmortem-link").fill("https://wiki.example.com/pm/checkout")
    submit(page, "#publish-postmortem")
    assert page.locator("#status").text_content() == "closed"
    timeline = page.locator("#timeline").inner_text()
    assert "Postmortem published" in timeline and "https://wiki.example.com/pm/checkout" in timeline
    assert "alice" in timeline and "web" not in timeline.split()
    shot(page, "09-closed")
    page.close()
    watcher.close()


def test_a_phone_never_scrolls_sideways(browser: Any, server: Server) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, timezone_id="UTC")
    page.set_default_timeout(15_000)
    sign_in(page, server, "carol")
    page.locator("#declare-title").fill("A rather long incident title that has to wrap on a phone screen somewhere")
    page.locator("#declare-service").fill("payments")
    submit(page, "#declare button")
    iid = page.url.rsplit("/", 1)[-1]
    page.locator("#log-what").fill("x" * 120)
    submit(page, "#log")
    others = (
        "/alerts",
        "/oncall",
        "/silences?preview=service%3Dpayments",
        "/notifications",
        "/policy",
        "/admin/users",
        "/reports",
    )
    times_seen = 0
    for path in ("/", f"/incidents/{iid}", f"/incidents/{iid}/drafts/internal_update", *others):
        page.goto(server.base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width}px wide on a 390px screen"
        shot(page, "phone" + path.split("?")[0].replace("/", "-"))
        # The viewer's zone is UTC: each time once, not "07:59 UTC (07:59 UTC)" (once live.js has given every
        # time its title, it has looked at them all).
        page.wait_for_function("() => [...document.querySelectorAll('td time')].every(t => t.title)")
        for cell in page.locator("td time").all():
            assert "(" not in cell.inner_text(), f"{path}: {cell.inner_text()}"
            times_seen += 1
    assert times_seen, "no page showed a time in a table"
    folder = os.environ.get("WARROOM_SCREENSHOTS")
    for part in ("#lifecycle", "#notifications", "#timeline-panel") if folder else ():
        page.goto(f"{server.base}/incidents/{iid}")
        page.locator(part).screenshot(path=str(Path(str(folder)) / f"flow-phone-incident-{part[1:]}.png"))
    page.close()


def test_forms_work_with_javascript_off(browser: Any, server: Server) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server, "dave")
    page.locator("#declare-severity").select_option("P2")
    page.locator("#declare-title").fill("Sign-in broken without scripts")
    submit(page, "#declare button")
    iid = page.url.rsplit("/", 1)[-1]

    page.locator("#impact-users").fill("40")
    page.locator("#impact-services").fill("payments, login")
    submit(page, "#record-impact")
    impact = page.locator("#impact-now").inner_text()
    assert "payments, login" in impact and "[" not in impact, "the impact panel shows text, not a Python list"

    page.locator("#flag-name").select_option("auth_broken")
    submit(page, "#set-flag")
    assert "P1" in page.title(), "the auth-broken floor raised it to P1"
    page.locator("#severity-to").select_option("P3")
    page.locator("#severity-reason").fill("only one tenant")
    submit(page, "#change-severity")
    assert "at least P1" in page.locator("#error").inner_text()
    assert page.locator("#severity-reason").input_value() == "only one tenant", "what was typed is kept"
    assert page.locator("#severity-to").input_value() == "P3"
    shot(page, "nojs-floor-refused")

    submit(page, "#clear-auth_broken")
    assert "auth_broken" not in page.locator("#flags").inner_text()

    page.locator("#decision-path").select_option("dig_first")
    page.locator("#decision-reason").fill("we need the evidence before restarting")
    submit(page, "#decide")
    assert "dig first" in page.locator("#decision").inner_text()
    submit(page, "#tick-decision-0")
    assert "✓ Snapshot logs and evidence" in page.locator("#checklist").inner_text(), "a tick is kept"
    assert page.locator("#ticked-decision").inner_text().startswith("· 1 of "), "and counted in its phase"
    assert page.locator("#tick-decision-0").count() == 0
    assert page.locator("#checklist button.tick").first.inner_text() == "mark done", "what is left says what it does"
    assert "Checklist (decision): Snapshot logs" in page.locator("#timeline").inner_text(), "and is on the record"
    if os.environ.get("WARROOM_SCREENSHOTS"):
        page.locator("#checklist").screenshot(path=str(Path(os.environ["WARROOM_SCREENSHOTS"]) / "flow-checklist.png"))

    page.locator("#log-what").fill("Wrong tenant named above")
    first = page.locator("#timeline tbody tr td").first.inner_text()
    page.locator("#log-corrects").fill(first)
    submit(page, "#log")
    assert f"(corrects #{first})" in page.locator("#timeline").inner_text()
    assert page.url.endswith(f"/incidents/{iid}")
    context.close()


def _integration_secret(server: Server) -> str:
    ctx = context(db=Database(server.db_url), policy=load_policy("nself"), clock=SystemClock())
    try:
        return integrations.add(ctx, "generic", f"web-{uuid.uuid4().hex[:6]}", "tests").token
    finally:
        ctx.db.dispose()


def test_the_other_pages_and_their_forms(browser: Any, server: Server) -> None:
    service = f"web-{uuid.uuid4().hex[:6]}"
    with server.client() as api:
        rota = api.put("/api/v1/oncall/schedules/web-rota/layers/1", json={"members": ["frank"], "length": "daily"})
        assert rota.status_code == 200, rota.text
        secret = _integration_secret(server)
        sent = api.post(
            "/api/v1/alerts/generic",
            json={"summary": "queue depth high", "service": service, "severity": "warning"},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert sent.status_code == 202, sent.text
        deadline = time.monotonic() + 20
        while not (found := api.get("/api/v1/alerts", params={"service": service}).json()) or not found[0]["group_id"]:
            assert time.monotonic() < deadline, "the alert was never applied"
            time.sleep(0.2)
        group = found[0]["group_id"]
    server.token_for("tester")
    page = browser.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server, "tester")  # an admin

    page.goto(server.base + "/oncall")
    assert "frank" in page.locator("#on-call-now").inner_text()
    page.locator("#override-person-web-rota").fill("grace")
    submit(page, "#add-override-web-rota")
    assert "grace" in page.locator("#on-call-now").inner_text(), "an override from now is who is on call"
    page.locator("#layer-schedule").fill("web-rota-2")
    page.locator("#layer-members").fill("ivy, jack")
    page.locator("#layer-start").fill("2026-03-02")
    page.locator("#layer-timezone").fill("Europe/Berlin")
    page.locator("#layer-days").fill("mon-fri")
    page.locator("#layer-hours").fill("09:00-17:00")
    submit(page, "#set-layer-button")
    rota = page.locator("#schedule-web-rota-2").inner_text()
    assert "ivy" in rota and "mon-fri" in rota and "09:00-17:00" in rota, rota
    page.locator("#layer-schedule").fill("web-rota-3")
    page.locator("#layer-members").fill("ivy")
    page.locator("input[name=length]").fill("fortnightly-ish")
    submit(page, "#set-layer-button")
    assert page.locator("#error").count() == 1 and page.locator("#layer-members").input_value() == "ivy"
    shot(page, "oncall")

    page.goto(server.base + "/alerts")
    box = page.locator(f"#group-{group}")
    assert "queue depth high" in page.locator("#alert-list").inner_text()
    assert "1 alert · " in box.inner_text(), "a count reads as a person would say it"
    box.locator("input[name=reason]").last.fill("known noisy queue")
    with page.expect_navigation():
        box.locator("button", has_text="Dismiss").click()
    # triage declared an incident for it: dismissing is refused, with the reason and the typed text kept
    assert "incident" in page.locator("#error").inner_text()
    assert page.locator(f"#group-{group} input[name=reason]").last.input_value() == "known noisy queue"
    reasons = page.locator(f"#group-{group} .triage").inner_text()
    assert "the sender rates it 'warning'" in reasons and "[{" not in reasons, "triage's reasons read as sentences"
    shot(page, "alerts")
    with page.expect_navigation():
        page.locator(f"#group-{group} a[href^='/incidents/']").click()
    linked = page.locator("#alerts").inner_text()
    assert "1 alert: 1 firing" in linked, linked
    assert "queue depth high" in linked and "the sender rates it 'warning'" in linked

    page.goto(server.base + "/alerts")
    with page.expect_navigation():
        page.locator(f"#group-{group} .silence-link").first.click()
    previewed = page.locator("#preview-result").inner_text()
    assert previewed.startswith("1 of the latest") and "queue depth high" in previewed
    assert page.locator("#silence-matchers").input_value() == f"service={service}", "the previewed matchers carry over"
    page.locator("#silence-duration").fill("forever-ish")
    submit(page, "#silence")
    assert page.locator("#error").count() == 1
    assert page.locator("#silence-matchers").input_value() == f"service={service}", "what was typed is kept"
    page.locator("#silence-duration").fill("2h")
    submit(page, "#silence")
    assert service in page.locator("#silences").inner_text()
    shot(page, "silences")

    page.goto(server.base + "/notifications")
    assert page.locator("#failed").is_visible()
    page.goto(server.base + "/policy")
    assert "severities" in page.locator("#policy-text").inner_text()
    page.goto(server.base + "/admin/users")
    assert "tester" in page.locator("#users").inner_text()
    page.close()


def test_a_responders_silence_must_name_its_service(browser: Any, server: Server) -> None:
    token_for(server.db_url, "henry", "responder")
    page = browser.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, server, "henry")
    page.goto(server.base + "/silences")
    page.locator("#silence-matchers").fill("severity=warning")
    submit(page, "#silence")
    assert "names its service" in page.locator("#error").inner_text()
    assert page.locator("#silence-matchers").input_value() == "severity=warning"
    page.locator("#preview-matchers").fill("env!=prod")
    submit(page, "#preview")
    assert "would silence everything" in page.locator("#error").inner_text()
    refused = page.goto(server.base + "/admin/users")
    assert refused is not None and refused.status == 403, "users and tokens are for admins"
    assert page.locator("#users").count() == 0
    page.close()

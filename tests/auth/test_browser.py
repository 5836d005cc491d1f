"""Signing in as a responder would, in headless Chromium: act, find your own name on the record and an
audit row for each action; a form posted without its CSRF token is refused; signing out ends it."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.conftest import PASSWORD, Server, token_for


def shot(page: object, name: str) -> None:
    folder = os.environ.get("WARROOM_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_sign_in_act_refuse_a_forged_form_and_sign_out(browser: object, server: Server) -> None:
    token_for(server.db_url, "hana", "responder")  # hana exists, with the tests' password
    page = browser.new_page(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page.set_default_timeout(15_000)
    page.goto(server.base + "/incidents/INC-20260101-0001")
    page.wait_for_url("**/login?next=/incidents/INC-20260101-0001")
    page.locator("#username").fill("hana")
    page.locator("#password").fill("not her password")
    page.locator("#sign-in").click()
    assert "wrong user name or password" in page.locator("#error").inner_text()
    page.locator("#username").fill("hana")
    page.locator("#password").fill(PASSWORD)
    shot(page, "sign-in")
    page.locator("#sign-in").click()
    page.wait_for_url("**/incidents/INC-20260101-0001")
    page.goto(server.base + "/")
    assert "hana" in page.locator(".whoami").inner_text()

    form = page.locator("#declare")
    form.locator("select[name=severity]").select_option("P2")
    form.locator("input[name=title]").fill("Search results stale")
    form.locator("button").click()
    page.wait_for_url("**/incidents/INC-*")
    iid = page.url.rsplit("/", 1)[1]
    page.locator("#ack").click()
    page.wait_for_load_state()
    timeline = page.locator("#timeline").inner_text()
    assert "Declared P2: Search results stale" in timeline and "hana" in timeline
    assert page.locator("#status").text_content() == "acknowledged"
    shot(page, "signed-in-incident")

    # Another site's page, or a script without the page's token, cannot act with hana's cookie.
    forged = page.evaluate(
        """async (iid) => {
            const r = await fetch(`/incidents/${iid}/log`, {method: "POST",
                headers: {"content-type": "application/x-www-form-urlencoded"}, body: "what=forged"});
            return r.status;
        }""",
        iid,
    )
    assert forged == 403
    page.reload()
    assert "forged" not in page.locator("#timeline").inner_text()

    page.locator("#logout").click()
    page.wait_for_url("**/login")
    page.goto(f"{server.base}/incidents/{iid}")
    assert "/login?next=" in page.url, "signed out: the page asks to sign in again"
    page.close()

    with httpx.Client(base_url=server.base, headers={"Authorization": f"Bearer {server.token_for()}"}) as api:
        rows = [r for r in api.get("/api/v1/audit", params={"who": "hana"}).json()]
    done = {(r["action"], r["target"], r["result"]) for r in rows}
    assert ("POST /incidents", "", "done") in done
    assert ("POST /incidents/{incident_id}/{action}", f"incident_id={iid},action=ack", "done") in done
    assert ("POST /incidents/{incident_id}/{action}", f"incident_id={iid},action=log", "refused 403") in done
    assert ("POST /logout", "", "done") in done
    signins = [r["result"] for r in rows if r["action"] == "sign in"]
    assert "done" in signins and "refused 401" in signins
    assert all(r["via"] == "session" or r["action"] == "sign in" for r in rows)

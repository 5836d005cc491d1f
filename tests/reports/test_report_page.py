"""The report page in headless Chromium: signed in through the form, the figures and the SVG charts shown,
a screenshot kept for a human to look at (WARROOM_SCREENSHOTS, default the test's tmp dir)."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from tests.conftest import Server
from tests.e2e.test_web import sign_in


def test_the_report_page_shows_figures_and_charts(browser: object, server: Server, tmp_path: Path) -> None:
    with server.client() as api:
        for n, sev in enumerate(("P1", "P2", "P1")):
            inc = api.post(
                "/api/v1/incidents",
                json={
                    "severity": sev,
                    "title": f"Report page {n}",
                    "service": ["billing", "search"][n % 2],
                    "by": "monitor",
                },
            )
            assert inc.status_code == 201, inc.text
            iid = inc.json()["id"]
            assert api.post(f"/api/v1/incidents/{iid}/ack", json={"by": "alice"}).status_code == 200
            assert (
                api.post(
                    f"/api/v1/incidents/{iid}/mitigations", json={"strategy": "rollback", "worked": True, "by": "alice"}
                ).status_code
                == 200
            )
    page = browser.new_page(viewport={"width": 1300, "height": 1400})  # type: ignore[attr-defined]
    page.set_default_timeout(15_000)
    sign_in(page, server, "alice")
    page.goto(server.base + "/reports?since=30d")
    assert page.locator("#fig-mtta td").nth(1).inner_text() != "0"
    for cls in ("weekly", "trend", "compliance", "services", "pages"):
        assert page.locator(f"svg.{cls}").count() == 1
    assert page.locator("svg.weekly rect.bar").count() >= 1
    assert page.locator("svg.trend polyline").count() >= 1
    where = Path(os.environ.get("WARROOM_SCREENSHOTS", str(tmp_path)))
    where.mkdir(parents=True, exist_ok=True)
    shot = where / f"report-{server.db_url.split(':')[0]}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    bad = httpx.get(
        server.base + "/api/v1/reports/summary",
        params={"since": "nope"},
        headers={"Authorization": f"Bearer {server.token_for('alice')}"},
    )
    assert bad.status_code == 422 and bad.json()["field"] == "since"
    page.close()

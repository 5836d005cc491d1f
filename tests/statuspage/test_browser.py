"""The public page in headless Chromium, without JavaScript, in each overall state: operational, degraded,
partial outage, major outage and maintenance; on a phone in dark mode too. Screenshots go to the test's
directory (and to $WARROOM_SHOTS when set, for a person to look at)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server, fresh_database

STATES = [
    ("operational", {}, "All Systems Operational", "rgb(26, 127, 55)"),
    ("degraded", {"Search": "degraded_performance"}, "Partially Degraded Service", "rgb(154, 103, 0)"),
    (
        "partial",
        {"Search": "degraded_performance", "API": "partial_outage"},
        "Partial System Outage",
        "rgb(188, 76, 0)",
    ),
    ("major", {"API": "major_outage"}, "Major System Outage", "rgb(207, 34, 46)"),
    ("maintenance", {"Search": "under_maintenance"}, "Service Under Maintenance", "rgb(9, 105, 218)"),
]


@pytest.fixture
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    gen = fresh_database("sqlite", request, tmp_path)
    srv = Server(next(gen), {"WARROOM_POLICY": "nself", "WARROOM_STATUS_NAME": "Acme"}, tmp_path / "serve.log")
    srv.start()
    yield srv
    srv.stop()
    next(gen, None)


def test_the_page_in_each_overall_state(site: Server, browser: Any, tmp_path: Path) -> None:
    with site.client() as api:
        for name, group in (("API", None), ("Search", None), ("Web app", "Apps"), ("Mobile", "Apps")):
            assert (
                api.post(
                    "/api/v1/status/components",
                    json={"name": name, "group": group, "description": f"{name} for customers", "by": "alice"},
                ).status_code
                == 201
            )
        shots = []
        for state, statuses, banner, colour in STATES:
            # fresh contexts: a browser may keep a page for its max-age (10 s), as it should
            plain = browser.new_context(java_script_enabled=False, viewport={"width": 1100, "height": 1400})
            phone = browser.new_context(
                java_script_enabled=False,
                viewport={"width": 390, "height": 844},
                color_scheme="dark",
                device_scale_factor=2,
            )
            for name in ("API", "Search", "Web app", "Mobile"):
                status = statuses.get(name, "operational")
                assert (
                    api.post(f"/api/v1/status/components/{name}", json={"status": status, "by": "alice"}).status_code
                    == 200
                )
            page = plain.new_page()
            page.goto(site.base + "/status")
            assert page.locator("h1").inner_text() == banner
            assert page.locator(".banner").evaluate("e => getComputedStyle(e).backgroundColor") == colour
            assert page.locator(".bar").count() == 4  # one 90-day bar per component, none for the group
            assert page.locator(".bar").first.get_attribute("aria-label").endswith("uptime over the last 90 days")
            for name, status in statuses.items():
                row = page.locator(".component", has_text=name).locator(".cstatus").first
                assert row.inner_text().lower() == status.replace("_", " ").replace(
                    "degraded performance", "degraded performance"
                )
            shots.append(tmp_path / f"status-{state}.png")
            page.screenshot(path=str(shots[-1]), full_page=True)
            page.close()
            small = phone.new_page()
            small.goto(site.base + "/status")
            assert small.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
            assert small.locator("body").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(13, 17, 23)"
            shots.append(tmp_path / f"status-{state}-phone-dark.png")
            small.screenshot(path=str(shots[-1]), full_page=True)
            small.close()
            plain.close()
            phone.close()
    assert all(p.stat().st_size > 10_000 for p in shots)
    keep = os.environ.get("WARROOM_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for p in shots:
            shutil.copy(p, Path(keep) / p.name)

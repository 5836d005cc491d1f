"""Contrast AA, checked by the browser: on every page, in dark and in light mode, each piece of text actually
rendered (and each control's own text) against the background it is drawn on, as Chromium computes both.

WCAG 2.x: contrast = (L1 + 0.05) / (L2 + 0.05) of the relative luminances; at least 4.5:1, or 3:1 for large
text (24 px, or 18.66 px bold). A colour with alpha is blended over what is behind it first. Backgrounds are
the nearest painted ones up the tree (the pages use no background images under text).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Server
from tests.e2e.test_web import sign_in

COLLECT = (Path(__file__).parent / "contrast.js").read_text()
"""every visible text (and control) with its colour, its background, its size and weight"""


def luminance(rgb: list[float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: list[float], b: list[float]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def needed(size: float, weight: int) -> float:
    return 3.0 if size >= 24 or (size >= 18.66 and weight >= 700) else 4.5


def test_contrast_formula_matches_wcag_examples() -> None:
    assert round(contrast([0, 0, 0], [255, 255, 255]), 1) == 21.0
    assert round(contrast([119, 119, 119], [255, 255, 255]), 2) == 4.48  # #777 on white: just short of AA
    assert needed(24, 400) == 3.0 and needed(19, 700) == 3.0 and needed(19, 400) == 4.5


@pytest.fixture(scope="module")
def rich(server: Server) -> dict[str, str]:
    """An incident with something in every panel, a draft, an alert group, a silence preview."""
    with server.client() as api:
        inc = api.post(
            "/api/v1/incidents",
            json={"severity": "P0", "title": f"Contrast {uuid.uuid4().hex[:6]}", "service": "paint", "by": "cora"},
        ).json()["id"]
        api.post(f"/api/v1/incidents/{inc}/ack", json={"by": "cora"})
        api.post(f"/api/v1/incidents/{inc}/hypotheses", json={"text": "Ink", "confidence": 60, "by": "cora"})
        api.post(f"/api/v1/incidents/{inc}/mitigations", json={"strategy": "rollback", "worked": False, "by": "cora"})
        api.post(f"/api/v1/incidents/{inc}/updates", json={"audience": "internal", "text": "Looking", "by": "cora"})
        api.post(f"/api/v1/incidents/{inc}/flags", json={"flags": {"customer_facing": True}, "by": "cora"})
    return {"incident": inc}


PAGES = [
    "/",
    "/?status=all",
    "/incidents/{incident}",
    "/incidents/{incident}/drafts/status_investigating",
    "/alerts",
    "/silences?preview=service%3Dpaint",
    "/oncall",
    "/notifications",
    "/policy",
    "/reports",
    "/admin/users",
    "/account/password",
    "/statuspage",
    "/statuspage/maintenance",
    "/statuspage/subscribers",
    "/incidents/INC-19990101-0001",  # missing: the not-found page
]


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_every_text_meets_aa_in_both_colour_schemes(
    browser: Any, server: Server, rich: dict[str, str], scheme: str
) -> None:
    context = browser.new_context(color_scheme=scheme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(server.base + "/login")
    failures = check(page, "/login")
    sign_in(page, server, "cora")
    for path in PAGES:
        page.goto(server.base + path.format(**rich))
        failures += check(page, path)
    # A refusal with what was typed (the error banner), and the focus ring on a control.
    page.goto(server.base + "/")
    page.locator("#declare-title").fill("   ")
    page.locator("#declare button[type=submit]").click()
    page.wait_for_load_state()
    failures += check(page, "/ (a refusal)")
    context.close()
    assert failures == [], "\n".join(failures)


def check(page: Any, where: str) -> list[str]:
    found = []
    texts = page.evaluate(COLLECT)
    assert len(texts) > 5, f"{where}: only {len(texts)} texts found; is the page there?"
    for t in texts:
        ratio = contrast(t["fg"], t["bg"])
        need = needed(t["size"], t["weight"])
        if ratio < need:
            what = f"<{t['tag']}{' id=' + t['id'] if t['id'] else ''}{' class=' + t['cls'] if t['cls'] else ''}>"
            found.append(
                f"{where}: {what} {t['text']!r}: {ratio:.2f}:1 < {need}:1 "
                f"(text {_hex(t['fg'])} on {_hex(t['bg'])}, {t['size']:.0f}px/{t['weight']})"
            )
    return found


def _hex(rgb: list[float]) -> str:
    return "#" + "".join(f"{round(v):02x}" for v in rgb[:3])


def test_the_light_scheme_is_light_and_the_dark_one_dark(browser: Any, server: Server) -> None:
    for scheme, dark in (("dark", True), ("light", False)):
        context = browser.new_context(color_scheme=scheme)
        page = context.new_page()
        page.goto(server.base + "/login")
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        level = luminance([float(v) for v in re.findall(r"[\d.]+", bg)[:3]])
        assert (level < 0.1) if dark else (level > 0.8), (scheme, bg)
        context.close()

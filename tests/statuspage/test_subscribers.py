"""Subscribers through a real `warroom serve` and a real SMTP server (aiosmtpd): double opt-in (a link's page
confirms nothing by itself), a mail for each post to confirmed subscribers only, an unsubscribe link in every
mail that works, and the delivery log an admin reads. On SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BACKENDS, Server, fresh_database
from tests.notify.conftest import SmtpSink, body_of

LINK = re.compile(r"(http://\S+/status/subscribers/(confirm|unsubscribe)\?token=([\w-]+))")


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    gen = fresh_database(request.param, request, tmp_path)
    srv = Server(
        next(gen),
        {"WARROOM_POLICY": "nself", "WARROOM_STATUS_NAME": "Acme", "WARROOM_ENGINE_INTERVAL": "0.2"},
        tmp_path / "serve.log",
    ).start()
    yield srv
    srv.stop()
    next(gen, None)


def _mails(smtp: SmtpSink, to: str, count: int, timeout: float = 20.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = smtp.to(to)
        if len(got) >= count:
            return got
        time.sleep(0.1)
    return smtp.to(to)


def _links(text: str) -> dict[str, str]:
    return {kind: token for _, kind, token in LINK.findall(text)}


def test_opt_in_mail_and_unsubscribe(site: Server, smtp: SmtpSink) -> None:
    anon = httpx.Client(base_url=site.base, timeout=10)
    with site.client() as api:
        url = smtp.url("{channel}", sender="status@example.com", name="Acme")
        assert api.put("/api/v1/contacts/channels/status-subscribers", json={"url": url}).status_code == 200
        assert api.post("/api/v1/status/components", json={"name": "API", "by": "alice"}).status_code == 201
        inc = api.post("/api/v1/incidents", json={"severity": "P1", "title": "API errors", "by": "alice"}).json()["id"]

        bad = anon.post("/status/subscribe", data={"email": "not an address"})
        assert bad.status_code == 422 and bad.json()["field"] == "email"
        asked = anon.post("/status/subscribe", data={"email": "carol@example.com"})
        assert asked.status_code == 200 and "Check your inbox" in asked.text
        first = _mails(smtp, "carol@example.com", 1)
        assert len(first) == 1 and "Confirm your subscription to Acme status" in str(first[0]["Subject"])
        links = _links(body_of(first[0]))
        assert set(links) == {"confirm", "unsubscribe"}

        def post(text: str) -> None:
            r = api.post(
                f"/api/v1/status/incidents/{inc}/posts",
                json={"text": text, "status": "identified", "components": {"API": "partial_outage"}, "by": "alice"},
            )
            assert r.status_code == 201, r.text

        post("Before you confirmed.")
        page = anon.get("/status/subscribers/confirm", params={"token": links["confirm"]})
        assert page.status_code == 200 and 'action="/status/subscribers/confirm"' in page.text
        assert [s["state"] for s in api.get("/api/v1/status/subscribers").json()] == ["pending"]
        done = anon.post("/status/subscribers/confirm", data={"token": links["confirm"]})
        assert "You are subscribed" in done.text
        assert (
            "That link is not valid" in anon.post("/status/subscribers/confirm", data={"token": "wrong-token-x"}).text
        )
        again = anon.post("/status/subscribe", data={"email": "carol@example.com"})
        assert again.status_code == 200 and again.text == asked.text  # tells nobody who is subscribed

        post("We found the cause.")
        mails = _mails(smtp, "carol@example.com", 2)
        assert len(mails) == 2
        update = body_of(mails[1])
        assert "We found the cause." in update and "Before you confirmed." not in update
        assert str(mails[1]["Subject"]) == "[Acme status] Identified: API errors"
        assert _links(update) == {"unsubscribe": links["unsubscribe"]}
        log = api.get("/api/v1/status/subscribers").json()
        assert log[0]["state"] == "confirmed" and log[0]["sent"] == 2 and log[0]["failed"] == 0

        page = anon.get("/status/subscribers/unsubscribe", params={"token": links["unsubscribe"]})
        assert page.status_code == 200 and "Unsubscribe" in page.text
        gone = anon.post("/status/subscribers/unsubscribe", data={"token": links["unsubscribe"]})
        assert "You are unsubscribed" in gone.text
        post("After you left.")
        log = api.get("/api/v1/status/subscribers").json()
        assert log[0]["state"] == "unsubscribed"
        assert log[0]["sent"] + log[0]["pending"] + log[0]["failed"] == 2  # nothing queued for them any more
    anon.close()

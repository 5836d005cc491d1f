"""Webhook subscribers through a real `warroom serve` and a real HTTP receiver on 127.0.0.1: added by a
responder (API and CLI) or asked for on the public page (confirmed by the link its first POST carries), per
component or for everything; each post arrives as Statuspage's webhook JSON (an incident, and a component
update per component it changed) through the outbox, retried when the receiver fails, with a delivery log
(API and CLI) that shows each attempt; removed by a responder or unsubscribed by the body's link, nothing
more arrives. On SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import BACKENDS, Server, fresh_database
from tests.notify.conftest import Hit, WebhookSink
from tests.statuspage.helpers import SECRETS, secret_incident
from tests.statuspage.test_v2_format import INCIDENT, check, check_story
from warroom.compose import context
from warroom.domain.clock import SystemClock
from warroom.policy import load_policy
from warroom.statuspage.vocab import INCIDENT_STATUSES
from warroom.store.db import Database

ENV = {
    "WARROOM_POLICY": "nself",
    "WARROOM_STATUS_NAME": "Acme",
    "WARROOM_ENGINE_INTERVAL": "0.2",
    "WARROOM_NOTIFY_BACKOFF_SECONDS": "1",
    "WARROOM_NOTIFY_BACKOFF_MAX_SECONDS": "2",
}


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    gen = fresh_database(request.param, request, tmp_path)
    srv = Server(next(gen), ENV, tmp_path / "serve.log").start()
    yield srv
    srv.stop()
    next(gen, None)


def _wait(get: Callable[[], list[Hit]], count: int, timeout: float = 20.0) -> list[Hit]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = get()
        if len(got) >= count:
            return got
        time.sleep(0.1)
    return get()


def _kinds(hits: list[Hit]) -> list[str]:
    return [next(k for k in ("incident", "component_update", "subscription_confirmation") if k in h.body) for h in hits]


def test_webhooks_get_each_post_as_statuspage_json_with_retries_a_log_and_removal(
    site: Server, webhook: WebhookSink
) -> None:
    base = f"http://127.0.0.1:{webhook.port}"
    anon = httpx.Client(base_url=site.base, timeout=10)
    with site.client() as api:
        for name in ("API", "Billing"):
            assert api.post("/api/v1/status/components", json={"name": name, "by": "alice"}).status_code == 201

        bad = api.post("/api/v1/status/subscribers", json={"webhook": "ftp://example.com/x", "by": "alice"})
        assert bad.status_code == 422 and bad.json()["field"] == "webhook"
        neither = api.post("/api/v1/status/subscribers", json={"by": "alice"})
        assert neither.status_code == 422
        everything = api.post(
            "/api/v1/status/subscribers", json={"webhook": f"{base}/all?token=s3cret-value", "by": "alice"}
        )
        assert everything.status_code == 201, everything.text
        sub = everything.json()
        assert sub["kind"] == "webhook" and sub["state"] == "confirmed" and sub["created_by"] == "alice"
        assert "s3cret-value" not in sub["address"] and sub["address"].endswith("/all?token=***")
        again = api.post("/api/v1/status/subscribers", json={"webhook": f"{base}/all?token=s3cret-value", "by": "bo"})
        assert again.status_code == 409
        only_api = api.post(
            "/api/v1/status/subscribers", json={"webhook": f"{base}/api-only", "components": ["API"], "by": "alice"}
        ).json()
        webhook.statuses["/flaky"] = [500, 503]
        flaky = api.post("/api/v1/status/subscribers", json={"webhook": f"{base}/flaky", "by": "alice"}).json()

        # The public page: the first POST asks for confirmation, nothing else comes before it.
        asked = anon.post("/status/subscribe", data={"webhook": f"{base}/public", "component": "Billing"})
        assert asked.status_code == 200 and "Check your webhook" in asked.text
        first = _wait(lambda: webhook.delivered("/public"), 1)
        assert _kinds(first) == ["subscription_confirmation"]
        confirm_url = first[0].body["subscription_confirmation"]["confirm_url"]
        assert confirm_url.startswith("http") and "/status/subscribers/confirm?token=" in confirm_url
        assert {k.lower(): v for k, v in first[0].headers.items()}["content-type"] == "application/json"

        ctx = context(Database(site.db_url), load_policy("nself"), SystemClock())
        try:
            inc = secret_incident(ctx)
        finally:
            ctx.db.dispose()
        posted = api.post(
            f"/api/v1/status/incidents/{inc}/posts",
            json={
                "text": "Payments fail for some customers.",
                "status": "identified",
                "components": {"Billing": "major_outage"},
                "title": "Payment failures",
                "by": "alice",
            },
        )
        assert posted.status_code == 201, posted.text
        hits = _wait(lambda: webhook.delivered("/all"), 2)
        assert sorted(_kinds(hits)) == ["component_update", "incident"]
        story = next(h.body for h in hits if "incident" in h.body)
        check(story["incident"], INCIDENT, "webhook.incident")
        check_story(story["incident"], INCIDENT, set(INCIDENT_STATUSES), "webhook.incident")
        assert story["incident"]["name"] == "Payment failures" and story["incident"]["status"] == "identified"
        assert story["incident"]["incident_updates"][0]["body"] == "Payments fail for some customers."
        assert story["page"]["status_indicator"] == "critical"
        assert story["page"]["status_description"] == "Major System Outage"
        summary = anon.get("/status/api/v2/summary.json").json()
        assert story["page"]["id"] == summary["page"]["id"]
        assert story["incident"] == summary["incidents"][0]  # the same object the JSON API serves
        update = next(h.body for h in hits if "component_update" in h.body)
        billing = next(c for c in summary["components"] if c["name"] == "Billing")
        assert update["component_update"]["old_status"] == "operational"
        assert update["component_update"]["new_status"] == "major_outage"
        assert update["component_update"]["component_id"] == billing["id"] == update["component"]["id"]
        assert update["component"]["status"] == "major_outage" and update["component"]["name"] == "Billing"
        for h in hits:
            assert h.body["meta"]["unsubscribe"].startswith("http") and "token=" in h.body["meta"]["unsubscribe"]
            for secret in (*SECRETS, "mallory", "Checkout errors"):
                assert secret not in str(h.body), secret
        assert webhook.on("/api-only") == []  # it follows API only
        assert _wait(lambda: webhook.delivered("/flaky"), 2, timeout=30) and len(webhook.on("/flaky")) >= 4
        assert len(webhook.delivered("/public")) == 1  # not confirmed yet: still only the confirmation

        # The delivery log: each message, each attempt and its error.
        log = api.get(f"/api/v1/status/subscribers/{flaky['id']}/deliveries").json()
        assert len(log) == 2 and all(d["state"] == "sent" and d["log"][-1]["outcome"] == "sent" for d in log)
        failures = [a["error"] for d in log for a in d["log"] if a["outcome"] == "failed"]
        assert len(failures) == 2 and {"HTTP 500", "HTTP 503"} == {e.split(" answered ")[1][:8] for e in failures}
        listed = {s["id"]: s for s in api.get("/api/v1/status/subscribers").json()}
        assert listed[sub["id"]]["sent"] == 2 and listed[only_api["id"]]["sent"] == 0
        assert listed[flaky["id"]]["sent"] == 2 and listed[flaky["id"]]["failed"] == 0

        env = {**site.env, **site.env_for("carol")}
        cli = subprocess.run(
            [sys.executable, "-m", "warroom", "statuspage", "subscriber", "deliveries", str(flaky["id"])],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        assert "failed" in cli.stdout and "HTTP 500" in cli.stdout and "sent" in cli.stdout
        cli = subprocess.run(
            [sys.executable, "-m", "warroom", "statuspage", "subscriber", "add", "--webhook", f"{base}/cli"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert cli.returncode == 0 and "(webhook) confirmed" in cli.stdout, cli.stderr

        # Confirmed from the link, the public webhook gets the next post; removed and unsubscribed, nothing more.
        token = parse_qs(urlsplit(confirm_url).query)["token"][0]
        assert "You are subscribed" in anon.post("/status/subscribers/confirm", data={"token": token}).text
        removed = api.post(f"/api/v1/status/subscribers/{sub['id']}/remove", json={"by": "bo"}).json()
        assert removed["state"] == "unsubscribed" and removed["removed_by"] == "bo"
        assert api.post(f"/api/v1/status/subscribers/{sub['id']}/remove", json={"by": "bo"}).status_code == 409
        assert api.post("/api/v1/status/subscribers/99999/remove", json={"by": "bo"}).status_code == 404
        posted = api.post(
            f"/api/v1/status/incidents/{inc}/posts",
            json={"text": "A fix is rolling out.", "status": "monitoring", "by": "alice"},
        )
        assert posted.status_code == 201
        public = _wait(lambda: webhook.delivered("/public"), 2)
        assert _kinds(public) == ["subscription_confirmation", "incident"]
        assert public[1].body["incident"]["status"] == "monitoring"
        assert len(_wait(lambda: webhook.delivered("/cli"), 1)) == 1
        unsubscribe = public[1].body["meta"]["unsubscribe"]
        token = parse_qs(urlsplit(unsubscribe).query)["token"][0]
        assert "You are unsubscribed" in anon.post("/status/subscribers/unsubscribe", data={"token": token}).text
        api.post(f"/api/v1/status/incidents/{inc}/posts", json={"text": "Resolved.", "status": "resolved", "by": "al"})
        assert len(_wait(lambda: webhook.delivered("/cli"), 3)) == 3  # the post, and Billing back to operational
        assert len(webhook.on("/all")) == 2 and len(webhook.on("/public")) == 2  # nothing after leaving
    anon.close()

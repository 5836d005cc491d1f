"""Every integration has its own secret; without it a webhook gets 401 and nothing is stored."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpx

from tests.intake.conftest import PROBLEM, Intake, payload, unique
from warroom.compose import context
from warroom.domain.clock import SystemClock
from warroom.intake import integrations
from warroom.policy import load_policy
from warroom.store.db import Database


def alert_count(api: Intake, service: str) -> int:
    return len(api.get("/api/v1/alerts", service=service))


def test_missing_wrong_or_foreign_secret_is_401_and_nothing_is_stored(intake: Intake) -> None:
    service = unique("auth")
    body = {"summary": "should not land", "service": service}
    for headers, params in (
        ({}, {}),
        ({"Authorization": "Bearer wr_not-a-real-secret"}, {}),
        ({}, {"token": "wr_not-a-real-secret"}),
        ({"Authorization": f"Bearer {intake.tokens['alertmanager']}"}, {}),  # another source's secret
        ({"Authorization": f"Basic {intake.tokens['generic']}"}, {}),
    ):
        resp = intake.http.post("/api/v1/alerts/generic", json=body, headers=headers, params=params)
        assert resp.status_code == 401, (headers, params, resp.text)
        assert resp.headers["content-type"] == PROBLEM and "no valid secret" in resp.json()["detail"]
    assert alert_count(intake, service) == 0
    before = len(intake.get("/api/v1/dead-letters", limit=1000))
    bad = intake.http.post("/api/v1/alerts/generic", content=b"{broken", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert len(intake.get("/api/v1/dead-letters", limit=1000)) == before, "no dead letter before authentication"
    ok = intake.http.post("/api/v1/alerts/generic", json=body, params={"token": intake.tokens["generic"]})
    assert ok.status_code == 202
    intake.applied(ok.json()["request"])
    assert alert_count(intake, service) == 1


def test_removed_integration_stops_working_and_only_a_hash_is_kept(intake: Intake) -> None:
    ctx = context(db=Database(intake.server.db_url), policy=load_policy("nself"), clock=SystemClock())
    try:
        name = unique("tmp")
        created = integrations.add(ctx, "generic", name, "tests")
        with ctx.db.engine.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT token_hash, token_hint FROM intake_integrations WHERE name = %s"
                if ctx.db.dialect == "postgresql"
                else "SELECT token_hash, token_hint FROM intake_integrations WHERE name = ?",
                (name,),
            ).one()
        assert row[0] == hashlib.sha256(created.token.encode()).hexdigest() and created.token not in row
        integrations.remove(ctx, name)
    finally:
        ctx.db.dispose()
    resp = intake.http.post("/api/v1/alerts/generic", json={"summary": "x"}, params={"token": created.token})
    assert resp.status_code == 401


def test_sentry_signature(intake: Intake) -> None:
    ctx = context(db=Database(intake.server.db_url), policy=load_policy("nself"), clock=SystemClock())
    name, secret = unique("sentry"), "client-secret-from-sentry"
    try:
        integrations.add(ctx, "sentry", name, "tests", signing_secret=secret)
    finally:
        ctx.db.dispose()
    body = payload("sentry_event_alert")
    body["data"]["event"]["issue_id"] = unique("")
    raw = json.dumps(body).encode()
    good = hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    url = f"/api/v1/alerts/sentry?integration={name}"
    headers = {"Content-Type": "application/json", "Sentry-Hook-Resource": "event_alert"}
    resp = intake.http.post(url, content=raw, headers={**headers, "Sentry-Hook-Signature": good})
    assert resp.status_code == 202, resp.text
    assert intake.applied(resp.json()["request"])["outcomes"][0]["outcome"] == "new"
    bad = hmac.new(b"wrong", raw, hashlib.sha256).hexdigest()
    resp = intake.http.post(url, content=raw, headers={**headers, "Sentry-Hook-Signature": bad})
    assert resp.status_code == 401
    tampered = raw.replace(b"login failed", b"login fixed!")
    resp = intake.http.post(url, content=tampered, headers={**headers, "Sentry-Hook-Signature": good})
    assert resp.status_code == 401


def test_unknown_source_is_404(intake: Intake) -> None:
    resp = httpx.post(intake.server.base + "/api/v1/alerts/nagios", json={}, timeout=10)
    assert resp.status_code == 404 and resp.headers["content-type"] == PROBLEM
    assert "alertmanager" in resp.json()["detail"]

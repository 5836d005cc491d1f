"""Accepted means committed: a webhook's request row is stored before the 202, and applied behind it.

What a crash leaves (rows committed but not applied) is applied when a server starts again; a row the
pipeline cannot apply is marked failed with its body kept as a dead letter; requests apply in the
order they were accepted; GET /api/v1/intake/requests/{id} says what became of each alert.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKENDS, fresh_database
from tests.intake.conftest import PROBLEM, Intake, make_tokens, start_server, unique
from warroom.intake import inbox
from warroom.intake.inbox import Accepted
from warroom.intake.normal import Incoming, PayloadError
from warroom.intake.parsers import PARSERS
from warroom.store.db import Database


def left_behind(url: str, bodies: list[bytes], integration: str) -> list[int]:
    """Request rows committed the way the webhook commits them, as a server that died before applying them left them."""
    db = Database(url)
    try:
        now = datetime.now(UTC)
        jobs = [Accepted("generic", integration, now, {}, body, len(parsed(body))) for body in bodies]
        with db.driver([]) as cursor:
            return inbox.store(cursor, db.dialect == "postgresql", jobs)
    finally:
        db.dispose()


def parsed(body: bytes) -> list[Incoming]:
    try:
        return PARSERS["generic"](json.loads(body), {})
    except PayloadError:
        return []


@pytest.fixture(params=BACKENDS)
def stopped(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A fresh database with integrations and no server running yet."""
    gen = fresh_database(request.param, request, tmp_path)
    url = next(gen)
    yield url, make_tokens(url, "nself")
    next(gen, None)


def test_requests_left_by_a_crash_are_applied_when_a_server_starts(stopped: tuple[str, dict[str, str]]) -> None:
    url, tokens = stopped
    service = unique("crash")
    good = [json.dumps({"summary": f"Queue backlog {i}", "service": service, "fingerprint": f"q{i}",
                        "severity": "critical"}).encode() for i in range(3)]  # fmt: skip
    broken = b'{"summary": 12}'  # no longer the generic shape: it cannot be applied
    integration = unique("left-behind")
    ids = left_behind(url, [good[0], broken, *good[1:]], integration)
    server, _ = start_server(url, "nself")
    api = Intake(server, tokens)
    try:
        done = [api.applied(i) if n != 1 else None for n, i in enumerate(ids)]
        failed = api.get(f"/api/v1/intake/requests/{ids[1]}", wait=15)
        assert failed["status"] == "failed" and failed["dead_letter"] and "summary" in failed["error"]
        letter = api.get(f"/api/v1/dead-letters/{failed['dead_letter']}")
        assert letter["body"] == broken.decode() and letter["integration"] == integration
        applied = [d for d in done if d is not None]
        assert [d["outcomes"][0]["outcome"] for d in applied] == ["new", "new", "new"]
        incident = {d["outcomes"][0]["incident_id"] for d in applied}
        assert len(incident) == 1 and None not in incident, "the three alerts of one service make one incident"
        alerts = api.get("/api/v1/alerts", service=service)
        assert len(alerts) == 3 and all(a["integration"] == integration for a in alerts)
        assert api.get("/api/v1/intake")["pending_requests"] == 0
    finally:
        api.close()
        server.stop()


def test_a_burst_applies_in_the_order_it_was_accepted(intake: Intake) -> None:
    """Firing, repeat, resolved and firing again, sent without waiting: applied one after the other."""
    service, fp = unique("order"), unique("fp")
    headers = {"Authorization": f"Bearer {intake.tokens['generic']}"}
    ids = []
    for status in ("firing", "firing", "resolved", "firing"):
        body = {"summary": "Disk full", "service": service, "fingerprint": fp, "status": status}
        resp = intake.http.post("/api/v1/alerts/generic", json=body, headers=headers)
        assert resp.status_code == 202, resp.text
        assert resp.json()["accepted"] == 1 and resp.json()["status"] == "accepted"
        ids.append(resp.json()["request"])
    assert ids == sorted(ids)
    outcomes = [intake.applied(i)["outcomes"][0] for i in ids]
    assert [o["outcome"] for o in outcomes] == ["new", "repeat", "resolved", "new"]
    assert outcomes[0]["id"] == outcomes[1]["id"] == outcomes[2]["id"] != outcomes[3]["id"]


def test_an_intake_request_names_what_it_is_and_refuses_bad_questions(intake: Intake) -> None:
    answer = intake.generic(summary="Cache miss storm", service=unique("cache"))
    shown = intake.get(f"/api/v1/intake/requests/{answer['request']}")
    assert shown["status"] == "applied" and shown["source"] == "generic" and shown["alerts"] == 1
    assert shown["processed_at"] >= shown["received_at"] and shown["error"] is None
    missing = intake.http.get("/api/v1/intake/requests/999999999")
    assert missing.status_code == 404 and missing.headers["content-type"] == PROBLEM
    assert missing.json()["field"] == "request_id"
    for bad in ("-1", "61", "soon"):
        resp = intake.http.get(f"/api/v1/intake/requests/{answer['request']}", params={"wait": bad})
        assert resp.status_code == 422 and resp.headers["content-type"] == PROBLEM, bad
        assert resp.json()["field"] == "wait"


def test_the_intake_status_shows_commits_applies_and_the_backlog(intake: Intake) -> None:
    before = intake.get("/api/v1/intake")
    intake.generic(summary="Login errors", service=unique("login"))
    after = intake.get("/api/v1/intake")
    assert after["running"] and after["requests"] > before["requests"]
    assert after["applied_requests"] >= before["applied_requests"] + 1
    assert after["pending_requests"] == 0 and after["pending_alerts"] == 0


def test_an_alertmanager_batch_is_one_request_with_an_outcome_per_alert(intake: Intake) -> None:
    service = unique("batch")
    alerts = [{"status": "firing", "labels": {"alertname": "High5xx", "service": service, "pod": f"p{i}"},
               "annotations": {"summary": f"5xx on pod {i}"}, "startsAt": "2026-11-23T10:00:00Z",
               "endsAt": "0001-01-01T00:00:00Z", "fingerprint": unique(f"am{i}")} for i in range(5)]  # fmt: skip
    body = {"version": "4", "status": "firing", "receiver": "warroom", "groupLabels": {}, "commonLabels": {},
            "commonAnnotations": {}, "externalURL": "http://am:9093", "alerts": alerts}  # fmt: skip
    resp = httpx.post(intake.server.base + "/api/v1/alerts/alertmanager", json=body, timeout=10,
                      headers={"Authorization": f"Bearer {intake.tokens['alertmanager']}"})  # fmt: skip
    assert resp.status_code == 202 and resp.json()["accepted"] == 5
    done = intake.applied(resp.json()["request"])
    assert done["alerts"] == 5 and [o["outcome"] for o in done["outcomes"]] == ["new"] * 5
    assert len({o["incident_id"] for o in done["outcomes"]}) == 1

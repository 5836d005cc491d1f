"""A secret a sender authenticated with is never stored or shown again: not in the database file, the log or the API."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.hostile.conftest import Hostile
from warroom.intake.integrations import REDACTED

PD = "pagerduty-events-v2"


def pagerduty(key: str, severity: str = "critical") -> bytes:
    payload = {"summary": "disk full", "source": "db-1", "severity": severity}
    body = {"routing_key": key, "event_action": "trigger", "dedup_key": f"secret-test-{severity}", "payload": payload}
    return json.dumps(body).encode()


def test_secrets_never_leave(hostile_sqlite: Hostile) -> None:
    h = hostile_sqlite
    pd_key, generic = h.tokens[PD], h.tokens["generic"]
    answers: list[str] = []

    def send(source: str, body: bytes, status: int, **params: str) -> dict:  # type: ignore[type-arg]
        resp = h.http.post(f"/api/v1/alerts/{source}", content=body, params=params,
                           headers={"Content-Type": "application/json"})  # fmt: skip
        assert resp.status_code == status, resp.text
        answers.append(resp.text)
        return resp.json()  # type: ignore[no-any-return]

    accepted = [
        send(PD, pagerduty(pd_key), 202),  # authenticated by its routing_key, and accepted
        # the token in the query and again in the body, as a careless script might send it
        send(
            "generic",
            json.dumps({"summary": f"token {generic} out", "labels": {"t": generic}}).encode(),
            202,
            token=generic,
        ),
    ]
    refused = [
        send(PD, pagerduty(pd_key, severity="disaster"), 422),  # authenticated, then refused: a dead letter
        send("generic", json.dumps({"summary": "x", "oops": generic}).encode(), 422, token=generic),
        send("generic", json.dumps({"summary": "x", "status": generic}).encode(), 422, token=generic),  # quoted back
        send("generic", b'{"summary": "' + generic.encode() + b'", broken', 400, token=generic),
    ]
    for answer in accepted:
        done = h.http.get(answer["location"], params={"wait": 15}).json()
        assert done["status"] == "applied", done
        for outcome in done["outcomes"]:
            alert = h.http.get(f"/api/v1/alerts/{outcome['id']}")
            answers.append(alert.text)
    for problem in refused:
        letter = h.http.get(f"/api/v1/dead-letters/{problem['dead_letter']}")
        assert letter.status_code == 200
        assert REDACTED in letter.json()["body"], letter.text
        answers.append(letter.text)
    for path in ("/api/v1/alerts", "/api/v1/dead-letters", "/api/v1/alert-groups", "/api/v1/incidents?status=all",
                 "/api/v1/intake", "/api/v1/notifications", "/api/v1/pages"):  # fmt: skip
        resp = h.http.get(path)
        assert resp.status_code == 200, (path, resp.text)
        answers.append(resp.text)
    for incident in h.http.get("/api/v1/incidents", params={"status": "all"}).json():
        answers.append(h.http.get(f"/api/v1/incidents/{incident['id']}/timeline").text)
        answers.append(h.http.get(f"/api/v1/incidents/{incident['id']}").text)

    time.sleep(0.5)  # the last commits and the log lines behind them
    db = Path(h.server.db_url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    log = h.server.log.read_bytes()
    for secret in (pd_key, generic):
        assert secret.encode() not in stored, "a secret is in the database file"
        assert secret.encode() not in log, "a secret is in the server's log"
        for text in answers:
            assert secret not in text, text[:500]
    assert REDACTED.encode() in stored

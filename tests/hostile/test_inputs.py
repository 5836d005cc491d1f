"""Every hostile input the probe found, through the API and the webhooks: a 4xx naming the field, nothing changed.

Each case was a 500 or stored junk before the input rules (README, "Input rules"). A refused webhook
adds its dead letter, by design; every other table and the target incident's version stay as they were.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.hostile.conftest import PROBLEM, Hostile

BIG = "99999999999999999999"
"""beyond 64 bits: an OverflowError on the way to the database before"""


@pytest.fixture(scope="module")
def target(hostile: Hostile) -> str:
    """An acknowledged incident (its paging has stopped, so nothing changes it behind a test's back)."""
    incident = hostile.declare()
    resp = hostile.http.post(f"/api/v1/incidents/{incident}/ack", json={"by": "tester"})
    assert resp.status_code == 200, resp.text
    settle(hostile)
    return incident


def settle(hostile: Hostile) -> None:
    before = hostile.counts()
    for _ in range(50):
        time.sleep(0.2)
        now = hostile.counts()
        if now == before:
            return
        before = now


def raw(body: str) -> bytes:
    """JSON written by hand: escapes such as \\ud800 and repeated keys that json.dumps would never write."""
    return body.encode()


API: list[tuple[str, str, str, bytes | None, str, int, str]] = [
    # id, method, path ({i} is the target incident), body, content type, status, field
    ("path-int-alert", "GET", f"/api/v1/alerts/{BIG}", None, "", 422, "alert_id"),
    ("path-int-group", "GET", f"/api/v1/alert-groups/{BIG}", None, "", 422, "group_id"),
    ("path-int-dead-letter", "GET", f"/api/v1/dead-letters/{BIG}", None, "", 422, "dead_id"),
    ("path-int-request", "GET", f"/api/v1/intake/requests/{BIG}", None, "", 422, "request_id"),
    ("path-int-notification", "GET", f"/api/v1/notifications/{BIG}", None, "", 422, "notification_id"),
    ("query-int-group", "GET", f"/api/v1/alerts?group_id={BIG}", None, "", 422, "group_id"),
    ("path-int-hypothesis", "POST", f"/api/v1/incidents/{{i}}/hypotheses/{BIG}", raw('{"status": "open"}'),
     "application/json", 422, "number"),
    ("body-int-corrects", "POST", "/api/v1/incidents/{i}/timeline", raw(f'{{"what": "x", "corrects": {BIG}}}'),
     "application/json", 422, "corrects"),
    ("body-int-users", "POST", "/api/v1/incidents/{i}/impact", raw(f'{{"users_affected": {BIG}}}'),
     "application/json", 422, "users_affected"),
    ("surrogate-title", "POST", "/api/v1/incidents", raw('{"severity": "P2", "title": "a\\ud800", "by": "t"}'),
     "application/json", 422, "title"),
    ("surrogate-summary", "POST", "/api/v1/incidents",
     raw('{"severity": "P2", "title": "t", "summary": "\\udfff", "by": "t"}'), "application/json", 422, "summary"),
    ("surrogate-service", "POST", "/api/v1/incidents",
     raw('{"severity": "P2", "title": "t", "service": "b\\ud800", "by": "t"}'), "application/json", 422, "service"),
    ("surrogate-by", "POST", "/api/v1/incidents", raw('{"severity": "P2", "title": "t", "by": "\\ud800"}'),
     "application/json", 422, "by"),
    ("surrogate-update", "POST", "/api/v1/incidents/{i}/updates", raw('{"text": "fixed \\ud83d", "by": "t"}'),
     "application/json", 422, "text"),
    ("surrogate-timeline", "POST", "/api/v1/incidents/{i}/timeline", raw('{"what": "\\ud800", "by": "t"}'),
     "application/json", 422, "what"),
    ("surrogate-key", "POST", "/api/v1/incidents/{i}/flags", raw('{"flags": {"\\ud800": true}, "by": "t"}'),
     "application/json", 422, "flags.?"),
    ("revenue-infinite", "POST", "/api/v1/incidents/{i}/impact", raw('{"revenue_impact": 1e400}'),
     "application/json", 422, "revenue_impact"),
    ("revenue-nan-text", "POST", "/api/v1/incidents/{i}/impact", raw('{"revenue_impact": "nan"}'),
     "application/json", 422, "revenue_impact"),
    ("revenue-nan-literal", "POST", "/api/v1/incidents/{i}/impact", raw('{"revenue_impact": NaN}'),
     "application/json", 400, "body"),
    ("nul-title", "POST", "/api/v1/incidents", raw('{"severity": "P2", "title": "a\\u0000b", "by": "t"}'),
     "application/json", 422, "title"),
    ("rtl-override-title", "POST", "/api/v1/incidents", raw('{"severity": "P2", "title": "fdp.\\u202eexe", "by": "t"}'),
     "application/json", 422, "title"),
    ("rtl-override-commander", "PUT", "/api/v1/incidents/{i}/roles/incident-commander",
     raw('{"person": "\\u202eecila", "by": "t"}'), "application/json", 422, "person"),
    ("rtl-override-update", "POST", "/api/v1/incidents/{i}/updates", raw('{"text": "ok \\u2066x", "by": "t"}'),
     "application/json", 422, "text"),
    ("zero-width-title", "POST", "/api/v1/incidents", raw('{"severity": "P2", "title": "\\u200b\\u200b \\ufeff", '
     '"by": "t"}'), "application/json", 422, "title"),
    ("zero-width-by", "POST", "/api/v1/incidents", raw('{"severity": "P2", "title": "t", "by": "al\\u200bice"}'),
     "application/json", 422, "by"),
    ("duplicate-key", "POST", "/api/v1/incidents", raw('{"severity": "P2", "severity": "P0", "title": "t", "by": "t"}'),
     "application/json", 400, "severity"),
    ("duplicate-key-nested", "POST", "/api/v1/incidents/{i}/flags",
     raw('{"flags": {"auth_broken": false, "auth_broken": true}, "by": "t"}'), "application/json", 400, "auth_broken"),
    ("detected-year-one", "POST", "/api/v1/incidents",
     raw('{"severity": "P2", "title": "t", "by": "t", "detected_at": "0001-01-01T00:00:00Z"}'), "application/json", 422,
     "detected_at"),
    ("too-many-services", "POST", "/api/v1/incidents/{i}/impact",
     json.dumps({"services": [f"s{n}" for n in range(60_000)]}).encode(), "application/json", 422, "services"),
    ("text-plain", "POST", "/api/v1/incidents", raw('{"severity": "P2", "title": "t", "by": "t"}'), "text/plain", 415,
     "content-type"),
    ("silence-year-one", "POST", "/api/v1/silences",
     raw('{"matchers": ["service=x"], "starts_at": "0001-01-01T00:00:00Z", "duration": "1h", "by": "t"}'),
     "application/json", 422, "starts_at"),
    ("silence-endless", "POST", "/api/v1/silences",
     raw('{"matchers": ["service=x"], "duration": "99999999999999999w", "by": "t"}'), "application/json", 422,
     "duration"),
    ("deep-json", "POST", "/api/v1/incidents/{i}/flags", b'{"flags": ' + b"[" * 5000 + b"]" * 5000 + b"}",
     "application/json", 400, "body"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "content_type", "status", "field"),
                         [c[1:] for c in API], ids=[c[0] for c in API])  # fmt: skip
def test_api_refuses(hostile: Hostile, target: str, method: str, path: str, body: bytes | None, content_type: str,
                     status: int, field: str) -> None:  # fmt: skip
    before, version = hostile.counts(), hostile.version(target)
    headers = {"Content-Type": content_type} if content_type else {}
    resp = hostile.http.request(method, path.replace("{i}", target), content=body, headers=headers)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    problem = resp.json()
    assert problem["field"] == field, problem
    assert problem["status"] == status and problem["detail"]
    assert hostile.counts() == before and hostile.version(target) == version


GENERIC = "generic"
AM_BODY = json.loads((Path(__file__).parent.parent / "fixtures" / "payloads" / "alertmanager.json").read_text())


def am(**annotations: Any) -> bytes:
    body = json.loads(json.dumps(AM_BODY))
    body["alerts"][0]["annotations"].update(annotations)
    return json.dumps(body).encode()


WEBHOOKS: list[tuple[str, str, bytes, str, int, str]] = [
    # id, source, body, content type, status, field
    ("users-1e400-generic", GENERIC, raw('{"summary": "x", "users_affected": "1e400"}'), "application/json", 422,
     "users_affected"),
    ("users-1e400-alertmanager", "alertmanager", am(users_affected="1e400"), "application/json", 422,
     "alerts.0.annotations.users_affected"),
    ("value-nan-alertmanager", "alertmanager", am(value="nan"), "application/json", 422, "alerts.0.annotations.value"),
    ("users-beyond-64-bits", GENERIC, raw(f'{{"summary": "x", "users_affected": {BIG}}}'), "application/json", 422,
     "users_affected"),
    ("text-plain", GENERIC, raw('{"summary": "x"}'), "text/plain", 415, "content-type"),
    ("no-content-type", GENERIC, raw('{"summary": "x"}'), "", 415, "content-type"),
    ("duplicate-key", GENERIC, raw('{"summary": "x", "status": "resolved", "status": "firing"}'), "application/json",
     400, "status"),
    ("duplicate-key-quick-checked", "alertmanager",
     json.dumps(AM_BODY).replace('"receiver"', '"receiver": "x", "receiver"', 1).encode(), "application/json", 400,
     "receiver"),
    ("lone-surrogate", GENERIC, raw('{"summary": "a\\ud800"}'), "application/json", 400, "body"),
    ("zero-width-summary", GENERIC, raw('{"summary": "\\u200b\\u2060 "}'), "application/json", 422, "summary"),
    ("zero-width-alertmanager", "alertmanager",
     json.dumps({"version": "4", "status": "firing", "alerts": [{"labels": {"alertname": "\u200b"},
                 "annotations": {"summary": "\u200b"}}]}).encode(), "application/json", 422,
     "alerts.0.labels.alertname"),
    ("starts-1970", GENERIC, raw('{"summary": "x", "starts_at": "1970-01-01T00:00:00Z"}'), "application/json", 422,
     "starts_at"),
    ("starts-epoch-huge", GENERIC, raw('{"summary": "x", "starts_at": 1e300}'), "application/json", 422, "starts_at"),
    ("too-many-links", GENERIC, json.dumps({"summary": "x", "links": ["http://x"] * 51}).encode(), "application/json",
     422, "links"),
]  # fmt: skip


@pytest.mark.parametrize(("source", "body", "content_type", "status", "field"),
                         [c[1:] for c in WEBHOOKS], ids=[c[0] for c in WEBHOOKS])  # fmt: skip
def test_webhook_refuses(hostile: Hostile, target: str, source: str, body: bytes, content_type: str, status: int,
                         field: str) -> None:  # fmt: skip
    before, version = hostile.counts(), hostile.version(target)
    resp = hostile.webhook(source, body, content_type)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"] == PROBLEM
    problem = resp.json()
    assert problem["field"] == field, problem
    letter = hostile.http.get(f"/api/v1/dead-letters/{problem['dead_letter']}")
    assert letter.status_code == 200 and letter.json()["status"] == status
    assert hostile.counts() == before and hostile.version(target) == version


def test_sentry_signature_of_any_bytes_is_401(hostile: Hostile) -> None:
    before = hostile.counts()
    for signature in (b"\xe9\xff", b"caf\xc3\xa9", b"\x80" * 64):
        resp = hostile.http.post("/api/v1/alerts/sentry?integration=nobody", content=b'{"action": "created"}',
                                 headers=[(b"content-type", b"application/json"),
                                          (b"sentry-hook-signature", signature)])  # fmt: skip
        assert resp.status_code == 401, resp.text
        assert resp.headers["content-type"] == PROBLEM
    assert hostile.counts() == before


def test_senders_junk_is_cleaned_not_stored(hostile: Hostile) -> None:
    """A sender's alert is cleaned rather than refused (refusing would lose a page over a stray byte)."""
    body = raw('{"summary": "disk\\u0000 full \\u202eon db", "service": "stor\\u202eage", "labels": {"e\\u0001nv": '
               '"pr\\u0000od"}, "description": "line one\\nline two\\u0007"}')  # fmt: skip
    resp = hostile.webhook(GENERIC, body)
    assert resp.status_code == 202, resp.text
    done = hostile.http.get(resp.json()["location"], params={"wait": 15}).json()
    assert done["status"] == "applied", done
    alert = hostile.http.get(f"/api/v1/alerts/{done['outcomes'][0]['id']}").json()
    assert alert["summary"] == "disk full on db"
    assert alert["service"] == "storage"
    assert alert["labels"] == {"env": "prod"}
    assert alert["details"]["description"] == "line one\nline two"


def test_cli_refuses_with_one_line(hostile: Hostile, target: str) -> None:
    """The CLI, on the same database: exit 2 and one line naming the field."""
    before = hostile.counts()
    env = {**hostile.server.env}
    env.pop("WARROOM_URL", None)
    done = subprocess.run([sys.executable, "-m", "warroom", "log", target, "fine \u202etxt.exe", "--by", "t"],
                          env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "what" in lines[0] and "U+202E" in lines[0], done.stderr
    assert hostile.counts() == before


def test_integration_add_on_unmigrated_database(tmp_path: Path) -> None:
    env = {**__import__("os").environ, "WARROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"}
    done = subprocess.run([sys.executable, "-m", "warroom", "integration", "add", "generic", "g1"], env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "warroom: the database has no intake tables; run `warroom db upgrade` first"
    ]


def test_a_filter_with_a_control_character_is_a_422_naming_it(hostile: Hostile) -> None:
    """Found by the fuzzer: a read's filter refused by the text rules outside a unit of work was a 500."""
    resp = hostile.http.get("/api/v1/action-items", params={"owner": "a\x00b"})
    assert resp.status_code == 422 and resp.json()["field"] == "owner", resp.text


@pytest.mark.parametrize("path", [f"/api/v1/status/subscribers/{BIG}", f"/api/v1/status/subscribers/{BIG}/deliveries"])
def test_a_subscriber_id_beyond_64_bits_is_a_422_naming_it(hostile: Hostile, path: str) -> None:
    """Found by the fuzzer: a status-page subscriber id past 2^63 reached the database (a 500)."""
    resp = hostile.http.get(path)
    assert resp.status_code == 422 and resp.headers["content-type"] == PROBLEM, resp.text
    assert resp.json()["field"] == "subscriber_id"


@pytest.mark.parametrize(("path", "name"), [("/api/v1/oncall", "at"), ("/api/v1/oncall/schedules/primary", "at"),
                                            ("/api/v1/audit", "since")])  # fmt: skip
@pytest.mark.parametrize("when", ["0001-01-01T06:00:00Z", "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59Z"])
def test_a_time_at_the_ends_of_the_calendar_is_a_422_naming_it(hostile: Hostile, path: str, name: str,
                                                               when: str) -> None:  # fmt: skip
    """Found by the fuzzer: who is on call in the year 1 overflowed the rotation's date arithmetic (a 500)."""
    resp = hostile.http.get(path, params={name: when})
    assert resp.status_code == 422 and resp.headers["content-type"] == PROBLEM, resp.text
    assert resp.json()["field"] == name
    assert hostile.http.get(path, params={name: "2026-12-03T06:00:00Z"}).status_code in (200, 404)


@pytest.mark.parametrize("when", ["0001-01-01T00:00+05:00", "9999-12-31T23:59Z"])
def test_the_cli_refuses_a_time_at_the_ends_of_the_calendar_with_one_line(hostile: Hostile, when: str) -> None:
    """`warroom oncall --at` in the year 1 east of UTC was an OverflowError and a traceback."""
    env = {**hostile.server.env}
    env.pop("WARROOM_URL", None)
    done = subprocess.run([sys.executable, "-m", "warroom", "oncall", "--at", when], env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--at" in lines[0] and "between 1970 and 9000" in lines[0], done.stderr

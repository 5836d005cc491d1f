"""Bad input after authentication: a problem naming the field, and the raw body kept as a dead letter."""

from __future__ import annotations

import base64

from tests.intake.conftest import PROBLEM, Intake, payload


def send(api: Intake, source: str, content: bytes) -> tuple[int, dict]:  # type: ignore[type-arg]
    resp = api.http.post(
        f"/api/v1/alerts/{source}",
        content=content,
        headers={"Authorization": f"Bearer {api.tokens[source]}", "Content-Type": "application/json"},
    )
    assert resp.headers["content-type"] == PROBLEM, resp.text
    return resp.status_code, resp.json()


def dead(api: Intake, problem: dict) -> dict:  # type: ignore[type-arg]
    assert isinstance(problem.get("dead_letter"), int), problem
    return api.get(f"/api/v1/dead-letters/{problem['dead_letter']}")  # type: ignore[no-any-return]


def test_truncated_json(intake: Intake) -> None:
    body = b'{"alerts": [{"summary": "disk full", "serv'
    status, problem = send(intake, "generic", body)
    assert status == 400 and problem["field"] == "body" and "not valid JSON" in problem["detail"]
    letter = dead(intake, problem)
    assert letter["body"] == body.decode() and letter["status"] == 400 and letter["source"] == "generic"
    listed = intake.get("/api/v1/dead-letters")
    assert listed[0]["id"] == letter["id"] and "body" not in listed[0]


def test_wrong_types_name_the_field(intake: Intake) -> None:
    am = payload("alertmanager")
    am["alerts"][1]["labels"]["severity"] = 3
    status, problem = send(intake, "alertmanager", __import__("json").dumps(am).encode())
    assert status == 422 and problem["field"] == "alerts.1.labels.severity"
    assert "must be a string, not a number" in problem["detail"]
    status, problem = send(intake, "generic", b'{"summary": ["not", "text"]}')
    assert status == 422 and problem["field"] == "summary"
    status, problem = send(intake, "generic", b'{"summary": "x", "status": "exploded"}')
    assert status == 422 and problem["field"] == "status"
    status, problem = send(intake, "pagerduty-events-v2", b'{"routing_key": "k", "event_action": "trigger", '
                           b'"payload": {"summary": "s", "source": "h", "severity": "disaster"}}')  # fmt: skip
    assert status == 422 and problem["field"] == "payload.severity"
    status, problem = send(intake, "alertmanager", b'{"version": "4", "alerts": {}}')
    assert status == 422 and problem["field"] == "alerts"
    status, problem = send(intake, "generic", b"[1, 2, 3]")
    assert status == 422 and problem["field"] == "body"
    assert dead(intake, problem)["status"] == 422


def test_five_megabytes_is_413(intake: Intake) -> None:
    big = b'{"summary": "' + b"x" * (5 * 1024 * 1024) + b'"}'
    resp = intake.http.post(
        "/api/v1/alerts/generic", content=big, headers={"Authorization": f"Bearer {intake.tokens['generic']}"}
    )
    assert resp.status_code == 413 and resp.headers["content-type"] == PROBLEM


def test_deeply_nested_json(intake: Intake) -> None:
    for depth in (300, 5000):
        body = b'{"summary": "x", "labels": ' + b'{"a": ' * depth + b"1" + b"}" * depth + b"}"
        status, problem = send(intake, "generic", body)
        assert status == 400 and problem["field"] == "body", problem
        assert dead(intake, problem)["size"] == len(body)
    body = b'{"summary": "x", "labels": ' + b'{"a": ' * 100 + b"1" + b"}" * 100 + b"}"
    status, problem = send(intake, "generic", body)
    assert status == 422 and problem["field"] == "labels.a", "labels are flat"


def test_not_utf8(intake: Intake) -> None:
    body = b'{"summary": "caf\xe9 down"}'
    status, problem = send(intake, "generic", body)
    assert status == 400 and "not UTF-8" in problem["detail"]
    letter = dead(intake, problem)
    assert letter["encoding"] == "base64" and base64.b64decode(letter["body"]) == body


def test_empty_body(intake: Intake) -> None:
    status, problem = send(intake, "generic", b"")
    assert status == 400 and problem["field"] == "body"

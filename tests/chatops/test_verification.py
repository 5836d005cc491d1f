"""Requests signed (and badly signed) in the test, the way Slack signs them, and Mattermost's token:
a bad one is 401 and nothing is done."""

from __future__ import annotations

import time

import httpx

from tests.chatops.conftest import MM_TOKEN, Chat, mattermost_form, slack_form, slack_headers


def _count(chat: Chat) -> int:
    with chat.server.client() as api:
        return len(api.get("/api/v1/incidents", params={"status": "all"}).json())


def test_slack_signature_old_timestamp_wrong_secret_and_altered_body_are_refused(chat: Chat) -> None:
    url = chat.server.base + "/api/v1/chatops/slack"
    body = slack_form('declare P2 "Signed right"')
    before = _count(chat)
    refused = {
        "old timestamp": (body, slack_headers(body, timestamp=int(time.time()) - 6 * 60)),
        "future timestamp": (body, slack_headers(body, timestamp=int(time.time()) + 6 * 60)),
        "wrong secret": (body, slack_headers(body, secret="not-the-signing-secret")),
        "altered body": (body.replace(b"Signed+right", b"Signed+wrong"), slack_headers(body)),
        "no signature": (body, {"Content-Type": "application/x-www-form-urlencoded"}),
        "not v0": (body, {**slack_headers(body), "X-Slack-Signature": "v1=" + "0" * 64}),
    }
    for why, (content, headers) in refused.items():
        answer = httpx.post(url, content=content, headers=headers, timeout=10)
        assert answer.status_code == 401, why
        assert answer.headers["content-type"].startswith("application/problem+json"), why
        assert answer.json()["field"] == "X-Slack-Signature", why
    assert _count(chat) == before, "a refused request declared something"
    good = httpx.post(url, content=body, headers=slack_headers(body), timeout=10)
    assert good.status_code == 200
    assert good.json()["response_type"] == "in_channel" and "declared" in good.json()["text"]
    assert _count(chat) == before + 1
    refusals = [a for a in chat.audit() if a.action == "POST /api/v1/chatops/slack" and a.result == "refused 401"]
    assert len(refusals) >= len(refused) and all(a.actor == "anonymous" for a in refusals)


def test_mattermost_token_is_required_and_checked(chat: Chat) -> None:
    url = chat.server.base + "/api/v1/chatops/mattermost"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    before = _count(chat)
    for token in ("wrong-token", "", MM_TOKEN[:-1]):
        answer = httpx.post(url, content=mattermost_form('declare P2 "Token wrong"', token=token), headers=form)
        assert answer.status_code == 401 and answer.json()["field"] == "token"
    assert _count(chat) == before
    header = httpx.post(url, content=mattermost_form("list", token=""), timeout=10,
                        headers={**form, "Authorization": f"Token {MM_TOKEN}"})  # fmt: skip
    assert header.status_code == 200 and header.json()["response_type"] == "ephemeral"
    good = chat.mattermost('declare P2 "Token right"')
    assert good.status_code == 200 and good.json()["response_type"] == "in_channel"
    assert "**INC-" in good.json()["text"]  # Mattermost's bold
    assert _count(chat) == before + 1


def test_a_body_that_is_not_slacks_is_401_and_a_missing_field_422(chat: Chat) -> None:
    url = chat.server.base + "/api/v1/chatops/slack"
    body = b"\xff\xfe not utf-8"
    assert httpx.post(url, content=body, headers=slack_headers(body)).status_code == 401
    odd = {**slack_headers(b"text=list"), "X-Slack-Request-Timestamp": "soon"}
    assert httpx.post(url, content=b"text=list", headers=odd).status_code == 401
    missing = b"text=list&command=%2Fincident"
    answer = httpx.post(url, content=missing, headers=slack_headers(missing))
    assert answer.status_code == 422 and answer.json()["field"] == "user_id"
    assert answer.headers["content-type"].startswith("application/problem+json")

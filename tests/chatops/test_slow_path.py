"""Slack's 3-second rule: an answer within the time goes back in the response; work that takes longer is
answered at once ("working on it") and its result posted to response_url, here a receiver on 127.0.0.1
(WARROOM_CHATOPS_ANSWER_SECONDS=0 makes every command take the slow path, without timing anything)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.chatops.conftest import Chat, Receiver, chat_env
from tests.conftest import Server
from warroom.chatops.later import allowed
from warroom.settings import Settings


@pytest.fixture
def slow(chat: Chat) -> Iterator[Chat]:
    env = chat_env(chat.pager, WARROOM_CHATOPS_ANSWER_SECONDS="0", WARROOM_ENGINE_ENABLED="false")
    server = Server(chat.db_url, env).start()
    yield Chat(server, chat.pager, chat.db_url)
    server.stop()


def test_within_the_time_the_answer_is_the_response(chat: Chat, receiver: Receiver) -> None:
    answer = chat.slack('declare P3 "Answered at once"', response_url=receiver.url("/fast"))
    assert answer.json()["response_type"] == "in_channel" and "declared" in answer.json()["text"]
    assert "Working on it" not in answer.json()["text"]


def test_slow_work_is_answered_through_response_url(slow: Chat, receiver: Receiver) -> None:
    first = slow.slack('declare P2 "Answered later"', response_url=receiver.url("/later/1"))
    assert first.status_code == 200
    assert first.json() == {"response_type": "ephemeral", "text": first.json()["text"], "replace_original": False}
    assert first.json()["text"].startswith("Working on it")
    posted = receiver.wait("/later/1")[0]
    assert posted["response_type"] == "in_channel" and "alice declared *INC-" in posted["text"]
    incident = posted["text"].split("*")[1]
    assert incident.startswith("INC-")
    refused = slow.slack("ack INC-20000101-0001", response_url=receiver.url("/later/2"))
    assert refused.json()["text"].startswith("Working on it")
    later = receiver.wait("/later/2")[0]
    assert later["response_type"] == "ephemeral" and "INC-20000101-0001" in later["text"]
    rows = [a for a in slow.audit("alice") if a.target == "ack INC-20000101-0001"]
    assert rows and rows[-1].result.startswith("refused: ")  # the slow path's refusal is on the audit log too


def test_a_response_url_off_the_platform_is_never_called(slow: Chat, receiver: Receiver) -> None:
    other = f"http://localhost:{receiver.port}/elsewhere"  # a host not allowed (only 127.0.0.1 is, for the tests)
    answer = slow.slack('declare P3 "Nobody told"', response_url=other)
    assert answer.json()["text"].startswith("Working on it")
    deadline = time.monotonic() + 15
    said = "not answering through response_url 'http://localhost"
    while said not in slow.server.log.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.05)  # the server says so where it would have posted
    assert said in slow.server.log.read_text(errors="replace")
    with slow.server.client() as api:
        titles = [i["title"] for i in api.get("/api/v1/incidents", params={"status": "all"}).json()]
    assert "Nobody told" in titles
    assert receiver.at("/elsewhere") == []


def test_which_hosts_a_response_url_may_name() -> None:
    s = Settings(mattermost_url="https://chat.example.com", chatops_response_hosts="127.0.0.1")
    assert allowed(s, "slack", "https://hooks.slack.com/commands/T1/2/abc")
    assert not allowed(s, "slack", "http://hooks.slack.com/commands/T1/2/abc")  # not https
    assert not allowed(s, "slack", "https://hooks.slack.com.evil.example/commands")
    assert not allowed(s, "slack", "https://user:pw@hooks.slack.com/commands")
    assert not allowed(s, "slack", "https://chat.example.com/hooks/commands/x")  # Mattermost's host, not Slack's
    assert allowed(s, "mattermost", "https://chat.example.com/hooks/commands/x")
    assert not allowed(s, "mattermost", "https://hooks.slack.com/commands/T1")
    assert not allowed(Settings(), "mattermost", "https://chat.example.com/hooks/commands/x")  # no server set
    assert allowed(s, "slack", "http://127.0.0.1:9/x") and not allowed(s, "slack", "http://localhost:9/x")
    assert not allowed(s, "slack", "http://[::1/x")

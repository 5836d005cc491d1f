"""Every /incident command through a real `warroom serve`, as the linked warroom user: attributed on the
timeline, audited, in the platform's format (in the channel for changes, to the asker for the rest)."""

from __future__ import annotations

from typing import Any

from tests.chatops.conftest import ALICE_SLACK, BOB_SLACK, VIC_SLACK, Chat


def _ok(answer: Any, public: bool) -> str:
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["response_type"] == ("in_channel" if public else "ephemeral"), body
    return str(body["text"])


def _timeline(chat: Chat, incident: str) -> list[dict[str, Any]]:
    with chat.server.client() as api:
        return list(api.get(f"/api/v1/incidents/{incident}/timeline").json())


def test_every_command_through_slack_as_the_linked_user(chat: Chat) -> None:
    text = _ok(chat.slack('declare SEV2 "API error rate spike"'), public=True)
    assert text.startswith("alice declared *INC-") and "P1: API error rate spike" in text
    incident = text.split("*")[1]
    with chat.server.client() as api:
        room = api.get(f"/api/v1/incidents/{incident}").json()["channel"].lstrip("#")
    # In the incident's own channel, the id may be left out.
    assert "acknowledged by alice" in _ok(chat.slack("ack", channel=room), public=True)
    assert "#1 by alice: Rolling back" in _ok(chat.slack(f'update {incident} "Rolling back"'), public=True)
    assert "investigating (alice)" in _ok(chat.slack("status investigating", channel=room), public=True)
    assert "is investigating" in _ok(chat.slack("status", channel=room), public=False)
    answer = _ok(chat.slack(f"role {incident} technical-lead <@{BOB_SLACK}|bobby>"), public=True)
    assert "Technical Lead: bob" in answer  # the mention is looked up: bob in warroom, whatever Slack calls him
    assert "Scribe: carol" in _ok(chat.slack(f"role {incident} scribe @carol"), public=True)
    assert "H1 (70%) by alice: Signature check broke" in _ok(
        chat.slack(f"hypothesis {incident} \u201cSignature check broke\u201d 70"), public=True
    )
    assert "rollback failed" in _ok(chat.slack(f"mitigate {incident} rollback failed"), public=True)
    assert "it is mitigated" in _ok(chat.slack(f"mitigate {incident} rollback worked"), public=True)
    refused = _ok(chat.slack(f"resolve {incident}"), public=False)  # inside nself's quiet window
    assert "without new errors before it is resolved" in refused
    shown = _ok(chat.slack(f"show {incident}"), public=False)
    assert incident in shown and "mitigated" in shown and "Technical Lead: bob" in shown
    assert incident in _ok(chat.slack("list"), public=False)
    assert "/incident declare SEVERITY" in _ok(chat.slack("help"), public=False)

    entries = _timeline(chat, incident)
    by_kind = {e["kind"]: e["actor"] for e in entries}
    for kind in ("declared", "acknowledged", "update", "status", "role", "hypothesis", "mitigation"):
        assert by_kind.get(kind) == "alice", (kind, by_kind)
    audit = [a for a in chat.audit("alice") if a.action == "POST /api/v1/chatops/slack"]
    assert {a.via for a in audit} == {"slack"}
    targets = {a.target: a.result for a in audit}
    assert targets["ack"] == "done" and targets[f"update {incident}"] == "done"
    assert any(t.startswith("declare") and r == "done" for t, r in targets.items())
    assert targets[f"resolve {incident}"].startswith("refused: ")  # the refusal is audited, with why


def test_mattermost_commands_act_as_the_linked_user(chat: Chat) -> None:
    text = _ok(chat.mattermost('declare P2 "Search slow for some"'), public=True)
    incident = text.split("**")[1]
    assert "acknowledged by alice" in _ok(chat.mattermost(f"ack {incident}"), public=True)
    assert "identified (alice)" in _ok(chat.mattermost(f"status {incident} identified"), public=True)
    assert "Incident Commander (IC): bob" in _ok(chat.mattermost(f"role {incident} commander @bob"), public=True)
    assert "is mitigated (alice)" in _ok(chat.mattermost(f"status {incident} mitigated"), public=True)
    entries = _timeline(chat, incident)
    assert {e["actor"] for e in entries if e["kind"] in ("acknowledged", "status", "mitigation")} == {"alice"}
    audit = [a for a in chat.audit("alice") if a.action == "POST /api/v1/chatops/mattermost"]
    assert audit and {a.via for a in audit} == {"mattermost"}


def test_an_unmapped_chat_user_is_told_and_nothing_is_done(chat: Chat) -> None:
    with chat.server.client() as api:
        before = len(api.get("/api/v1/incidents", params={"status": "all"}).json())
    text = _ok(chat.slack('declare P0 "Not mine to declare"', user="U0NOBODY9"), public=False)
    assert "U0NOBODY9 is not linked to a warroom user; nothing was done" in text
    assert "warroom user link YOUR-NAME --slack U0NOBODY9" in text
    text = _ok(chat.mattermost("list", user="zzzzzzzzzzzzzzzzzzzzzzzzzz"), public=False)
    assert "not linked" in text
    with chat.server.client() as api:
        assert len(api.get("/api/v1/incidents", params={"status": "all"}).json()) == before
    rows = [a for a in chat.audit("anonymous") if a.result.startswith("refused: slack user U0NOBODY9")]
    assert rows and rows[-1].via == "slack" and rows[-1].target.startswith("declare")


def test_a_viewer_reads_but_changes_nothing_and_bad_words_are_explained(chat: Chat) -> None:
    assert "/incident help" in _ok(chat.slack("help", user=VIC_SLACK), public=False)
    text = _ok(chat.slack('declare P1 "Viewer tries"', user=VIC_SLACK), public=False)
    assert "declare needs the responder role; vic is a viewer" in text
    assert "unknown command 'explode'" in _ok(chat.slack("explode"), public=False)
    assert "a quote is not closed" in _ok(chat.slack('declare P1 "no end'), public=False)
    assert "unknown severity 'P9'" in _ok(chat.slack('declare P9 "Nine"'), public=False)
    assert "say which incident" in _ok(chat.slack("ack", channel="random"), public=False)
    assert "confidence must be a number from 0 to 100" in _ok(chat.slack('hypothesis INC-20260101-0001 "x" 150'),
                                                              public=False)  # fmt: skip
    assert "no incident" in _ok(chat.slack("ack INC-20000101-0001"), public=False).lower()
    assert ALICE_SLACK  # linked in lowercase through the CLI, found in Slack's uppercase

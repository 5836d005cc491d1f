"""How an answer looks on each platform: both take `{response_type, text}` (ephemeral: only the asker
sees it; in_channel: everyone does); they differ in how text is made bold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reply:
    text: str
    public: bool = False
    """in the channel (a change everyone should see) rather than to the asker alone (errors, reads)"""
    refused: str = ""
    """why nothing was done, for the audit row (empty when the command went through)"""


def bold(platform: str, text: str) -> str:
    return f"**{text}**" if platform == "mattermost" else f"*{text}*"


def payload(platform: str, reply: Reply) -> dict[str, Any]:
    body: dict[str, Any] = {"response_type": "in_channel" if reply.public else "ephemeral", "text": reply.text}
    if platform == "slack":
        body["replace_original"] = False
    return body

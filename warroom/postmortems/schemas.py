"""What every face shows of a postmortem and its action items, and the requests that change them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.domain.view import WHO, View

ItemStatus = Literal["open", "in_progress", "done", "wont_do"]
ITEM_STATUSES: tuple[str, ...] = ("open", "in_progress", "done", "wont_do")
PostmortemStatus = Literal["draft", "in_review", "published"]


class LintWarning(View):
    rule: Literal["blame", "vague"]
    where: str
    text: str
    why: str


class VersionView(View):
    number: int
    by: str
    at: datetime
    note: str
    text: str


class VersionSummary(View):
    number: int
    by: str
    at: datetime
    note: str


class ActionItemView(View):
    id: int
    incident_id: str
    text: str
    owner: str | None
    due_at: datetime | None
    status: str
    link: str
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    done_at: datetime | None
    reminded_at: datetime | None = None
    """when its owner was last reminded that it is overdue (None: never)"""
    overdue: bool = False


class PostmortemView(View):
    incident_id: str
    status: str
    latest: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    published_by: str | None
    published_version: int | None
    due_at: datetime | None
    remaining_seconds: int | None
    """time left before the due time (negative once overdue); None without a due time"""
    version: VersionView
    versions: list[VersionSummary]
    action_items: list[ActionItemView]
    warnings: list[LintWarning]


class DiffView(View):
    incident_id: str
    old: int
    new: int
    diff: str


class _Actor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str = Field("", description=WHO)


class SaveRequest(_Actor):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"by": "alice", "text": "# Postmortem ...", "note": "root cause"}]},
    )
    text: str = Field(max_length=200_000)
    note: str = Field("", max_length=2_000)


class StartRequest(_Actor):
    pass


class PostmortemStatusRequest(_Actor):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"by": "alice", "status": "in_review"}]})
    status: Literal["draft", "in_review"]


class PublishRequest(_Actor):
    pass


class ActionItemRequest(_Actor):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "by": "alice",
                    "text": "Alert when webhook 401s exceed 1% for 5m",
                    "owner": "bob",
                    "due_at": "2026-05-14T17:00:00Z",
                    "link": "https://tracker.example.com/OPS-12",
                }
            ]
        },
    )
    text: str = Field(max_length=2_000)
    owner: str | None = Field(None, max_length=120)
    due_at: datetime | None = None
    link: str = Field("", max_length=2_000)


class ActionItemChange(_Actor):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"by": "bob", "status": "in_progress"}]})
    text: str | None = Field(None, max_length=2_000)
    owner: str | None = Field(None, max_length=120)
    due_at: datetime | None = None
    status: ItemStatus | None = None
    link: str | None = Field(None, max_length=2_000)

"""What the status page's admin faces send and get back (the public JSON is Statuspage's, in v2.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from warroom.domain.view import WHO


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComponentRequest(Strict):
    name: str = Field(max_length=120)
    description: str = Field("", max_length=2000)
    group: str | None = Field(None, max_length=120, description="the group it shows under (made if new)")
    position: int | None = Field(None, ge=0, le=10_000)
    by: str = Field("", description=WHO)


class ComponentChange(Strict):
    description: str | None = Field(None, max_length=2000)
    position: int | None = Field(None, ge=0, le=10_000)
    status: str | None = Field(None, description="the status set by hand, whatever incidents say")
    by: str = Field("", description=WHO)


class ComponentView(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    code: str
    name: str
    description: str
    is_group: bool
    group_code: str | None
    position: int
    status: str
    created_at: datetime
    updated_at: datetime


class PostRequest(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "status": "identified",
                    "text": "We found the cause and are fixing it.",
                    "components": {"API": "partial_outage"},
                    "by": "carol",
                }
            ]
        },
    )
    text: str = Field(max_length=10_000)
    status: str | None = Field(
        None, description="investigating, identified, monitoring or resolved; default: from the incident's stage"
    )
    components: dict[str, str] = Field(
        default_factory=dict, max_length=50, description="component (name or code) → its status in this incident"
    )
    title: str | None = Field(None, max_length=300, description="the public name (first post; default the title)")
    by: str = Field("", description=WHO)


class PostView(BaseModel):
    incident_id: str
    public_id: str
    post_id: str
    update_number: int
    status: str
    body: str
    at: datetime
    components: list[dict[str, Any]]
    url: str


class MaintenanceRequest(Strict):
    name: str = Field(max_length=300)
    text: str = Field("", max_length=10_000)
    scheduled_for: datetime
    scheduled_until: datetime
    components: list[str] = Field(default_factory=list, max_length=50)
    by: str = Field("", description=WHO)


class MaintenanceStep(Strict):
    status: str
    text: str = Field("", max_length=10_000)
    by: str = Field("", description=WHO)


class MaintenanceView(BaseModel):
    code: str
    name: str
    status: str
    scheduled_for: datetime
    scheduled_until: datetime
    components: list[str]
    silence_id: int | None
    updates: list[dict[str, Any]]

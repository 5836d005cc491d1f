"""What the faces show of schedules, and what they accept to change them."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from warroom.domain.view import WHO, View


class LayerView(View):
    position: int
    members: list[str]
    length: str
    handoff: str
    start_date: str
    days: str | None = None
    hours: str | None = None


class OverrideView(View):
    id: int
    person: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    created_at: datetime


class OnCallView(View):
    schedule: str
    person: str | None
    source: str = Field(description="override, layer N, or nobody")
    until: datetime | None = Field(description="when the answer next changes; null if not within 15 days")
    targets: list[str] = Field(default_factory=list, description="policy escalation targets that page this schedule")


class ShiftView(View):
    person: str | None
    source: str
    start: datetime
    end: datetime


class ScheduleView(View):
    name: str
    description: str
    timezone: str
    layers: list[LayerView]
    overrides: list[OverrideView]
    on_call: OnCallView | None = None
    shifts: list[ShiftView] = Field(default_factory=list)


class LayerRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"members": ["alice", "bob"], "length": "weekly", "handoff": "09:00"}]},
    )

    members: list[str] = Field(min_length=1, description="people in rotation order")
    length: str = Field("weekly", description="daily, weekly, or a duration such as 12h or 3d")
    handoff: str = Field("09:00", description="local time of the handoff")
    start: date | None = Field(None, description="the day the first member's first shift starts (default today)")
    timezone: str | None = Field(None, description="IANA zone of the schedule (default: keep, or UTC)")
    days: str | None = Field(None, description="restrict the layer to these days, e.g. mon-fri")
    hours: str | None = Field(None, description="restrict the layer to these local hours, e.g. 09:00-17:00")
    description: str | None = None


class OverrideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: str
    starts_at: datetime
    ends_at: datetime
    reason: str = ""
    by: str = Field("", description=WHO)


class PagingView(View):
    """Whether paging reaches anyone now: what /healthz, the web banner and `warroom declare` say."""

    ok: bool = Field(description="every schedule a first paging tier uses has someone on call")
    unstaffed: list[str] = Field(description="schedules of a first paging tier with nobody on call now")
    later: list[str] = Field(default_factory=list, description="schedules of later tiers with nobody on call now")
    on_call: dict[str, str] = Field(default_factory=dict, description="schedule -> who is on call now")
    message: str = Field(description="`nobody is on call for nself-primary`, or who would be paged")
    fix: str = ""

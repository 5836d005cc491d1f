"""What the API, CLI and web show of alerts, alert groups, silences and dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from warroom.domain.inputs import LIST_LIMIT
from warroom.domain.view import WHO, View


class AlertView(View):
    id: int
    source: str
    integration: str
    fingerprint: str
    status: str
    service: str | None
    summary: str
    severity_hint: str | None
    labels: dict[str, Any]
    details: dict[str, Any]
    metric: str | None
    value: float | None
    threshold: str | None
    links: list[Any]
    starts_at: datetime | None
    ends_at: datetime | None
    received_at: datetime
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    count: int
    group_id: int | None
    incident_id: str | None
    silence_id: int | None


class AlertDetail(AlertView):
    raw: dict[str, Any]


class GroupView(View):
    id: int
    key: str
    status: str
    storm: bool
    outcome: str
    severity: str | None
    confidence: int | None
    triage: dict[str, Any]
    runbook: dict[str, Any] | None
    incident_id: str | None
    merged_into: int | None
    opened_at: datetime
    last_alert_at: datetime
    hold_until: datetime | None
    closed_at: datetime | None
    alert_count: int
    services: list[Any]
    decided_by: str
    decided_at: datetime
    history: list[Any]


class GroupDetail(GroupView):
    alerts: list[AlertView]


class IncidentAlerts(View):
    incident_id: str
    alert_count: int
    firing: int
    resolved: int
    services: list[str]
    groups: list[GroupView]
    alerts: list[AlertView]


class SilenceView(View):
    id: int
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
    expired_by: str | None
    active: bool


class DeadLetterView(View):
    id: int
    received_at: datetime
    source: str
    integration: str
    status: int
    error: str
    field: str | None
    content_type: str
    size: int


class DeadLetterDetail(DeadLetterView):
    encoding: str
    """utf-8 when the body is text, base64 otherwise"""
    body: str


class IntakeRequestView(View):
    """A webhook as it was accepted, and what became of its alerts once applied."""

    id: int
    received_at: datetime
    source: str
    integration: str
    alerts: int
    status: str
    """queued (committed, not yet applied), applied, or failed (kept as a dead letter)"""
    processed_at: datetime | None
    outcomes: list[dict[str, Any]] | None
    """per alert: id, fingerprint, status, outcome (new, repeat, resolved, acknowledged, silenced), group, incident"""
    error: str | None
    dead_letter: int | None


class SilenceRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "matchers": ["service=billing", "severity=~warn.*"],
                    "duration": "2h",
                    "by": "alice",
                    "comment": "planned maintenance",
                }
            ]
        },
    )
    matchers: list[str | dict[str, str]] = Field(
        description="name=value, name!=value, name=~regex, name!~regex", max_length=LIST_LIMIT
    )
    starts_at: datetime | None = Field(default=None, description="default now; from 2000-01-01 to a year ahead")
    ends_at: datetime | None = Field(default=None, description="give ends_at or duration")
    duration: str | None = Field(default=None, description="e.g. 30m, 2h")
    by: str = Field("", description=WHO)
    comment: str = ""


class GroupAction(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"by": "alice", "reason": "customers affected", "severity": "P2"}]},
    )
    by: str = Field("", description=WHO)
    reason: str = ""
    severity: str | None = Field(default=None, description="declare only: the severity to declare (default: triage's)")


class LinkRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"incident_id": "INC-20260507-0001", "by": "alice", "reason": "same outage"}]},
    )
    incident_id: str = Field(description="the open incident these alerts are part of")
    by: str = Field("", description=WHO)
    reason: str = ""


class ActorBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str = Field("", description=WHO)


class WebhookAnswer(BaseModel):
    """A webhook's 202: its request is committed; GET `location` for what became of its alerts."""

    status: str = "accepted"
    request: int
    accepted: int
    """how many alerts the body holds"""
    integration: str
    location: str
    dedup_key: str | None = None
    """PagerDuty Events v2 only, as PagerDuty answers"""

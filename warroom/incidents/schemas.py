"""What every face shows of an incident: one set of pydantic views for API, CLI and web."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from warroom.domain.inputs import INT_MAX, LIST_LIMIT, MONEY_MAX
from warroom.domain.view import WHO, View

Audience = Literal["internal", "external", "executive"]


class ClockView(View):
    name: str
    deadline: datetime | None
    met_at: datetime | None
    state: str
    remaining_seconds: int | None
    display: str


class RoleView(View):
    role: str
    title: str
    person: str | None
    required: bool
    assigned_at: datetime | None = None


class HypothesisView(View):
    number: int
    text: str
    evidence: str
    confidence: int
    status: str
    created_by: str
    created_at: datetime
    updated_at: datetime


class MitigationView(View):
    strategy: str
    worked: bool
    note: str
    by: str
    at: datetime


class UpdateView(View):
    audience: str
    number: int
    text: str
    next_step: str
    by: str
    at: datetime


class TimelineView(View):
    id: int
    at: datetime
    actor: str
    kind: str
    what: str
    outcome: str
    data: dict[str, Any] = Field(default_factory=dict)
    corrects: int | None = None


class IncidentSummary(View):
    id: str
    title: str
    severity: str
    status: str
    service: str | None
    declared_at: datetime
    commander: str | None
    next_deadline: ClockView | None


class IncidentView(View):
    id: str
    title: str
    slug: str
    summary: str
    service: str | None
    severity: str
    severity_label: str
    status: str
    policy: str
    channel: str
    topic: str
    source: str
    declared_by: str
    detected_at: datetime
    declared_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    investigating_at: datetime | None
    identified_at: datetime | None
    mitigated_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_at: datetime | None
    reopened_count: int
    watch_started_at: datetime | None
    responded_at: datetime | None = None
    alerts_cleared_at: datetime | None = Field(
        default=None, description="its alerts resolved before anyone acknowledged it (not an acknowledgement)"
    )
    postmortem_due_at: datetime | None
    postmortem: str
    forced_resolution: str | None
    impact: dict[str, Any]
    flags: dict[str, Any]
    decision: dict[str, Any] | None
    mitigation_failures: int
    clocks: list[ClockView]
    roles: list[RoleView]
    missing_roles: list[str]
    hypotheses: list[HypothesisView]
    mitigations: list[MitigationView]
    updates: list[UpdateView]
    update_counts: dict[str, int]
    version: int


# --- requests -----------------------------------------------------------------------------------

_EX_DECLARE: dict[str, Any] = {
    "severity": "P1",
    "title": "Billing webhooks failing",
    "service": "billing",
    "by": "alice",
}


class DeclareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EX_DECLARE]})

    severity: str = Field(description="a severity name or alias from the policy (P0, SEV1, ...)")
    title: str
    summary: str = ""
    service: str | None = None
    by: str = Field("", description=WHO)
    flags: dict[str, bool] = Field(default_factory=dict, max_length=LIST_LIMIT)
    detected_at: datetime | None = Field(default=None, description="2000-01-01 up to now; default now")


class ActorRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"by": "alice"}]})
    by: str = Field("", description=WHO)


class StatusRequest(ActorRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "identified", "by": "alice"}]})
    status: Literal["investigating", "identified"]
    note: str = ""


class SeverityRequest(ActorRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"severity": "P0", "reason": "spreading", "by": "a"}]})
    severity: str
    reason: str = ""


class MitigateRequest(ActorRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"strategy": "rollback", "worked": True, "by": "a"}]})
    strategy: str
    worked: bool = True
    note: str = ""


class DecisionRequest(ActorRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"path": "dig_first", "reason": "logs", "by": "a"}]})
    path: Literal["mitigate_first", "dig_first"]
    reason: str


class ResolveRequest(ActorRequest):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"by": "alice"}, {"by": "a", "force": True, "reason": "x"}]}
    )
    force: bool = False
    reason: str = ""


class LogRequest(ActorRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"what": "Restarted the DB", "outcome": "clearing"}]})
    what: str
    outcome: str = ""
    corrects: int | None = Field(default=None, ge=1, le=INT_MAX)


class UpdateRequest(ActorRequest):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"audience": "internal", "text": "Rolled back", "next": "watching"}]}
    )
    audience: Audience = "internal"
    text: str
    next: str = ""


class RoleRequest(ActorRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"person": "bob", "by": "alice"}]})
    person: str


class HypothesisRequest(ActorRequest):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "Bad deploy", "evidence": "errors since 14:17", "confidence": 80}]}
    )
    text: str
    evidence: str = ""
    confidence: int = Field(ge=0, le=100)


class HypothesisStatusRequest(ActorRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"status": "confirmed", "by": "alice"}]})
    status: Literal["open", "ruled_out", "confirmed"]
    note: str = ""


class ImpactRequest(ActorRequest):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"users_affected": 1200, "state": "broken", "customer_facing": True}]}
    )
    users_affected: int | None = Field(default=None, ge=0, le=INT_MAX)
    users_estimate: bool | None = None
    orgs_affected: int | None = Field(default=None, ge=0, le=INT_MAX)
    state: Literal["broken", "degraded"] | None = None
    services: list[str] | None = Field(default=None, max_length=LIST_LIMIT)
    description: str | None = None
    revenue_impact: float | None = Field(default=None, ge=0, le=MONEY_MAX, allow_inf_nan=False)
    customer_facing: bool | None = None
    data_at_risk: bool | None = None
    security_breach: bool | None = None


class FlagRequest(ActorRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"flags": {"credential_exposed": True}, "by": "a"}]})
    flags: dict[str, bool] = Field(max_length=LIST_LIMIT)


class DraftPostRequest(ActorRequest):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"by": "alice", "text": "Rolled back", "next": "watching errors"}]}
    )
    text: str = ""
    next: str = ""
    final: str | None = Field(default=None, description="the message as a human edited it; rendered when omitted")


class PostmortemDoneRequest(ActorRequest):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"by": "alice", "link": "https://wiki.example.com/pm/1"}]}
    )
    link: str = ""


class Draft(BaseModel):
    """A message drafted from the policy's template, before anyone posts it."""

    kind: str
    audience: Audience | None
    subject: str | None = None
    text: str

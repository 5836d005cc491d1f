"""The local face of the CLI: service functions on the database named by WARROOM_DATABASE_URL."""

from __future__ import annotations

from typing import Any

from warroom.compose import build_context
from warroom.domain.cursor import MOST as PAGE
from warroom.incidents import drafts, service
from warroom.incidents.schemas import (
    DeclareRequest,
    Draft,
    ImpactRequest,
    IncidentSummary,
    IncidentView,
    TimelineView,
    UpdateView,
)
from warroom.settings import Settings


class Local:
    """The local database named by WARROOM_DATABASE_URL, through the same service functions as the API."""

    def __init__(self, settings: Settings) -> None:
        self.ctx = build_context(settings)

    def declare(self, req: DeclareRequest) -> IncidentView:
        return service.declare(self.ctx, req)

    def get(self, incident_id: str) -> IncidentView:
        return service.get(self.ctx, incident_id)

    def search(
        self, status: str, severity: str | None, service_name: str | None, q: str | None, most: int
    ) -> list[IncidentSummary]:
        rows: list[IncidentSummary] = []
        cursor = None
        while True:  # the same pages the API serves, so both faces list the same incidents
            page = service.search_page(self.ctx, status, severity, service_name, q, min(most - len(rows), PAGE), cursor)
            rows += page.items
            if page.next is None or len(rows) >= most:
                return rows
            cursor = page.next

    def command(self, incident_id: str, verb: str, body: dict[str, Any]) -> IncidentView:
        c, i, by = self.ctx, incident_id, body.get("by", "cli")
        match verb:
            case "ack":
                return service.acknowledge(c, i, by)
            case "status":
                return service.set_status(c, i, body["status"], by, body.get("note", ""))
            case "severity":
                return service.change_severity(c, i, body["severity"], by, body.get("reason", ""))
            case "mitigations":
                return service.mitigate(c, i, body["strategy"], body["worked"], by, body.get("note", ""))
            case "decision":
                return service.decide(c, i, body["path"], body["reason"], by)
            case "resolve":
                return service.resolve(c, i, by, body.get("force", False), body.get("reason", ""))
            case "reopen":
                return service.reopen(c, i, by, body.get("reason", ""))
            case "close":
                return service.close(c, i, by)
            case "flags":
                return service.set_flags(c, i, body["flags"], by)
            case "impact":
                return service.set_impact(c, i, ImpactRequest.model_validate(body))
            case "hypotheses":
                return service.add_hypothesis(c, i, body["text"], body.get("evidence", ""), body["confidence"], by)
            case _ if verb.startswith("hypotheses/"):
                number = int(verb.split("/", 1)[1])
                return service.set_hypothesis_status(c, i, number, body["status"], by, body.get("note", ""))
            case _ if verb.startswith("roles/"):
                return service.assign_role(c, i, verb.split("/", 1)[1], body["person"], by)
        raise AssertionError(f"unknown verb {verb}")

    def update(self, incident_id: str, body: dict[str, Any]) -> UpdateView:
        return service.post_update(
            self.ctx, incident_id, body["audience"], body["text"], body.get("by", "cli"), body.get("next", "")
        )

    def log(self, incident_id: str, body: dict[str, Any]) -> TimelineView:
        return service.log(
            self.ctx, incident_id, body["what"], body.get("by", "cli"), body.get("outcome", ""), body.get("corrects")
        )

    def timeline(self, incident_id: str) -> list[TimelineView]:
        return service.timeline(self.ctx, incident_id)

    def brief(self, incident_id: str) -> str:
        return service.brief(self.ctx, incident_id)

    def draft(self, incident_id: str, kind: str, body: dict[str, Any]) -> Draft:
        return drafts.draft(self.ctx, incident_id, kind, body["by"], body.get("text", ""), body.get("next", ""))

    def post_draft(self, incident_id: str, kind: str, body: dict[str, Any]) -> UpdateView:
        return drafts.post(
            self.ctx, incident_id, kind, body["by"], body.get("text", ""), body.get("next", ""), body.get("final")
        )

    def postmortem(self, incident_id: str) -> str:
        return drafts.draft(self.ctx, incident_id, "postmortem", "cli").text

    def postmortem_done(self, incident_id: str, body: dict[str, Any]) -> IncidentView:
        return service.complete_postmortem(self.ctx, incident_id, body["by"], body.get("link", ""))

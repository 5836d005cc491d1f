"""Where CLI verbs go: straight to the service functions (local database) or to a server (WARROOM_URL).

Both return the same views, so every verb renders the same way whichever way it travelled.
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx
from pydantic import TypeAdapter

from warroom.incidents import service
from warroom.incidents.errors import Conflict, Invalid, NotFound, ServiceError
from warroom.incidents.schemas import (
    DeclareRequest,
    ImpactRequest,
    IncidentSummary,
    IncidentView,
    TimelineView,
    UpdateView,
)
from warroom.settings import Settings


class Backend(Protocol):
    def declare(self, req: DeclareRequest) -> IncidentView: ...
    def get(self, incident_id: str) -> IncidentView: ...
    def search(self, status: str, severity: str | None, service_name: str | None, q: str | None) -> list[IncidentSummary]: ...
    def command(self, incident_id: str, verb: str, body: dict[str, Any]) -> IncidentView: ...
    def update(self, incident_id: str, body: dict[str, Any]) -> UpdateView: ...
    def log(self, incident_id: str, body: dict[str, Any]) -> TimelineView: ...
    def timeline(self, incident_id: str) -> list[TimelineView]: ...
    def brief(self, incident_id: str) -> str: ...


class Local:
    """The local database named by WARROOM_DATABASE_URL, through the same service functions as the API."""

    def __init__(self, settings: Settings) -> None:
        from warroom.app import build_context

        self.ctx = build_context(settings)

    def declare(self, req: DeclareRequest) -> IncidentView:
        return service.declare(self.ctx, req)

    def get(self, incident_id: str) -> IncidentView:
        return service.get(self.ctx, incident_id)

    def search(self, status: str, severity: str | None, service_name: str | None, q: str | None) -> list[IncidentSummary]:
        return service.search(self.ctx, status=status, severity=severity, service=service_name, q=q)

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


_ERRORS: dict[int, type[ServiceError]] = {404: NotFound, 409: Conflict, 422: Invalid}


class Remote:
    """A running server at WARROOM_URL; its problem+json errors come back as the same exceptions."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url.rstrip("/"), timeout=30)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        try:
            resp = self.http.request(method, "/api/v1/incidents" + path, json=body, params=params or None)
        except httpx.HTTPError as exc:
            raise ServiceError(f"cannot reach {self.http.base_url}: {exc}") from None
        if resp.status_code >= 400:
            try:
                problem = resp.json()
                detail, field = problem.get("detail", resp.text), problem.get("field")
            except ValueError:
                detail, field = resp.text, None
            raise _ERRORS.get(resp.status_code, ServiceError)(detail, field=field)
        return resp.json() if resp.headers.get("content-type", "").startswith("application/json") else resp.text

    def declare(self, req: DeclareRequest) -> IncidentView:
        return IncidentView.model_validate(self._call("POST", "", req.model_dump(mode="json", exclude_none=True)))

    def get(self, incident_id: str) -> IncidentView:
        return IncidentView.model_validate(self._call("GET", f"/{incident_id}"))

    def search(self, status: str, severity: str | None, service_name: str | None, q: str | None) -> list[IncidentSummary]:
        params = {k: v for k, v in {"status": status, "severity": severity, "service": service_name, "q": q}.items() if v}
        return TypeAdapter(list[IncidentSummary]).validate_python(self._call("GET", "", **params))

    def command(self, incident_id: str, verb: str, body: dict[str, Any]) -> IncidentView:
        method = "PUT" if verb.startswith("roles/") else "POST"
        return IncidentView.model_validate(self._call(method, f"/{incident_id}/{verb}", body))

    def update(self, incident_id: str, body: dict[str, Any]) -> UpdateView:
        return UpdateView.model_validate(self._call("POST", f"/{incident_id}/updates", body))

    def log(self, incident_id: str, body: dict[str, Any]) -> TimelineView:
        return TimelineView.model_validate(self._call("POST", f"/{incident_id}/timeline", body))

    def timeline(self, incident_id: str) -> list[TimelineView]:
        return TypeAdapter(list[TimelineView]).validate_python(self._call("GET", f"/{incident_id}/timeline"))

    def brief(self, incident_id: str) -> str:
        return str(self._call("GET", f"/{incident_id}/brief"))


def connect(settings: Settings) -> Backend:
    return Remote(settings.url) if settings.url else Local(settings)

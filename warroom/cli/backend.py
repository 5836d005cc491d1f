"""Where CLI verbs go: straight to the service functions (local database) or to a server (WARROOM_URL).

Both return the same views, so every verb renders the same way whichever way it travelled.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import TypeAdapter

from warroom.cli.http import ApiClient
from warroom.domain.cursor import MOST as PAGE
from warroom.incidents.schemas import (
    DeclareRequest,
    Draft,
    IncidentSummary,
    IncidentView,
    TimelineView,
    UpdateView,
)
from warroom.settings import Settings


class Backend(Protocol):
    def declare(self, req: DeclareRequest) -> IncidentView: ...
    def get(self, incident_id: str) -> IncidentView: ...
    def search(
        self, status: str, severity: str | None, service_name: str | None, q: str | None, most: int
    ) -> list[IncidentSummary]: ...
    def command(self, incident_id: str, verb: str, body: dict[str, Any]) -> IncidentView: ...
    def update(self, incident_id: str, body: dict[str, Any]) -> UpdateView: ...
    def log(self, incident_id: str, body: dict[str, Any]) -> TimelineView: ...
    def timeline(self, incident_id: str) -> list[TimelineView]: ...
    def brief(self, incident_id: str) -> str: ...
    def draft(self, incident_id: str, kind: str, body: dict[str, Any]) -> Draft: ...
    def post_draft(self, incident_id: str, kind: str, body: dict[str, Any]) -> UpdateView: ...
    def postmortem(self, incident_id: str) -> str: ...
    def postmortem_done(self, incident_id: str, body: dict[str, Any]) -> IncidentView: ...


class Remote:
    """A running server at WARROOM_URL; its problem+json errors come back as the same exceptions."""

    def __init__(self, base_url: str) -> None:
        self.api = ApiClient(base_url)

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> Any:
        return self.api.call(method, "/incidents" + path, body, params)

    def declare(self, req: DeclareRequest) -> IncidentView:
        return IncidentView.model_validate(self._call("POST", "", req.model_dump(mode="json", exclude_none=True)))

    def get(self, incident_id: str) -> IncidentView:
        return IncidentView.model_validate(self._call("GET", f"/{incident_id}"))

    def search(
        self, status: str, severity: str | None, service_name: str | None, q: str | None, most: int
    ) -> list[IncidentSummary]:
        wanted = {"status": status, "severity": severity, "service": service_name, "q": q}
        params: dict[str, Any] = {k: v for k, v in wanted.items() if v} | {"limit": min(most, PAGE)}
        return TypeAdapter(list[IncidentSummary]).validate_python(self.api.every_page("/incidents", params, most))

    def command(self, incident_id: str, verb: str, body: dict[str, Any]) -> IncidentView:
        method = "PUT" if verb.startswith("roles/") else "POST"
        return IncidentView.model_validate(self._call(method, f"/{incident_id}/{verb}", body))

    def update(self, incident_id: str, body: dict[str, Any]) -> UpdateView:
        return UpdateView.model_validate(self._call("POST", f"/{incident_id}/updates", body))

    def log(self, incident_id: str, body: dict[str, Any]) -> TimelineView:
        return TimelineView.model_validate(self._call("POST", f"/{incident_id}/timeline", body))

    def timeline(self, incident_id: str) -> list[TimelineView]:
        rows = self.api.every_page(f"/incidents/{incident_id}/timeline")
        return TypeAdapter(list[TimelineView]).validate_python(rows)

    def brief(self, incident_id: str) -> str:
        return str(self._call("GET", f"/{incident_id}/brief"))

    def draft(self, incident_id: str, kind: str, body: dict[str, Any]) -> Draft:
        params = {k: str(v) for k, v in body.items() if k in ("by", "text", "next") and v}
        return Draft.model_validate(self._call("GET", f"/{incident_id}/drafts/{kind}", params=params))

    def post_draft(self, incident_id: str, kind: str, body: dict[str, Any]) -> UpdateView:
        return UpdateView.model_validate(self._call("POST", f"/{incident_id}/drafts/{kind}", body))

    def postmortem(self, incident_id: str) -> str:
        return str(self._call("GET", f"/{incident_id}/postmortem"))

    def postmortem_done(self, incident_id: str, body: dict[str, Any]) -> IncidentView:
        return IncidentView.model_validate(self._call("POST", f"/{incident_id}/postmortem", body))


def connect(settings: Settings) -> Backend:
    if settings.url:
        return Remote(settings.url)
    # Imported here so that talking to a server never pays for loading the database layer.
    from warroom.cli.local import Local

    return Local(settings)

"""Sentry's integration-platform webhooks: issue alerts (event_alert), metric alerts and issue changes.

The resource is taken from the Sentry-Hook-Resource header when present, else from the body's shape.
An issue's alerts share the fingerprint `issue:<id>`, so Sentry resolving the issue resolves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warroom.intake import normal as n
from warroom.intake.normal import Incoming

ISSUE_RESOLVED = ("resolved", "ignored", "archived")
ISSUE_FIRING = ("created", "unresolved")


def _tags(value: Any, path: str) -> dict[str, str]:
    """Sentry sends tags as [[key, value], ...] (or, in places, as [{key, value}] objects)."""
    if value is None:
        return {}
    out: dict[str, str] = {}
    for i, item in enumerate(n.array(value, path)):
        if isinstance(item, list) and len(item) == 2:
            k, v = item
        elif isinstance(item, dict):
            k, v = item.get("key"), item.get("value")
        else:
            raise n.PayloadError(f"{path}.{i}", "must be a [key, value] pair")
        if isinstance(k, str) and v is not None:
            out[k[: n.LABEL_NAME_LIMIT]] = str(v)[: n.LABEL_VALUE_LIMIT]
    return out


def parse(data: Any, headers: Mapping[str, str]) -> list[Incoming]:
    body = n.obj(data, "body")
    action = n.string(body, "action", "", required=True) or ""
    payload = n.obj(body.get("data"), "data")
    resource = headers.get("sentry-hook-resource", "")
    if resource == "metric_alert" or (not resource and "metric_alert" in payload):
        return [_metric_alert(body, payload, action)]
    if resource == "issue" or (not resource and "issue" in payload and "event" not in payload):
        return [_issue(body, payload, action)]
    return [_event_alert(body, payload, action)]


def _service(tags: dict[str, str], project: Any) -> str | None:
    return tags.get("service") or tags.get("app") or (f"sentry-project-{project}" if project else None)


def _event_alert(body: dict[str, Any], payload: dict[str, Any], action: str) -> Incoming:
    event = n.obj(payload.get("event"), "data.event")
    issue_id = n.scalar_text(event, "issue_id", "data.event")
    if issue_id is None:
        raise n.PayloadError("data.event.issue_id", "is required")
    title = n.string(event, "title", "data.event") or n.string(event, "message", "data.event") or ""
    if not title:
        raise n.PayloadError("data.event.title", "is required")
    tags = _tags(event.get("tags"), "data.event.tags")
    rule = n.string(payload, "triggered_rule", "data")
    if rule:
        tags["sentry_rule"] = rule[: n.LABEL_VALUE_LIMIT]
    culprit = n.string(event, "culprit", "data.event") or ""
    return Incoming(
        source="sentry",
        fingerprint=f"issue:{issue_id}",
        status="firing",
        summary=n.short(title),
        description=culprit,
        service=_service(tags, event.get("project")),
        labels=tags,
        severity_hint=n.string(event, "level", "data.event") or tags.get("level"),
        links=n.links(n.link(event.get("web_url"), "sentry"), n.link(event.get("issue_url"), "issue api")),
        starts_at=n.timestamp(event, "datetime", "data.event"),
        raw=body,
    )


def _metric_alert(body: dict[str, Any], payload: dict[str, Any], action: str) -> Incoming:
    alert = n.obj(payload.get("metric_alert"), "data.metric_alert")
    ident = n.scalar_text(alert, "id", "data.metric_alert")
    if ident is None:
        raise n.PayloadError("data.metric_alert.id", "is required")
    found = alert.get("alert_rule")
    rule: dict[str, Any] = found if isinstance(found, dict) else {}
    title = n.string(payload, "description_title", "data") or n.string(alert, "title", "data.metric_alert") or ""
    if not title:
        raise n.PayloadError("data.description_title", "is required")
    if action not in ("critical", "warning", "resolved"):
        raise n.PayloadError("action", f"must be critical, warning or resolved for a metric alert, not '{action[:40]}'")
    return Incoming(
        source="sentry",
        fingerprint=f"metric_alert:{ident}",
        status="resolved" if action == "resolved" else "firing",
        summary=n.short(title),
        description=n.string(payload, "description_text", "data") or "",
        labels={"alert_rule": str(rule.get("name", ""))[:200]} if rule.get("name") else {},
        severity_hint=None if action == "resolved" else action,
        metric=str(rule["aggregate"])[:200] if rule.get("aggregate") else None,
        links=n.links(n.link(payload.get("web_url"), "sentry")),
        starts_at=n.timestamp(alert, "date_started", "data.metric_alert"),
        raw=body,
    )


def _issue(body: dict[str, Any], payload: dict[str, Any], action: str) -> Incoming:
    issue = n.obj(payload.get("issue"), "data.issue")
    ident = n.scalar_text(issue, "id", "data.issue")
    if ident is None:
        raise n.PayloadError("data.issue.id", "is required")
    if action not in ISSUE_FIRING + ISSUE_RESOLVED + ("assigned",):
        raise n.PayloadError("action", f"'{action[:40]}' is not an issue action warroom knows")
    project = issue.get("project")
    slug = project.get("slug") if isinstance(project, dict) else None
    return Incoming(
        source="sentry",
        fingerprint=f"issue:{ident}",
        status="resolved" if action in ISSUE_RESOLVED else "acknowledged" if action == "assigned" else "firing",
        summary=n.short(n.string(issue, "title", "data.issue", required=True)),
        description=n.string(issue, "culprit", "data.issue") or "",
        service=str(slug)[:200] if slug else None,
        labels={"project": str(slug)[:200]} if slug else {},
        severity_hint=n.string(issue, "level", "data.issue"),
        links=n.links(n.link(issue.get("web_url") or issue.get("permalink"), "sentry")),
        starts_at=n.timestamp(issue, "firstSeen", "data.issue"),
        raw=body,
    )

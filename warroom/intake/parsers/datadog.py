"""Datadog's webhook integration. Its body is a template the user writes from Datadog's $VARIABLES;
warroom reads the default template's keys and these extra ones (see the README for the template):
alert_id, alert_cycle_key, aggreg_key, alert_title, alert_status, alert_transition, alert_type,
alert_priority, alert_metric, alert_query, alert_scope, tags, hostname, link, snapshot, value, threshold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warroom.intake import normal as n
from warroom.intake.normal import Incoming

RESOLVED = ("recovered", "ok", "success")
PRIORITY = {"p1": "critical", "p2": "error", "p3": "warning", "p4": "info", "p5": "info"}


def tags(text: str | None) -> dict[str, str]:
    """'service:api, env:prod, adhoc' → {'service': 'api', 'env': 'prod', 'adhoc': ''}."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        item = part.strip()
        if item:
            key, _, value = item.partition(":")
            out[key.strip()[: n.LABEL_NAME_LIMIT]] = value.strip()[: n.LABEL_VALUE_LIMIT]
    return out


def parse(data: Any, headers: Mapping[str, str]) -> list[Incoming]:
    body = n.obj(data, "body")
    title = n.scalar_text(body, "alert_title", "") or n.scalar_text(body, "title", "")
    if not title:
        raise n.PayloadError("title", "is required (map it to $EVENT_TITLE or $ALERT_TITLE)")
    transition = (n.scalar_text(body, "alert_transition", "") or "").lower()
    alert_type = (n.scalar_text(body, "alert_type", "") or n.scalar_text(body, "event_type", "") or "").lower()
    resolved = transition in RESOLVED or (not transition and alert_type == "success") or title.startswith("[Recovered")
    lbls = tags(n.scalar_text(body, "tags", ""))
    for k, v in tags(n.scalar_text(body, "alert_scope", "")).items():
        lbls.setdefault(k, v)
    for name in ("alert_id", "alert_priority", "hostname", "alert_metric"):
        value = n.scalar_text(body, name, "")
        if value:
            lbls[name] = value[: n.LABEL_VALUE_LIMIT]
    alert_id = n.scalar_text(body, "alert_id", "")
    scope = n.scalar_text(body, "alert_scope", "")
    key = (
        n.scalar_text(body, "alert_cycle_key", "")
        or n.scalar_text(body, "aggreg_key", "")
        or (f"{alert_id}:{scope or '*'}" if alert_id else None)
    )
    if key is None:
        key = n.scalar_text(body, "id", "")
        if key is None:
            raise n.PayloadError("aggreg_key", "is required to tell alerts apart (map it to $AGGREG_KEY)")
    priority = (n.scalar_text(body, "alert_priority", "") or n.scalar_text(body, "priority", "") or "").lower()
    hint = PRIORITY.get(priority) or (alert_type if alert_type in ("error", "warning", "info") else None)
    org = body.get("org")
    raw = dict(body)
    if isinstance(org, dict):
        lbls.setdefault("org", str(org.get("name", ""))[:200])
    return [
        Incoming(
            source="datadog",
            fingerprint=n.fingerprint(key, "aggreg_key"),
            status="resolved" if resolved else "firing",
            summary=n.short(title),
            description=n.scalar_text(body, "alert_status", "") or n.scalar_text(body, "body", "") or "",
            service=lbls.get("service") or None,
            labels=lbls,
            severity_hint=hint,
            metric=n.scalar_text(body, "alert_metric", ""),
            value=n.number(body.get("value"), "value"),
            threshold=n.scalar_text(body, "threshold", ""),
            users=n.count(body.get("users_affected"), "users_affected"),
            links=n.links(n.link(body.get("link"), "datadog"), n.link(body.get("snapshot"), "snapshot")),
            starts_at=n.timestamp(body, "date", ""),
            raw=raw,
        )
    ]

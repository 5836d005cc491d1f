"""PagerDuty's Events API v2 shape (`/v2/enqueue`): trigger, acknowledge or resolve one alert by dedup_key.

The routing_key is a secret (warroom accepts an integration's token there); it is never stored.
A trigger without a dedup_key gets a stable one from source, component, class and summary.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warroom.intake import normal as n
from warroom.intake.normal import Incoming

SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = {"trigger": "firing", "acknowledge": "acknowledged", "resolve": "resolved"}


def parse(data: Any, headers: Mapping[str, str]) -> list[Incoming]:
    body = n.obj(data, "body")
    n.string(body, "routing_key", "", required=True)
    action = n.string(body, "event_action", "", required=True) or ""
    if action not in ACTIONS:
        raise n.PayloadError("event_action", f"must be trigger, acknowledge or resolve, not '{action[:40]}'")
    dedup = n.string(body, "dedup_key", "", limit=n.FINGERPRINT_LIMIT)
    raw = {k: v for k, v in body.items() if k != "routing_key"}
    raw["routing_key"] = "[redacted]"
    if action != "trigger":
        if not dedup:
            raise n.PayloadError("dedup_key", f"is required to {action} an alert")
        found = body.get("payload")
        payload: dict[str, Any] = found if isinstance(found, dict) else {}
        return [
            Incoming(
                source="pagerduty-events-v2",
                fingerprint=dedup,
                status=ACTIONS[action],
                summary=n.short(str(payload.get("summary") or f"{action} {dedup}")),
                raw=raw,
            )
        ]
    p = n.obj(body.get("payload"), "payload")
    summary = n.summary_text(p, "summary", "payload", limit=1024)
    source = n.string(p, "source", "payload", required=True, limit=255) or ""
    severity = n.string(p, "severity", "payload", required=True) or ""
    if severity not in SEVERITIES:
        raise n.PayloadError("payload.severity", f"must be critical, error, warning or info, not '{severity[:40]}'")
    component = n.string(p, "component", "payload", limit=255)
    group = n.string(p, "group", "payload", limit=255)
    klass = n.string(p, "class", "payload", limit=255)
    details = p.get("custom_details")
    custom = details if isinstance(details, dict) else {}
    lbls = {"source": source, "severity": severity}
    for name, value in (("component", component), ("group", group), ("class", klass)):
        if value:
            lbls[name] = value
    for k, v in custom.items():
        if isinstance(v, str | int | float) and not isinstance(v, bool) and len(lbls) < n.LABELS_LIMIT:
            lbls.setdefault(str(k)[: n.LABEL_NAME_LIMIT], str(v)[: n.LABEL_VALUE_LIMIT])
    service = custom.get("service") if isinstance(custom.get("service"), str) else source
    extra_links = []
    if body.get("links") is not None:
        for i, item in enumerate(n.array(body.get("links"), "links")):
            entry = n.obj(item, f"links.{i}")
            extra_links.append(n.link(entry.get("href"), str(entry.get("text", ""))[:200]))
    threshold = custom.get("threshold")
    return [
        Incoming(
            source="pagerduty-events-v2",
            fingerprint=n.fingerprint(dedup, "dedup_key", source, component, klass, summary),
            status="firing",
            summary=n.short(summary),
            description=str(custom.get("description", ""))[:10_000],
            service=str(service)[:200],
            labels=lbls,
            severity_hint=severity,
            metric=str(custom["metric"])[:200] if custom.get("metric") else None,
            value=n.number(custom.get("current_value", custom.get("value")), "payload.custom_details.current_value"),
            threshold=str(threshold)[:100] if threshold is not None else None,
            users=n.count(custom.get("users_affected"), "payload.custom_details.users_affected"),
            links=n.links(n.link(body.get("client_url"), str(body.get("client") or "client")), *extra_links),
            starts_at=n.timestamp(p, "timestamp", "payload"),
            raw=raw,
        )
    ]

"""warroom's own alert shape, for senders without a format of their own (scripts, cron jobs, CI).

POST /api/v1/alerts/generic with `Authorization: Bearer <token>` (or `?token=`), JSON:

    {
      "alerts": [                                  # or one alert object on its own
        {
          "summary": "DB connection pool at 100%", # required, one line
          "fingerprint": "db-pool-exhausted",      # optional; default: a hash of labels, service, summary
          "status": "firing",                      # firing (default) | resolved
          "service": "control-plane-api",          # optional; else labels.service/app/component/job
          "severity": "critical",                  # optional: critical|error|warning|info, or a policy level
          "description": "...",                    # optional, free text
          "labels": {"env": "prod"},               # optional; strings (numbers and booleans are taken as text)
          "metric": "error_rate",                  # optional, with value and threshold:
          "value": 12,                             #   a number, or text such as "12%"
          "threshold": "< 1%",                     #   the healthy range ("< 1%") or a ceiling ("500")
          "users_affected": 150,                   # optional estimate
          "links": ["https://grafana/d/x", {"href": "https://runbook", "text": "runbook"}],
          "starts_at": "2026-05-07T14:17:00Z",     # optional RFC 3339 or epoch; ends_at likewise
          "ends_at": null
        }
      ]
    }

The same fingerprint while firing counts a repeat; "status": "resolved" closes the alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from warroom.intake import normal as n
from warroom.intake.normal import Incoming

FIELDS = {
    "summary", "fingerprint", "status", "service", "severity", "description", "labels", "metric", "value",
    "threshold", "users_affected", "links", "starts_at", "ends_at",
}  # fmt: skip


def parse(data: Any, headers: Mapping[str, str]) -> list[Incoming]:
    body = n.obj(data, "body")
    if "alerts" in body:
        items = n.array(body["alerts"], "alerts")
        if not items:
            raise n.PayloadError("alerts", "is empty; send at least one alert")
        return [one(n.obj(item, f"alerts.{i}"), f"alerts.{i}") for i, item in enumerate(items)]
    return [one(body, "")]


def one(a: dict[str, Any], path: str) -> Incoming:
    def at(key: str) -> str:
        return f"{path}.{key}" if path else key

    unknown = sorted(set(a) - FIELDS)
    if unknown:
        raise n.PayloadError(at(unknown[0]), f"is not a field of the generic alert shape ({', '.join(sorted(FIELDS))})")
    summary = n.summary_text(a, "summary", path)
    lbls = n.labels(a.get("labels"), at("labels"), coerce=True)
    service = n.string(a, "service", path, limit=200) or n.service_of(lbls)
    links: list[dict[str, str] | None] = []
    if a.get("links") is not None:
        given = n.array(a["links"], at("links"))
        if len(given) > n.LINKS_LIMIT:
            raise n.PayloadError(at("links"), f"has {len(given)} entries; the limit is {n.LINKS_LIMIT}")
        for i, item in enumerate(given):
            if isinstance(item, str):
                links.append(n.link(item))
            elif isinstance(item, dict):
                href = n.string(item, "href", at(f"links.{i}"), required=True)
                links.append(n.link(href, str(item.get("text", ""))[:200]))
            else:
                raise n.PayloadError(at(f"links.{i}"), "must be a URL string or an object with href")
    return Incoming(
        source="generic",
        fingerprint=n.fingerprint(
            n.string(a, "fingerprint", path), at("fingerprint"), sorted(lbls.items()), service, summary
        ),
        status=n.status_word(n.string(a, "status", path), at("status")),
        summary=n.short(summary),
        description=n.string(a, "description", path, limit=10_000) or "",
        service=service,
        labels=lbls,
        severity_hint=n.string(a, "severity", path, limit=40),
        metric=n.string(a, "metric", path, limit=200),
        value=n.number(a.get("value"), at("value")),
        threshold=n.scalar_text(a, "threshold", path),
        users=n.count(a.get("users_affected"), at("users_affected")),
        links=n.links(*links),
        starts_at=n.timestamp(a, "starts_at", path),
        ends_at=n.timestamp(a, "ends_at", path),
        raw=a,
    )

"""Atlassian Statuspage's public API v2, field for field, so widgets, aggregators and monitors that read
a Statuspage page read this one: summary, status, components, incidents, scheduled maintenances."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warroom.statuspage.snapshot import Component, Incident, Maintenance, Post, Snapshot

RECENT = 50
"""incidents.json and scheduled-maintenances.json list the 50 most recent, as Statuspage does"""


def ts(value: datetime | None) -> str | None:
    """Statuspage's timestamps: UTC with milliseconds and a Z."""
    if value is None:
        return None
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def page(s: Snapshot, name: str, url: str) -> dict[str, Any]:
    return {"id": s.page_id, "name": name, "url": url, "time_zone": "Etc/UTC", "updated_at": ts(s.updated_at)}


def component(s: Snapshot, c: Component) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.code,
        "name": c.name,
        "status": c.status,
        "created_at": ts(c.created_at),
        "updated_at": ts(c.updated_at),
        "position": c.position,
        "description": c.description or None,
        "showcase": not c.is_group,
        "start_date": c.created_at.date().isoformat(),
        "group_id": c.group_code,
        "page_id": s.page_id,
        "group": c.is_group,
        "only_show_if_degraded": False,
    }
    if c.is_group:
        out["components"] = list(c.children)
    return out


def _update(s: Snapshot, parent: str, p: Post) -> dict[str, Any]:
    return {
        "id": p.code,
        "status": p.status,
        "body": p.body,
        "incident_id": parent,
        "created_at": ts(p.at),
        "updated_at": ts(p.at),
        "display_at": ts(p.at),
        "affected_components": [
            {"code": c.code, "name": c.name, "old_status": c.old_status, "new_status": c.new_status} for c in p.changes
        ],
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def incident(s: Snapshot, i: Incident, url: str) -> dict[str, Any]:
    by = s.by_code
    return {
        "id": i.code,
        "name": i.name,
        "status": i.status,
        "created_at": ts(i.created_at),
        "updated_at": ts(i.updated_at),
        "monitoring_at": ts(i.monitoring_at),
        "resolved_at": ts(i.resolved_at),
        "impact": i.impact,
        "shortlink": f"{url}/incidents/{i.code}",
        "started_at": ts(i.created_at),
        "page_id": s.page_id,
        "incident_updates": [_update(s, i.code, p) for p in i.posts],
        "components": [component(s, by[c]) for c in i.components if c in by],
    }


def maintenance(s: Snapshot, m: Maintenance, url: str) -> dict[str, Any]:
    by = s.by_code
    return {
        "id": m.code,
        "name": m.name,
        "status": m.status,
        "created_at": ts(m.created_at),
        "updated_at": ts(m.updated_at),
        "monitoring_at": None,
        "resolved_at": ts(m.completed_at),
        "impact": "maintenance",
        "shortlink": f"{url}/incidents/{m.code}",
        "started_at": ts(m.started_at or m.scheduled_for),
        "page_id": s.page_id,
        "incident_updates": [_update(s, m.code, p) for p in m.posts],
        "components": [component(s, by[c]) for c in m.components if c in by],
        "scheduled_for": ts(m.scheduled_for),
        "scheduled_until": ts(m.scheduled_until),
    }


def documents(s: Snapshot, name: str, url: str) -> dict[str, dict[str, Any]]:
    """Every v2 document by its path under /status/api/v2/."""
    pg = page(s, name, url)
    comps = [component(s, c) for c in s.components]
    status = {"indicator": s.indicator, "description": s.description}
    unresolved = [incident(s, i, url) for i in s.unresolved]
    upcoming = [maintenance(s, m, url) for m in sorted(s.upcoming, key=lambda m: m.scheduled_for)]
    active = [maintenance(s, m, url) for m in s.active]
    return {
        "summary.json": {
            "page": pg,
            "components": comps,
            "incidents": unresolved,
            "scheduled_maintenances": active + upcoming,
            "status": status,
        },
        "status.json": {"page": pg, "status": status},
        "components.json": {"page": pg, "components": comps},
        "incidents.json": {"page": pg, "incidents": [incident(s, i, url) for i in s.incidents[:RECENT]]},
        "incidents/unresolved.json": {"page": pg, "incidents": unresolved},
        "scheduled-maintenances.json": {
            "page": pg,
            "scheduled_maintenances": [maintenance(s, m, url) for m in s.maintenances[:RECENT]],
        },
        "scheduled-maintenances/upcoming.json": {"page": pg, "scheduled_maintenances": upcoming},
        "scheduled-maintenances/active.json": {"page": pg, "scheduled_maintenances": active},
    }

"""The status page's words, as Atlassian Statuspage spells them, and how they order and map."""

from __future__ import annotations

from warroom.domain.errors import Conflict, Invalid

COMPONENT_STATUSES = ("operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage")
"""best to worst: an outage outranks maintenance, so a component down during a window shows down"""
INCIDENT_STATUSES = ("investigating", "identified", "monitoring", "resolved")
MAINTENANCE_STATUSES = ("scheduled", "in_progress", "verifying", "completed")

RANK = {s: i for i, s in enumerate(COMPONENT_STATUSES)}
IMPACT_OF = {
    "operational": "none",
    "under_maintenance": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
IMPACTS = ("none", "minor", "major", "critical")
INDICATOR = {
    "none": "All Systems Operational",
    "minor": "Partially Degraded Service",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
MAINTENANCE_ONLY = "Service Under Maintenance"
LABEL = {
    "operational": "Operational",
    "under_maintenance": "Under maintenance",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "verifying": "Verifying",
    "completed": "Completed",
}
FROM_LIFECYCLE = {
    "triggered": "investigating",
    "acknowledged": "investigating",
    "investigating": "investigating",
    "identified": "identified",
    "mitigated": "monitoring",
    "resolved": "resolved",
    "closed": "resolved",
}
"""the public status an external update takes when its poster names none: the incident's own stage"""

MAINTENANCE_NEXT = {
    "scheduled": ("in_progress", "completed"),
    "in_progress": ("verifying", "completed"),
    "verifying": ("in_progress", "completed"),
    "completed": (),
}
"""a window may be cancelled (scheduled → completed) or finish early; a completed one is final"""


def worst(statuses: list[str]) -> str:
    return max(statuses, key=RANK.__getitem__, default="operational")


def worst_impact(impacts: list[str]) -> str:
    return max(impacts, key=IMPACTS.index, default="none")


def component_status(value: str, field: str = "status") -> str:
    text = value.strip().lower().replace("-", "_").replace(" ", "_")
    if text not in RANK:
        raise Invalid(f"'{value}' is not a component status; use one of {', '.join(COMPONENT_STATUSES)}", field=field)
    return text


def incident_status(value: str, field: str = "status") -> str:
    text = value.strip().lower()
    if text not in INCIDENT_STATUSES:
        raise Invalid(f"'{value}' is not a status page status; use one of {', '.join(INCIDENT_STATUSES)}", field=field)
    return text


def maintenance_step(old: str, new: str) -> str:
    text = new.strip().lower().replace("-", "_").replace(" ", "_")
    if text not in MAINTENANCE_STATUSES:
        raise Invalid(
            f"'{new}' is not a maintenance status; use one of {', '.join(MAINTENANCE_STATUSES)}", field="status"
        )
    if text not in MAINTENANCE_NEXT[old]:
        allowed = " or ".join(MAINTENANCE_NEXT[old]) or "nothing (it is final)"
        raise Conflict(f"a maintenance window that is {old} can go to {allowed}, not {text}")
    return text

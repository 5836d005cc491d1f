"""The incident state machine: which status may follow which, and what each command means."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"


OPEN_STATUSES = frozenset(
    {Status.TRIGGERED, Status.ACKNOWLEDGED, Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED}
)

WORKING_STATUSES = frozenset({Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED})
"""Responders move freely among these: a failed fix sends a mitigated incident back to investigating."""


class TransitionError(ValueError):
    """A command that the incident's current status does not allow; the message says what to do."""


def check_transition(incident_id: str, current: Status, target: Status) -> None:
    if current == target:
        raise TransitionError(f"{incident_id} is already {current.value}")
    if current is Status.CLOSED:
        raise TransitionError(f"{incident_id} is closed; its record is final")
    if current is Status.RESOLVED:
        if target is Status.CLOSED:
            return
        raise TransitionError(f"{incident_id} is resolved; reopen it first")
    if target is Status.CLOSED:
        raise TransitionError(f"{incident_id} is {current.value}; resolve it before closing")
    if target in (Status.TRIGGERED, Status.ACKNOWLEDGED):
        raise TransitionError(f"{incident_id} is {current.value}; it cannot go back to {target.value}")


def check_ack(incident_id: str, current: Status, acknowledged_by: str | None) -> None:
    if current is Status.TRIGGERED:
        return
    if current in (Status.RESOLVED, Status.CLOSED):
        raise TransitionError(f"{incident_id} is {current.value}; there is nothing to acknowledge")
    who = f" by {acknowledged_by}" if acknowledged_by else ""
    raise TransitionError(f"{incident_id} was already acknowledged{who}")


def check_reopen(incident_id: str, current: Status) -> None:
    if current is not Status.RESOLVED:
        raise TransitionError(f"{incident_id} is {current.value}; only a resolved incident can be reopened")


def check_open(incident_id: str, current: Status, doing: str) -> None:
    if current not in OPEN_STATUSES:
        raise TransitionError(f"{incident_id} is {current.value}; reopen it before you {doing}")

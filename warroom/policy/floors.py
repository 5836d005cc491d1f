"""Floor rules: facts about an incident that set a minimum severity ("credential exposed → P0")."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from warroom.policy.model import Floor, Policy


@dataclass(frozen=True)
class FloorResult:
    severity: str
    floor: Floor | None


def apply_floors(policy: Policy, severity: str, flags: Mapping[str, Any]) -> FloorResult:
    """The most severe of the current level and every floor whose flag is set."""
    current = policy.severity(severity).name
    winner: Floor | None = None
    for floor in policy.classification.floors:
        if not flags.get(floor.flag):
            continue
        if policy.rank(floor.at_least) < policy.rank(current):
            current = policy.severity(floor.at_least).name
            winner = floor
    return FloorResult(current, winner)

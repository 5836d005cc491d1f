"""Who a change is recorded as when no person made it: warroom itself, or the integration whose alert caused it.

Every other actor is a person (or "bot X on behalf of Y", "X on behalf of Y"); reports, the blame
check and the pages tell the two apart by these names alone.
"""

from __future__ import annotations

SYSTEM = "warroom"
"""the engine's own work: timers, escalation, reminders, maintenance boundaries"""
_INTEGRATION = "integration "


def integration(name: str) -> str:
    """The actor of a change an alert caused: the integration (its configured name) that sent it."""
    return f"{_INTEGRATION}{name}"


def is_person(actor: str) -> bool:
    """Whether an actor is someone (a user, a bot for a user) rather than warroom or an integration."""
    return bool(actor.strip()) and actor != SYSTEM and not actor.startswith(_INTEGRATION)

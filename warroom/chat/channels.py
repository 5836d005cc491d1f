"""The incident a chat channel belongs to: in an incident's own channel, commands may leave out its id."""

from __future__ import annotations

from sqlalchemy import select

from warroom.domain.lifecycle import OPEN_STATUSES
from warroom.store.models import Incident
from warroom.store.unit import Context


def incident_of_channel(ctx: Context, channel_name: str) -> str | None:
    """The open incident whose war room has this name (with or without '#'), or None."""
    name = channel_name.strip().lstrip("#").lower()
    if not name:
        return None
    with ctx.db.read() as session:
        found = session.scalars(
            select(Incident.id)
            .where(Incident.channel.in_([name, f"#{name}"]), Incident.status.in_([s.value for s in OPEN_STATUSES]))
            .order_by(Incident.declared_at.desc())
            .limit(1)
        ).first()
        return found

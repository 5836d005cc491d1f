"""Turns what just happened to an incident into durable timers (filled in by the engine)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from warroom.store.models import TimelineEntry

if TYPE_CHECKING:
    from warroom.incidents.service import Context


def on_entries(session: Session, ctx: Context, entries: list[TimelineEntry], now: datetime) -> None:
    """Called in the transaction of every incident change with the timeline entries it wrote."""

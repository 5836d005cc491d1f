"""What a timer handler works with: one transaction, the policy, the moment, and idempotent effects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from warroom.domain import actors
from warroom.incidents.record import entry
from warroom.oncall.directory import Directory, Reached
from warroom.policy.model import Policy
from warroom.store.db import insert_new
from warroom.store.engine_models import Effect, Page, Timer
from warroom.store.models import Incident, TimelineEntry


@dataclass
class Firing:
    session: Session
    policy: Policy
    now: datetime
    directory: Directory
    worker: str
    timer: Timer

    def effect(self, key: str, kind: str, incident_id: str | None) -> bool:
        """Record that an effect happens under `key`; False if it already did (then do nothing)."""
        values = {"key": key, "kind": kind, "incident_id": incident_id, "timer_id": self.timer.id,
                  "worker": self.worker, "created_at": self.now}  # fmt: skip
        return insert_new(self.session, Effect, ("key",), "key", values) is not None

    def note(
        self, inc: Incident, kind: str, what: str, outcome: str = "", data: dict[str, Any] | None = None
    ) -> TimelineEntry:
        return entry(self.session, inc, self.now, actors.SYSTEM, kind, what, outcome, data)

    def reach(self, target: str) -> Reached:
        return self.directory.reach(self.session, self.policy, target, self.now)

    def page(
        self,
        inc: Incident,
        reached: Reached,
        *,
        key: str,
        kind: str,
        methods: list[str],
        reason: str,
        tier: int | None = None,
        round_: int = 0,
    ) -> Page | None:
        """Record one page durably (the hand-off to delivery) unless it was already recorded."""
        if not self.effect(key, kind, inc.id):
            return None
        row = Page(
            key=key,
            incident_id=inc.id,
            kind=kind,
            target=reached.target,
            person=reached.person,
            channel=reached.channel,
            tier=tier,
            round=round_,
            methods=list(methods),
            reason=reason,
            created_at=self.now,
            delivery="pending",
        )
        self.session.add(row)
        return row

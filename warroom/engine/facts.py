"""What the engine needs to know about one incident to plan or fire its timers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warroom.domain.lifecycle import OPEN_STATUSES, Status
from warroom.policy.model import Policy, Severity
from warroom.store.engine_models import Effect
from warroom.store.models import Hypothesis, Incident, RoleAssignment, Update

COMMANDER = "incident-commander"


@dataclass
class Facts:
    policy: Policy
    inc: Incident
    now: datetime
    last_update: dict[str, datetime]
    hypotheses: int
    fired: set[str]

    @property
    def severity(self) -> Severity:
        return self.policy.severity(self.inc.severity)

    @property
    def open(self) -> bool:
        return is_open(self.inc)

    @property
    def work_start(self) -> datetime:
        return self.inc.reopened_at or self.inc.declared_at


def is_open(inc: Incident) -> bool:
    return Status(inc.status) in OPEN_STATUSES


def load(session: Session, policy: Policy, inc: Incident, now: datetime) -> Facts:
    last = {
        aud: at
        for aud, at in session.execute(
            select(Update.audience, func.max(Update.at)).where(Update.incident_id == inc.id).group_by(Update.audience)
        ).all()
    }
    hyps = session.scalar(select(func.count()).select_from(Hypothesis).where(Hypothesis.incident_id == inc.id)) or 0
    fired = set(session.scalars(select(Effect.key).where(Effect.incident_id == inc.id, Effect.kind == "condition")))
    return Facts(policy, inc, now, last, int(hyps), fired)


def recipients(session: Session, inc: Incident) -> list[str]:
    """Who hears reminders: the commander and the scribe, else whoever acknowledged or declared."""
    rows = session.scalars(select(RoleAssignment).where(RoleAssignment.incident_id == inc.id))
    people = [
        r.person for r in sorted(rows, key=lambda r: r.role != COMMANDER) if r.role == COMMANDER or "scribe" in r.role
    ]
    if not people:
        people = [inc.acknowledged_by or inc.declared_by]
    return list(dict.fromkeys(people))

"""What the engine needs to know about one incident to plan or fire its timers."""

from __future__ import annotations

from datetime import datetime
from functools import cached_property

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from warroom.domain.lifecycle import OPEN_STATUSES, Status
from warroom.policy.model import Policy, Severity
from warroom.store.engine_models import Effect, Page
from warroom.store.models import Hypothesis, Incident, RoleAssignment, Update

COMMANDER = "incident-commander"


class Facts:
    """Read lazily: each planner asks only for what it needs, so most changes cost few queries."""

    def __init__(self, session: Session, policy: Policy, inc: Incident, now: datetime) -> None:
        self.session = session
        self.policy = policy
        self.inc = inc
        self.now = now

    @cached_property
    def last_update(self) -> dict[str, datetime]:
        """When each audience last heard from the war room."""
        rows = self.session.execute(
            select(Update.audience, func.max(Update.at))
            .where(Update.incident_id == self.inc.id)
            .group_by(Update.audience)
        ).all()
        return {aud: at for aud, at in rows}

    @cached_property
    def hypotheses(self) -> int:
        count = self.session.scalar(
            select(func.count()).select_from(Hypothesis).where(Hypothesis.incident_id == self.inc.id)
        )
        return int(count or 0)

    @cached_property
    def fired(self) -> set[str]:
        """Keys of the escalation conditions that already fired for this incident."""
        return set(
            self.session.scalars(
                select(Effect.key).where(Effect.incident_id == self.inc.id, Effect.kind == "condition")
            )
        )

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
    return Facts(session, policy, inc, now)


def recipients(session: Session, inc: Incident) -> list[str]:
    """Who hears reminders: the commander and the scribe, else whoever acknowledged or declared.

    Nobody declared an incident that alerts declared: until someone acknowledges it, the people
    it paged hear its reminders (the declarer, when nobody was paged yet).
    """
    rows = session.scalars(select(RoleAssignment).where(RoleAssignment.incident_id == inc.id))
    people = [
        r.person for r in sorted(rows, key=lambda r: r.role != COMMANDER) if r.role == COMMANDER or "scribe" in r.role
    ]
    if not people and inc.acknowledged_by:
        people = [inc.acknowledged_by]
    if not people and inc.source == "alert":
        paged = session.scalars(
            select(Page.person)
            .where(Page.incident_id == inc.id, Page.kind == "page", Page.person.is_not(None))
            .order_by(Page.id)
        )
        people = [p for p in paged if p]
    return list(dict.fromkeys(people or [inc.declared_by]))

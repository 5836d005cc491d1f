"""The intake's transactions, as the writer and the use cases run them: a batch of requests (with its
refusals' dead letters), releasing held groups, closing stale ones, and the lock they all take first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from warroom.domain import actors
from warroom.intake.batch import Batch, Submission
from warroom.intake.batch_state import OPEN, Rec
from warroom.intake.config import IntakeSettings
from warroom.intake.decisions import signal
from warroom.policy import triage as tri
from warroom.store.intake_models import Alert, AlertGroup, DeadLetter
from warroom.store.models import Incident
from warroom.store.unit import Context


@dataclass
class Refused:
    """A request refused after authentication: its raw body goes to the dead-letter table."""

    source: str
    integration: str
    received_at: datetime
    status: int
    error: str
    field: str | None
    content_type: str
    body: bytes


INTAKE_LOCK = 0x5741524F  # "WARO"


def intake_lock(session: Session) -> None:
    """One intake transaction at a time across replicas (SQLite's BEGIN IMMEDIATE already is one).

    Alert groups have no unique key a database could enforce (a key may have closed groups), so two
    replicas opening the group for the same service at once would each declare an incident.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": INTAKE_LOCK})


def ingest(session: Session, ctx: Context, now: datetime, jobs: list[Submission | Refused],
           cfg: IntakeSettings) -> list[list[dict[str, Any]] | int]:  # fmt: skip
    """Apply a batch; per job: the alert outcomes (a submission) or the dead letter's id (a refusal)."""
    subs = [j for j in jobs if isinstance(j, Submission)]
    intake_lock(session)
    batch = Batch(session, ctx, now, cfg)
    with session.no_autoflush:
        batch.load(i for s in subs for i in s.items)
        per_sub = {id(s): batch.submit(s) for s in subs}
    batch.finish()
    results: list[list[dict[str, Any]] | int] = []
    for job in jobs:
        if isinstance(job, Submission):
            results.append([o.as_dict() for o in per_sub[id(job)]])
        else:
            results.append(dead_letter(session, job, cfg.dead_letters_keep))
    return results


def dead_letter(session: Session, job: Refused, keep: int) -> int:
    row = DeadLetter(
        received_at=job.received_at,
        source=job.source[:40],
        integration=job.integration,
        status=job.status,
        error=job.error[:4000],
        field=job.field[:300] if job.field else None,
        content_type=job.content_type[:200],
        size=len(job.body),
        body=job.body,
    )
    session.add(row)
    session.flush()
    newest = row.id
    session.execute(
        DeadLetter.__table__.delete().where(DeadLetter.id <= newest - keep)  # type: ignore[attr-defined]
    )
    return newest


def release_held(session: Session, ctx: Context, now: datetime, cfg: IntakeSettings) -> int:
    """Held groups whose wait is over (no storm came) are triaged and decided one by one."""
    intake_lock(session)
    stmt = select(AlertGroup).where(AlertGroup.outcome == "pending", AlertGroup.hold_until <= now,
                                    AlertGroup.storm.is_(False))  # fmt: skip
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    groups = list(session.scalars(stmt.limit(200)))
    batch = Batch(session, ctx, now, cfg)
    for group in groups:
        alerts = list(session.scalars(select(Alert).where(Alert.group_id == group.id).order_by(Alert.id)))
        firing = [a for a in alerts if a.status == "firing"] or alerts
        if not firing:
            group.outcome, group.hold_until = "none", None
            continue
        verdict = tri.classify(ctx.policy, [signal(a) for a in firing])
        group.triage = {**group.triage, "held": f"held until {now:%H:%M:%S} UTC; no storm followed"}
        recs = [Rec(a.id, a.key, a.status, a.count, a.service, a.summary, a.group_id, a.incident_id, a.silence_id)
                for a in firing]  # fmt: skip
        batch.actor = actors.integration(firing[0].integration)
        batch.decide(group, verdict, recs)
    batch.finish()
    return len(groups)


def close_stale(session: Session, ctx: Context, now: datetime) -> int:
    """Close groups nothing can join any more: past the window without an incident, or with a finished one."""
    window = ctx.policy.classification.grouping.window.as_timedelta()
    finished = select(Incident.id).where(Incident.status.not_in(OPEN))
    closed = session.execute(
        update(AlertGroup)
        .where(
            AlertGroup.status == "open",
            (
                (AlertGroup.incident_id.is_(None))
                & AlertGroup.outcome.in_(("ticket", "none", "dismissed"))
                & (AlertGroup.last_alert_at < now - window)
            )
            | AlertGroup.incident_id.in_(finished),
        )
        .values(status="closed", closed_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(closed.rowcount or 0)  # type: ignore[attr-defined]


def next_hold(session: Session) -> datetime | None:
    return session.scalar(select(func.min(AlertGroup.hold_until)).where(AlertGroup.outcome == "pending"))

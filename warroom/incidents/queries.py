"""Reads: one incident, its timeline, the list of incidents and the working brief."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from warroom.domain import sla
from warroom.domain.errors import Invalid
from warroom.domain.lifecycle import OPEN_STATUSES, Status
from warroom.incidents import context as template_context
from warroom.incidents.record import COMMANDER, load
from warroom.incidents.schemas import (
    IncidentSummary,
    IncidentView,
    TimelineView,
)
from warroom.incidents.views import build_view, clock_view, compute_clocks
from warroom.policy.model import Policy, UnknownSeverity
from warroom.policy.templates import render
from warroom.store.models import (
    Incident,
    RoleAssignment,
    TimelineEntry,
)
from warroom.store.unit import Context, domain_errors


def get(ctx: Context, incident_id: str) -> IncidentView:
    with ctx.db.read() as session:
        return build_view(session, ctx.policy, load(session, incident_id), ctx.clock.now())


def timeline(ctx: Context, incident_id: str) -> list[TimelineView]:
    with ctx.db.read() as session:
        inc = load(session, incident_id)
        rows = session.scalars(
            select(TimelineEntry).where(TimelineEntry.incident_id == inc.id).order_by(TimelineEntry.id)
        )
        return [TimelineView.model_validate(r) for r in rows]


def search(
    ctx: Context,
    status: str = "open",
    severity: str | None = None,
    service: str | None = None,
    q: str | None = None,
    limit: int = 200,
) -> list[IncidentSummary]:
    with domain_errors(), ctx.db.read() as session:
        stmt = select(Incident)
        if status == "open":
            stmt = stmt.where(Incident.status.in_([s.value for s in OPEN_STATUSES]))
        elif status != "all":
            try:
                stmt = stmt.where(Incident.status == Status(status).value)
            except ValueError:
                raise Invalid(
                    f"unknown status '{status}'; use open, all or one of {', '.join(s.value for s in Status)}",
                    field="status",
                ) from None
        if severity:
            stmt = stmt.where(Incident.severity == ctx.policy.severity(severity).name)
        if service:
            stmt = stmt.where(Incident.service == service)
        if q:
            needle = f"%{q.strip().lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(Incident.title).like(needle),
                    func.lower(Incident.summary).like(needle),
                    func.lower(Incident.id).like(needle),
                )
            )
        rows = list(session.scalars(stmt.order_by(Incident.declared_at).limit(max(1, min(limit, 1000)))))
        commanders = {
            r.incident_id: r.person
            for r in session.scalars(
                select(RoleAssignment).where(
                    RoleAssignment.role == COMMANDER, RoleAssignment.incident_id.in_([i.id for i in rows])
                )
            )
        }
        now = ctx.clock.now()
        out = []
        for inc in rows:
            nearest = sla.nearest_deadline(compute_clocks(ctx.policy, inc, now))
            out.append(
                IncidentSummary(
                    id=inc.id,
                    title=inc.title,
                    severity=inc.severity,
                    status=inc.status,
                    service=inc.service,
                    declared_at=inc.declared_at,
                    commander=commanders.get(inc.id),
                    next_deadline=clock_view(nearest) if nearest else None,
                )
            )
        out.sort(key=lambda s: (rank(ctx.policy, s.severity), s.declared_at))
        return out


def rank(policy: Policy, severity: str) -> int:
    try:
        return policy.rank(severity)
    except UnknownSeverity:
        return len(policy.severities)


def brief(ctx: Context, incident_id: str) -> str:
    """The live working document (symptoms, surfaces, hypotheses, actions) rendered from the record."""
    with ctx.db.read() as session:
        inc = load(session, incident_id)
        now = ctx.clock.now()
        context = template_context.full(session, ctx.policy, inc, now)
        source = ctx.policy.templates.working_doc or template_context.DEFAULT_WORKING_DOC
        return render(source, context)


def changes_since(ctx: Context, last_entry: int | None) -> tuple[int, list[str]]:
    """The newest timeline entry's id, and the incidents with entries after `last_entry` (None: just the id).

    Every change to an incident writes a timeline entry, so this one cheap read tells live pages,
    in any process, what changed anywhere.
    """
    with ctx.db.read() as session:
        newest = session.scalar(select(func.max(TimelineEntry.id))) or 0
        if last_entry is None or newest <= last_entry:
            return newest, []
        changed = session.scalars(
            select(TimelineEntry.incident_id).where(TimelineEntry.id > last_entry).distinct().limit(500)
        )
        return newest, sorted(changed)

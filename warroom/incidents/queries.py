"""Reads: one incident, its timeline, the list of incidents and the working brief."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, case, func, or_, select, tuple_

from warroom.domain import cursor as cursor_key
from warroom.domain import sla
from warroom.domain.cursor import Page
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


def timeline_tail(ctx: Context, incident_id: str, limit: int | None) -> tuple[list[TimelineView], int]:
    """The newest `limit` entries of the timeline (every entry when None), oldest first, and how many it has."""
    with ctx.db.read() as session:
        inc = load(session, incident_id)
        mine = TimelineEntry.incident_id == inc.id
        stmt = select(TimelineEntry).where(mine).order_by(TimelineEntry.id.desc())
        rows = list(session.scalars(stmt if limit is None else stmt.limit(limit)))
        total = len(rows)
        if limit is not None and total == limit:  # a full window: there may be more
            total = int(session.scalar(select(func.count(TimelineEntry.id)).where(mine)) or 0)
        return [TimelineView.model_validate(r) for r in reversed(rows)], total


def timeline_starting(ctx: Context, incident_id: str, prefix: str) -> list[TimelineView]:
    """The entries whose text starts with `prefix`, oldest first (the checklist's ticks, however old)."""
    with ctx.db.read() as session:
        inc = load(session, incident_id)
        rows = session.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == inc.id, TimelineEntry.what.startswith(prefix, autoescape=True))
            .order_by(TimelineEntry.id)
        )
        return [TimelineView.model_validate(r) for r in rows]


TIMELINE = "timeline"


def timeline_page(ctx: Context, incident_id: str, limit: int = 1000, cursor: str | None = None) -> Page[TimelineView]:
    """The timeline oldest first, `limit` entries a page; `cursor` continues after the last page."""
    after = cursor_key.decode(TIMELINE, cursor, int)[0] if cursor else 0
    with ctx.db.read() as session:
        inc = load(session, incident_id)
        rows = list(
            session.scalars(
                select(TimelineEntry)
                .where(TimelineEntry.incident_id == inc.id, TimelineEntry.id > after)
                .order_by(TimelineEntry.id)
                .limit(limit + 1)
            )
        )
        more = len(rows) > limit
        items = [TimelineView.model_validate(r) for r in rows[:limit]]
        return Page(items, cursor_key.encode(TIMELINE, items[-1].id) if more and items else None)


def search(
    ctx: Context,
    status: str = "open",
    severity: str | None = None,
    service: str | None = None,
    q: str | None = None,
    limit: int = 200,
) -> list[IncidentSummary]:
    """The first `limit` incidents, severity then age (see `search_page` for the rest)."""
    return search_page(ctx, status, severity, service, q, limit).items


LIST = "incidents"


def _order(policy: Policy) -> ColumnElement[int]:
    """Severity rank as SQL (the policy's order; a severity it no longer knows comes last)."""
    ranks = {s.name: n for n, s in enumerate(policy.severities)}
    return case(ranks, value=Incident.severity, else_=len(ranks))


def search_page(
    ctx: Context,
    status: str = "open",
    severity: str | None = None,
    service: str | None = None,
    q: str | None = None,
    limit: int = 200,
    cursor: str | None = None,
) -> Page[IncidentSummary]:
    """One page of incidents, most severe first, then oldest first; `cursor` continues after the last page."""
    after = cursor_key.decode(LIST, cursor, int, datetime, str) if cursor else None
    limit = max(1, min(limit, cursor_key.MOST))
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
        rank_of = _order(ctx.policy)
        if after is not None:
            stmt = stmt.where(tuple_(rank_of, Incident.declared_at, Incident.id) > tuple_(*after))
        stmt = stmt.order_by(rank_of, Incident.declared_at, Incident.id).limit(limit + 1)
        rows = list(session.scalars(stmt))
        more = len(rows) > limit
        rows = rows[:limit]
        commanders = dict(
            session.execute(
                select(RoleAssignment.incident_id, RoleAssignment.person).where(
                    RoleAssignment.role == COMMANDER, RoleAssignment.incident_id.in_([i.id for i in rows])
                )
            ).all()
        )
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
        last = rows[-1] if rows else None
        following = (
            cursor_key.encode(LIST, rank(ctx.policy, last.severity), last.declared_at, last.id)
            if more and last
            else None
        )
        return Page(out, following)


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

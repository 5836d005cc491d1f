"""What the responders' status page screens read: the page as the public sees it now, each component's
status set by hand beside the one shown, and the recent public stories with the incident each belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from warroom.statuspage import snapshot
from warroom.statuspage.posts import current_components
from warroom.statuspage.snapshot import Incident, Snapshot
from warroom.store.status_models import StatusComponent, StatusIncident, StatusPost
from warroom.store.unit import Context

RECENT = 20


@dataclass
class ComponentRow:
    code: str
    name: str
    description: str
    is_group: bool
    group_name: str | None
    position: int
    set_status: str
    """what an admin set by hand"""
    shown: str
    """what the page shows: the worst of that, the unresolved incidents' posts and maintenance"""


@dataclass
class Story:
    incident: Incident
    incident_id: str
    """the internal incident this public story belongs to (for responders only)"""


@dataclass
class Overview:
    indicator: str
    description: str
    updated_at: datetime
    components: list[ComponentRow]
    stories: list[Story]
    snapshot: Snapshot


def overview(ctx: Context, recent: int = RECENT) -> Overview:
    now = ctx.clock.now()
    with ctx.db.read() as session:
        s = snapshot.load(session, now, days=False)
        rows = list(session.scalars(select(StatusComponent).order_by(StatusComponent.position, StatusComponent.id)))
        codes = [i.code for i in s.incidents[:recent]]
        internal = dict(
            session.execute(
                select(StatusIncident.code, StatusIncident.incident_id).where(StatusIncident.code.in_(codes))
            ).all()
        )
        shown = {c.code: c.status for c in s.components}
        names = {r.code: r.name for r in rows}
        return Overview(
            indicator=s.indicator,
            description=s.description,
            updated_at=s.updated_at,
            components=[
                ComponentRow(
                    code=r.code,
                    name=r.name,
                    description=r.description,
                    is_group=r.is_group,
                    group_name=names.get(r.group_code or ""),
                    position=r.position,
                    set_status=r.status,
                    shown=shown.get(r.code, r.status),
                )
                for r in rows
            ],
            stories=[Story(i, internal.get(i.code, "")) for i in s.incidents[:recent]],
            snapshot=s,
        )


@dataclass
class Affected:
    code: str
    name: str
    status: str | None
    """what this incident's posts say of it now, or None if none of them named it"""


@dataclass
class OnThePage:
    """An incident as the status page tells it, for its own page: its public story (None until the first post)
    and each component a post may change, with what this incident's posts say of it so far."""

    story: Incident | None
    components: list[Affected]


def on_the_page(ctx: Context, incident_id: str) -> OnThePage:
    with ctx.db.read() as session:
        rows = list(
            session.scalars(
                select(StatusComponent)
                .where(StatusComponent.is_group.is_(False))
                .order_by(StatusComponent.position, StatusComponent.id)
            )
        )
        names = {r.code: r.name for r in rows}
        si = session.scalar(select(StatusIncident).where(StatusIncident.incident_id == incident_id))
        if si is None:
            return OnThePage(None, [Affected(r.code, r.name, None) for r in rows])
        said = current_components(session, si)
        found = session.scalars(
            select(StatusPost).where(StatusPost.status_incident_id == si.id).order_by(StatusPost.id)
        )
        told = [snapshot.make_post(p.code, p.status, p.body, p.at, p.components, names) for p in found]
        story = Incident(
            code=si.code, name=si.name, status=si.status, impact=si.impact, created_at=si.created_at,
            updated_at=si.updated_at, monitoring_at=si.monitoring_at, resolved_at=si.resolved_at,
            posts=told[::-1], components=[c for c in said if c in names],
        )  # fmt: skip
        return OnThePage(story, [Affected(r.code, r.name, said.get(r.code)) for r in rows])

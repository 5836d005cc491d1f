"""Everything public, read in one snapshot: the only thing the page, the JSON and the feeds are made from.

Nothing internal is read here beyond what was published (posts' text, the public name, components),
so no renderer can leak a name, a hypothesis or an alert: they are not in its input.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.statuspage import uptime, vocab, windows
from warroom.store.status_models import (
    StatusComponent,
    StatusIncident,
    StatusMaintenance,
    StatusMaintenanceUpdate,
    StatusPageState,
    StatusPost,
)

UPTIME_DAYS = 90


@dataclass
class Day:
    day: datetime
    uptime: float
    worst: str


@dataclass
class Component:
    code: str
    name: str
    description: str
    is_group: bool
    group_code: str | None
    position: int
    status: str
    created_at: datetime
    updated_at: datetime
    children: list[str] = field(default_factory=list)
    days: list[Day] = field(default_factory=list)
    uptime: float = 1.0


@dataclass
class Change:
    code: str
    name: str
    old_status: str
    new_status: str


@dataclass
class Post:
    code: str
    status: str
    body: str
    at: datetime
    changes: list[Change]


@dataclass
class Incident:
    code: str
    name: str
    status: str
    impact: str
    created_at: datetime
    updated_at: datetime
    monitoring_at: datetime | None
    resolved_at: datetime | None
    posts: list[Post]
    """newest first, as Statuspage lists incident_updates"""
    components: list[str]


@dataclass
class Maintenance:
    code: str
    name: str
    status: str
    scheduled_for: datetime
    scheduled_until: datetime
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    posts: list[Post]
    components: list[str]


@dataclass
class Snapshot:
    page_id: str
    version: int
    updated_at: datetime
    built_at: datetime
    valid_until: datetime | None
    components: list[Component]
    incidents: list[Incident]
    maintenances: list[Maintenance]
    indicator: str
    description: str

    @property
    def by_code(self) -> dict[str, Component]:
        return {c.code: c for c in self.components}

    @property
    def unresolved(self) -> list[Incident]:
        return [i for i in self.incidents if i.status != "resolved"]

    @property
    def upcoming(self) -> list[Maintenance]:
        return [m for m in self.maintenances if m.status == "scheduled"]

    @property
    def active(self) -> list[Maintenance]:
        return [m for m in self.maintenances if m.status in ("in_progress", "verifying")]


def version(session: Session) -> int:
    return int(session.scalar(select(StatusPageState.version).where(StatusPageState.id == 1)) or 0)


def load(session: Session, now: datetime, days: bool = True) -> Snapshot:
    """Everything public as of `now`; without `days`, no uptime (a webhook's body needs none of it)."""
    state = session.get(StatusPageState, 1)
    rows = list(session.scalars(select(StatusComponent).order_by(StatusComponent.position, StatusComponent.id)))
    names = {r.code: r.name for r in rows}
    incidents = list(
        session.scalars(select(StatusIncident).order_by(StatusIncident.created_at.desc(), StatusIncident.id.desc()))
    )
    posts: dict[int, list[StatusPost]] = defaultdict(list)
    for p in session.scalars(select(StatusPost).order_by(StatusPost.id)):
        posts[p.status_incident_id].append(p)
    mrows = list(session.scalars(select(StatusMaintenance).order_by(StatusMaintenance.scheduled_for.desc())))
    mposts: dict[int, list[StatusMaintenanceUpdate]] = defaultdict(list)
    for u in session.scalars(select(StatusMaintenanceUpdate).order_by(StatusMaintenanceUpdate.id)):
        mposts[u.maintenance_id].append(u)

    intervals: dict[str, list[uptime.Interval]] = defaultdict(list)
    live: dict[str, list[str]] = defaultdict(list)
    out_incidents = []
    for si in incidents:
        state_of: dict[str, tuple[datetime, str]] = {}
        touched: list[str] = []
        for p in posts[si.id]:
            for c in p.components:
                code = c["code"]
                if code not in touched:
                    touched.append(code)
                if code in state_of:
                    since, status = state_of[code]
                    intervals[code].append(uptime.Interval(since, p.at, status))
                state_of[code] = (p.at, c["new_status"])
        for code, (since, status) in state_of.items():
            if status != "operational":
                intervals[code].append(uptime.Interval(since, now, status))
                if si.status != "resolved":
                    live[code].append(status)
        out_incidents.append(
            Incident(
                code=si.code,
                name=si.name,
                status=si.status,
                impact=si.impact,
                created_at=si.created_at,
                updated_at=si.updated_at,
                monitoring_at=si.monitoring_at,
                resolved_at=si.resolved_at,
                posts=[make_post(p.code, p.status, p.body, p.at, p.components, names) for p in reversed(posts[si.id])],
                components=[c for c in touched if c in names],
            )
        )

    out_maint = []
    for m in mrows:
        status = windows.effective(m, now)
        if status in ("in_progress", "verifying"):
            for code in m.components:
                live[code].append("under_maintenance")
        ups = [make_post(u.code, u.status, u.body, u.at, [], names) for u in reversed(mposts[m.id])]
        out_maint.append(
            Maintenance(
                code=m.code,
                name=m.name,
                status=status,
                scheduled_for=m.scheduled_for,
                scheduled_until=m.scheduled_until,
                created_at=m.created_at,
                updated_at=m.updated_at,
                started_at=m.started_at or (m.scheduled_for if status != "scheduled" else None),
                completed_at=m.completed_at or (m.scheduled_until if status == "completed" else None),
                posts=ups,
                components=list(m.components),
            )
        )

    first = (now - timedelta(days=UPTIME_DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    comps = []
    for r in rows:
        status = r.status if r.is_group else vocab.worst([r.status, *live.get(r.code, [])])
        c = Component(
            code=r.code,
            name=r.name,
            description=r.description,
            is_group=r.is_group,
            group_code=r.group_code,
            position=r.position,
            status=status,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )
        if not r.is_group and days:
            c.days = [Day(d, u, w) for d, u, w in uptime.days(intervals.get(r.code, []), first, UPTIME_DAYS, now)]
            c.days[-1].worst = vocab.worst([c.days[-1].worst, status])  # today shows what it is now, too
            c.uptime = uptime.uptime(intervals.get(r.code, []), max(first, min(r.created_at, now)), now)
        comps.append(c)
    by_code = {c.code: c for c in comps}
    for c in comps:
        if c.group_code and c.group_code in by_code:
            by_code[c.group_code].children.append(c.code)
    for c in comps:
        if c.is_group:
            c.status = vocab.worst([by_code[k].status for k in c.children])

    leaves = [c.status for c in comps if not c.is_group]
    impacts = [vocab.IMPACT_OF[s] for s in leaves] + [i.impact for i in out_incidents if i.status != "resolved"]
    indicator = vocab.worst_impact(impacts)
    description = vocab.INDICATOR[indicator]
    if indicator == "none" and "under_maintenance" in leaves:
        description = vocab.MAINTENANCE_ONLY
    return Snapshot(
        page_id=state.page_id if state else "",
        version=state.version if state else 0,
        updated_at=state.updated_at if state else datetime(2000, 1, 1, tzinfo=UTC),
        built_at=now,
        valid_until=windows.next_boundary(mrows, now),
        components=comps,
        incidents=out_incidents,
        maintenances=out_maint,
        indicator=indicator,
        description=description,
    )


def make_post(
    code: str, status: str, body: str, at: datetime, changes: list[dict[str, str]], names: dict[str, str]
) -> Post:
    return Post(
        code=code,
        status=status,
        body=body,
        at=at,
        changes=[
            Change(c["code"], names.get(c["code"], ""), c["old_status"], c["new_status"])
            for c in changes
            if c["code"] in names
        ],
    )

"""The report use case: incidents declared in a window, filtered by severity and service, and every
figure the README defines, read from their timestamps (see figures.py for the arithmetic)."""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from warroom.domain.durations import DurationError, parse_fixed
from warroom.domain.errors import Invalid
from warroom.domain.text import clean_name
from warroom.incidents.views import compute_clocks
from warroom.policy.model import Policy
from warroom.reports import figures
from warroom.reports.schemas import (
    ActionCounts,
    ClockRow,
    Count,
    IncidentRow,
    PagerLoad,
    PostmortemCounts,
    ReportSummary,
    WeekRow,
)
from warroom.store.engine_models import Page
from warroom.store.models import Incident, TimelineEntry
from warroom.store.postmortem_models import ActionItem
from warroom.store.unit import Context

DEFAULT_SINCE = "90d"
MAX_SINCE = timedelta(days=3660)


def window(since: str, now: datetime) -> datetime:
    """`90d`, `12w`, `24h`: how far back a report looks."""
    try:
        span = parse_fixed(since.strip())
    except (DurationError, ValueError) as exc:
        raise Invalid(f"since must be a duration such as 90d, 12w or 24h ({exc})", field="since") from None
    if span <= timedelta(0) or span > MAX_SINCE:
        raise Invalid("since must be more than nothing and at most ten years", field="since")
    return now - span


def _times(inc: Incident) -> figures.Times:
    return figures.Times(inc.declared_at, inc.acknowledged_at, inc.mitigated_at, inc.resolved_at, inc.alerts_cleared_at)


def _monday(at: datetime) -> str:
    return (at - timedelta(days=at.weekday())).strftime("%Y-%m-%d")


def _incidents(
    session: Session, policy: Policy, start: datetime, now: datetime, severity: str | None, service: str | None
) -> list[Incident]:
    q = select(Incident).where(Incident.declared_at >= start, Incident.declared_at <= now)
    if severity:
        q = q.where(Incident.severity == severity)
    if service:
        q = q.where(Incident.service == service)
    return list(session.scalars(q.order_by(Incident.declared_at, Incident.id)))


def compute(
    session: Session,
    policy: Policy,
    now: datetime,
    since: str = DEFAULT_SINCE,
    severity: str | None = None,
    service: str | None = None,
) -> ReportSummary:
    start = window(since, now)
    level = None
    if severity:
        try:
            level = policy.severity(severity.strip()).name
        except Exception:
            raise Invalid(f"unknown severity '{severity}'", field="severity") from None
    svc = clean_name("service", service, limit=200) if service and service.strip() else None
    incs = _incidents(session, policy, start, now, level, svc)
    ids = [i.id for i in incs]
    times = [_times(i) for i in incs]
    mtta, mttm, mttr = figures.summarise(times)

    weeks: dict[str, list[Incident]] = defaultdict(list)
    for inc in incs:
        weeks[_monday(inc.declared_at)].append(inc)
    week_rows = []
    for week in sorted(weeks):
        a, m, r = figures.summarise([_times(i) for i in weeks[week]])
        week_rows.append(
            WeekRow(
                week=week,
                by_severity=dict(Counter(i.severity for i in weeks[week])),
                mtta=a.mean,
                mttm=m.mean,
                mttr=r.mean,
            )
        )

    tally: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for inc in incs:
        for c in compute_clocks(policy, inc, now):
            if c.state != "none":
                tally[(inc.severity, c.name)][c.state] += 1
    order = {s.name: n for n, s in enumerate(policy.severities)}
    sla_rows = []
    for (sev, name), counts in sorted(tally.items(), key=lambda kv: (order.get(kv[0][0], 99), kv[0][1])):
        judged = counts["met"] + counts["met_late"] + counts["breached"]
        sla_rows.append(
            ClockRow(
                severity=sev,
                clock=name,
                met=counts["met"],
                met_late=counts["met_late"],
                breached=counts["breached"],
                running=counts["running"],
                compliance=counts["met"] / judged if judged else None,
            )
        )

    done_at: dict[str, datetime] = {}
    runbooks: Counter[str] = Counter()
    if ids:
        for e in session.scalars(
            select(TimelineEntry).where(
                TimelineEntry.incident_id.in_(ids), TimelineEntry.kind.in_(("postmortem_done", "runbook"))
            )
        ):
            if e.kind == "postmortem_done":
                done_at.setdefault(e.incident_id, e.at)
            elif e.data.get("runbook"):
                runbooks[str(e.data["runbook"])] += 1
    pm = PostmortemCounts(required=0, on_time=0, late=0, overdue=0, pending=0)
    for inc in incs:
        if policy.severity(inc.severity).postmortem.need.value != "required" or inc.postmortem_due_at is None:
            continue
        pm.required += 1
        done = done_at.get(inc.id)
        if done is not None:
            pm.on_time += done <= inc.postmortem_due_at
            pm.late += done > inc.postmortem_due_at
        elif now > inc.postmortem_due_at:
            pm.overdue += 1
        else:
            pm.pending += 1

    items = ActionCounts(open=0, overdue=0, done=0, wont_do=0)
    pages: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    calendar = policy.business_calendar()
    if ids:
        for item in session.scalars(select(ActionItem).where(ActionItem.incident_id.in_(ids))):
            if item.status == "done":
                items.done += 1
            elif item.status == "wont_do":
                items.wont_do += 1
            else:
                items.open += 1
                items.overdue += item.due_at is not None and item.due_at < now
        for page in session.scalars(select(Page).where(Page.incident_id.in_(ids), Page.person.is_not(None))):
            load = pages[str(page.person)]
            load[0] += 1
            load[1] += not calendar.in_business_hours(page.created_at)

    rows = [
        IncidentRow(
            id=i.id,
            severity=i.severity,
            service=i.service,
            declared_at=i.declared_at,
            tta=figures.tta(t),
            ttm=figures.ttm(t),
            ttr=figures.ttr(t),
            alerts_cleared_before_ack=figures.cleared_before_ack(t),
        )
        for i, t in zip(incs, times, strict=True)
    ]
    services = Counter(i.service for i in incs if i.service)
    return ReportSummary(
        since=start,
        until=now,
        severity=level,
        service=svc,
        incidents=len(incs),
        by_severity=dict(Counter(i.severity for i in incs)),
        mtta=mtta,
        mttm=mttm,
        mttr=mttr,
        alerts_cleared_before_ack=sum(r.alerts_cleared_before_ack for r in rows),
        unacknowledged=sum(
            1 for i in incs if i.acknowledged_at is None and i.alerts_cleared_at is None and i.closed_at is None
        ),
        weeks=week_rows,
        sla=sla_rows,
        postmortems=pm,
        action_items=items,
        services=[Count(name=n, count=c) for n, c in services.most_common(10)],
        runbooks=[Count(name=n, count=c) for n, c in runbooks.most_common(10)],
        pages=[
            PagerLoad(person=p, pages=v[0], out_of_hours=v[1])
            for p, v in sorted(pages.items(), key=lambda kv: -kv[1][0])
        ],
        rows=rows,
    )


def summary(
    ctx: Context, since: str = DEFAULT_SINCE, severity: str | None = None, service: str | None = None
) -> ReportSummary:
    """The report as every face shows it."""
    with ctx.db.unit() as session:
        return compute(session, ctx.policy, ctx.clock.now(), since, severity, service)


def to_csv(report: ReportSummary) -> str:
    """One row per incident with its durations in seconds (the figures' inputs)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "id",
            "severity",
            "service",
            "declared_at",
            "tta_seconds",
            "ttm_seconds",
            "ttr_seconds",
            "alerts_cleared_before_ack",
        ]
    )
    for r in report.rows:
        row = r.model_dump(mode="json")
        writer.writerow(
            [
                row["id"],
                row["severity"],
                row["service"] or "",
                row["declared_at"],
                *("" if row[k] is None else f"{row[k]:g}" for k in ("tta", "ttm", "ttr")),
                "yes" if r.alerts_cleared_before_ack else "no",
            ]
        )
    return out.getvalue()

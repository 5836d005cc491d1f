"""The report page and an incident's postmortem page: server-rendered, charts as inline SVG."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from warroom.domain.errors import ServiceError
from warroom.postmortems import service as postmortems
from warroom.reports import charts
from warroom.reports import service as reports
from warroom.store.unit import Context
from warroom.web.routes import page

router = APIRouter(include_in_schema=False)


def _ctx(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 120:
        return f"{seconds:.0f}s"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


@router.get("/reports", response_class=HTMLResponse)
def report_page(request: Request, since: str = "90d", severity: str = "", service: str = "") -> HTMLResponse:
    ctx = _ctx(request)
    try:
        report = reports.summary(ctx, since, severity or None, service or None)
    except ServiceError as exc:
        report = reports.summary(ctx)
        return page(request, "reports/summary.html", exc.status, error=exc.detail, **_charts(ctx, report, since))
    return page(request, "reports/summary.html", **_charts(ctx, report, since))


def _charts(ctx: Context, report: reports.ReportSummary, since: str) -> dict[str, Any]:
    severities = [s.name for s in ctx.policy.severities]
    return {
        "report": report,
        "since": since,
        "severities": severities,
        "minutes": minutes,
        "weekly_svg": Markup(charts.incidents_per_week(report.weeks, severities)),
        "trend_svg": Markup(charts.trend(report.weeks)),
        "compliance_svg": Markup(charts.compliance(report.sla)),
        "services_svg": Markup(
            charts.bars([(c.name, c.count) for c in report.services], "Most frequent services", "services")
        ),
        "pages_svg": Markup(
            charts.bars([(p.person, p.pages) for p in report.pages], "Pages per person", "pages", "#6a1b9a")
        ),
    }


@router.get("/incidents/{incident_id}/postmortem", response_class=HTMLResponse)
def postmortem_page(request: Request, incident_id: str, version: int | None = None) -> HTMLResponse:
    ctx = _ctx(request)
    try:
        timeline = Markup(reports.timeline_svg(ctx, incident_id))
        pm = postmortems.get(ctx, incident_id, version)
    except ServiceError as exc:
        return page(request, "missing.html", exc.status, error=exc.detail)
    return page(request, "reports/postmortem.html", pm=pm, timeline_svg=timeline)

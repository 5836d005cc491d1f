"""/api/v1/reports: the summary every face shows, as JSON or CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from warroom.api.deps import ctx
from warroom.reports import service
from warroom.reports.schemas import ReportSummary
from warroom.store.unit import Context

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
Ctx = Annotated[Context, Depends(ctx)]


@router.get(
    "/summary",
    response_model=ReportSummary,
    responses={200: {"content": {"text/csv": {}}}, 422: {"description": "Invalid input; `field` names it"}},
)
def summary(
    c: Ctx,
    since: Annotated[str, Query(max_length=20, description="how far back: 90d, 12w, 24h")] = "90d",
    severity: Annotated[str | None, Query(max_length=32)] = None,
    service_name: Annotated[str | None, Query(alias="service", max_length=200)] = None,
    format: Literal["json", "csv"] = "json",
) -> Any:
    """MTTA, MTTM, MTTR, SLA compliance, postmortems on time, action items, services, runbooks and pages
    for incidents declared in the window (see the README for each figure's timestamps)."""
    report = service.summary(c, since, severity, service_name)
    if format == "csv":
        return PlainTextResponse(
            service.to_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="incidents-report.csv"'},
        )
    return report

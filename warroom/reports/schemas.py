"""What a report holds, the same for the API's JSON, the CLI's tables, the CSV and the web page."""

from __future__ import annotations

from datetime import datetime

from warroom.domain.view import View
from warroom.reports.figures import Stat


class WeekRow(View):
    week: str
    """the Monday (UTC) the week starts, YYYY-MM-DD"""
    by_severity: dict[str, int]
    mtta: float | None
    mttm: float | None
    mttr: float | None


class ClockRow(View):
    severity: str
    clock: str
    met: int
    met_late: int
    breached: int
    running: int
    compliance: float | None
    """met / (met + met_late + breached); None when no clock finished or breached"""


class PostmortemCounts(View):
    required: int
    on_time: int
    late: int
    overdue: int
    pending: int


class ActionCounts(View):
    open: int
    overdue: int
    done: int
    wont_do: int


class Count(View):
    name: str
    count: int


class PagerLoad(View):
    person: str
    pages: int
    out_of_hours: int


class IncidentRow(View):
    id: str
    severity: str
    service: str | None
    declared_at: datetime
    tta: float | None
    ttm: float | None
    ttr: float | None
    alerts_cleared_before_ack: bool


class ReportSummary(View):
    since: datetime
    until: datetime
    severity: str | None
    service: str | None
    incidents: int
    by_severity: dict[str, int]
    mtta: Stat
    mttm: Stat
    mttr: Stat
    alerts_cleared_before_ack: int
    """incidents whose alerts all resolved before anyone acknowledged: left out of MTTA and MTTM"""
    unacknowledged: int
    """open incidents nobody acknowledged yet (nor did their alerts clear)"""
    weeks: list[WeekRow]
    sla: list[ClockRow]
    postmortems: PostmortemCounts
    action_items: ActionCounts
    services: list[Count]
    runbooks: list[Count]
    pages: list[PagerLoad]
    rows: list[IncidentRow]

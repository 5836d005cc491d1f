"""The report use cases, one function each: API, web and CLI call these and nothing else."""

from warroom.reports.gauges import snapshot
from warroom.reports.schemas import ReportSummary
from warroom.reports.summary import summary, to_csv
from warroom.reports.timeline import timeline_svg

__all__ = ["ReportSummary", "snapshot", "summary", "timeline_svg", "to_csv"]

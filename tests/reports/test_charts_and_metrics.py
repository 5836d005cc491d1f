"""The timeline SVG (parses as XML, a band per phase reached), the report page's charts, and /metrics on a
real server: parsed with prometheus-client's own parser, moving when an alert arrives, and refused
without a token."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import Server, make_context
from tests.reports.test_figures import play
from warroom.domain.clock import FakeClock
from warroom.incidents import service as incidents
from warroom.incidents.schemas import DeclareRequest
from warroom.intake import integrations
from warroom.reports import service as reports
from warroom.store.unit import Context

SVG = "{http://www.w3.org/2000/svg}"


def test_the_timeline_chart_has_a_band_per_phase_and_a_mark_per_deadline(ctx: Context, clock: FakeClock) -> None:
    inc = incidents.declare(ctx, DeclareRequest(severity="P1", title="Checkout <errors> & more", by="monitor"))
    clock.advance(timedelta(minutes=2))
    incidents.acknowledge(ctx, inc.id, "alice")
    clock.advance(timedelta(minutes=3))
    incidents.set_status(ctx, inc.id, "investigating", "alice")
    clock.advance(timedelta(minutes=7))
    incidents.mitigate(ctx, inc.id, "rollback", True, "alice")
    clock.advance(timedelta(minutes=1))
    root = ET.fromstring(reports.timeline_svg(ctx, inc.id))
    assert root.tag == SVG + "svg"
    bands = [r.get("data-phase") for r in root.iter(SVG + "rect") if r.get("class") == "phase"]
    assert bands == ["triggered", "acknowledged", "investigating", "mitigated"]
    widths = [float(r.get("width", 0)) for r in root.iter(SVG + "rect") if r.get("class") == "phase"]
    assert all(w > 0 for w in widths)
    clocks = {line.get("data-clock") for line in root.iter(SVG + "line") if line.get("class") == "deadline"}
    assert {"ack", "mitigate", "resolve"} <= clocks
    assert any(line.get("class") == "page" for line in root.iter(SVG + "line")) is False  # nobody on call: no page


def test_report_charts_parse_and_count_what_the_report_says(ctx: Context, clock: FakeClock) -> None:
    from warroom.reports import charts

    play(ctx, clock, "P1", 2, 10, 30)
    play(ctx, clock, "P2", 4, 20, 60)
    rep = reports.summary(ctx, since="30d")
    sevs = [s.name for s in ctx.policy.severities]
    weekly = ET.fromstring(charts.incidents_per_week(rep.weeks, sevs))
    bars = [r for r in weekly.iter(SVG + "rect") if r.get("class") == "bar"]
    assert sorted(b.get("data-severity") for b in bars) == ["P1", "P2"]
    trend = ET.fromstring(charts.trend(rep.weeks))
    assert {p.get("class") for p in trend.iter(SVG + "polyline")} == {"line mtta", "line mttm", "line mttr"}
    ET.fromstring(charts.compliance(rep.sla))


def test_the_trend_axis_labels_are_distinct_under_a_few_minutes() -> None:
    """An axis that peaks at a minute is labelled in quarters, not 0, 0, 0, 1, 1; past 4 minutes, whole ones."""
    from warroom.reports import charts
    from warroom.reports.schemas import WeekRow

    def labels(seconds: float) -> list[str]:
        week = WeekRow(week="2026-11-30", by_severity={}, mtta=seconds, mttm=None, mttr=None)
        root = ET.fromstring(charts.trend([week]))
        return [t.text or "" for t in root.iter(SVG + "text") if t.get("text-anchor") == "end"]

    assert labels(30) == ["0", "0.25", "0.5", "0.75", "1"]
    assert labels(40 * 60) == ["0", "10", "20", "30", "40"]


def _families(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def test_metrics_parse_and_move_when_an_alert_arrives(server: Server) -> None:
    ctx = make_context(server.db_url, "nself", FakeClock(datetime.now(UTC)))
    try:
        token = integrations.add(ctx, "generic", f"metrics-{time.monotonic_ns()}", "tests").token
    finally:
        ctx.db.dispose()
    anonymous = httpx.get(server.base + "/metrics", follow_redirects=False)
    assert anonymous.status_code in (303, 401)
    headers = {"Authorization": f"Bearer {server.token_for('metrics-reader')}"}
    before = _families(httpx.get(server.base + "/metrics", headers=headers).text)
    assert "warroom_engine_timer_lag_seconds" in before and "warroom_intake_backlog_seconds" in before
    firing = before.get("warroom_alerts_received_total", {}).get((("source", "generic"), ("status", "firing")), 0)
    sent = httpx.post(
        server.base + "/api/v1/alerts/generic",
        params={"token": token},
        json={"summary": "Metrics test: disk full", "service": f"metrics-{time.monotonic_ns()}", "severity": "P2"},
    )
    assert sent.status_code == 202
    request = sent.json()["request"]
    with server.client() as api:
        api.get(f"/api/v1/intake/requests/{request}", params={"wait": 10})
    after_text = httpx.get(server.base + "/metrics", headers=headers).text
    after = _families(after_text)
    assert after["warroom_alerts_received_total"][(("source", "generic"), ("status", "firing"))] == firing + 1
    open_p2 = sum(v for k, v in after["warroom_incidents_open"].items() if ("severity", "P2") in k)
    assert open_p2 >= 1
    assert any(k for k in after["warroom_http_request_duration_seconds_count"] if ("route", "/metrics") in k)


def test_metrics_public_when_the_setting_says_so(db_url: str) -> None:
    srv = Server(db_url, {"WARROOM_POLICY": "nself", "WARROOM_METRICS_PUBLIC": "1", "WARROOM_ENGINE_ENABLED": "false"})
    srv.start()
    try:
        answer = httpx.get(srv.base + "/metrics")
        assert answer.status_code == 200
        assert "warroom_incidents_open" in answer.text
        assert httpx.get(srv.base + "/api/v1/reports/summary").status_code == 401  # only /metrics is opened
    finally:
        srv.stop()

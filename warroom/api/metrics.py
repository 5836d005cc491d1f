"""/metrics for Prometheus: deployment-wide figures read from the database at scrape time (the same on
every replica), and this process's HTTP request latency by route (labelled with the process)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warroom.api.deps import ctx
from warroom.reports.service import snapshot
from warroom.store.unit import Context

router = APIRouter(include_in_schema=False)
Ctx = Annotated[Context, Depends(ctx)]
PROCESS = f"{socket.gethostname()}:{os.getpid()}"
QUANTILES = (0.5, 0.9, 0.99)


class Deployment:
    """A collector: one database read per scrape."""

    def __init__(self, context: Context) -> None:
        self.ctx = context

    def collect(self) -> Iterator[Metric]:
        snap = snapshot(self.ctx)
        g = GaugeMetricFamily(
            "warroom_incidents_open", "Open incidents by severity and status", labels=["severity", "status"]
        )
        for (sev, status), n in sorted(snap.open_incidents.items()):
            g.add_metric([sev, status], n)
        yield g
        c = CounterMetricFamily(
            "warroom_alerts_received", "Alerts received by source and last status", labels=["source", "status"]
        )
        for (source, status), n in sorted(snap.alerts.items()):
            c.add_metric([source, status], n)
        yield c
        c = CounterMetricFamily("warroom_pages", "Pages by delivery state (sent, failed, pending)", labels=["delivery"])
        for state, n in sorted(snap.pages.items()):
            c.add_metric([state], n)
        yield c
        c = CounterMetricFamily("warroom_notifications", "Notifications by outbox state", labels=["state"])
        for state, n in sorted(snap.notifications.items()):
            c.add_metric([state], n)
        yield c
        g = GaugeMetricFamily(
            "warroom_notification_delivery_latency_seconds",
            "Queued to sent, over the latest sent notifications",
            labels=["quantile"],
        )
        lat = snap.delivery_latency
        for q in QUANTILES:
            g.add_metric([str(q)], lat[min(len(lat) - 1, int(q * len(lat)))] if lat else 0.0)
        yield g
        c = CounterMetricFamily(
            "warroom_sla_breaches", "SLA breaches recorded, by severity and clock", labels=["severity", "clock"]
        )
        for (sev, clock), n in sorted(snap.sla_breaches.items()):
            c.add_metric([sev, clock], n)
        yield c
        yield GaugeMetricFamily(
            "warroom_engine_timer_lag_seconds", "How long the oldest due timer has waited", value=snap.timer_lag_seconds
        )
        yield GaugeMetricFamily("warroom_engine_timers_due", "Timers due and not yet fired", value=snap.timers_due)
        yield GaugeMetricFamily(
            "warroom_intake_backlog_seconds",
            "Age of the oldest accepted webhook not yet applied",
            value=snap.intake_backlog_seconds,
        )
        yield GaugeMetricFamily(
            "warroom_action_items_overdue",
            "Unfinished action items past their due date",
            value=snap.action_items_overdue,
        )


class Timing:
    """ASGI middleware: each request's duration by method, route template and status class."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.histogram = Histogram(
            "warroom_http_request_duration_seconds",
            "HTTP request latency by route, in this process",
            ["method", "route", "code", "process"],
            registry=registry,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        code = ["5xx"]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                code[0] = f"{str(message['status'])[0]}xx"
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.histogram.labels(scope["method"], route, code[0], PROCESS).observe(time.perf_counter() - start)


def registry_for(context: Context) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(Deployment(context))
    return registry


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format; needs a viewer's token unless WARROOM_METRICS_PUBLIC=1."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

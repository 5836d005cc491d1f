"""A third-party consumer of Statuspage's public JSON reads warroom's: statuspage-prometheus-exporter (PyPI),
run as its users run it (`RUN_MODE=once`, a services.json naming the page's summary.json), against a real
`warroom serve`; the metrics it writes say what the page says: the incident, its impact and components, the
maintenance in progress, each component's state, and all clear once both are over. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import BACKENDS, Server, fresh_database, make_context
from tests.statuspage.helpers import SECRETS, secret_incident
from warroom.domain.clock import FakeClock, SystemClock
from warroom.statuspage import maintenance, posts
from warroom.statuspage.schemas import MaintenanceRequest, MaintenanceStep

EXPORTER = str(Path(sys.executable).parent / "statuspage-prometheus-exporter")
"""the console script the package installs beside this Python (a dev dependency in pyproject.toml)"""


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    gen = fresh_database(request.param, request, tmp_path)
    srv = Server(next(gen), {"WARROOM_POLICY": "nself", "WARROOM_STATUS_NAME": "Acme"}, tmp_path / "serve.log")
    srv.start()
    yield srv
    srv.stop()
    next(gen, None)


def scrape(site: Server, where: Path) -> dict[str, list[tuple[dict[str, str], float]]]:
    """One pass of the exporter, as a cron job runs it; its metrics file, by metric name."""
    where.mkdir(parents=True, exist_ok=True)
    services = where / "services.json"
    services.write_text(json.dumps({"acme": {"name": "Acme", "url": f"{site.base}/status/api/v2/summary.json"}}))
    out = where / "metrics" / "statuspage.prom"
    env = {
        **os.environ,
        "RUN_MODE": "once",
        "SERVICES_JSON_PATH": str(services),
        "METRICS_TEXTFILE_PATH": str(out),
        "CLEAR_CACHE": "true",
    }
    done = subprocess.run([EXPORTER], cwd=where, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Error" not in done.stderr and "error" not in done.stderr.lower().replace("errors", ""), done.stderr
    metrics: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(out.read_text()):
        for sample in family.samples:
            metrics.setdefault(sample.name, []).append((dict(sample.labels), sample.value))
    return metrics


def settled(site: Server, indicator: str) -> None:
    deadline = time.monotonic() + 15
    while httpx.get(f"{site.base}/status/api/v2/status.json").json()["status"]["indicator"] != indicator:
        assert time.monotonic() < deadline, f"the page never said {indicator}"
        time.sleep(0.2)


def one(metrics: dict[str, list[tuple[dict[str, str], float]]], name: str, **labels: str) -> float:
    found = [v for got, v in metrics.get(name, []) if all(got.get(k) == want for k, want in labels.items())]
    assert len(found) == 1, (name, labels, metrics.get(name))
    return found[0]


def test_statuspage_prometheus_exporter_reads_the_page(site: Server, tmp_path: Path) -> None:
    ctx = make_context(site.db_url, "nself", FakeClock(SystemClock().now()))
    ctx.clock = SystemClock()
    try:
        with site.client() as api:
            for name, group in (("API", None), ("Billing", "Payments")):
                r = api.post("/api/v1/status/components", json={"name": name, "group": group, "by": "alice"})
                assert r.status_code == 201
        inc = secret_incident(ctx)
        post = posts.post(
            ctx, inc, "Card payments fail.", "alice", status="identified", components={"Billing": "major_outage"},
            title="Payment failures",
        )  # fmt: skip
        start = ctx.clock.now() + timedelta(hours=1)
        window = maintenance.schedule(
            ctx,
            MaintenanceRequest(
                name="Database upgrade", scheduled_for=start, scheduled_until=start + timedelta(hours=1),
                components=["API"], by="alice",
            ),
        )  # fmt: skip
        maintenance.advance(ctx, window.code, MaintenanceStep(status="in_progress", by="alice"))

        settled(site, "critical")  # another process's change: the server sees it by its version check
        m = scrape(site, tmp_path / "during")
        assert one(m, "statuspage_service_status", service_name="Acme") == 0
        assert one(m, "statuspage_probe_check", service_name="Acme") == 1
        incident = [labels for labels, v in m["statuspage_incident_info"] if v == 1]
        assert len(incident) == 1
        assert incident[0]["incident_id"] == post.public_id and incident[0]["incident_name"] == "Payment failures"
        assert incident[0]["impact"] == "critical" and "Billing" in incident[0]["affected_components"]
        assert incident[0]["shortlink"].endswith(f"/status/incidents/{post.public_id}")
        windows = [labels for labels, v in m["statuspage_maintenance_info"] if v == 1]
        assert [w["maintenance_id"] for w in windows] == [window.code]
        assert windows[0]["maintenance_name"] == "Database upgrade" and "API" in windows[0]["affected_components"]
        assert windows[0]["scheduled_start"].startswith(start.strftime("%Y-%m-%dT%H:%M"))
        assert one(m, "statuspage_component_status", service_name="Acme", component_name="Billing") == 0
        assert one(m, "statuspage_component_status", service_name="Acme", component_name="API") == 0
        everything = json.dumps(m)
        for secret in (*SECRETS, "mallory", "Checkout errors"):
            assert secret not in everything, secret

        posts.post(ctx, inc, "Payments work again.", "alice", status="resolved")
        maintenance.advance(ctx, window.code, MaintenanceStep(status="completed", by="alice"))
        settled(site, "none")
        m = scrape(site, tmp_path / "after")
        assert one(m, "statuspage_service_status", service_name="Acme") == 1
        assert [v for _, v in m.get("statuspage_incident_info", []) if v == 1] == []
        assert [v for _, v in m.get("statuspage_maintenance_info", []) if v == 1] == []
        assert {labels["component_name"]: v for labels, v in m["statuspage_component_status"]} == {
            "API": 1,
            "Billing": 1,
            "Payments": 1,
        }
    finally:
        ctx.db.dispose()

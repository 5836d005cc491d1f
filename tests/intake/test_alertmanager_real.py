"""The real sender: Debian's prometheus-alertmanager posts its webhook to a real `warroom serve`."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import IN_CI, free_port
from tests.intake.conftest import Intake, unique

BINARY = "prometheus-alertmanager"


def _binary() -> str:
    found = shutil.which(BINARY) or (f"/usr/bin/{BINARY}" if os.path.exists(f"/usr/bin/{BINARY}") else None)
    if found is None:
        message = f"{BINARY} is not installed (apt-get install prometheus-alertmanager; make test does it)"
        if IN_CI:
            pytest.fail(message + " (CI=true: a missing component is a failure)")
        pytest.skip(message)
    return found


class Alertmanager:
    def __init__(self, binary: str, tmp: Path, target: str, token: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = tmp / "alertmanager.yml"
        config.write_text(
            f"""
route:
  receiver: warroom
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: warroom
    webhook_configs:
      - url: {target}/api/v1/alerts/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {token}
"""
        )
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"alertmanager exited: {err[-2000:]}")
            try:
                if httpx.get(self.base + "/-/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("alertmanager did not become ready within 20 s")
            time.sleep(0.1)

    def post(self, alerts: list[dict[str, object]]) -> None:
        resp = httpx.post(self.base + "/api/v2/alerts", json=alerts, timeout=10)
        assert resp.status_code == 200, resp.text

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def alertmanager(intake: Intake, tmp_path: Path) -> Iterator[Alertmanager]:
    am = Alertmanager(_binary(), tmp_path, intake.server.base, intake.tokens["alertmanager"])
    yield am
    am.stop()


def test_alerts_from_alertmanager_become_one_incident_and_resolving_them_mitigates_it(
    intake: Intake, alertmanager: Alertmanager
) -> None:
    service = unique("checkout")
    now = datetime.now(UTC)

    def alerts(ends: datetime | None) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for instance in ("web-1", "web-2"):
            alert: dict[str, object] = {
                "labels": {"alertname": "HighErrorRate", "service": service, "severity": "critical",
                           "instance": instance},
                "annotations": {"summary": f"5xx error rate 12% on {instance}", "value": "12%",
                                "threshold": "< 1%"},
                "startsAt": now.isoformat().replace("+00:00", "Z"),
                "generatorURL": "http://prometheus.example.com/graph",
            }  # fmt: skip
            if ends is not None:
                alert["endsAt"] = ends.isoformat().replace("+00:00", "Z")
            out.append(alert)
        return out

    before = intake.get("/api/v1/intake")
    alertmanager.post(alerts(None))
    arrived = intake.wait(lambda: len(intake.get("/api/v1/alerts", service=service)) == 2, timeout=20)
    assert arrived
    stored = intake.get("/api/v1/alerts", service=service)
    assert {a["source"] for a in stored} == {"alertmanager"}
    assert all(a["status"] == "firing" and len(a["fingerprint"]) == 16 for a in stored)
    incidents = {a["incident_id"] for a in stored}
    assert len(incidents) == 1 and None not in incidents, "two alerts, one incident"
    (iid,) = incidents
    inc = intake.incident(iid)
    assert inc["severity"] == "P1" and inc["status"] == "triggered" and inc["service"] == service
    assert intake.get(f"/api/v1/alerts/{stored[0]['id']}")["raw"]["receiver"] == "warroom"

    alertmanager.post(alerts(datetime.now(UTC) - timedelta(seconds=1)))
    mitigated = intake.wait(lambda: intake.incident(iid)["status"] == "mitigated", timeout=20)
    assert mitigated
    assert all(a["status"] == "resolved" for a in intake.get("/api/v1/alerts", service=service))
    assert intake.incident(iid)["watch_started_at"]
    after = intake.get("/api/v1/intake")
    webhooks = after["requests"] - before["requests"]
    assert webhooks >= 2 and after["quick_checked"] - before["quick_checked"] == webhooks, (
        "Alertmanager's own webhooks take the quick check on the way in"
    )

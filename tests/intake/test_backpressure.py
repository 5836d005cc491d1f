"""Back-pressure: past the lag bound a webhook is answered 503 with Retry-After, and nothing answered 202 is lost.

A server with a tiny WARROOM_INTAKE_MAX_LAG takes a burst from 16 connections: some requests are
pushed back (problem+json, Retry-After, counted in /healthz and /api/v1/intake), and every alert of
every 202 is in the database once the backlog is applied, also when the server is SIGKILLed in the
middle of the burst and another one starts on the same database (both backends).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import text

from tests.conftest import BACKENDS, Server
from tests.e2e.test_web_dashboard import section
from tests.intake.conftest import PROBLEM, Intake, own_server, unique
from warroom.intake.inbox import PROCESS_LOCK
from warroom.store.db import Database

SENDERS = 16
PER_SENDER = 25
BATCH = 10
TINY = {"WARROOM_INTAKE_MAX_LAG": "0.0005"}
"""half a millisecond of applying: a few alerts waiting is already over the bound"""


@pytest.fixture(params=BACKENDS)
def tight(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Intake]:
    yield from own_server(request, tmp_path, "nself", **TINY)


class Burst:
    """SENDERS threads each posting PER_SENDER generic batches of BATCH alerts with their own fingerprints."""

    def __init__(self, base: str, token: str, service: str, *, until_gone: bool = False) -> None:
        self.base, self.token, self.service = base, token, service
        self.until_gone = until_gone
        """each sender goes on past PER_SENDER until the server stops answering (60 s at most): a kill always
        comes while the burst is being sent, however fast the server answers"""
        self.accepted: list[str] = []
        """fingerprints of alerts answered 202"""
        self.refused: list[httpx.Response] = []
        self.lost: int = 0
        """requests without an answer (the server was killed)"""
        self.answers = 0
        self.lock = threading.Lock()

    def batch(self, sender: int, n: int) -> list[dict[str, Any]]:
        return [{"summary": f"queue depth high {sender}-{n}-{i}", "service": self.service, "severity": "warning",
                 "fingerprint": f"{self.service}-{sender}-{n}-{i}"} for i in range(BATCH)]  # fmt: skip

    def send(self, sender: int) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=self.base, timeout=10) as http:
            n = 0
            while n < PER_SENDER or (self.until_gone and time.monotonic() < deadline):
                alerts = self.batch(sender, n)
                n += 1
                try:
                    resp = http.post("/api/v1/alerts/generic", json={"alerts": alerts}, headers=headers)
                except httpx.HTTPError:
                    with self.lock:
                        self.lost += 1
                    if self.until_gone:
                        return
                    continue
                with self.lock:
                    self.answers += 1
                    if resp.status_code == 202:
                        self.accepted += [a["fingerprint"] for a in alerts]
                    else:
                        self.refused.append(resp)

    def run(self, during: Any = None) -> None:
        threads = [threading.Thread(target=self.send, args=(s,)) for s in range(SENDERS)]
        for t in threads:
            t.start()
        if during is not None:
            during()
        for t in threads:
            t.join(60)


def stored_fingerprints(url: str, service: str) -> set[str]:
    db = Database(url)
    try:
        with db.read() as session:
            rows = session.execute(text("SELECT fingerprint FROM alerts WHERE service = :s"), {"s": service})
            return {r[0] for r in rows}
    finally:
        db.dispose()


def drained(api: Intake, timeout: float = 60.0) -> dict[str, Any]:
    return api.wait(lambda: (s := api.get("/api/v1/intake"))["pending_requests"] == 0 and s, timeout)  # type: ignore[no-any-return]


def test_a_burst_past_the_lag_bound_is_pushed_back_and_every_202_is_stored(tight: Intake) -> None:
    service = unique("flood")
    burst = Burst(tight.server.base, tight.tokens["generic"], service)
    burst.run()
    assert burst.lost == 0 and burst.answers == SENDERS * PER_SENDER
    assert burst.accepted, "a quiet server accepts: the first requests find nothing waiting"
    assert burst.refused, "16 connections of 10-alert batches outrun half a millisecond of applying"
    for resp in burst.refused:
        assert resp.status_code == 503 and resp.headers["content-type"] == PROBLEM, resp.text
        wait = int(resp.headers["retry-after"])
        problem = resp.json()
        assert wait >= 1 and problem["retry_after"] == wait and problem["status"] == 503
        assert "nothing was stored" in problem["detail"] and "bound" in problem["detail"]
    status = drained(tight)
    assert status["pushed_back"] >= len(burst.refused) and status["max_lag_seconds"] == 0.0005
    health = tight.http.get("/healthz")
    assert health.status_code == 200, "back-pressure never takes a replica out of rotation"
    assert health.json()["intake"]["pushed_back"] >= len(burst.refused)
    assert stored_fingerprints(tight.server.db_url, service) == set(burst.accepted), "every 202, and no 503"
    sent = {f"{service}-{s}-{n}-{i}" for s in range(SENDERS) for n in range(PER_SENDER) for i in range(BATCH)}
    assert len(sent - set(burst.accepted)) == BATCH * len(burst.refused)


def test_a_sigkill_in_the_middle_of_a_pushed_back_burst_loses_no_202(tight: Intake) -> None:
    service = unique("killed")
    burst = Burst(tight.server.base, tight.tokens["generic"], service, until_gone=True)
    server = tight.server
    assert server.proc is not None

    def kill_midway() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with burst.lock:
                if len(burst.accepted) >= 20 * BATCH:
                    break
            time.sleep(0.001)
        assert server.proc is not None
        server.proc.kill()  # SIGKILL: no shutdown, no last pass
        server.proc.wait()

    burst.run(during=kill_midway)
    assert burst.accepted and burst.lost, "the kill came while the burst was being sent"
    again = Server(server.db_url, {"WARROOM_POLICY": "nself", **TINY}).start()
    api = Intake(again, tight.tokens)
    try:
        drained(api)
        stored = stored_fingerprints(server.db_url, service)
        missing = set(burst.accepted) - stored
        assert not missing, f"{len(missing)} alerts answered 202 were lost"
    finally:
        api.close()
        again.stop()


def test_the_lag_bound_is_a_setting_with_a_default_of_two_seconds() -> None:
    from warroom.intake.config import IntakeSettings

    assert IntakeSettings().intake_max_lag == 2.0
    assert IntakeSettings(intake_max_lag=0.5).intake_max_lag == 0.5
    with pytest.raises(ValueError, match="greater than 0"):
        IntakeSettings(intake_max_lag=0)


@pytest.fixture(params=BACKENDS)
def tight_but_paging(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Intake]:
    """The tiny bound, with a backlog of a minute still taking work that can page someone."""
    yield from own_server(request, tmp_path, "nself", **TINY, WARROOM_INTAKE_URGENT_LAG="60")


def test_an_alert_that_can_page_is_taken_while_the_flood_is_pushed_back(tight_but_paging: Intake) -> None:
    """A flood of one incident's alerts (rated no worse than it) is more of the same: past the bound it waits
    at its senders. An alert for another service opens a group and pages someone: it is taken (and goes
    first), never told to wait."""
    api = tight_but_paging
    flood = unique("flood")
    api.generic(summary="checkout 5xx above 5%", service=flood, severity="critical", fingerprint=f"{flood}-first")
    api.wait(lambda: any(a["incident_id"] for a in api.get("/api/v1/alerts", service=flood)))
    burst = Burst(api.server.base, api.tokens["generic"], flood)
    others: list[tuple[str, int]] = []

    def outages() -> None:
        headers = {"Authorization": f"Bearer {api.tokens['generic']}"}
        with httpx.Client(base_url=api.server.base, timeout=10, headers=headers) as http:
            for n in range(40):
                service = unique("other")
                alert = {"summary": f"payments down {n}", "service": service, "severity": "critical"}
                others.append((service, http.post("/api/v1/alerts/generic", json=alert).status_code))

    burst.run(during=outages)
    assert burst.refused, "the flood was pushed back"
    assert [code for _, code in others] == [202] * 40, "no alert that can page someone was told to wait"
    status = drained(api)
    assert status["taken_over_bound"] >= 1, "some of them came while the flood was over the bound"
    assert api.http.get("/healthz").json()["intake"]["taken_over_bound"] == status["taken_over_bound"]
    for service, _ in others:
        alerts = api.get("/api/v1/alerts", service=service)
        assert len(alerts) == 1 and alerts[0]["incident_id"], f"{service} declared its own incident"


@pytest.fixture(params=["postgresql"])
def tight_pg(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Intake]:
    yield from own_server(request, tmp_path, "nself", **TINY)


def test_the_alerts_page_says_while_webhooks_are_pushed_back(tight_pg: Intake) -> None:
    """While another replica holds the applying lock, this one accepts up to the bound and then pushes back:
    the alerts page says so, with the backlog; once the lock is let go and the backlog applied, it says
    nothing waits. (PostgreSQL: the only backend with replicas that take turns applying.)"""
    api = tight_pg
    service = unique("held")
    headers = {"Authorization": f"Bearer {api.tokens['generic']}"}
    bad = api.http.post("/api/v1/alerts/generic", headers=headers, json={"service": service})  # no summary
    assert bad.status_code == 422 and bad.json()["dead_letter"], bad.text
    with psycopg.connect(api.server.db_url, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (PROCESS_LOCK,))
        codes = [
            api.http.post("/api/v1/alerts/generic", headers=headers, json={"alerts": [
                {"summary": f"disk full {n}-{i}", "service": service, "fingerprint": f"{service}-{n}-{i}"}
                for i in range(BATCH)]}).status_code
            for n in range(20)
        ]  # fmt: skip
        assert 202 in codes and 503 in codes, codes
        page = api.http.get("/alerts").text
        assert 'id="pushing-back"' in page and "Intake is pushing back now" in page, page
        held = section(page, "intake")
        assert re.search(r"[0-9,]+ alerts in [0-9,]+ webhooks? waiting to be applied", held), held
        refused = codes.count(503)
        assert f"{refused} webhook{'s' if refused > 1 else ''} pushed back" in held, held
        taken = codes.count(202)
        assert f": {taken} webhook{'s' if taken > 1 else ''} accepted ({taken * BATCH} alerts)" in held, (
            "a dead letter is committed too, but not accepted"
        )
    drained(api)
    page = api.http.get("/alerts").text
    after = section(page, "intake")
    assert "pushing-back" not in page and "Nothing waiting to be applied" in after, after
    assert f"{codes.count(202) * BATCH:,} alerts applied" in after, after

"""PostgreSQL going away under a running server: what senders, API clients, browsers and load balancers get.

The test runs a PostgreSQL cluster of its own (initdb on a free port), stops it under a real
`warroom serve`, and starts it again; the shared server on 5432 is never touched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Any

import httpx

from tests.conftest import Server, free_port
from tests.faults.conftest import Cluster
from tests.intake.conftest import make_tokens
from warroom.store.migrate import upgrade


def _start(url: str) -> Server:
    """A real `warroom serve` that may start while its database is down: ready once it answers at all."""
    srv = Server(url, {"WARROOM_POLICY": "nself", "WARROOM_ENGINE_INTERVAL": "0.2", "WARROOM_AUTH": "false"})
    srv.proc = subprocess.Popen(
        [sys.executable, "-m", "warroom", "serve"], env=srv.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert srv.proc.poll() is None, "warroom serve exited"
        try:
            httpx.get(srv.base + "/healthz", timeout=2)
            return srv
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("warroom serve did not answer within 30 s")


def _until(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError("the server did not recover in time")


def _alert(api: httpx.Client, token: str, n: int) -> httpx.Response:
    body = {"summary": f"Queue depth high {n}", "service": "queue", "fingerprint": f"fp-{n}", "severity": "warning"}
    return api.post("/api/v1/alerts/generic", json=body, headers={"Authorization": f"Bearer {token}"})


def _unavailable(r: httpx.Response, kind: str = "application/problem+json") -> None:
    assert r.status_code == 503, r.text
    assert int(r.headers["retry-after"]) > 0
    assert r.headers["content-type"].startswith(kind), r.text


def test_a_database_outage_is_503_with_retry_after_everywhere_and_nothing_answered_2xx_is_lost(
    cluster: Cluster,
) -> None:
    upgrade(cluster.url)
    token = make_tokens(cluster.url, "nself")["generic"]
    srv = _start(cluster.url)
    try:
        with httpx.Client(base_url=srv.base, timeout=10) as api:
            assert api.get("/healthz").status_code == 200
            accepted = [_alert(api, token, n) for n in range(5)]
            assert [r.status_code for r in accepted] == [202] * 5
            declared = api.post("/api/v1/incidents", json={"severity": "P2", "title": "Before", "by": "alice"})
            assert declared.status_code == 201

            cluster.stop()
            health = api.get("/healthz")
            _unavailable(health, "application/json")
            assert health.json()["status"] == "unavailable" and health.json()["database"]["ok"] is False
            during = [_alert(api, token, n) for n in range(5, 10)]  # the token is cached: the commit fails
            for r in during:
                _unavailable(r)
                assert "nothing was stored" in r.json()["detail"]
            _unavailable(api.get("/api/v1/incidents"))
            _unavailable(api.post("/api/v1/incidents", json={"severity": "P2", "title": "During", "by": "alice"}))
            page = api.get("/", headers={"accept": "text/html"})
            _unavailable(page, "text/html")
            assert "cannot reach its database" in page.text
            engine = _until(lambda: api.get("/healthz").json()["engine"]["last_error"] and api.get("/healthz").json())
            assert engine["engine"]["last_error_at"].endswith("Z")

            cluster.start()
            _until(lambda: api.get("/healthz").status_code == 200)
            assert [_alert(api, token, n).status_code for n in range(10, 13)] == [202] * 3
            # The engine's error clears on its first tick that reaches the database again.
            _until(lambda: api.get("/healthz").json()["engine"]["last_error"] is None)
            assert api.get("/healthz").json()["engine"]["last_error_at"] is None

            alerts = _until(lambda: (a := api.get("/api/v1/alerts?limit=100").json()) and len(a) >= 8 and a)
            summaries = {a["summary"] for a in alerts}
            stored = {f"Queue depth high {n}" for n in (*range(5), *range(10, 13))}
            assert stored <= summaries  # every 202 was kept
            assert not summaries & {f"Queue depth high {n}" for n in range(5, 10)}  # every 503 was not
            titles = [i["title"] for i in api.get("/api/v1/incidents?status=open").json()]
            assert "Before" in titles and "During" not in titles
    finally:
        srv.stop()


def test_serve_and_worker_started_while_the_database_is_down_start_and_work_once_it_comes(cluster: Cluster) -> None:
    upgrade(cluster.url)
    cluster.stop()
    srv = _start(cluster.url)
    env = {
        **os.environ,
        "WARROOM_AUTH": "false",
        "WARROOM_DATABASE_URL": cluster.url,
        "WARROOM_POLICY": "nself",
        "WARROOM_PORT": str(free_port()),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "warroom", "worker", "--interval", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with httpx.Client(base_url=srv.base, timeout=10) as api:
            _unavailable(api.get("/healthz"), "application/json")
            _unavailable(api.get("/api/v1/incidents"))
            time.sleep(1)  # give a worker that would exit the chance to
            assert worker.poll() is None, worker.stderr.read().decode() if worker.stderr else ""

            cluster.start()
            _until(lambda: api.get("/healthz").status_code == 200)
            r = api.post("/api/v1/incidents", json={"severity": "P1", "title": "After the start", "by": "alice"})
            assert r.status_code == 201
            iid = r.json()["id"]
            # Tier 1 is paged by one of the engines (the server's or the worker's), now that they reach it.
            pages = _until(lambda: api.get("/api/v1/pages", params={"incident": iid}).json())
            assert pages[0]["tier"] == 1
            assert worker.poll() is None
    finally:
        worker.terminate()
        worker.wait(15)
        srv.stop()

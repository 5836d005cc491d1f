"""Two `warroom serve` replicas on one PostgreSQL database: concurrent alerts still make one incident."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ActAs, Server
from tests.intake.conftest import make_tokens


@pytest.fixture
def replicas(pg_url: str) -> Iterator[tuple[list[Server], str]]:
    token = make_tokens(pg_url, "nself")["generic"]
    servers = [Server(pg_url, {"WARROOM_POLICY": "nself"}).start() for _ in range(2)]
    yield servers, token
    for s in servers:
        s.stop()


def test_concurrent_alerts_on_two_replicas_make_one_group_and_one_incident(
    replicas: tuple[list[Server], str],
) -> None:
    servers, token = replicas
    headers = {"Authorization": f"Bearer {token}"}
    auth = ActAs(servers[0].db_url)

    def send(i: int) -> dict[str, object]:
        base = servers[i % 2].base
        body = {"summary": "Payments failing", "service": "payments", "fingerprint": f"pay-{i % 10}",
                "severity": "critical"}  # fmt: skip
        resp = httpx.post(base + "/api/v1/alerts/generic", json=body, headers=headers, timeout=30)
        assert resp.status_code == 202, resp.text
        done = httpx.get(base + resp.headers["location"], params={"wait": 20}, timeout=30, auth=auth).json()
        assert done["status"] == "applied", done
        return done["outcomes"][0]  # type: ignore[no-any-return]

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        results = list(pool.map(send, range(60)))
    assert len({r["incident_id"] for r in results}) == 1
    assert len({r["group_id"] for r in results}) == 1
    alerts = httpx.get(servers[0].base + "/api/v1/alerts", params={"service": "payments"}, timeout=10, auth=auth)
    alerts = alerts.json()
    assert len(alerts) == 10, "ten fingerprints, each stored once however many replicas saw it"
    assert sum(a["count"] for a in alerts) == 60


def test_a_flood_over_two_replicas_is_applied_without_a_failed_pass(pg_url: str) -> None:
    """Alertmanager batches sent to both replicas at once, in passes smaller than the backlog, so each pass
    orders it and reads ahead (the other replica's requests too) while its own server commits more: no pass
    may fail (a failed pass is redone one request per transaction) and every alert is stored once."""
    token = make_tokens(pg_url, "nself")["alertmanager"]
    env = {"WARROOM_POLICY": "nself", "WARROOM_INTAKE_PROCESS_MAX": "40"}
    servers = [Server(pg_url, env).start() for _ in range(2)]
    auth = ActAs(pg_url)

    def batch(i: int) -> dict[str, object]:
        alerts = [{"status": "firing", "fingerprint": f"flood-{i}-{n}",
                   "labels": {"alertname": "HighErrorRate", "service": f"flood-{i % 4}", "severity": "warning"},
                   "annotations": {"summary": "5xx above 1%"}, "startsAt": "2026-12-06T22:00:00Z"}
                  for n in range(20)]  # fmt: skip
        return {"version": "4", "status": "firing", "receiver": "warroom", "groupLabels": {},
                "commonLabels": {}, "commonAnnotations": {}, "externalURL": "", "alerts": alerts}  # fmt: skip

    def send(first: int) -> None:
        with httpx.Client(base_url=servers[first % 2].base, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as client:  # fmt: skip
            for i in range(first, first + 25):
                resp = client.post("/api/v1/alerts/alertmanager", json=batch(i))
                assert resp.status_code == 202, resp.text

    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(send, range(0, 200, 25)))
        for _ in range(300):
            if httpx.get(servers[0].base + "/api/v1/intake", timeout=10, auth=auth).json()["pending_requests"] == 0:
                break
            time.sleep(0.1)
        statuses = [httpx.get(s.base + "/api/v1/intake", timeout=10, auth=auth).json() for s in servers]
        assert statuses[0]["pending_requests"] == 0
        assert [(s["failures"], s["last_error"]) for s in statuses] == [(0, None), (0, None)]
        assert sum(s["applied_alerts"] for s in statuses) == 4000
        stored = [a for n in range(4) for a in httpx.get(servers[0].base + "/api/v1/alerts", timeout=30, auth=auth,
                                                          params={"service": f"flood-{n}", "limit": 1000}).json()]
        assert len(stored) == 4000 and {a["count"] for a in stored} == {1}
    finally:
        for s in servers:
            s.stop()

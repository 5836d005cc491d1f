"""Two `warroom serve` replicas on one PostgreSQL database: concurrent alerts still make one incident."""

from __future__ import annotations

import concurrent.futures
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

"""Several server processes on one database: ids stay unique and sequential, an ack happens once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import ActAs, Server, fresh_database


@pytest.fixture(params=["postgresql", "sqlite"])
def two_servers(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[Server]]:
    gen = fresh_database(request.param, request, tmp_path)
    url = next(gen)
    servers = [Server(url, {"WARROOM_POLICY": "nself"}).start() for _ in range(2)]
    yield servers
    for s in servers:
        s.stop()
    next(gen, None)


def test_parallel_declares_get_distinct_sequential_ids(two_servers: list[Server]) -> None:
    def declare(i: int) -> str:
        srv = two_servers[i % 2]
        resp = httpx.post(
            srv.base + "/api/v1/incidents",
            json={"severity": "P2", "title": f"t{i}"},
            timeout=30,
            auth=ActAs(srv.db_url),
        )
        assert resp.status_code == 201, resp.text
        return str(resp.json()["id"])

    with ThreadPoolExecutor(max_workers=20) as pool:
        ids = list(pool.map(declare, range(20)))
    assert len(set(ids)) == 20
    days = {i.rsplit("-", 1)[0] for i in ids}
    assert len(days) == 1
    assert sorted(int(i.rsplit("-", 1)[1]) for i in ids) == list(range(1, 21))


def test_parallel_acks_give_one_success(two_servers: list[Server]) -> None:
    base = two_servers[0].base
    auth = ActAs(two_servers[0].db_url)
    iid = httpx.post(base + "/api/v1/incidents", json={"severity": "P0", "title": "race"}, timeout=30, auth=auth)
    iid = iid.json()["id"]

    def ack(i: int) -> int:
        srv = two_servers[i % 2]
        url = f"{srv.base}/api/v1/incidents/{iid}/ack"
        return httpx.post(url, json={"by": f"user-{i}"}, timeout=30, auth=auth).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(ack, range(10)))
    assert sorted(codes) == [200] + [409] * 9
    timeline = httpx.get(f"{base}/api/v1/incidents/{iid}/timeline", timeout=30, auth=auth).json()
    assert [e["kind"] for e in timeline].count("acknowledged") == 1

"""SQLite on a full disk: writes get 503 with a clear reason, reads go on, nothing is corrupted, and the
server recovers by itself when space returns. The disk is a 4 MiB tmpfs the test mounts."""

from __future__ import annotations

import sqlite3

import httpx

from tests.faults.conftest import Tiny
from tests.faults.test_database_outage import _start, _unavailable
from warroom.store.migrate import upgrade


def test_a_full_disk_refuses_writes_with_503_serves_reads_and_recovers_without_a_restart(tiny_fs: Tiny) -> None:
    path = tiny_fs.path / "warroom.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    srv = _start(url)
    try:
        with httpx.Client(base_url=srv.base, timeout=30) as api:

            def declare(n: int) -> httpx.Response:
                body = {"severity": "P3", "title": f"Disk test {n} " + "x" * 200, "summary": "y" * 1500, "by": "al"}
                return api.post("/api/v1/incidents", json=body)

            first = declare(0)
            assert first.status_code == 201, first.text
            kept = {first.json()["id"]}
            tiny_fs.fill()
            refused = None
            for n in range(1, 400):  # the log file may still have room for a few: write until the disk says no
                r = declare(n)
                assert r.status_code in (201, 503), r.text  # never a 500
                if r.status_code == 503:
                    refused = r
                    break
                kept.add(r.json()["id"])
            assert refused is not None, "the full disk never refused a write"
            _unavailable(refused)
            assert "full" in refused.json()["detail"]

            listed = api.get("/api/v1/incidents", params={"status": "open"})  # reads still work on a full disk
            assert listed.status_code == 200
            assert {i["id"] for i in listed.json()} == kept
            assert api.get("/healthz").status_code == 200  # the database is reachable: no replica is pulled

            tiny_fs.free()
            again = declare(1000)
            assert again.status_code == 201  # no restart
            kept.add(again.json()["id"])
            assert {i["id"] for i in api.get("/api/v1/incidents", params={"status": "open"}).json()} == kept
    finally:
        srv.stop()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM incidents").fetchone()[0] == len(kept)

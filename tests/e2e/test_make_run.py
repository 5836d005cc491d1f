"""`make run` from the README: migrates a SQLite file in WAL mode and serves /healthz."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[2]


def test_make_run_serves_healthz_on_sqlite_wal(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "warroom.db"
    env = {**os.environ, "WARROOM_PORT": str(port), "WARROOM_DATABASE_URL": f"sqlite:///{db}"}
    env.pop("WARROOM_POLICY", None)  # the default policy is nself
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,  # no terminal: the first-run setup must print how, never wait for input
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).json()
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert body is not None, proc.stderr.read().decode() if proc.poll() is not None and proc.stderr else "timeout"
        # A fresh install pages nobody: degraded (still 200) until `warroom setup` says who is on call.
        assert body["status"] == "degraded"
        assert body["paging"] == "nobody is on call for nself-primary"
        assert body["policy"] == "nself"
        assert body["database"] == {"ok": True, "dialect": "sqlite"}
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)

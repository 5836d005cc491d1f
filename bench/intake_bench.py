"""Alert intake side by side with Prometheus Alertmanager, on this machine, with one load generator.

    .venv/bin/python -m bench.intake_bench            # the full run (several minutes)
    .venv/bin/python -m bench.intake_bench --quick    # smaller counts, one round each, for a smoke run
    .venv/bin/python -m bench.intake_bench --phases sqlite,storm --json figures.json

Phases (`--phases`, all by default):

- sqlite: rounds of single alerts and batches of 100, each Alertmanager then a fresh `warroom serve`
  on a SQLite file (durable: a request is answered 202 once its request row is committed, with group
  commit; dedup, grouping and triage are applied behind the answer). Alertmanager is Debian's binary
  with a receiver that sends nowhere; both get the same keep-alive HTTP/1.1 client
  (bench/intake_load.py) over 127.0.0.1, and Alertmanager's own POST /api/v2/alerts is the reference.
  This machine is shared and noisy, so the rates are measured in rounds and the medians reported.
  Accepted means answered 2xx: a webhook pushed back with 503 counts in the 503s, not in the rate.
  Per round also: alerts **applied** per second (rows in the database over the time from the first
  send until the last was applied, beside Alertmanager's batched rate), the backlog's peak in
  seconds of applying (polled from /api/v1/intake) and the 503s the load got. After each SQLite round,
  the rate at which SQLite alone writes the round's alert rows again (`sqlite_floor`): applied's ceiling.
- postgresql: the same rounds on a fresh PostgreSQL database (127.0.0.1:5432, dropped afterwards)
  with two `warroom serve` processes, the load's connections spread over both.
- latency: one alert at a time, each for a new service, against the nself policy with an on-call
  person whose push and SMS go to an HTTP receiver in this process (Apprise's json://): from the
  webhook's send to the page's arrival there, and to the page row the engine recorded.
- unrelated: on nself (no storm rule), a 30 s flood (5 s with --quick) of single alerts for 20 services
  at the maximum rate 16 connections reach carries 20 unrelated alerts spread over it, each a new
  service, retried after Retry-After when pushed back: the time from each one's first send until its
  request was applied, its incident declared.
- pg-unrelated: the same on PostgreSQL with two `warroom serve` processes, the flood and the 20 alerts
  spread over both.
- storm: a storm of alerts for 50 services on so1 at a steady rate: how many incidents and pages.
- rss: 1,000,000 alerts bulk-loaded into a SQLite file (SQL, in seconds), then a `warroom serve` on it
  answering reads (alert lists, groups, the /alerts page, the intake status) and a few webhooks: its
  resident memory (VmRSS) and peak (VmHWM), beside Alertmanager's after it was sent as many alerts.

The servers ask for sign-in as WARROOM_AUTH says (on unless set to off); the benchmark reads the
intake status with a viewer's token, so either works. `--json PATH` writes the figures (bench/common.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.common import (
    cli,
    free_port,
    memory_mb,
    one_line,
    pg_create,
    pg_drop,
    reader_token,
    secret_of,
    stop,
    wait_http,
    write_figures,
)
from bench.intake_load import Result, percentile, run
from warroom.store.db import normalise_url

PHASES = ("sqlite", "postgresql", "latency", "unrelated", "pg-unrelated", "storm", "rss")


@dataclass
class Warroom:
    """One database with an Alertmanager integration, and the `warroom serve` processes on it."""

    procs: list[subprocess.Popen[bytes]]
    ports: list[int]
    url: str
    token: str
    """the integration's secret, for webhooks"""
    reader: str
    """a viewer's API token, for the intake status and other reads"""
    pg_name: str | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def proc(self) -> subprocess.Popen[bytes]:
        return self.procs[0]

    @property
    def reads(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.reader}"}

    def stop(self) -> None:
        for proc in self.procs:
            stop(proc)

    def drop(self) -> None:
        """The run's PostgreSQL database goes once its figures are read."""
        if self.pg_name:
            pg_drop(self.pg_name)
            self.pg_name = None


def start_warroom(tmp: Path, policy: str, name: str, workers: int = 1, setup: tuple[list[str], ...] = (),
                  backend: str = "sqlite", serves: int = 1, url: str | None = None, **env: str) -> Warroom:  # fmt: skip
    """A migrated database, an Alertmanager integration, `setup` CLI commands, then `serves` x `warroom serve`."""
    pg_name = None
    if url is None and backend == "postgresql":
        url, pg_name = pg_create()
    elif url is None:
        url = f"sqlite:///{tmp / f'{name}.db'}"
    base_env = {**os.environ, "WARROOM_DATABASE_URL": url, "WARROOM_POLICY": policy, "WARROOM_URL": "", **env}
    procs: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    try:
        cli(base_env, "db", "upgrade")
        token = secret_of(cli(base_env, "integration", "add", "alertmanager", f"bench-{uuid.uuid4().hex[:6]}"))
        reader = reader_token(base_env)
        for command in setup:
            cli(base_env, *command)
        for n in range(serves):
            port = free_port()
            log = tmp / f"{name}-{n}.log"
            with log.open("wb") as sink:  # a file, not a pipe nobody reads: a full pipe would stall the server
                proc = subprocess.Popen(
                    [sys.executable, "-m", "warroom", "serve", "--port", str(port), "--workers", str(workers)],
                    env=base_env,
                    stdout=subprocess.DEVNULL,
                    stderr=sink,
                )
            procs.append(proc)
            ports.append(port)
            wait_http(f"http://127.0.0.1:{port}/healthz", proc, "warroom serve", log)
    except BaseException:
        for proc in procs:
            stop(proc)
        if pg_name:
            pg_drop(pg_name)
        raise
    return Warroom(procs, ports, url, token, reader, pg_name, base_env)


def start_alertmanager(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        raise SystemExit("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)")
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "am.yml"
    config.write_text("route:\n  receiver: void\nreceivers:\n  - name: void\n")
    port = free_port()
    log = tmp / "am.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.path={tmp / 'am-data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/-/ready", proc, "alertmanager", log)
    return proc, port


def alertmanager_version() -> str:
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        return "not installed"
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout + ""
    first = (out.splitlines() or ["?"])[0]
    return first.split("version", 1)[-1].split("(")[0].strip() or first


# --- payloads -----------------------------------------------------------------------------------

RUN = uuid.uuid4().hex[:6]


def _labels(i: int, services: int) -> dict[str, str]:
    return {"alertname": "HighErrorRate", "service": f"svc-{i % services}", "severity": "critical",
            "instance": f"{RUN}-{i}"}  # fmt: skip


def am_api_body(start: int, n: int, services: int = 20) -> bytes:
    """Alertmanager's POST /api/v2/alerts: a list of postable alerts."""
    return json.dumps(
        [
            {"labels": _labels(i, services), "annotations": {"summary": f"5xx above 1% on instance {i}"}}
            for i in range(start, start + n)
        ]
    ).encode()


def webhook_body(start: int, n: int, services: int = 20) -> bytes:
    """Alertmanager's webhook (version 4), the way Alertmanager itself would deliver these alerts to warroom."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    alerts = [
        {"status": "firing", "labels": _labels(i, services),
         "annotations": {"summary": f"5xx above 1% on instance {i}", "value": "12%", "threshold": "< 1%"},
         "startsAt": now, "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prometheus/graph",
         "fingerprint": f"{RUN}{i:010d}"}
        for i in range(start, start + n)
    ]  # fmt: skip
    return json.dumps(
        {
            "version": "4",
            "groupKey": '{}:{alertname="HighErrorRate"}',
            "status": "firing",
            "receiver": "warroom",
            "groupLabels": {"alertname": "HighErrorRate"},
            "commonLabels": {"alertname": "HighErrorRate"},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": alerts,
        }
    ).encode()


# --- measurements -------------------------------------------------------------------------------


async def load(port: int | list[int], path: str, bodies: list[bytes], headers: dict[str, str] | None = None,
               connections: int = 16, rate: float | None = None) -> Result:  # fmt: skip
    return await run("127.0.0.1", port, path, lambda i: bodies[i], total=len(bodies), connections=connections,
                     headers=headers, rate=rate)  # fmt: skip


def count(db_url: str, sql: str, **params: Any) -> Any:
    engine = create_engine(normalise_url(db_url))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


async def intake_status(w: Warroom) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{w.port}", timeout=30, headers=w.reads) as client:
        resp = await client.get("/api/v1/intake")
        resp.raise_for_status()
        return dict(resp.json())


async def drained(w: Warroom, since: float, timeout: float = 300.0) -> float:
    """Seconds from `since` (perf_counter) until the servers have applied every accepted request."""
    deadline = time.perf_counter() + timeout
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{w.port}", timeout=30, headers=w.reads) as client:
        while time.perf_counter() < deadline:
            resp = await client.get("/api/v1/intake")
            resp.raise_for_status()
            if resp.json()["pending_requests"] == 0:
                return time.perf_counter() - since
            await asyncio.sleep(0.05)
    raise RuntimeError("the backlog was not applied in time")


def fmt(value: float, unit: str = "") -> str:
    if value != value:  # NaN
        return "—"
    return f"{value:,.0f}{unit}" if value >= 100 else f"{value:,.1f}{unit}"


class Receiver:
    """An HTTP receiver on 127.0.0.1 standing in for a pager: the time each notification arrived, and its text."""

    def __init__(self) -> None:
        self.hits: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        hits, lock = self.hits, self.lock

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                with lock:
                    hits.append((time.time(), raw.decode("utf-8", "replace")))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}?cto=2&rto=2"

    def first(self, marker: str) -> float | None:
        with self.lock:
            return next((at for at, body in self.hits if marker in body), None)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def on_call(receiver: Receiver) -> tuple[list[str], ...]:
    """CLI commands putting a person on nself's primary on-call (schedule nself-primary), paged at the receiver."""
    start = (date.today() - timedelta(days=7)).isoformat()
    return (
        ["oncall", "set", "nself-primary", "--members", "bench-oncall", "--start", start],
        ["contact", "add-person", "bench-oncall"],
        ["contact", "add-method", "bench-oncall", "push", receiver.url("push")],
        ["contact", "add-method", "bench-oncall", "sms", receiver.url("sms")],
    )


async def latency_probes(w: Warroom, receiver: Receiver, probes: int) -> tuple[list[float], list[float]]:
    """One alert at a time, each for a new service: (webhook sent → page delivered, received → page recorded)."""
    headers = {"Authorization": f"Bearer {w.token}", "Content-Type": "application/json"}
    sent: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{w.port}", timeout=30) as client:
        for i in range(probes):
            n = 1_000_000 + i
            body = webhook_body(n, 1, services=10_000_000).replace(b'"svc-', b'"probe-')
            sent[f"instance-{n}"] = time.time()
            resp = await client.post("/api/v1/alerts/alertmanager", content=body, headers=headers)
            assert resp.status_code == 202, resp.text
            await asyncio.sleep(0.05)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(receiver.first(m) is None for m in sent):
        await asyncio.sleep(0.1)
    delivered = []
    for marker, at in sent.items():
        arrived = receiver.first(marker)
        if arrived is not None:
            delivered.append(arrived - at)
    rows = count(
        w.url,
        "SELECT a.received_at, min(p.created_at) FROM alerts a JOIN pages p ON p.incident_id = a.incident_id "
        "WHERE a.service LIKE 'probe-%' GROUP BY a.id, a.received_at",
    )
    recorded = [(datetime.fromisoformat(str(p)) - datetime.fromisoformat(str(r))).total_seconds() for r, p in rows]
    return delivered, recorded


class LagWatch:
    """Polls the intake status while a load runs: the backlog's peak in seconds of applying."""

    def __init__(self, w: Warroom) -> None:
        self.w = w
        self.peak = 0.0
        self.task: asyncio.Task[None] | None = None

    async def _poll(self) -> None:
        base = f"http://127.0.0.1:{self.w.port}"
        async with httpx.AsyncClient(base_url=base, timeout=30, headers=self.w.reads) as client:
            while True:
                with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
                    self.peak = max(self.peak, float((await client.get("/api/v1/intake")).json()["lag_seconds"]))
                await asyncio.sleep(0.1)

    def __enter__(self) -> LagWatch:
        self.task = asyncio.get_running_loop().create_task(self._poll())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.task is not None:
            self.task.cancel()


SENT_AT: dict[int, float] = {}
"""request id → when its first attempt was sent (epoch seconds)"""


async def unrelated(w: Warroom, count_: int, every: float, first: float) -> list[int]:
    """`count_` alerts of new services during a flood, `every` seconds apart after `first`: their request ids.

    They go to each serve in turn, as the flood does. A pushed-back one is sent again after its Retry-After,
    as a retrying sender would; its first send's time is kept in SENT_AT, so its latency includes the wait."""
    headers = {"Authorization": f"Bearer {w.token}", "Content-Type": "application/json"}
    ids: list[int] = []
    await asyncio.sleep(first)
    clients = [httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) for port in w.ports]
    try:

        async def one(n: int) -> None:
            client = clients[n % len(clients)]
            body = webhook_body(n, 1, services=10_000_000).replace(b'"svc-', b'"unrelated-')
            started = time.time()
            while True:
                resp = await client.post("/api/v1/alerts/alertmanager", content=body, headers=headers)
                if resp.status_code == 202:
                    rid = int(resp.json()["request"])
                    ids.append(rid)
                    SENT_AT[rid] = started
                    return
                if resp.status_code != 503 or time.time() - started > 60:
                    return
                await asyncio.sleep(float(resp.headers.get("retry-after", "1")))

        tasks = []
        for i in range(count_):
            tasks.append(asyncio.create_task(one(9_000_000 + i)))
            await asyncio.sleep(every)
        await asyncio.gather(*tasks)
    finally:
        for client in clients:
            await client.aclose()
    return ids


def applied_after(db_url: str, ids: list[int]) -> list[float]:
    """Seconds from each request's first send until it was applied (its row's processed_at)."""
    if not ids:
        return []
    marks = ", ".join(str(i) for i in ids)
    rows = count(db_url, f"SELECT id, processed_at FROM intake_requests WHERE id IN ({marks})")
    out = []
    for rid, processed in rows:
        if processed is None:
            continue
        at = datetime.fromisoformat(str(processed))
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        out.append(at.timestamp() - SENT_AT[int(rid)])
    return out


@dataclass
class Round:
    am_single: Result
    am_batch: Result
    wr_single: Result
    wr_batch: Result
    single_applied: float
    batch_applied: float
    stored: int
    sent: int
    stats: dict[str, Any]
    single_rows: int = 0
    peak_single: float = 0.0
    peak_batch: float = 0.0
    floor: float = 0.0
    """SQLite: rows/s at which SQLite alone takes the same alert rows (`sqlite_floor`)"""

    @property
    def pushed_back(self) -> int:
        return self.wr_single.statuses.get(503, 0) + self.wr_batch.statuses.get(503, 0)

    @property
    def single_applied_rate(self) -> float:
        return self.single_rows / self.single_applied if self.single_applied else 0.0

    @property
    def batch_applied_rate(self) -> float:
        return (self.stored - self.single_rows) / self.batch_applied if self.batch_applied else 0.0

    @property
    def single_drain(self) -> float:
        """Seconds from the single-alert load's last answer until every accepted alert was applied."""
        return self.single_applied - self.wr_single.elapsed

    @property
    def batch_drain(self) -> float:
        return self.batch_applied - self.wr_batch.elapsed

    @property
    def drain_after_load(self) -> float:
        """The longer of the two drains: what the backlog's bound promises to keep within it."""
        return max(self.single_drain, self.batch_drain)

    @property
    def single_ratio(self) -> float:
        return self.wr_single.ok_rate / self.am_single.ok_rate if self.am_single.ok_rate else 0.0

    @property
    def batch_ratio(self) -> float:
        return self.wr_batch.ok_rate / self.am_batch.ok_rate if self.am_batch.ok_rate else 0.0


async def throughput(tmp: Path, r: int, singles: int, batches: int, backend: str = "sqlite", serves: int = 1) -> Round:
    """Alertmanager, then a fresh warroom, with the same counts of single alerts and batches of 100."""
    base = r * 10_000_000
    am, am_port = start_alertmanager(tmp / f"am-{backend}-{r}")
    try:
        am_single = await load(am_port, "/api/v2/alerts", [am_api_body(base + i, 1) for i in range(singles)])
        am_batch = await load(am_port, "/api/v2/alerts",
                              [am_api_body(base + singles + i * 100, 100) for i in range(batches)])  # fmt: skip
    finally:
        stop(am)
    w = start_warroom(tmp, "so1", f"throughput-{backend}-{r}", backend=backend, serves=serves)
    try:
        try:
            hdr = {"Authorization": f"Bearer {w.token}"}
            path = "/api/v1/alerts/alertmanager"
            single_bodies = [webhook_body(base + i, 1) for i in range(singles)]
            t0 = time.perf_counter()
            with LagWatch(w) as single_lag:
                wr_single = await load(w.ports, path, single_bodies, hdr)
                single_applied = await drained(w, t0)
            single_rows = count(w.url, "SELECT count(*) FROM alerts")[0][0]
            batch_bodies = [webhook_body(base + singles + i * 100, 100) for i in range(batches)]
            t0 = time.perf_counter()
            with LagWatch(w) as batch_lag:
                wr_batch = await load(w.ports, path, batch_bodies, hdr)
                batch_applied = await drained(w, t0)
            stats = await intake_status(w)
        finally:
            w.stop()
        stored = count(w.url, "SELECT count(*) FROM alerts")[0][0]
        floor = sqlite_floor(w.url, tmp / f"floor-{r}.db") if backend == "sqlite" else 0.0
    finally:
        w.drop()
    return Round(am_single, am_batch, wr_single, wr_batch, single_applied, batch_applied, stored,
                 singles + batches * 100, stats, single_rows, single_lag.peak, batch_lag.peak, floor)  # fmt: skip


FLOOR_CHUNK = 2000


def sqlite_floor(url: str, scratch: Path) -> float:
    """Rows/s at which SQLite alone writes the alert rows the round stored: the same table, indexes and foreign
    keys, the same pragmas as `warroom serve`, one executemany and commit per FLOOR_CHUNK rows, nothing decided.

    What applying can reach at best on this machine with this row; the rest of applied's time is warroom's."""
    src = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        schema = [
            sql
            for (sql,) in src.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'alerts' AND sql IS NOT NULL ORDER BY type DESC"
            )
        ]
        rows = src.execute("SELECT * FROM alerts ORDER BY id").fetchall()
        groups = [g for (g,) in src.execute("SELECT DISTINCT group_id FROM alerts WHERE group_id IS NOT NULL")]
        incidents = [i for (i,) in src.execute("SELECT DISTINCT incident_id FROM alerts WHERE incident_id IS NOT NULL")]
    finally:
        src.close()
    dst = sqlite3.connect(scratch, isolation_level=None)
    try:
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            dst.execute(f"PRAGMA {pragma}")
        dst.execute("CREATE TABLE alert_groups (id INTEGER PRIMARY KEY)")
        dst.execute("CREATE TABLE incidents (id VARCHAR(40) PRIMARY KEY)")
        dst.executemany("INSERT INTO alert_groups VALUES (?)", [(g,) for g in groups])
        dst.executemany("INSERT INTO incidents VALUES (?)", [(i,) for i in incidents])
        for sql in schema:
            dst.execute(sql)
        insert = f"INSERT INTO alerts VALUES ({', '.join('?' * len(rows[0]))})" if rows else ""
        started = time.perf_counter()
        for at in range(0, len(rows), FLOOR_CHUNK):
            dst.execute("BEGIN")
            dst.executemany(insert, rows[at : at + FLOOR_CHUNK])
            dst.execute("COMMIT")
        elapsed = time.perf_counter() - started
    finally:
        dst.close()
    return len(rows) / elapsed if rows and elapsed else 0.0


# --- a million stored alerts --------------------------------------------------------------------


def seed_alerts(path: Path, total: int, per_group: int = 100) -> None:
    """`total` alerts over a year in closed groups of `per_group`, resolved but the newest group's; bulk SQL."""
    import sqlite3

    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(days=365)
    span = int((now - t0).total_seconds())
    groups = max(1, total // per_group)
    stamp = t0.strftime("%Y-%m-%d %H:%M:%S")
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN")
        db.execute(
            """
            WITH RECURSIVE g(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM g WHERE i < :groups - 1)
            INSERT INTO alert_groups (id, key, status, storm, outcome, severity, confidence, triage, opened_at,
                last_alert_at, closed_at, alert_count, services, decided_by, decided_at, history)
            SELECT i + 1, 'service=seed-' || (i % 200) || '|' || i,
                CASE WHEN i = :groups - 1 THEN 'open' ELSE 'closed' END, 0, 'ticket', 'P3', 80, '{}',
                datetime(:t0, '+' || (i * :span / :groups) || ' seconds') || '.000000',
                datetime(:t0, '+' || (i * :span / :groups + 600) || ' seconds') || '.000000',
                CASE WHEN i = :groups - 1 THEN NULL
                     ELSE datetime(:t0, '+' || (i * :span / :groups + 3600) || ' seconds') || '.000000' END,
                :per, '["seed-' || (i % 200) || '"]', 'triage',
                datetime(:t0, '+' || (i * :span / :groups) || ' seconds') || '.000000', '[]'
            FROM g
            """,
            {"groups": groups, "t0": stamp, "span": span, "per": per_group},
        )
        db.execute(
            """
            WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :total - 1)
            INSERT INTO alerts (id, key, source, integration, fingerprint, status, service, summary, severity_hint,
                labels, details, links, received_at, first_seen, last_seen, resolved_at, count, raw, group_id)
            SELECT i + 1, 'alertmanager:seed' || i, 'alertmanager', 'seed', 'seed' || i,
                CASE WHEN i / :per = :groups - 1 THEN 'firing' ELSE 'resolved' END,
                'seed-' || ((i / :per) % 200), '5xx above 1% on seed-' || ((i / :per) % 200) || ' instance ' || i,
                'critical',
                '{"alertname":"HighErrorRate","severity":"critical","service":"seed-' || ((i / :per) % 200)
                    || '","instance":"seed-' || i || '"}',
                '{"value":"12%","threshold":"< 1%"}', '["http://prometheus/graph"]',
                datetime(:t0, '+' || (i * :span / :total) || ' seconds') || '.000000',
                datetime(:t0, '+' || (i * :span / :total) || ' seconds') || '.000000',
                datetime(:t0, '+' || (i * :span / :total + 300) || ' seconds') || '.000000',
                CASE WHEN i / :per = :groups - 1 THEN NULL
                     ELSE datetime(:t0, '+' || (i * :span / :total + 900) || ' seconds') || '.000000' END,
                1,
                '{"status":"firing","labels":{"alertname":"HighErrorRate","severity":"critical","instance":"seed-'
                    || i || '"},"annotations":{"summary":"5xx above 1%"},"generatorURL":"http://prometheus/graph",'
                    || '"fingerprint":"seed' || i || '"}',
                i / :per + 1
            FROM n
            """,
            {"total": total, "per": per_group, "groups": groups, "t0": stamp, "span": span},
        )
        db.execute("COMMIT")
        db.execute("ANALYZE")
    finally:
        db.close()


async def rss_after(tmp: Path, total: int, reads: float) -> dict[str, Any]:
    """A serve on `total` stored alerts, answering reads for `reads` seconds: its memory; Alertmanager's beside it."""
    figures: dict[str, Any] = {"rss_alerts_stored": total}
    path = tmp / "million.db"
    url = f"sqlite:///{path}"
    env = {**os.environ, "WARROOM_DATABASE_URL": url, "WARROOM_URL": ""}
    cli(env, "db", "upgrade")
    t0 = time.perf_counter()
    seed_alerts(path, total)
    figures["rss_seed_s"] = time.perf_counter() - t0
    print(f"  rss: {total:,} alerts stored in {figures['rss_seed_s']:.1f} s", file=sys.stderr)
    w = start_warroom(tmp, "nself", "million", url=url)
    try:
        hdr = {"Authorization": f"Bearer {w.token}", "Content-Type": "application/json"}
        paths = ["/api/v1/alerts", "/api/v1/alerts?status=resolved&limit=1000", "/api/v1/alerts?service=seed-7",
                 "/api/v1/alert-groups", "/alerts", "/api/v1/intake", "/healthz",
                 "/api/v1/alerts?limit=1000"]  # fmt: skip
        answered = errors = 0
        n = 0
        deadline = time.monotonic() + reads
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{w.port}", timeout=30, headers=w.reads) as client:
            while time.monotonic() < deadline:
                resp = await client.get(paths[n % len(paths)])
                answered += 1
                errors += resp.status_code != 200
                if n % 10 == 0:  # new alerts keep arriving meanwhile
                    body = webhook_body(8_000_000 + n * 10, 10, services=40)
                    post = await client.post("/api/v1/alerts/alertmanager", content=body, headers=hdr)
                    errors += post.status_code != 202
                n += 1
            first = await client.get("/api/v1/alerts?limit=1000")
            cursor_pages = 1
            while "next" in first.headers.get("link", "") and cursor_pages < 20:  # paging back through history
                following = first.headers["link"].split(";")[0].strip("<> ")
                first = await client.get(following)
                cursor_pages += 1
        figures["rss_reads"] = answered
        figures["rss_read_errors"] = errors
        figures["rss_serve_mb"], figures["rss_serve_peak_mb"] = memory_mb(w.proc.pid)
    finally:
        w.stop()
    figures["rss_alerts_in_db"] = count(url, "SELECT count(*) FROM alerts")[0][0]
    am, am_port = start_alertmanager(tmp / "am-million")
    try:
        t0 = time.perf_counter()
        per = 1000
        result = await load(am_port, "/api/v2/alerts", [am_api_body(20_000_000 + i * per, per, 200)
                                                        for i in range(total // per)], connections=4)  # fmt: skip
        figures["am_rss_load_s"] = time.perf_counter() - t0
        figures["am_rss_errors"] = result.errors
        await asyncio.sleep(2.0)
        figures["am_rss_mb"], figures["am_rss_peak_mb"] = memory_mb(am.pid)
    finally:
        stop(am)
    return figures


# --- the run ------------------------------------------------------------------------------------


def round_figures(prefix: str, done: list[Round]) -> dict[str, Any]:
    """The medians of a backend's rounds: accepted and applied rates beside Alertmanager's in the same rounds."""
    med = statistics.median
    return {
        f"{prefix}rounds": len(done),
        f"{prefix}single_req_per_s": med(d.wr_single.ok_rate for d in done),
        f"{prefix}am_single_req_per_s": med(d.am_single.ok_rate for d in done),
        f"{prefix}single_ratio": med(d.single_ratio for d in done),
        f"{prefix}single_p99_ms": med(d.wr_single.pct(99) * 1000 for d in done),
        f"{prefix}am_single_p99_ms": med(d.am_single.pct(99) * 1000 for d in done),
        f"{prefix}batch_alerts_per_s": med(d.wr_batch.ok_rate * 100 for d in done),
        f"{prefix}am_batch_alerts_per_s": med(d.am_batch.ok_rate * 100 for d in done),
        f"{prefix}batch_ratio": med(d.batch_ratio for d in done),
        f"{prefix}batch_p99_ms": med(d.wr_batch.pct(99) * 1000 for d in done),
        f"{prefix}am_batch_p99_ms": med(d.am_batch.pct(99) * 1000 for d in done),
        f"{prefix}single_applied_alerts_per_s": med(d.single_applied_rate for d in done),
        f"{prefix}batch_applied_alerts_per_s": med(d.batch_applied_rate for d in done),
        f"{prefix}single_applied_ratio": med(
            d.single_applied_rate / (d.am_batch.ok_rate * 100) if d.am_batch.ok_rate else 0.0 for d in done
        ),
        f"{prefix}batch_applied_ratio": med(
            d.batch_applied_rate / (d.am_batch.ok_rate * 100) if d.am_batch.ok_rate else 0.0 for d in done
        ),
        **({f"{prefix}sqlite_floor_alerts_per_s": med(d.floor for d in done)} if all(d.floor for d in done) else {}),
        f"{prefix}backlog_peak_s": max(max(d.peak_single, d.peak_batch) for d in done),
        f"{prefix}drain_after_load_s": max(d.drain_after_load for d in done),
        f"{prefix}pushed_back_503": sum(d.pushed_back for d in done),
        f"{prefix}stored": sum(d.stored for d in done),
        f"{prefix}sent": sum(d.sent for d in done),
        f"{prefix}errors": sum(
            d.am_single.errors + d.am_batch.errors + d.wr_single.errors + d.wr_batch.errors - d.pushed_back
            for d in done
        ),
    }


def round_rows(label: str, done: list[Round]) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    for i, d in enumerate(done, 1):
        pairs = (("single alert, req/s", d.am_single, d.wr_single, d.single_ratio, 1),
                 ("batches of 100, alerts/s", d.am_batch, d.wr_batch, d.batch_ratio, 100))  # fmt: skip
        for what, am, wr, ratio, per in pairs:
            p99 = f"p99 {am.pct(99) * 1000:.1f} vs {wr.pct(99) * 1000:.1f} ms"
            rows.append((f"{label} {i}: {what}", fmt(am.ok_rate * per), fmt(wr.ok_rate * per), f"{ratio:.2f}x; {p99}"))
        pushed = f"{d.wr_single.statuses.get(503, 0):,} / {d.wr_batch.statuses.get(503, 0):,} answered 503"
        rows.append((f"{label} {i}: applied alerts/s, single / batches", f"{fmt(d.am_batch.ok_rate * 100)} (batched)",
                     f"{fmt(d.single_applied_rate)} / {fmt(d.batch_applied_rate)}",
                     f"{d.batch_applied_rate / (d.am_batch.ok_rate * 100) if d.am_batch.ok_rate else 0:.2f}x batched; "
                     f"{pushed}"))  # fmt: skip
        if d.floor:
            rows.append((f"{label} {i}: the same rows written by SQLite alone",
                         f"{fmt(d.am_batch.ok_rate * 100)} (batched)", f"{fmt(d.floor)} rows/s",
                         f"{d.floor / (d.am_batch.ok_rate * 100) if d.am_batch.ok_rate else 0:.2f}x batched; "
                         f"applying reached {d.batch_applied_rate / d.floor:.2f} of it"))  # fmt: skip
        rows.append((f"{label} {i}: backlog peak, single / batches", "",
                     f"{d.peak_single:.2f} s / {d.peak_batch:.2f} s of applying",
                     f"bound {d.stats.get('max_lag_seconds', '?')} s; "
                     f"{d.stats.get('pushed_back', 0):,} pushed back"))  # fmt: skip
        rows.append((f"{label} {i}: all applied", "",
                     f"{d.single_applied:.1f} s / {d.batch_applied:.1f} s after the first, "
                     f"{d.single_drain:.1f} s / {d.batch_drain:.1f} s after the last",
                     f"{d.stored:,}/{d.sent:,} stored; {d.stats.get('quick_checked', 0):,} of "
                     f"{d.stats.get('requests', 0):,} quick-checked"))  # fmt: skip
    if done:
        rows.append((f"{label}: median single alert", "", "",
                     f"{statistics.median(d.single_ratio for d in done):.2f}x (target ≥ 0.3x)"))  # fmt: skip
        rows.append((f"{label}: median batches of 100", "", "",
                     f"{statistics.median(d.batch_ratio for d in done):.2f}x (target ≥ 1x)"))  # fmt: skip
    return rows


async def main(quick: bool, phases: set[str], json_path: Path | None) -> int:
    rounds = 1 if quick else 3
    pg_rounds = 1 if quick else 2
    singles = 3000 if quick else 30_000
    batches = 100 if quick else 1_000
    probes = 50 if quick else 200
    storm_total, storm_seconds = (2000, 2.0) if quick else (10_000, 10.0)
    flood_seconds = 5.0 if quick else 30.0
    stored_alerts = 100_000 if quick else 1_000_000
    figures: dict[str, Any] = {"intake_quick": "yes" if quick else "no", "alertmanager_version": alertmanager_version()}
    rows: list[tuple[str, str, str, str]] = []
    failed = 0

    async def phase(name: str, body: Callable[[], Awaitable[None]]) -> None:
        nonlocal failed
        if name not in phases:
            return
        started = time.perf_counter()
        print(f"intake_bench: {name} ...", file=sys.stderr)
        try:
            await body()
        except Exception as exc:  # the other phases' figures still count; this one's are left out
            failed += 1
            traceback.print_exc()
            figures[f"error_{name}"] = one_line(exc)
            rows.append((f"{name}: FAILED", "", "", one_line(exc, 200)))
        print(f"intake_bench: {name} took {time.perf_counter() - started:.0f} s", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmpdir:
        tmp = Path(tmpdir)

        async def sqlite_rounds() -> None:
            done = [await throughput(tmp, r, singles, batches) for r in range(rounds)]
            figures.update(round_figures("intake_", done))
            rows.extend(round_rows("SQLite round", done))

        async def postgresql_rounds() -> None:
            done = [await throughput(tmp, 100 + r, singles, batches, "postgresql", 2) for r in range(pg_rounds)]
            figures.update(round_figures("pg2_", done))
            rows.extend(round_rows("PostgreSQL, 2 serves, round", done))

        async def latency() -> None:
            receiver = Receiver()
            try:
                # One person paged 200 times in ten seconds: the per-destination limit (10 a minute) would
                # coalesce all but the first ten into a digest. The probes measure the path, not the limit.
                w = start_warroom(tmp, "nself", "latency", setup=on_call(receiver),
                                  WARROOM_NOTIFY_RATE_PER_MINUTE="100000")  # fmt: skip
                try:
                    delivered, recorded = await latency_probes(w, receiver, probes)
                finally:
                    w.stop()
            finally:
                receiver.close()
            figures.update({
                "page_probes": probes,
                "page_delivered": len(delivered),
                "page_delivered_p50_ms": percentile(delivered, 50) * 1000,
                "page_delivered_p99_ms": percentile(delivered, 99) * 1000,
                "page_recorded_p50_ms": percentile(recorded, 50) * 1000,
                "page_recorded_p99_ms": percentile(recorded, 99) * 1000,
            })  # fmt: skip
            rows.append(("alert → page delivered, p50 / p99", "",
                         f"{fmt(percentile(delivered, 50) * 1000, ' ms')} / "
                         f"{fmt(percentile(delivered, 99) * 1000, ' ms')}",
                         f"{len(delivered)}/{probes} pages arrived at the receiver; target p99 < 250 ms"))  # fmt: skip
            rows.append(("alert → page recorded, p50 / p99", "",
                         f"{fmt(percentile(recorded, 50) * 1000, ' ms')} / "
                         f"{fmt(percentile(recorded, 99) * 1000, ' ms')}",
                         f"{len(recorded)}/{probes} probes paged"))  # fmt: skip

        async def unrelated_in_flood(backend: str = "sqlite", serves: int = 1) -> None:
            # An unrelated outage during a flood: nself has no storm rule, so a new service's alert declares
            # its own incident (under so1 it would join the storm's). The flood's 20 services each have
            # their incident after their first alert; the rest of the flood is more of the same.
            prefix = "unrelated_" if backend == "sqlite" else "pg2_unrelated_"
            w = start_warroom(tmp, "nself", f"unrelated-{backend}", backend=backend, serves=serves)
            try:
                hdr = {"Authorization": f"Bearer {w.token}"}
                t0 = time.perf_counter()
                with LagWatch(w) as flood_lag:  # the 20 spread over the flood, the first after half a second
                    others = asyncio.create_task(unrelated(w, 20, (flood_seconds - 1.0) / 20, 0.5))
                    flood = await run("127.0.0.1", w.ports, "/api/v1/alerts/alertmanager",
                                      lambda i: webhook_body(7_000_000 + i, 1), total=10_000_000, headers=hdr,
                                      seconds=flood_seconds)  # fmt: skip
                    await drained(w, t0)
                    probe_ids = await others
            finally:
                w.stop()
            try:
                late = applied_after(w.url, probe_ids)
                declared = count(w.url, "SELECT count(*) FROM alerts WHERE service LIKE 'unrelated-%' "
                                        "AND incident_id IS NOT NULL")[0][0]  # fmt: skip
            finally:
                w.drop()
            figures.update({
                f"{prefix}flood": flood.requests,
                f"{prefix}flood_seconds": flood.elapsed,
                f"{prefix}sent": 20,
                f"{prefix}applied": len(late),
                f"{prefix}declared": declared,
                f"{prefix}p50_ms": percentile(late, 50) * 1000,
                f"{prefix}p99_ms": percentile(late, 99) * 1000,
                f"{prefix}flood_503": flood.statuses.get(503, 0),
                f"{prefix}flood_backlog_peak_s": flood_lag.peak,
            })  # fmt: skip
            p50, p99 = fmt(percentile(late, 50) * 1000, " ms"), fmt(percentile(late, 99) * 1000, " ms")
            where = "SQLite" if backend == "sqlite" else f"PostgreSQL, {serves} serves"
            rows.append((f"unrelated alert during a {flood.elapsed:.0f} s flood of {flood.requests:,} (nself, {where})",
                         "", f"p50 {p50} / p99 {p99}",
                         f"{len(late)}/20 applied, {declared} declared; first send → applied; target p99 < 250 ms; "
                         f"flood: {flood.statuses.get(503, 0):,} got 503, "
                         f"backlog peak {flood_lag.peak:.2f} s"))  # fmt: skip

        async def storm() -> None:
            w = start_warroom(tmp, "so1", "storm")
            try:
                hdr = {"Authorization": f"Bearer {w.token}"}
                bodies = [webhook_body(5_000_000 + i, 1, services=50) for i in range(storm_total)]
                t0 = time.perf_counter()
                sent = await load(w.port, "/api/v1/alerts/alertmanager", bodies, hdr,
                                  rate=storm_total / storm_seconds)  # fmt: skip
                storm_elapsed = time.perf_counter() - t0
                storm_applied = await drained(w, t0)
                await asyncio.sleep(3.0)
            finally:
                w.stop()
            s_alerts = count(w.url, "SELECT count(*) FROM alerts")[0][0]
            s_incidents = count(w.url, "SELECT count(*) FROM incidents")[0][0]
            s_pages = count(w.url, "SELECT tier, count(*) FROM pages GROUP BY tier ORDER BY tier")
            pages = sum(n for _, n in s_pages)
            tier1 = sum(n for t, n in s_pages if t == 1)
            correct = s_incidents == 1 and pages == 1 and tier1 == 1 and s_alerts == storm_total
            figures.update({
                "storm_sent": storm_total,
                "storm_seconds": storm_seconds,
                "storm_stored": s_alerts,
                "storm_incidents": s_incidents,
                "storm_pages": pages,
                "storm_tier1_pages": tier1,
                "storm_errors": sent.errors,
                "storm_applied_s": storm_applied,
                "storm_correct": "yes" if correct else "no",
            })  # fmt: skip
            tiers = ", ".join(f"tier {t}: {n}" for t, n in s_pages) or "none"
            rows.append((f"storm {storm_total:,} alerts in {storm_seconds:g} s", "",
                         f"{s_incidents} incident(s); pages {tiers}",
                         f"{s_alerts:,}/{storm_total:,} stored; sent in {storm_elapsed:.1f} s, "
                         f"applied in {storm_applied:.1f} s; {sent.errors} errors"))  # fmt: skip

        async def rss() -> None:
            got = await rss_after(tmp, stored_alerts, 5.0 if quick else 15.0)
            figures.update(got)
            rows.append((f"RSS of `warroom serve` with {stored_alerts:,} alerts stored (SQLite)",
                         f"{fmt(got['am_rss_mb'], ' MiB')} (holding as many)",
                         f"{fmt(got['rss_serve_mb'], ' MiB')} (peak {fmt(got['rss_serve_peak_mb'], ' MiB')})",
                         f"after {got['rss_reads']:,} reads ({got['rss_read_errors']} errors) and a few webhooks; "
                         f"seeded in {got['rss_seed_s']:.0f} s"))  # fmt: skip

        await phase("sqlite", sqlite_rounds)
        await phase("postgresql", postgresql_rounds)
        await phase("latency", latency)
        await phase("unrelated", unrelated_in_flood)
        await phase("pg-unrelated", lambda: unrelated_in_flood("postgresql", serves=2))
        await phase("storm", storm)
        await phase("rss", rss)

    print()
    print(f"intake benchmark, {os.cpu_count()} CPUs, load generator bench/intake_load.py (16 keep-alive connections), "
          f"{rounds} SQLite / {pg_rounds} PostgreSQL round(s) of {singles:,} single alerts and {batches:,} "
          f"batches of 100")  # fmt: skip
    print("warroom: SQLite, WAL, group commit, one `warroom serve` process; PostgreSQL with two `warroom serve`")
    if rows:
        header = ("measure", "alertmanager", "warroom", "")
        width = [max(max(len(r[i]) for r in rows), len(header[i])) for i in range(4)]
        line = "  ".join(h.ljust(w) for h, w in zip(header, width, strict=True))
        print(line)
        print("-" * len(line))
        for r in rows:
            print("  ".join(c.ljust(w) for c, w in zip(r, width, strict=True)))
    write_figures(json_path, figures)
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts, one round each")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here as one JSON object")
    args = parser.parse_args()
    chosen = {p.strip() for p in args.phases.split(",") if p.strip()}
    unknown = chosen - set(PHASES)
    if unknown:
        parser.error(f"unknown phases: {', '.join(sorted(unknown))}")
    import uvloop

    sys.exit(uvloop.run(main(args.quick, chosen, args.json)))

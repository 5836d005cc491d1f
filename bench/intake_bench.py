"""Alert intake side by side with Prometheus Alertmanager, on this machine, with one load generator.

    .venv/bin/python -m bench.intake_bench            # the full run (about three minutes)
    .venv/bin/python -m bench.intake_bench --quick    # smaller counts, one round, for a smoke run

warroom runs as a real `warroom serve` on a fresh SQLite file (durable: a request is answered 202
once its request row is committed, with group commit; dedup, grouping and triage are applied
behind the answer, and the run also reports how long that took to catch up); Alertmanager is
Debian's binary with a receiver that sends nowhere. Both get the same keep-alive HTTP/1.1 client
(bench/intake_load.py) over 127.0.0.1; Alertmanager's own POST /api/v2/alerts is the reference for
the request rates. This machine is shared and noisy, so the rates are measured in rounds, each
Alertmanager then warroom, and the table gives every round's ratio and their median.

Per round it also reports what back-pressure does: alerts **applied** per second (rows in the
database over the time from the first send until the last was applied, beside Alertmanager's
batched rate), the backlog's peak in seconds of applying (polled from /api/v1/intake) and the 503s
the load got. Once, on nself (no storm rule), a flood of single alerts for 20 services carries 20
unrelated alerts, each a new service, retried after Retry-After when pushed back: the time from
each one's first send until its request was applied, its incident declared.

Alert to page: one alert at a time, each for a new service, against the nself policy with an
on-call person whose push and SMS go to an HTTP receiver in this process (Apprise's json://), from
the webhook's send to the page's arrival there, and to the page row the engine recorded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.intake_load import Result, percentile, run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer {url}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Warroom:
    proc: subprocess.Popen[bytes]
    port: int
    url: str
    token: str


def start_warroom(tmp: Path, policy: str, name: str, workers: int = 1,
                  setup: tuple[list[str], ...] = (), **env: str) -> Warroom:  # fmt: skip
    """A migrated SQLite file, an Alertmanager integration, `setup` CLI commands, then `warroom serve`."""
    db = tmp / f"{name}.db"
    url = f"sqlite:///{db}"
    # It reads /api/v1/intake without signing in: sign-in is off (webhooks keep their secret).
    base_env = {**os.environ, "WARROOM_DATABASE_URL": url, "WARROOM_POLICY": policy, "WARROOM_AUTH": "off", **env}

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "warroom", *args], env=base_env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"warroom {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    cli("db", "upgrade")
    out = cli("integration", "add", "alertmanager", "bench")
    token = next(line.strip() for line in out.splitlines() if line.startswith("wr_"))
    for command in setup:
        cli(*command)
    port = free_port()
    log = tmp / f"{name}.log"
    with log.open("wb") as sink:  # a file, not a pipe nobody reads: a full pipe would stall the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "warroom", "serve", "--port", str(port), "--workers", str(workers)],
            env=base_env,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, "warroom serve", log)
    return Warroom(proc, port, url, token)


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


async def load(port: int, path: str, bodies: list[bytes], headers: dict[str, str] | None = None,
               connections: int = 16, rate: float | None = None) -> Result:  # fmt: skip
    return await run("127.0.0.1", port, path, lambda i: bodies[i], total=len(bodies), connections=connections,
                     headers=headers, rate=rate)  # fmt: skip


def count(db_url: str, sql: str, **params: Any) -> Any:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).all()
    finally:
        engine.dispose()


async def drained(port: int, since: float, timeout: float = 300.0) -> float:
    """Seconds from `since` (perf_counter) until the server has applied every accepted request."""
    deadline = time.perf_counter() + timeout
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        while time.perf_counter() < deadline:
            if (await client.get("/api/v1/intake")).json()["pending_requests"] == 0:
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

    def __init__(self, port: int) -> None:
        self.port = port
        self.peak = 0.0
        self.task: asyncio.Task[None] | None = None

    async def _poll(self) -> None:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=30) as client:
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


async def unrelated(w: Warroom, count_: int, every: float, first: float) -> list[int]:
    """`count_` alerts of new services during a flood, `every` seconds apart after `first`: their request ids.

    A pushed-back one is sent again after its Retry-After, as a retrying sender would; its first send's
    time is kept in SENT_AT, so its latency includes the wait."""
    headers = {"Authorization": f"Bearer {w.token}", "Content-Type": "application/json"}
    ids: list[int] = []
    await asyncio.sleep(first)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{w.port}", timeout=30) as client:

        async def one(n: int) -> None:
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
    return ids


SENT_AT: dict[int, float] = {}
"""request id → when its first attempt was sent (epoch seconds)"""


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
    def single_ratio(self) -> float:
        return self.wr_single.rate / self.am_single.rate if self.am_single.rate else 0.0

    @property
    def batch_ratio(self) -> float:
        return self.wr_batch.rate / self.am_batch.rate if self.am_batch.rate else 0.0


async def throughput(tmp: Path, r: int, singles: int, batches: int) -> Round:
    """Alertmanager, then a fresh warroom, with the same counts of single alerts and batches of 100."""
    base = r * 10_000_000
    am, am_port = start_alertmanager(tmp / f"am-{r}")
    try:
        am_single = await load(am_port, "/api/v2/alerts", [am_api_body(base + i, 1) for i in range(singles)])
        am_batch = await load(am_port, "/api/v2/alerts",
                              [am_api_body(base + singles + i * 100, 100) for i in range(batches)])  # fmt: skip
    finally:
        stop(am)
    w = start_warroom(tmp, "so1", f"throughput-{r}")
    try:
        hdr = {"Authorization": f"Bearer {w.token}"}
        path = "/api/v1/alerts/alertmanager"
        single_bodies = [webhook_body(base + i, 1) for i in range(singles)]
        t0 = time.perf_counter()
        with LagWatch(w.port) as single_lag:
            wr_single = await load(w.port, path, single_bodies, hdr)
            single_applied = await drained(w.port, t0)
        single_rows = count(w.url, "SELECT count(*) FROM alerts WHERE service NOT LIKE 'unrelated-%'")[0][0]
        batch_bodies = [webhook_body(base + singles + i * 100, 100) for i in range(batches)]
        t0 = time.perf_counter()
        with LagWatch(w.port) as batch_lag:
            wr_batch = await load(w.port, path, batch_bodies, hdr)
            batch_applied = await drained(w.port, t0)
        stats = httpx.get(f"http://127.0.0.1:{w.port}/api/v1/intake").json()
    finally:
        stop(w.proc)
    stored = count(w.url, "SELECT count(*) FROM alerts WHERE service NOT LIKE 'unrelated-%'")[0][0]
    return Round(am_single, am_batch, wr_single, wr_batch, single_applied, batch_applied, stored,
                 singles + batches * 100, stats, single_rows, single_lag.peak, batch_lag.peak)  # fmt: skip


async def main(quick: bool) -> None:
    rounds = 1 if quick else 3
    singles = 3000 if quick else 30_000
    batches = 100 if quick else 1_000
    probes = 50 if quick else 200
    storm_total, storm_seconds = (2000, 2.0) if quick else (10_000, 10.0)
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmpdir:
        tmp = Path(tmpdir)
        done = [await throughput(tmp, r, singles, batches) for r in range(rounds)]

        receiver = Receiver()
        try:
            # One person paged 200 times in ten seconds: the per-destination limit (10 a minute) would
            # coalesce all but the first ten into a digest. The probes measure the path, not the limit.
            w = start_warroom(tmp, "nself", "latency", setup=on_call(receiver), WARROOM_NOTIFY_RATE_PER_MINUTE="100000")
            try:
                delivered, recorded = await latency_probes(w, receiver, probes)
            finally:
                stop(w.proc)
        finally:
            receiver.close()

        # An unrelated outage during a flood: nself has no storm rule, so a new service's alert declares
        # its own incident (under so1 it would join the storm's). The flood's 20 services each have
        # their incident after their first alert; the rest of the flood is more of the same.
        w = start_warroom(tmp, "nself", "unrelated")
        try:
            hdr = {"Authorization": f"Bearer {w.token}"}
            flood_bodies = [webhook_body(7_000_000 + i, 1) for i in range(singles)]
            t0 = time.perf_counter()
            with LagWatch(w.port) as flood_lag:
                others = asyncio.create_task(unrelated(w, 20, 0.05, 0.2))
                flood = await load(w.port, "/api/v1/alerts/alertmanager", flood_bodies, hdr)
                await drained(w.port, t0)
                probe_ids = await others
        finally:
            stop(w.proc)
        late = applied_after(w.url, probe_ids)
        declared = count(w.url, "SELECT count(*) FROM alerts WHERE service LIKE 'unrelated-%' "
                                "AND incident_id IS NOT NULL")[0][0]  # fmt: skip

        w = start_warroom(tmp, "so1", "storm")
        try:
            hdr = {"Authorization": f"Bearer {w.token}"}
            bodies = [webhook_body(5_000_000 + i, 1, services=50) for i in range(storm_total)]
            t0 = time.perf_counter()
            storm = await load(w.port, "/api/v1/alerts/alertmanager", bodies, hdr, rate=storm_total / storm_seconds)
            storm_elapsed = time.perf_counter() - t0
            storm_applied = await drained(w.port, t0)
            await asyncio.sleep(3.0)
        finally:
            stop(w.proc)
        s_alerts = count(w.url, "SELECT count(*) FROM alerts")[0][0]
        s_incidents = count(w.url, "SELECT count(*) FROM incidents")[0][0]
        s_pages = count(w.url, "SELECT tier, count(*) FROM pages GROUP BY tier ORDER BY tier")

    rows: list[tuple[str, str, str, str]] = []
    for i, d in enumerate(done, 1):
        pairs = (("single alert, req/s", d.am_single, d.wr_single, d.single_ratio, 1),
                 ("batches of 100, alerts/s", d.am_batch, d.wr_batch, d.batch_ratio, 100))  # fmt: skip
        for what, am, wr, ratio, per in pairs:
            p99 = f"p99 {am.pct(99) * 1000:.1f} vs {wr.pct(99) * 1000:.1f} ms"
            rows.append((f"round {i}: {what}", fmt(am.rate * per), fmt(wr.rate * per), f"{ratio:.2f}x; {p99}"))
        pushed = f"{d.wr_single.statuses.get(503, 0):,} / {d.wr_batch.statuses.get(503, 0):,} answered 503"
        rows.append((f"round {i}: applied alerts/s, single / batches", f"{fmt(d.am_batch.rate * 100)} (batched)",
                     f"{fmt(d.single_applied_rate)} / {fmt(d.batch_applied_rate)}",
                     f"{d.batch_applied_rate / (d.am_batch.rate * 100) if d.am_batch.rate else 0:.2f}x batched; "
                     f"{pushed}"))  # fmt: skip
        rows.append((f"round {i}: backlog peak, single / batches", "",
                     f"{d.peak_single:.2f} s / {d.peak_batch:.2f} s of applying",
                     f"bound {d.stats.get('max_lag_seconds', '?')} s; "
                     f"{d.stats.get('pushed_back', 0):,} pushed back"))  # fmt: skip
        rows.append((f"round {i}: all applied", "",
                     f"{d.single_applied:.1f} s / {d.batch_applied:.1f} s after the first",
                     f"{d.stored:,}/{d.sent:,} stored; {d.stats['quick_checked']:,} of {d.stats['requests']:,} "
                     f"quick-checked"))  # fmt: skip
    rows.append(
        ("median: single alert", "", "", f"{statistics.median(d.single_ratio for d in done):.2f}x (target ≥ 0.3x)")
    )
    rows.append(
        ("median: batches of 100", "", "", f"{statistics.median(d.batch_ratio for d in done):.2f}x (target ≥ 1x)")
    )
    rows.append(("alert → page delivered, p50 / p99", "",
                 f"{fmt(percentile(delivered, 50) * 1000, ' ms')} / {fmt(percentile(delivered, 99) * 1000, ' ms')}",
                 f"{len(delivered)}/{probes} pages arrived at the receiver; target p99 < 250 ms"))  # fmt: skip
    rows.append(("alert → page recorded, p50 / p99", "",
                 f"{fmt(percentile(recorded, 50) * 1000, ' ms')} / {fmt(percentile(recorded, 99) * 1000, ' ms')}",
                 f"{len(recorded)}/{probes} probes paged"))  # fmt: skip
    rows.append((f"unrelated alert during a flood of {singles:,} (nself)", "",
                 f"p50 {fmt(percentile(late, 50) * 1000, ' ms')} / p99 {fmt(percentile(late, 99) * 1000, ' ms')}",
                 f"{len(late)}/20 applied, {declared} declared; first send → applied; target p99 < 250 ms; "
                 f"flood: {flood.statuses.get(503, 0):,} got 503, backlog peak {flood_lag.peak:.2f} s"))  # fmt: skip
    tiers = ", ".join(f"tier {t}: {n}" for t, n in s_pages) or "none"
    rows.append((f"storm {storm_total:,} alerts in {storm_seconds:g} s", "",
                 f"{s_incidents} incident(s); pages {tiers}",
                 f"{s_alerts:,}/{storm_total:,} stored; sent in {storm_elapsed:.1f} s, "
                 f"applied in {storm_applied:.1f} s; {storm.errors} errors"))  # fmt: skip
    errors = sum(d.am_single.errors + d.am_batch.errors + d.wr_single.errors + d.wr_batch.errors for d in done)
    print()
    print(f"intake benchmark, {os.cpu_count()} CPUs, load generator bench/intake_load.py (16 keep-alive connections), "
          f"{rounds} round(s) of {singles:,} single alerts and {batches:,} batches of 100")  # fmt: skip
    print("warroom: SQLite, WAL, group commit, one `warroom serve` process")
    width = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("measure", "alertmanager", "warroom", "")
    width = [max(w, len(h)) for w, h in zip(width, header, strict=True)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, width, strict=True))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, width, strict=True)))
    if errors:
        print(f"errors: {errors} (non-2xx or dropped connections)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    args = parser.parse_args()
    import uvloop

    uvloop.run(main(args.quick))

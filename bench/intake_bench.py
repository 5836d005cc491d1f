"""Alert intake side by side with Prometheus Alertmanager, on this machine, with one load generator.

    .venv/bin/python -m bench.intake_bench            # the full run (about two minutes)
    .venv/bin/python -m bench.intake_bench --quick    # smaller counts, for a smoke run

warroom runs as a real `warroom serve` on a fresh SQLite file (durable: a request is answered 202
once its request row is committed, with group commit; dedup, grouping and triage are applied
behind the answer, and the run also reports how long that took to catch up); Alertmanager is
Debian's binary with a receiver that sends nowhere. Both get the same keep-alive HTTP/1.1 client (bench/intake_load.py)
over 127.0.0.1. Alertmanager's own POST /api/v2/alerts is the reference for the request rates.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from bench.intake_load import Result, run

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"{what} exited: {err[-2000:]}")
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


def start_warroom(tmp: Path, policy: str, name: str, workers: int = 1, **env: str) -> Warroom:
    db = tmp / f"{name}.db"
    url = f"sqlite:///{db}"
    base_env = {**os.environ, "WARROOM_DATABASE_URL": url, "WARROOM_POLICY": policy, **env}
    subprocess.run([sys.executable, "-m", "warroom", "db", "upgrade"], env=base_env, check=True, capture_output=True)
    out = subprocess.run(
        [sys.executable, "-m", "warroom", "integration", "add", "alertmanager", "bench"],
        env=base_env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    token = next(line.strip() for line in out.splitlines() if line.startswith("wr_"))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "warroom", "serve", "--port", str(port), "--workers", str(workers)],
        env=base_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_http(f"http://127.0.0.1:{port}/healthz", proc, "warroom serve")
    return Warroom(proc, port, url, token)


def start_alertmanager(tmp: Path) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("prometheus-alertmanager")
    if binary is None:
        raise SystemExit("prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)")
    config = tmp / "am.yml"
    config.write_text("route:\n  receiver: void\nreceivers:\n  - name: void\n")
    port = free_port()
    proc = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={tmp / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    wait_http(f"http://127.0.0.1:{port}/-/ready", proc, "alertmanager")
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


async def latency_probes(w: Warroom, probes: int) -> tuple[list[float], int]:
    """One alert at a time, each for a new service: webhook received → tier-1 page recorded by the engine."""
    headers = {"Authorization": f"Bearer {w.token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{w.port}", timeout=30) as client:
        for i in range(probes):
            body = webhook_body(1_000_000 + i, 1, services=10_000_000)
            body = body.replace(b'"svc-', b'"probe-')
            resp = await client.post("/api/v1/alerts/alertmanager", content=body, headers=headers)
            assert resp.status_code == 202, resp.text
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)
    rows = count(
        w.url,
        "SELECT a.received_at, min(p.created_at) FROM alerts a JOIN pages p ON p.incident_id = a.incident_id "
        "WHERE a.service LIKE 'probe-%' GROUP BY a.id, a.received_at",
    )
    out = []
    for received, paged in rows:
        r = datetime.fromisoformat(str(received))
        p = datetime.fromisoformat(str(paged))
        out.append((p - r).total_seconds())
    return out, probes


async def main(quick: bool) -> None:
    singles = 3000 if quick else 20_000
    batches = 100 if quick else 500
    probes = 50 if quick else 200
    storm_total, storm_seconds = (2000, 2.0) if quick else (10_000, 10.0)
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmpdir:
        tmp = Path(tmpdir)
        am, am_port = start_alertmanager(tmp)
        try:
            am_single = await load(am_port, "/api/v2/alerts", [am_api_body(i, 1) for i in range(singles)])
            am_batch = await load(am_port, "/api/v2/alerts", [am_api_body(i * 100, 100) for i in range(batches)])
        finally:
            stop(am)

        w = start_warroom(tmp, "so1", "throughput")
        try:
            hdr = {"Authorization": f"Bearer {w.token}"}
            path = "/api/v1/alerts/alertmanager"
            t0 = time.perf_counter()
            wr_single = await load(w.port, path, [webhook_body(i, 1) for i in range(singles)], hdr)
            single_applied = await drained(w.port, t0)
            offset = singles + 1
            t0 = time.perf_counter()
            wr_batch = await load(w.port, path, [webhook_body(offset + i * 100, 100) for i in range(batches)], hdr)
            batch_applied = await drained(w.port, t0)
            stats = httpx.get(f"http://127.0.0.1:{w.port}/api/v1/intake").json()
        finally:
            stop(w.proc)
        stored = count(w.url, "SELECT count(*) FROM alerts")[0][0]

        w = start_warroom(tmp, "nself", "latency")
        try:
            latencies, sent = await latency_probes(w, probes)
        finally:
            stop(w.proc)

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

    ratio_single = wr_single.rate / am_single.rate if am_single.rate else 0
    ratio_batch = (wr_batch.rate * 100) / (am_batch.rate * 100) if am_batch.rate else 0
    rows.append(("single alert, 16 conns: req/s", fmt(am_single.rate), fmt(wr_single.rate),
                 f"{ratio_single:.2f}x (target ≥ 0.3x)"))  # fmt: skip
    rows.append(("single alert, 16 conns: p99", fmt(am_single.pct(99) * 1000, " ms"),
                 fmt(wr_single.pct(99) * 1000, " ms"), ""))  # fmt: skip
    rows.append(("batches of 100: alerts/s", fmt(am_batch.rate * 100), fmt(wr_batch.rate * 100),
                 f"{ratio_batch:.2f}x (target ≥ 1x)"))  # fmt: skip
    rows.append(("batches of 100: p99 per request", fmt(am_batch.pct(99) * 1000, " ms"),
                 fmt(wr_batch.pct(99) * 1000, " ms"), ""))  # fmt: skip
    for what, total, took, run_ in (("single alerts", singles, single_applied, wr_single),
                                   ("batches of 100", batches * 100, batch_applied, wr_batch)):  # fmt: skip
        rows.append((f"{what}: all applied", "", f"{took:.1f} s after the first",
                     f"{total / took:,.0f} alerts/s applied; accepted in {run_.elapsed:.1f} s"))  # fmt: skip
    lat = sorted(latencies)
    p50 = statistics.median(lat) * 1000 if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
    rows.append(("alert → page recorded, p50", "", fmt(p50, " ms"), f"{len(lat)}/{sent} probes paged"))
    rows.append(("alert → page recorded, p99", "", fmt(p99, " ms"), "target < 250 ms"))
    tiers = ", ".join(f"tier {t}: {n}" for t, n in s_pages) or "none"
    rows.append((f"storm {storm_total:,} alerts in {storm_seconds:g} s", "",
                 f"{s_incidents} incident(s); pages {tiers}",
                 f"{s_alerts:,}/{storm_total:,} stored; sent in {storm_elapsed:.1f} s, "
                 f"applied in {storm_applied:.1f} s; {storm.errors} errors"))  # fmt: skip
    errors = am_single.errors + am_batch.errors + wr_single.errors + wr_batch.errors
    print()
    print(f"intake benchmark, {os.cpu_count()} CPUs, load generator bench/intake_load.py (16 keep-alive connections)")
    print(f"warroom: SQLite, WAL, group commit (commits: {stats['batches']}, largest {stats['largest_batch']} alerts, "
          f"median {stats['median_batch']}; applied in {stats['passes']} passes); "
          f"{stored:,} alerts stored of {singles + batches * 100:,} sent")  # fmt: skip
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

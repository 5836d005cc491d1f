"""Status page under load: 500 incidents of history and 20 components, 64 keep-alive connections against
`/status` and `/status/api/v2/summary.json` from one `warroom serve` (SQLite), requests/s and p99; then
the static export's size and time. Traffic goes to 127.0.0.1 only.

    .venv/bin/python bench/status_bench.py [--seconds 10] [--connections 64] [--clients 1]

The load generator is a lean asyncio HTTP/1.1 client (httpx would measure itself); with --clients N it
runs in N processes. On a 2-core machine the client and the server share the cores: read the figures so.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from warroom.compose import context
from warroom.domain.clock import FakeClock
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.policy import load_policy
from warroom.statuspage import components, posts
from warroom.statuspage import export as exporter
from warroom.statuspage.schemas import ComponentRequest
from warroom.store.db import Database
from warroom.store.migrate import upgrade

STATES = ["degraded_performance", "partial_outage", "major_outage"]


def seed(url: str, incidents: int, count: int) -> None:
    """`count` components in groups of five, `incidents` incidents over 90 days, each with three posts."""
    now = datetime.now(UTC)
    clock = FakeClock(now - timedelta(days=91))
    ctx = context(Database(url), load_policy("nself"), clock)
    names = [f"Component {n:02d}" for n in range(count)]
    for n, name in enumerate(names):
        components.add_component(ctx, ComponentRequest(name=name, group=f"Group {n // 5}", by="bench"))
    step = timedelta(days=90) / incidents
    for n in range(incidents):
        clock.set(now - timedelta(days=90) + step * n)
        inc = service.declare(ctx, DeclareRequest(severity="P2", title=f"Incident {n}", by="bench"))
        affected = {names[(n * 7 + k) % count]: STATES[(n + k) % 3] for k in range(2)}
        posts.post(ctx, inc.id, "We are investigating.", "bench", status="investigating", components=affected)
        clock.advance(timedelta(minutes=20))
        posts.post(ctx, inc.id, "A fix is out.", "bench", status="monitoring")
        clock.advance(timedelta(minutes=20))
        posts.post(ctx, inc.id, "Resolved.", "bench", status="resolved")
        service.resolve(ctx, inc.id, "bench", force=True, reason="history for the benchmark")
        service.close(ctx, inc.id, "bench")
    ctx.db.dispose()


async def _worker(port: int, path: str, until: float, lat: list[float], statuses: dict[int, int], gz: bool) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    extra = "Accept-Encoding: gzip\r\n" if gz else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()
    try:
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            writer.write(request)
            line = await reader.readline()
            status = int(line.split()[1])
            length = 0
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b""):
                    break
                if h[:15].lower() == b"content-length:":
                    length = int(h[15:].strip())
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


def _client(port: int, path: str, seconds: float, connections: int, gz: bool, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    lat: list[float] = []
    statuses: dict[int, int] = {}

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_worker(port, path, until, lat, statuses, gz) for _ in range(connections)))

    asyncio.run(main())
    out.put((lat, statuses))


def load(
    port: int, path: str, seconds: float, connections: int, clients: int, gz: bool
) -> tuple[float, float, float, dict[int, int]]:
    q: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    per = max(1, connections // clients)
    procs = [multiprocessing.Process(target=_client, args=(port, path, seconds, per, gz, q)) for _ in range(clients)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    lat: list[float] = []
    statuses: dict[int, int] = {}
    for _ in procs:
        got, st = q.get()
        lat += got
        for k, v in st.items():
            statuses[k] = statuses.get(k, 0) + v
    for p in procs:
        p.join()
    elapsed = max(seconds, time.perf_counter() - started - 0.2)
    lat.sort()
    p50 = lat[len(lat) // 2] * 1000 if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
    return len(lat) / elapsed, p50, p99, statuses


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--incidents", type=int, default=500)
    ap.add_argument("--components", type=int, default=20)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="warroom-status-bench-"))
    url = f"sqlite:///{tmp / 'bench.db'}"
    upgrade(url)
    t0 = time.perf_counter()
    seed(url, args.incidents, args.components)
    print(
        f"seeded {args.incidents} incidents ({args.incidents * 3} posts), {args.components} components "
        f"in {time.perf_counter() - t0:.1f}s"
    )
    port = 18000 + os.getpid() % 1000
    env = {**os.environ, "WARROOM_DATABASE_URL": url, "WARROOM_PORT": str(port), "WARROOM_POLICY": "nself"}
    log = (tmp / "serve.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "warroom", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        for path in ("/status", "/status/api/v2/summary.json"):
            t1 = time.perf_counter()
            first = httpx.get(f"http://127.0.0.1:{port}{path}", timeout=30)
            print(
                f"{path}: first answer (the build) {1000 * (time.perf_counter() - t1):.0f} ms, "
                f"{len(first.content):,} bytes"
            )
        print(f"\n{'path':<32} {'gzip':>4} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}  statuses")
        runs = [
            ("/status", True),
            ("/status/api/v2/summary.json", True),
            ("/status", False),
            ("/status/api/v2/summary.json", False),
        ]
        for path, gz in runs:
            rate, p50, p99, statuses = load(port, path, args.seconds, args.connections, args.clients, gz)
            print(
                f"{path:<32} {'yes' if gz else 'no':>4} {args.connections:>5} {rate:>9,.0f} {p50:>8.2f} "
                f"{p99:>8.2f}  {statuses}"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    ctx = context(Database(url), load_policy("nself"), FakeClock(datetime.now(UTC)))
    t2 = time.perf_counter()
    out = exporter.export(ctx, tmp / "export")
    print(f"\nstatic export: {out.files} files, {out.bytes:,} bytes in {time.perf_counter() - t2:.2f}s")
    ctx.db.dispose()


if __name__ == "__main__":
    main()

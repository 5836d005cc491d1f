"""Status page under load: 500 incidents of history and 20 components, 64 keep-alive connections against
`/status` and `/status/api/v2/summary.json` from one `warroom serve` (SQLite), requests/s and p99; the same
again while alerts are ingested at 1,000/s (Alertmanager's webhook, 10 alerts a POST, into the same serve);
then the static export's size and time. Traffic goes to 127.0.0.1 only.

    .venv/bin/python -m bench.status_bench [--seconds 10] [--connections 64] [--clients 1] [--json PATH]
    .venv/bin/python -m bench.status_bench --quick              # 3 s a run
    .venv/bin/python -m bench.status_bench --db /tmp/s.db       # seed once, reuse it for later runs

The load generator is an asyncio protocol on uvloop that reads each answer's length from its headers and
nothing else (httpx, or even asyncio streams, would measure themselves); with --clients N it runs in N
processes. On a 2-core machine the load generator and the server share the cores: read the figures so.
`--json PATH` writes the figures as one flat object {name: number} (bench/report.py collects them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import write_figures
from bench.intake_load import run as post_load
from warroom.compose import context
from warroom.domain.clock import FakeClock
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.intake import integrations
from warroom.policy import load_policy
from warroom.statuspage import components, posts
from warroom.statuspage import export as exporter
from warroom.statuspage.schemas import ComponentRequest
from warroom.store.db import Database
from warroom.store.migrate import upgrade

STATES = ["degraded_performance", "partial_outage", "major_outage"]
PATHS = (("/status", "html"), ("/status/api/v2/summary.json", "summary"))


def seed(url: str, incidents: int, count: int) -> str:
    """`count` components in groups of five, `incidents` incidents over 90 days, each with three posts, and an
    Alertmanager integration; returns its token."""
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
    clock.set(now)
    token = integrations.add(ctx, "alertmanager", "bench-alertmanager", "bench").token
    ctx.db.dispose()
    return token


# --- the readers ---------------------------------------------------------------------------------


class _Reader(asyncio.Protocol):
    """One keep-alive connection asking for the same path again and again until `until`."""

    def __init__(self, request: bytes, until: float, lat: list[float], statuses: dict[int, int],
                 done: asyncio.Future[None], every: float = 0.0, offset: float = 0.0) -> None:  # fmt: skip
        self.request, self.until, self.lat, self.statuses, self.done = request, until, lat, statuses, done
        self.every = every
        """paced: one request every `every` seconds on this connection (0: the next as soon as one is answered)"""
        self.due = time.perf_counter() + offset
        self.buf = bytearray()
        self.need = -1
        self.status = 0
        self.t0 = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio.Transport
        self._ask()

    def _ask(self) -> None:
        assert self.transport is not None
        now = time.perf_counter()
        if now >= self.until:
            self.transport.close()
            return
        self.buf.clear()
        self.need = -1
        if self.every:
            # Paced: the latency counts from when the request was due, so a slow answer that delays the
            # next request is counted against the server (no coordinated omission).
            if self.due > now:
                asyncio.get_running_loop().call_at(self._at(self.due), self._send)
                self.t0 = self.due
            else:
                self.t0 = self.due
                self._send()
            self.due += self.every
            return
        self.t0 = now
        self._send()

    @staticmethod
    def _at(due: float) -> float:
        loop = asyncio.get_running_loop()
        return loop.time() + (due - time.perf_counter())

    def _send(self) -> None:
        assert self.transport is not None
        if not self.transport.is_closing():
            self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.need < 0:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).lower()
            self.status = int(head[9:12])
            at = head.find(b"\r\ncontent-length:")
            length = 0
            if at >= 0:
                stop = head.find(b"\r\n", at + 2)
                length = int(head[at + 17 : stop if stop >= 0 else len(head)])
            self.need = end + 4 + length
        if len(self.buf) >= self.need:
            self.lat.append(time.perf_counter() - self.t0)
            self.statuses[self.status] = self.statuses.get(self.status, 0) + 1
            self._ask()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


def _client(port: int, path: str, seconds: float, connections: int, gz: bool, out: Any, rate: float = 0) -> None:
    import uvloop

    lat: list[float] = []
    statuses: dict[int, int] = {}
    extra = "Accept-Encoding: gzip\r\n" if gz else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}\r\n".encode()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        until = time.perf_counter() + seconds
        every = connections / rate if rate else 0.0
        futures = []
        for n in range(connections):
            done: asyncio.Future[None] = loop.create_future()
            offset = every * n / connections  # paced connections spread over the interval, not in step
            await loop.create_connection(
                lambda d=done, o=offset: _Reader(request, until, lat, statuses, d, every, o), "127.0.0.1", port
            )
            futures.append(done)
        await asyncio.wait_for(asyncio.gather(*futures), timeout=seconds + 30)

    uvloop.run(main())
    out.put((lat, statuses))


def load(
    port: int, path: str, seconds: float, connections: int, clients: int, gz: bool, rate: float = 0
) -> dict[str, Any]:
    """`connections` keep-alive readers for `seconds`: as fast as answered, or paced at `rate` requests/s in all."""
    q: Any = multiprocessing.Queue()
    per = max(1, connections // clients)
    procs = [
        multiprocessing.Process(target=_client, args=(port, path, seconds, per, gz, q, rate / clients))
        for _ in range(clients)
    ]
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
    lat.sort()
    return {
        "rate": len(lat) / seconds,
        "p50": lat[len(lat) // 2] * 1000 if lat else float("nan"),
        "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan"),
        "statuses": statuses,
    }


# --- the alerts ----------------------------------------------------------------------------------


def _alerts(start: int, n: int) -> bytes:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    alerts = [
        {"status": "firing", "startsAt": now, "endsAt": "0001-01-01T00:00:00Z",
         "labels": {"alertname": "HighErrorRate", "service": f"svc-{i % 20}", "severity": "critical",
                    "instance": f"bench-{i}"},
         "annotations": {"summary": f"5xx above 1% on instance {i}"}, "fingerprint": f"bench{i:012d}"}
        for i in range(start, start + n)
    ]  # fmt: skip
    body = {"version": "4", "status": "firing", "receiver": "warroom", "groupKey": "{}:{}", "alerts": alerts}
    return json.dumps(body).encode()


def _ingest(port: int, token: str, rate: float, batch: int, seconds: float, out: Any) -> None:
    """POST Alertmanager webhooks of `batch` alerts at `rate` alerts a second for `seconds`."""
    posts_per_s = rate / batch
    total = int(posts_per_s * seconds)
    bodies = [_alerts(n * batch, batch) for n in range(total)]
    result = asyncio.run(
        post_load(
            "127.0.0.1",
            port,
            f"/api/v1/alerts/alertmanager?token={token}",
            lambda i: bodies[i],
            total=total,
            connections=8,
            rate=posts_per_s,
        )
    )
    out.put((result.ok * batch / result.elapsed if result.elapsed else 0.0, result.statuses, result.pct(99) * 1000))


class Ingest:
    """Alerts flowing into the server while a measurement runs (started first, so it is at its rate)."""

    def __init__(self, port: int, token: str, rate: float, batch: int, seconds: float) -> None:
        self.q: Any = multiprocessing.Queue()
        self.proc = multiprocessing.Process(target=_ingest, args=(port, token, rate, batch, seconds, self.q))

    def __enter__(self) -> Ingest:
        self.proc.start()
        time.sleep(1.5)
        return self

    def __exit__(self, *exc: object) -> None:
        self.accepted, self.statuses, self.p99 = self.q.get(timeout=120)
        self.proc.join()


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used (Linux /proc), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, most: float = 0.15, timeout: float = 60.0) -> None:
    """Wait until the server uses at most `most` of a core over half a second (its own work is done)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before <= most * 0.5:
            return


# --- the run -------------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10.0, help="each measurement (default 10; --quick 3)")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--clients", type=int, default=1, help="load generator processes")
    ap.add_argument("--incidents", type=int, default=500)
    ap.add_argument("--components", type=int, default=20)
    ap.add_argument("--ingest-rate", type=float, default=1000.0, help="alerts per second during the second round")
    ap.add_argument("--ingest-batch", type=int, default=10, help="alerts per Alertmanager POST")
    ap.add_argument("--paced-rate", type=float, default=10_000, help="then paced at this many requests/s (0: no)")
    ap.add_argument("--paced-only", action="store_true", help="only the paced rounds")
    ap.add_argument("--db", type=Path, default=None, help="a SQLite file: seeded if missing, else reused")
    ap.add_argument("--quick", action="store_true", help="3 s a measurement")
    ap.add_argument("--json", type=Path, default=None, help="write the figures here as one flat JSON object")
    args = ap.parse_args()
    seconds = 3.0 if args.quick and args.seconds == 10.0 else args.seconds
    figures: dict[str, Any] = {"incidents": args.incidents, "components": args.components,
                               "connections": args.connections, "seconds": seconds}  # fmt: skip
    tmp = Path(tempfile.mkdtemp(prefix="warroom-status-bench-"))
    path = args.db or tmp / "bench.db"
    url = f"sqlite:///{path}"
    token_file = path.with_suffix(".token")
    if not path.exists() or not token_file.exists():
        upgrade(url)
        t0 = time.perf_counter()
        token_file.write_text(seed(url, args.incidents, args.components))
        figures["seed_seconds"] = time.perf_counter() - t0
        print(f"seeded {args.incidents} incidents ({args.incidents * 3} posts), {args.components} components "
              f"in {figures['seed_seconds']:.1f}s")  # fmt: skip
    token = token_file.read_text().strip()
    port = 18000 + os.getpid() % 1000
    env = {**os.environ, "WARROOM_DATABASE_URL": url, "WARROOM_PORT": str(port), "WARROOM_POLICY": "nself",
           "WARROOM_URL": ""}  # fmt: skip
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
        settle(server.pid)  # the engine's start-up work on the seeded history (overdue postmortem timers) first
        for p, name in PATHS:
            t1 = time.perf_counter()
            first = httpx.get(f"http://127.0.0.1:{port}{p}", timeout=30)
            figures[f"{name}_first_ms"] = 1000 * (time.perf_counter() - t1)
            figures[f"{name}_bytes"] = len(first.content)
            gz = httpx.get(f"http://127.0.0.1:{port}{p}", headers={"Accept-Encoding": "gzip"}, timeout=30)
            figures[f"{name}_gzip_bytes"] = int(gz.headers.get("content-length", 0))
            print(f"{p}: first answer (the build) {figures[f'{name}_first_ms']:.0f} ms, {len(first.content):,} "
                  f"bytes ({figures[f'{name}_gzip_bytes']:,} gzipped)")  # fmt: skip
        print(f"\n{'path':<32} {'gzip':>4} {'alerts/s':>8} {'conns':>5} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'server':>7}  statuses  (server: its CPU, share of one core)")  # fmt: skip
        # The storm's first alerts declare its incidents (and page): that happens once, before the rounds, which
        # measure a storm going on, as Alertmanager sends it again and again.
        with Ingest(port, token, args.ingest_rate, args.ingest_batch, 3.0):
            pass
        settle(server.pid)
        runs = [(p, name, gz) for gz in (True, False) for p, name in PATHS]
        paced = int(args.paced_rate)
        modes = ([] if args.paced_only else [("", 0.0)]) + ([(f"_at_{paced}", float(paced))] if paced else [])
        for mode, rate in modes:
            print(f"\n{'as fast as answered' if not rate else f'paced at {paced:,} requests/s in all'}:")
            for p, name, gz in runs:  # each quiet round next to its busy one: the machine drifts less in between
                for ingesting in (False, True):
                    key = f"{name}_{'gzip' if gz else 'plain'}{mode}" + ("_ingesting" if ingesting else "")
                    if ingesting:
                        with Ingest(port, token, args.ingest_rate, args.ingest_batch, seconds + 3) as flow:
                            cpu0, wall0 = cpu_seconds(server.pid), time.perf_counter()
                            got = load(port, p, seconds, args.connections, args.clients, gz, rate)
                            cpu1, wall1 = cpu_seconds(server.pid), time.perf_counter()
                        figures[f"{key}_alerts_per_s"] = flow.accepted
                        figures[f"{key}_alert_p99_ms"] = flow.p99
                        alerts = f"{flow.accepted:,.0f}"
                    else:
                        cpu0, wall0 = cpu_seconds(server.pid), time.perf_counter()
                        got = load(port, p, seconds, args.connections, args.clients, gz, rate)
                        cpu1, wall1 = cpu_seconds(server.pid), time.perf_counter()
                        alerts = "-"
                    served = got["rate"] * seconds
                    figures[f"{key}_req_per_s"] = got["rate"]
                    figures[f"{key}_p50_ms"] = got["p50"]
                    figures[f"{key}_p99_ms"] = got["p99"]
                    figures[f"{key}_errors"] = sum(n for s, n in got["statuses"].items() if s >= 400)
                    figures[f"{key}_server_cpu"] = (cpu1 - cpu0) / (wall1 - wall0)
                    if not ingesting and served:
                        figures[f"{key}_server_us_per_req"] = 1e6 * (cpu1 - cpu0) / served
                    print(f"{p:<32} {'yes' if gz else 'no':>4} {alerts:>8} {args.connections:>5} "
                          f"{got['rate']:>9,.0f} {got['p50']:>8.2f} {got['p99']:>8.2f} "
                          f"{figures[f'{key}_server_cpu']:>7.0%}  {got['statuses']}")  # fmt: skip
            shares = []
            for _, name, gz in runs:
                key = f"{name}_{'gzip' if gz else 'plain'}{mode}"
                quiet, busy = figures[f"{key}_req_per_s"], figures[f"{key}_ingesting_req_per_s"]
                figures[f"{key}_ingesting_ratio"] = busy / quiet if quiet else float("nan")
                shares.append(f"{key} {figures[key + '_ingesting_ratio']:.0%}")
            print("while ingesting, as a share of the quiet rate: " + ", ".join(shares))
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    ctx = context(Database(url), load_policy("nself"), FakeClock(datetime.now(UTC)))
    t2 = time.perf_counter()
    out = exporter.export(ctx, tmp / "export")
    figures["export_seconds"] = time.perf_counter() - t2
    figures["export_files"], figures["export_bytes"] = out.files, out.bytes
    print(f"\nstatic export: {out.files} files, {out.bytes:,} bytes in {figures['export_seconds']:.2f}s")
    ctx.db.dispose()
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()

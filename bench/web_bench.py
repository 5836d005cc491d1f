"""The responders' pages under a crowd: 10,000 incidents (100 open) and 1,000,000 alerts stored, 16 concurrent
readers against one `warroom serve` on SQLite, then the live update's latency with 200 event streams open.

    .venv/bin/python -m bench.web_bench [--quick] [--seconds 8] [--readers 16] [--streams 200] [--json PATH]

Each reader signs in with an API token (a responder's) and reads over a keep-alive connection: the dashboard
`/`, `GET /api/v1/incidents` and one open incident's page, each for `--seconds`, reporting requests/s and
p99 (target: >= 500 req/s, p99 < 100 ms); then the dashboard and the incident page again while a responder
logs a timeline entry on that incident every 0.5 s (`*_changing`: each change makes the pages read afresh).
Then `--streams` clients hold `/api/v1/events` open as the live pages do; a timeline entry is posted through
the API, and the figure is the time from that request until every stream has its `changed` event, and until
every page has fetched itself again (as live.js does).

The open incidents are declared through the incident service (timers, pages, timeline, as in life); the
closed history and the alerts are bulk-loaded with SQL, which is the only way to store a million rows in
seconds. The load generator is a lean asyncio HTTP/1.1 client in its own process (httpx would measure
itself); on a 2-core machine client and server share the cores: read the figures so. 127.0.0.1 only.
`--quick` stores 1,000 incidents (20 open) and 100,000 alerts, reads 3 s each, opens 50 streams.
`--json PATH` writes the figures as one flat JSON object {name: number}.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from warroom.auth import tokens, users
from warroom.compose import context
from warroom.domain.clock import FakeClock
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.policy import load_policy
from warroom.store.db import Database, sqlite_time
from warroom.store.migrate import upgrade

SEVERITIES = ["P0", "P1", "P2", "P2", "P3", "P3", "P4"]
SERVICES = [f"svc-{n:02d}" for n in range(40)]


# --- the data -----------------------------------------------------------------------------------


def seed(url: str, path: Path, incidents: int, open_count: int, alerts: int) -> tuple[str, str]:
    """Returns (a responder's token, one open incident's id)."""
    now = datetime.now(UTC)
    clock = FakeClock(now - timedelta(hours=6))
    ctx = context(Database(url), load_policy("nself"), clock)
    users.add(ctx, "reader", "responder", password="a bench password that is long")
    secret = tokens.create(ctx, "bench-reader", "responder", "bench", user="reader")[1]
    open_ids = []
    step = timedelta(hours=5) / max(1, open_count)
    for n in range(open_count):
        clock.set(now - timedelta(hours=5, minutes=30) + step * n)
        sev = SEVERITIES[n % len(SEVERITIES)]
        inc = service.declare(
            ctx, DeclareRequest(severity=sev, title=f"Open incident {n}", service=SERVICES[n % 40], by="bench")
        )
        open_ids.append(inc.id)
        if n % 5:
            clock.advance(timedelta(minutes=2))
            service.acknowledge(ctx, inc.id, f"responder{n % 7}")
        if n % 3 == 0:
            clock.advance(timedelta(minutes=1))
            service.post_update(ctx, inc.id, "internal", "Still looking into it.", f"responder{n % 7}")
        for k in range(3):
            service.log(ctx, inc.id, f"note {k}", f"responder{n % 7}")
    ctx.db.dispose()
    _bulk(path, now, incidents - open_count, alerts, open_ids)
    return secret, open_ids[len(open_ids) // 2]


def _bulk(path: Path, now: datetime, closed: int, alerts: int, open_ids: list[str]) -> None:
    """Closed history (each with three timeline entries), alert groups and alerts, straight into SQLite."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("BEGIN")
    rows, entries = [], []
    per_day: dict[str, int] = {}
    for n in range(closed):
        at = now - timedelta(days=8) - timedelta(minutes=97 * n)
        day = at.strftime("%Y%m%d")
        per_day[day] = per_day.get(day, 0) + 1
        iid = f"INC-{day}-{per_day[day]:04d}"
        t, done = sqlite_time(at), sqlite_time(at + timedelta(hours=2))
        rows.append((iid, f"Past incident {n}", f"past-incident-{n}", "", SERVICES[n % 40], SEVERITIES[n % 7],
                     "closed", "nself", "", "", "manual", "bench", t, t, t, "bench", done, done, done,
                     0, "{}", "{}", 0, done))  # fmt: skip
        for what in ("Declared", "Resolved", "Closed"):
            entries.append((iid, t, "bench", what.lower(), what, "", "{}"))
    db.executemany(
        "INSERT INTO incidents (id, title, slug, summary, service, severity, status, policy, channel, topic, "
        "source, declared_by, detected_at, declared_at, acknowledged_at, acknowledged_by, mitigated_at, "
        "resolved_at, closed_at, reopened_count, impact, flags, mitigation_failures, updated_at, version) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
        rows,
    )
    db.executemany(
        "INSERT INTO timeline_entries (incident_id, at, actor, kind, what, outcome, data) VALUES (?,?,?,?,?,?,?)",
        entries,
    )
    # Groups of 50 alerts each; the open incidents' groups stay open with their alerts firing.
    per_group = 50
    groups = max(1, alerts // per_group)
    t0 = now - timedelta(days=365)
    span = (now - t0).total_seconds()
    links = dict(enumerate(open_ids))
    db.executemany(
        "INSERT INTO alert_groups (id, key, status, storm, outcome, severity, confidence, triage, incident_id, "
        "opened_at, last_alert_at, closed_at, alert_count, services, decided_by, decided_at, history) "
        "VALUES (?,?,?,0,?,?,80,'{}',?,?,?,?,?,?,'triage',?,'[]')",
        [
            (
                g + 1,
                f"service={SERVICES[g % 40]}|g{g}",
                "open" if g in links else "closed",
                "incident" if g in links else "ticket",
                SEVERITIES[g % 7],
                links.get(g),
                sqlite_time(t0 + timedelta(seconds=span * g / groups)),
                sqlite_time(t0 + timedelta(seconds=span * g / groups + 600)),
                None if g in links else sqlite_time(t0 + timedelta(seconds=span * g / groups + 3600)),
                per_group,
                json.dumps([SERVICES[g % 40]]),
                sqlite_time(t0 + timedelta(seconds=span * g / groups)),
            )
            for g in range(groups)
        ],
    )
    svc = "'svc-' || printf('%02d', (i / :per) % 40)"
    at = "datetime(:t0, '+' || (i * :span / :n) || ' seconds')"
    db.execute(
        f"""
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < :n - 1)
        INSERT INTO alerts (id, key, source, integration, fingerprint, status, service, summary, severity_hint,
            labels, details, links, received_at, first_seen, last_seen, resolved_at, count, raw, group_id)
        SELECT i + 1, 'alertmanager:fp' || i, 'alertmanager', 'alertmanager', 'fp' || i,
            CASE WHEN i / :per < :open THEN 'firing' ELSE 'resolved' END,
            {svc}, 'High error rate on ' || {svc}, 'critical',
            '{{"alertname":"HighErrorRate","service":"' || {svc} || '"}}', '{{}}', '[]', {at}, {at}, {at},
            CASE WHEN i / :per < :open THEN NULL ELSE datetime(:t0, '+' || (i * :span / :n + 600) || ' seconds') END,
            1, '{{}}', i / :per + 1
        FROM n
        """,
        {"n": alerts, "per": per_group, "open": len(open_ids), "t0": sqlite_time(t0), "span": int(span)},
    )
    db.executemany("UPDATE alerts SET incident_id = ? WHERE group_id = ?", [(iid, g + 1) for g, iid in links.items()])
    db.execute("COMMIT")  # no ANALYZE: warroom never runs one, so the planner works without statistics
    db.close()


# --- the load -----------------------------------------------------------------------------------


class Conn:
    """One keep-alive HTTP/1.1 connection that sends GETs and reads whole answers."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None and self.writer is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{self.extra}\r\n".encode())
        status = int((await self.reader.readline()).split()[1])
        length, chunked = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
            elif name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if not chunked:
            return status, await self.reader.readexactly(length) if length else b""
        data = b""
        while size := int((await self.reader.readline()).strip(), 16):
            data += await self.reader.readexactly(size)
            await self.reader.readline()
        await self.reader.readline()
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


def _readers(port: int, token: str, path: str, seconds: float, readers: int, out: Any) -> None:
    lat: list[float] = []
    statuses: dict[int, int] = {}

    async def one(until: float) -> None:
        conn = Conn(port, {"Authorization": f"Bearer {token}", "Accept": "text/html,application/json"})
        try:
            while time.perf_counter() < until:
                t0 = time.perf_counter()
                status, _ = await conn.get(path)
                lat.append(time.perf_counter() - t0)
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            conn.close()

    async def main() -> float:
        start = time.perf_counter()
        await asyncio.gather(*(one(start + seconds) for _ in range(readers)))
        return time.perf_counter() - start

    elapsed = asyncio.run(main())
    out.put((lat, statuses, elapsed))


def load(port: int, token: str, path: str, seconds: float, readers: int, change: str | None = None) -> dict[str, float]:
    """`readers` keep-alive readers of `path` for `seconds`; with `change` (an incident), a responder logs a
    timeline entry on it every CHANGE_EVERY seconds meanwhile, so the pages are read afresh after each."""
    q: Any = multiprocessing.Queue()
    proc = multiprocessing.Process(target=_readers, args=(port, token, path, seconds, readers, q))
    stop = threading.Event()
    writer = threading.Thread(target=_changes, args=(port, token, change, stop), daemon=True) if change else None
    proc.start()
    if writer:
        writer.start()
    lat, statuses, elapsed = q.get()
    stop.set()
    proc.join()
    if writer:
        writer.join()
    lat.sort()
    pct = lambda p: 1000 * lat[min(len(lat) - 1, int(len(lat) * p))] if lat else float("nan")  # noqa: E731
    ok = statuses.get(200, 0)
    return {"rate": len(lat) / elapsed, "p50": pct(0.5), "p99": pct(0.99), "errors": len(lat) - ok}


CHANGE_EVERY = 0.5


def _changes(port: int, token: str, incident: str, stop: threading.Event) -> None:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        n = 0
        while not stop.wait(CHANGE_EVERY):
            n += 1
            http.post(
                f"/api/v1/incidents/{incident}/timeline",
                json={"what": f"while reading {n}"},
                headers={"Authorization": f"Bearer {token}"},
            ).raise_for_status()


async def _stream(port: int, token: str, ready: asyncio.Event, seen: list[float], count: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    try:
        while line := await reader.readline():
            if line.startswith(b"event: ready"):
                count[0] += 1
                if count[0] == count[1]:
                    ready.set()
            elif line.startswith(b"event: changed"):
                seen.append(time.perf_counter())
    except (asyncio.CancelledError, ConnectionError):
        pass
    finally:
        writer.close()


async def live(port: int, token: str, incident: str, streams: int, rounds: int) -> dict[str, float]:
    """Time from a change (a timeline entry posted through the API) until all streams saw it, and until every
    page fetched itself again."""
    ready = asyncio.Event()
    count = [0, streams]
    seen: list[float] = []
    tasks = [asyncio.create_task(_stream(port, token, ready, seen, count)) for _ in range(streams)]
    await asyncio.wait_for(ready.wait(), 60)
    pages = [Conn(port, {"Authorization": f"Bearer {token}", "Accept": "text/html"}) for _ in range(streams)]
    events, refreshed = [], []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
        for n in range(rounds):
            await asyncio.sleep(1.5)
            seen.clear()
            t0 = time.perf_counter()
            resp = await http.post(
                f"/api/v1/incidents/{incident}/timeline",
                json={"what": f"live bench {n}"},
                headers={"Authorization": f"Bearer {token}"},
            )
            resp.raise_for_status()
            deadline = time.perf_counter() + 10
            while len(seen) < streams and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            if len(seen) < streams:
                raise RuntimeError(f"only {len(seen)} of {streams} streams saw the change within 10 s")
            events.append(max(seen) - t0)
            await asyncio.gather(*(p.get(f"/incidents/{incident}") for p in pages))  # as live.js refreshes
            refreshed.append(time.perf_counter() - t0)
    for p in pages:
        p.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"events_max": 1000 * max(events), "events_median": 1000 * sorted(events)[len(events) // 2],
            "refreshed_max": 1000 * max(refreshed)}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1,000 incidents, 100,000 alerts, 3 s reads, 50 streams")
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--readers", type=int, default=16)
    ap.add_argument("--streams", type=int, default=None)
    ap.add_argument("--json", type=Path, default=None, help="write the figures here as {name: number}")
    args = ap.parse_args()
    incidents, open_count, alerts = (1_000, 20, 100_000) if args.quick else (10_000, 100, 1_000_000)
    seconds = args.seconds or (3.0 if args.quick else 8.0)
    streams = args.streams or (50 if args.quick else 200)
    tmp = Path(tempfile.mkdtemp(prefix="warroom-web-bench-"))
    path = tmp / "bench.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    t0 = time.perf_counter()
    token, incident = seed(url, path, incidents, open_count, alerts)
    print(
        f"seeded {incidents:,} incidents ({open_count} open) and {alerts:,} alerts in {time.perf_counter() - t0:.1f}s"
    )
    port = 19000 + os.getpid() % 1000
    env = {**os.environ, "WARROOM_DATABASE_URL": url, "WARROOM_PORT": str(port), "WARROOM_POLICY": "nself"}
    log = (tmp / "serve.log").open("wb")
    server = subprocess.Popen([sys.executable, "-m", "warroom", "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    figures: dict[str, float] = {}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        time.sleep(2)  # the engine catches up on the seeded incidents' timers first
        print(f"\n{'what':<40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
        for name, target, change in (
            ("dashboard", "/", None),
            ("incident_list", "/api/v1/incidents", None),
            ("incident_page", f"/incidents/{incident}", None),
            ("dashboard_changing", "/", incident),
            ("incident_page_changing", f"/incidents/{incident}", incident),
        ):
            load(port, token, target, 1.0, args.readers)  # warm-up
            r = load(port, token, target, seconds, args.readers, change)
            label = f"{name} {target[:16]}"
            print(f"{label:<40} {r['rate']:>8,.0f} {r['p50']:>8.1f} {r['p99']:>8.1f} {r['errors']:>7.0f}")
            figures[f"web_{name}_req_per_s"] = round(r["rate"], 1)
            figures[f"web_{name}_p99_ms"] = round(r["p99"], 1)
            figures[f"web_{name}_errors"] = r["errors"]
        lv = asyncio.run(live(port, token, incident, streams, 3 if args.quick else 5))
        print(
            f"\nlive update, {streams} streams open: every stream had the event after {lv['events_max']:.0f} ms "
            f"(median round {lv['events_median']:.0f} ms); every page fetched again after {lv['refreshed_max']:.0f} ms"
        )
        figures["web_live_streams"] = streams
        figures["web_live_all_streams_ms"] = round(lv["events_max"], 1)
        figures["web_live_all_pages_refreshed_ms"] = round(lv["refreshed_max"], 1)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")
        print(f"figures written to {args.json}")


if __name__ == "__main__":
    main()

"""10,000 pending timers across 1,000 open incidents: how late does each fire, while the API answers?

A real `warroom serve` (its engine loop inside) works through timers due over a window of
seconds, while a client keeps reading incidents and /healthz. Latency is the timer's
`finished_at - due_at` (the firing's clock reading, taken as its transaction starts).

Run: .venv/bin/python -m bench.engine_timers [sqlite|postgresql ...] [--window S] [--workers N] [--api-rate R]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import yaml
from sqlalchemy import insert, select

from warroom.compose import context
from warroom.domain.clock import SystemClock
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.policy.loader import read_policy_file
from warroom.store.db import Database
from warroom.store.engine_models import Timer
from warroom.store.migrate import upgrade

PG_ADMIN = os.environ.get("WARROOM_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
INCIDENTS = 1_000
TIMERS = 10_000
QUIET = {
    "name": "bench",
    "severities": [{"name": "P1"}],  # no paging, SLA or cadence: the only timers are the bench's own
}


@dataclass
class Outcome:
    backend: str
    workers: int
    fired: int = 0
    lags: list[float] = field(default_factory=list)
    api: list[float] = field(default_factory=list)
    api_errors: int = 0
    elapsed: float = 0.0

    def pct(self, values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg(sql: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def database(backend: str, folder: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}", None
    name = f"warroom_bench_{uuid.uuid4().hex[:8]}"
    _pg(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{name}", name


def run_one(backend: str, window: float, workers: int, folder: Path, api_rate: float) -> Outcome:
    url, pg_name = database(backend, folder)
    out = Outcome(backend, workers)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(url)
        policy_file = folder / "bench-policy.yaml"
        policy_file.write_text(yaml.safe_dump(QUIET), encoding="utf-8")
        ctx = context(Database(url), read_policy_file(policy_file), SystemClock())
        started = time.perf_counter()
        ids = [
            service.declare(ctx, DeclareRequest(severity="P1", title=f"open {i}", by="bench")).id
            for i in range(INCIDENTS)
        ]
        print(f"  {backend}: declared {INCIDENTS} incidents in {time.perf_counter() - started:.1f}s", file=sys.stderr)

        port = free_port()
        env = {**os.environ, "WARROOM_DATABASE_URL": url, "WARROOM_POLICY": str(policy_file), "WARROOM_PORT": str(port)}
        env["WARROOM_URL"] = ""
        procs.append(subprocess.Popen([sys.executable, "-m", "warroom", "serve"], env=env, stderr=subprocess.DEVNULL))
        for n in range(workers):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "warroom", "worker", "--id", f"bench-{n}"],
                    env=env,
                    stderr=subprocess.DEVNULL,
                )
            )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("warroom serve did not come up")
            time.sleep(0.2)

        rng = random.Random(1)
        t0 = datetime.now(UTC) + timedelta(seconds=3)
        rows = [
            {
                "key": f"bench:{i}",
                "kind": "reminder",
                "incident_id": ids[i % INCIDENTS],
                "due_at": t0 + timedelta(seconds=rng.uniform(0, window)),
                "payload": {"audience": "internal", "event": "bench"},
                "state": "pending",
                "attempts": 0,
                "created_at": datetime.now(UTC),
                "outcome": "",
            }
            for i in range(TIMERS)
        ]
        with ctx.db.unit() as s:
            s.execute(insert(Timer), rows)
        stop = threading.Event()

        def reader() -> None:
            with httpx.Client(base_url=base, timeout=10) as http:
                while not stop.is_set():
                    if api_rate:
                        time.sleep(1 / api_rate)
                    path = "/healthz" if rng.random() < 0.3 else f"/api/v1/incidents/{rng.choice(ids)}"
                    t = time.perf_counter()
                    try:
                        ok = http.get(path).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    out.api.append(time.perf_counter() - t)
                    out.api_errors += 0 if ok else 1

        api = threading.Thread(target=reader)
        api.start()
        begin = time.perf_counter()
        finish = time.monotonic() + window + 120
        while time.monotonic() < finish:
            with ctx.db.unit() as s:
                lags = s.execute(select(Timer.finished_at, Timer.due_at).where(Timer.state == "done")).all()
            if len(lags) >= TIMERS:
                break
            time.sleep(1)
        out.elapsed = time.perf_counter() - begin
        stop.set()
        api.join(10)
        out.fired = len(lags)
        out.lags = [(f - d).total_seconds() for f, d in lags]
        ctx.db.dispose()
        return out
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        if pg_name:
            _pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("backends", nargs="*", default=["sqlite", "postgresql"])
    parser.add_argument("--window", type=float, default=60.0, help="seconds over which the 10,000 timers fall due")
    parser.add_argument("--workers", type=int, default=0, help="extra `warroom worker` processes (PostgreSQL)")
    parser.add_argument("--api-rate", type=float, default=20.0, help="API reads per second (0: as fast as possible)")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as folder:
        for backend in args.backends:
            workers = args.workers if backend == "postgresql" else 0
            results.append(run_one(backend, args.window, workers, Path(folder), args.api_rate))
    rate = TIMERS / args.window
    print(f"\n{TIMERS} timers over {INCIDENTS} open incidents, due within {args.window:g}s (~{rate:.0f}/s)", end="")
    print(f", API reads {'unthrottled' if not args.api_rate else f'~{args.api_rate:g}/s'}")
    head = f"{'backend':<12}{'loops':>6}{'fired':>8}{'lag p50':>10}{'lag p99':>10}{'lag max':>10}{'<=1s':>8}"
    head += f"{'API n':>8}{'API p50':>10}{'API p99':>10}{'API err':>8}"
    print(head)
    for r in results:
        within = sum(1 for x in r.lags if x <= 1.0) / len(r.lags) * 100 if r.lags else 0.0
        print(
            f"{r.backend:<12}{1 + r.workers:>6}{r.fired:>8}"
            f"{r.pct(r.lags, 50) * 1000:>8.0f}ms{r.pct(r.lags, 99) * 1000:>8.0f}ms{max(r.lags or [0]) * 1000:>8.0f}ms"
            f"{within:>7.1f}%{len(r.api):>8}{r.pct(r.api, 50) * 1000:>8.1f}ms{r.pct(r.api, 99) * 1000:>8.1f}ms"
            f"{r.api_errors:>8}"
        )


if __name__ == "__main__":
    main()

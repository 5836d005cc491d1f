"""10,000 and 100,000 pending timers across 1,000 open incidents: how late does each fire, while the API answers?

A real `warroom serve` (its engine loop inside) works through timers due over a window of
seconds, while a client keeps reading incidents and /healthz (with a viewer's token, so it works
with sign-in on or off). Latency is the timer's `finished_at - due_at` (the firing's clock
reading, taken as its transaction starts). Two phases on the same server and incidents:

- 10,000 pending: 10,000 timers, all due within the window;
- 100,000 pending: 90,000 more due a day later (pending the whole phase, never firing), and
  another 10,000 due within the window: the due load is the same, the pending set ten times larger.

Run: .venv/bin/python -m bench.engine_timers [sqlite|postgresql ...] [--window S] [--workers N] [--api-rate R]
     [--sizes 10000,100000] [--quick] [--json PATH]
(--quick: 200 incidents and a 10 s window with 1,666 due in it, the same rate; the target is p99 under 1 s)
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from sqlalchemy import delete, insert, select

from bench.common import free_port, one_line, pg_create, pg_drop, reader_token, write_figures
from warroom.compose import context
from warroom.domain.clock import SystemClock
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.policy.loader import read_policy_file
from warroom.store.db import Database
from warroom.store.engine_models import Timer
from warroom.store.migrate import upgrade

DUE = 10_000
"""timers due within the 60 s window, in each phase (~167/s)"""
LATER = timedelta(days=1)
QUIET = {
    "name": "bench",
    "severities": [{"name": "P1"}],  # no paging, SLA or cadence: the only timers are the bench's own
}


@dataclass
class Outcome:
    backend: str
    workers: int
    pending: int
    fired: int = 0
    lags: list[float] = field(default_factory=list)
    api: list[float] = field(default_factory=list)
    api_errors: int = 0
    elapsed: float = 0.0

    @staticmethod
    def pct(values: list[float], p: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] if ordered else float("nan")

    @property
    def within(self) -> float:
        return sum(1 for x in self.lags if x <= 1.0) / len(self.lags) * 100 if self.lags else 0.0


def database(backend: str, folder: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{folder / 'bench.db'}", None
    return pg_create()


def timer_rows(
    prefix: str, ids: list[str], count: int, t0: datetime, spread: float, rng: random.Random
) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "key": f"bench:{prefix}:{i}",
            "kind": "reminder",
            "incident_id": ids[i % len(ids)],
            "due_at": t0 + timedelta(seconds=rng.uniform(0, spread)),
            "payload": {"audience": "internal", "event": "bench"},
            "state": "pending",
            "attempts": 0,
            "created_at": now,
            "outcome": "",
        }
        for i in range(count)
    ]


def phase(ctx: Any, base: str, token: str, ids: list[str], pending: int, due: int, window: float, api_rate: float,
          out: Outcome) -> None:  # fmt: skip
    """`pending - due` timers due a day later, then `due` timers due within `window`; wait until those fired."""
    rng = random.Random(pending)
    prefix = f"p{pending}"
    for start in range(0, pending - due, 10_000):
        later = timer_rows(f"{prefix}-later-{start}", ids, min(10_000, pending - due - start),
                           datetime.now(UTC) + LATER, 3600.0, rng)  # fmt: skip
        with ctx.db.unit() as s:
            s.execute(insert(Timer), later)
    t0 = datetime.now(UTC) + timedelta(seconds=3)
    with ctx.db.unit() as s:
        s.execute(insert(Timer), timer_rows(prefix, ids, due, t0, window, rng))
    stop = threading.Event()

    def reader() -> None:
        with httpx.Client(base_url=base, timeout=10, headers={"Authorization": f"Bearer {token}"}) as http:
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
    mine = Timer.key.like(f"bench:{prefix}:%")
    lags: list[Any] = []
    while time.monotonic() < finish:
        with ctx.db.unit() as s:
            lags = list(s.execute(select(Timer.finished_at, Timer.due_at).where(mine, Timer.state == "done")).all())
        if len(lags) >= due:
            break
        time.sleep(1)
    out.elapsed = time.perf_counter() - begin
    stop.set()
    api.join(10)
    out.fired = len(lags)
    out.lags = [(f - d).total_seconds() for f, d in lags]


def run_backend(backend: str, sizes: list[int], due: int, window: float, workers: int, folder: Path, api_rate: float,
                incidents: int) -> list[Outcome]:  # fmt: skip
    url, pg_name = database(backend, folder)
    results: list[Outcome] = []
    procs: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(url)
        policy_file = folder / "bench-policy.yaml"
        policy_file.write_text(yaml.safe_dump(QUIET), encoding="utf-8")
        ctx = context(Database(url), read_policy_file(policy_file), SystemClock())
        started = time.perf_counter()
        ids = [
            service.declare(ctx, DeclareRequest(severity="P1", title=f"open {i}", by="bench")).id
            for i in range(incidents)
        ]
        print(f"  {backend}: declared {incidents} incidents in {time.perf_counter() - started:.1f}s", file=sys.stderr)

        port = free_port()
        env = {**os.environ, "WARROOM_DATABASE_URL": url, "WARROOM_POLICY": str(policy_file), "WARROOM_PORT": str(port)}
        env["WARROOM_URL"] = ""
        token = reader_token(env)
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
        for pending in sizes:
            out = Outcome(backend, workers, pending)
            phase(ctx, base, token, ids, pending, due, window, api_rate, out)
            print(f"  {backend}, {pending:,} pending: p99 lag {out.pct(out.lags, 99) * 1000:.0f} ms", file=sys.stderr)
            results.append(out)
            with ctx.db.unit() as s:  # the next phase starts from its own pending set
                s.execute(delete(Timer).where(Timer.state == "pending"))
        ctx.db.dispose()
        return results
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        if pg_name:
            pg_drop(pg_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("backends", nargs="*", default=["sqlite", "postgresql"])
    parser.add_argument(
        "--window", type=float, default=None, help="seconds over which each phase's due timers fall due"
    )
    parser.add_argument("--workers", type=int, default=0, help="extra `warroom worker` processes (PostgreSQL)")
    parser.add_argument("--api-rate", type=float, default=20.0, help="API reads per second (0: as fast as possible)")
    parser.add_argument("--sizes", default="10000,100000", help="pending timers per phase, comma-separated")
    parser.add_argument("--quick", action="store_true", help="200 incidents, a 15 s window")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here as one JSON object")
    args = parser.parse_args()
    window = args.window or (10.0 if args.quick else 60.0)
    due = DUE if not args.quick else int(DUE * window / 60)
    incidents = 200 if args.quick else 1_000
    sizes = [max(due, int(n)) for n in args.sizes.split(",") if n.strip()]
    results: list[Outcome] = []
    figures: dict[str, Any] = {"timers_window_s": window, "timers_incidents": incidents, "timers_due_per_phase": due}
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as folder:
        for backend in args.backends:
            workers = args.workers if backend == "postgresql" else 0
            try:
                results += run_backend(backend, sizes, due, window, workers, Path(folder), args.api_rate, incidents)
            except Exception as exc:  # the other backend's figures still count
                figures[f"error_timers_{backend}"] = one_line(exc)
                print(f"  {backend} failed: {exc}", file=sys.stderr)
    rate = due / window
    print(f"\n{due:,} timers due per phase over {incidents} open incidents, within {window:g}s (~{rate:.0f}/s)", end="")
    print(f", API reads {'unthrottled' if not args.api_rate else f'~{args.api_rate:g}/s'}")
    head = f"{'backend':<12}{'pending':>9}{'loops':>6}{'fired':>8}{'lag p50':>10}{'lag p99':>10}{'lag max':>10}"
    head += f"{'<=1s':>8}{'API n':>8}{'API p50':>10}{'API p99':>10}{'API err':>8}"
    print(head)
    for r in results:
        print(
            f"{r.backend:<12}{r.pending:>9,}{1 + r.workers:>6}{r.fired:>8}"
            f"{r.pct(r.lags, 50) * 1000:>8.0f}ms{r.pct(r.lags, 99) * 1000:>8.0f}ms{max(r.lags or [0]) * 1000:>8.0f}ms"
            f"{r.within:>7.1f}%{len(r.api):>8}{r.pct(r.api, 50) * 1000:>8.1f}ms{r.pct(r.api, 99) * 1000:>8.1f}ms"
            f"{r.api_errors:>8}"
        )
        name = f"timers_{r.backend}_{r.pending}"
        figures.update({
            f"{name}_fired": r.fired,
            f"{name}_lag_p50_ms": r.pct(r.lags, 50) * 1000,
            f"{name}_lag_p99_ms": r.pct(r.lags, 99) * 1000,
            f"{name}_lag_max_ms": max(r.lags) * 1000 if r.lags else float("nan"),
            f"{name}_within_1s_pct": r.within,
            f"{name}_api_p99_ms": r.pct(r.api, 99) * 1000,
            f"{name}_api_errors": r.api_errors,
        })  # fmt: skip
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()

"""A drill of 72 simulated hours with 50 incidents under the nself preset, timed in-process and through the CLI.

Run: .venv/bin/python -m bench.engine_drill [INCIDENTS] [--in-process] [--quick] [--json PATH]
(the issue's target: under 5 s; --quick skips the bytecode-cache runs, --json writes the figures)

Through the CLI it is timed twice: with Python as this environment runs it (when
PYTHONDONTWRITEBYTECODE is set and the virtual environment holds no compiled files, every run
compiles each module it imports from source, about 2 s of start-up), and with a bytecode cache in
a temporary PYTHONPYCACHEPREFIX, as an ordinary installation runs once its first run has cached them.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from bench.common import write_figures
from warroom.drill.runner import run
from warroom.drill.scenario import parse_scenario
from warroom.policy import load_policy

TARGET = 5.0
TINY = {"policy": "nself", "start": "2026-05-04T00:00:00Z", "until": "+1m", "events": []}

SEVERITIES = ["P0", "P1", "P1", "P2", "P2", "P3"]


def scenario(incidents: int = 50, hours: int = 72, seed: int = 4) -> dict[str, Any]:
    """Incidents spread over the first 60 hours, each worked to resolution like a real war room."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    for n in range(1, incidents + 1):
        t = rng.randint(0, 60 * 60)
        sev = rng.choice(SEVERITIES)
        who = rng.choice(["user-a", "user-b", "user-c"])
        ref = f"i{n}"

        def at(minutes: int, t: int = t) -> str:
            return f"+{t + minutes}m"

        events.append(
            {"at": at(0), "declare": {"ref": ref, "title": f"incident {n}", "severity": sev, "by": "monitor"}}
        )
        ack = rng.randint(1, 25)
        events.append({"at": at(ack), "ack": {"incident": ref, "by": who}})
        if rng.random() < 0.7:
            events.append({"at": at(ack + 1), "flag": {"incident": ref, "impact_confirmed": True, "by": who}})
        hyp = ack + rng.randint(1, 30)
        events.append({"at": at(hyp), "hypothesis": {"incident": ref, "by": who, "text": "a cause", "confidence": 60}})
        for k in range(rng.randint(1, 6)):
            events.append(
                {
                    "at": at(ack + 5 + 9 * k),
                    "update": {"incident": ref, "by": who, "audience": "internal", "text": "progress"},
                }
            )
        if rng.random() < 0.3:
            events.append(
                {"at": at(hyp + 5), "mitigate": {"incident": ref, "by": who, "strategy": "restart", "worked": False}}
            )
        fixed = hyp + rng.randint(10, 90)
        events.append(
            {"at": at(fixed), "mitigate": {"incident": ref, "by": who, "strategy": "rollback", "worked": True}}
        )
        events.append({"at": at(fixed + 16), "resolve": {"incident": ref, "by": who}})
    return {
        "policy": "nself",
        "start": "2026-05-04T00:00:00Z",
        "until": f"+{hours}h",
        "oncall": {"primary": "user-a", "backup": "user-b"},
        "events": events,
    }


def cli(path: Path, env: dict[str, str]) -> tuple[float, int]:
    """Wall time of `warroom drill PATH --json` in a fresh process, and how many actions it printed."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "warroom", "drill", str(path), "--json"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"warroom drill failed:\n{out.stderr}")
    return elapsed, sum(1 for line in out.stdout.splitlines() if json.loads(line))


def row(name: str, value: Any, fmt: str = "") -> None:
    print(f"{name:<46}{format(value, fmt):>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("incidents", nargs="?", type=int, default=50)
    parser.add_argument("--in-process", action="store_true", help="skip the runs through the CLI")
    parser.add_argument("--quick", action="store_true", help="skip the runs with a bytecode cache")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here as one JSON object")
    args = parser.parse_args()
    data = scenario(args.incidents)
    spec = parse_scenario(data)
    policy = load_policy("nself")
    run(parse_scenario(TINY), policy)  # build the migrated template database once, outside the timing
    started, cpu = time.perf_counter(), time.process_time()
    result = run(spec, policy)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    kinds = Counter(a.kind for a in result.actions)
    row("drill", "value")
    row("simulated hours", 72)
    row("incidents", len(result.incidents))
    row("scenario events", len(spec.events))
    row("actions printed", len(result.actions))
    for kind in ("page", "reminder", "sla_breach", "escalation", "watch_passed", "postmortem_due"):
        row("  " + kind, kinds.get(kind, 0))
    row("in-process: wall time (s)", elapsed, ".2f")
    row("in-process: CPU time (s)", cpu, ".2f")
    timings = {"in-process": elapsed}
    figures: dict[str, Any] = {
        "drill_incidents": len(result.incidents),
        "drill_actions": len(result.actions),
        "drill_in_process_s": elapsed,
        "drill_in_process_cpu_s": cpu,
    }
    if not args.in_process:
        with tempfile.TemporaryDirectory(prefix="warroom-bench-drill-") as folder:
            path, tiny = Path(folder) / "drill.yaml", Path(folder) / "tiny.yaml"
            path.write_text(yaml.safe_dump(data), encoding="utf-8")
            tiny.write_text(yaml.safe_dump(TINY), encoding="utf-8")
            env = {**os.environ, "WARROOM_URL": ""}
            cached = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
            cached["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "pycache")
            cli(tiny, cached)  # fill the bytecode cache
            row("CLI as configured: PYTHONDONTWRITEBYTECODE", "set" if sys.flags.dont_write_bytecode else "unset")
            figures["drill_cli_startup_s"] = cli(tiny, env)[0]
            row("CLI as configured: start-up, 1 min drill (s)", figures["drill_cli_startup_s"], ".2f")
            timings["CLI as configured"], printed = cli(path, env)
            figures["drill_cli_s"] = timings["CLI as configured"]
            row("CLI as configured: 72 h drill (s)", timings["CLI as configured"], ".2f")
            printed_cached = printed
            if not args.quick:
                figures["drill_cli_cached_startup_s"] = cli(tiny, cached)[0]
                row("CLI, bytecode cache: start-up (s)", figures["drill_cli_cached_startup_s"], ".2f")
                timings["CLI, bytecode cache"], printed_cached = cli(path, cached)
                figures["drill_cli_cached_s"] = timings["CLI, bytecode cache"]
                row("CLI, bytecode cache: 72 h drill (s)", timings["CLI, bytecode cache"], ".2f")
            if printed != len(result.actions) or printed_cached != len(result.actions):
                raise SystemExit(
                    f"the CLI printed {printed} / {printed_cached} actions, in-process {len(result.actions)}"
                )
    row("target (s)", TARGET, "g")
    for name, seconds in timings.items():
        print(f"{name}: {'PASS' if seconds < TARGET else 'SLOW'} ({seconds:.2f} s)")
    write_figures(args.json, figures)


if __name__ == "__main__":
    main()

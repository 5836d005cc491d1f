"""A drill of 72 simulated hours with 50 incidents under the nself preset, timed.

Run: .venv/bin/python -m bench.engine_drill   (the issue's target: under 5 s)
"""

from __future__ import annotations

import random
import sys
import time
from collections import Counter
from typing import Any

from warroom.drill.runner import run
from warroom.drill.scenario import parse_scenario
from warroom.policy import load_policy

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


def main() -> None:
    incidents = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    spec = parse_scenario(scenario(incidents))
    policy = load_policy("nself")
    warm = {"start": "2026-05-04T00:00:00Z", "until": "+1m", "events": []}
    run(parse_scenario(warm), policy)  # build the migrated template database once, outside the timing
    started, cpu = time.perf_counter(), time.process_time()
    result = run(spec, policy)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    kinds = Counter(a.kind for a in result.actions)
    print(f"{'drill':<28}{'value':>12}")
    print(f"{'simulated hours':<28}{72:>12}")
    print(f"{'incidents':<28}{len(result.incidents):>12}")
    print(f"{'scenario events':<28}{len(spec.events):>12}")
    print(f"{'actions printed':<28}{len(result.actions):>12}")
    for kind in (
        "page",
        "reminder",
        "sla_breach",
        "escalation",
        "watch_passed",
        "postmortem_due",
        "postmortem_reminder",
    ):
        print(f"{'  ' + kind:<28}{kinds.get(kind, 0):>12}")
    print(f"{'wall time (s)':<28}{elapsed:>12.2f}")
    print(f"{'CPU time (s)':<28}{cpu:>12.2f}")
    print(f"{'target (s)':<28}{5:>12}")
    print("PASS" if elapsed < 5 else "SLOW")


if __name__ == "__main__":
    main()

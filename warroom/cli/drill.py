"""`warroom drill`: a scenario on a simulated clock, in a throwaway database.

Only what a drill needs is imported, and only once it runs: `warroom drill` starts without the
HTTP client, the server or the notification senders.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer

from warroom.cli.root import app, console, err_console, fail


@app.command()
def drill(
    scenario: Path = typer.Argument(..., help="scenario YAML (policy, start, until, oncall, events, expect)"),
    policy: str = typer.Option(None, "--policy", help="preset name or policy file; overrides the scenario's"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per line instead of a table"),
    check: bool = typer.Option(False, "--check", help="compare with the scenario's expect: list; exit 1 if different"),
) -> None:
    """Run a scenario on a simulated clock and print every action the engine takes."""
    from warroom.domain.errors import PolicyError
    from warroom.drill import report
    from warroom.drill.runner import run
    from warroom.drill.scenario import ScenarioError, load_scenario
    from warroom.policy import load_policy

    started = time.perf_counter()
    try:
        spec = load_scenario(scenario)
        name = policy or spec.policy
        if name is None:
            from warroom.settings import get_settings

            name = get_settings().policy
        pol = load_policy(name)
        result = run(spec, pol)
    except (ScenarioError, PolicyError) as exc:
        fail(str(exc))
    elapsed = time.perf_counter() - started
    if as_json:
        sys.stdout.write(report.json_lines(result) + ("\n" if result.actions else ""))
    else:
        console.print(report.table(result))
        simulated = result.until - result.start
        console.print(
            f"{len(result.incidents)} incident(s), {len(result.actions)} actions, "
            f"{simulated.total_seconds() / 3600:g} simulated hours in {elapsed:.2f}s"
        )
    if check:
        if spec.expect is None and not spec.expect_none:
            fail(f"{scenario} has no expect: list to check against")
        expected = spec.expect or []
        try:
            problems = report.check(result, expected, spec.expect_none)
        except ScenarioError as exc:
            fail(str(exc))
        if problems:
            for p in problems:
                err_console.print(f"drill: {p}", markup=False, soft_wrap=True)
            err_console.print(f"drill: {len(problems)} difference(s) from expect:", markup=False)
            raise typer.Exit(1)
        err_console.print(f"drill: all {len(expected) + len(spec.expect_none)} expectations met", markup=False)

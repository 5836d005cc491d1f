"""Show a drill's actions (JSON lines or a table) and check them against the scenario's `expect:` list.

Checking: the actions of every kind that `expect` mentions must match it one for one, in
order; fields an expectation leaves out are not compared. So listing `page` expectations
asserts every page, and that there is no other page. `expect_none` lists kinds that must not occur.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from rich.table import Table
from rich.text import Text

from warroom.drill.runner import Action, DrillResult
from warroom.drill.scenario import ScenarioError, at_of

MAIN_FIELDS = ("severity", "by", "target", "person", "tier", "channels", "audience", "overdue", "clock", "phase")


def json_lines(result: DrillResult) -> str:
    return "\n".join(orjson.dumps(a.as_json()).decode() for a in result.actions)


def offset(start: datetime, at: datetime) -> str:
    seconds = int((at - start).total_seconds())
    hours, rest = divmod(seconds, 3600)
    return f"+{hours}:{rest // 60:02d}" + (f":{rest % 60:02d}" if rest % 60 else "")


def table(result: DrillResult) -> Table:
    t = Table(title=f"drill · policy {result.policy} · {len(result.actions)} actions", expand=False)
    t.add_column("+h:mm", justify="right", no_wrap=True)
    t.add_column("UTC", no_wrap=True)
    t.add_column("incident", no_wrap=True)
    t.add_column("kind", no_wrap=True)
    t.add_column("what")
    styles = {
        "page": "bold yellow",
        "escalation": "bold magenta",
        "sla_breach": "bold red",
        "phase_overrun": "red",
        "resolve_refused": "red",
        "refused": "red",
        "unacknowledged": "bold red",
        "reminder": "cyan",
        "watch_passed": "green",
        "resolved": "green",
    }
    # Text cells, not markup: an alert's summary is the sender's text and may hold [brackets].
    for a in result.actions:
        t.add_row(
            Text(offset(result.start, a.at)),
            Text(a.at.strftime("%m-%d %H:%M")),
            Text(a.incident or ""),
            Text(a.kind, style=styles.get(a.kind, "")),
            Text(a.text),
        )
    return t


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual or expected == actual
    if isinstance(expected, int | float) and isinstance(actual, int | float):
        return float(expected) == float(actual)
    if isinstance(expected, list | tuple) and isinstance(actual, list | tuple):
        return len(expected) == len(actual) and all(_same(e, a) for e, a in zip(expected, actual, strict=True))
    return bool(expected == actual)


def _describe(result: DrillResult, a: Action) -> str:
    bits = [f"{k}={a.fields[k]}" for k in MAIN_FIELDS if a.fields.get(k) is not None]
    return f"{a.kind} at {offset(result.start, a.at)} {' '.join(bits)}".rstrip()


def _describe_expected(exp: dict[str, Any]) -> str:
    rest = " ".join(f"{k}={v}" for k, v in exp.items() if k not in ("kind", "at"))
    return f"{exp.get('kind')} at {exp.get('at', '?')} {rest}".rstrip()


def check(result: DrillResult, expect: list[dict[str, Any]], expect_none: list[str] | None = None) -> list[str]:
    """Every mismatch between the actions and the expectations, as sentences; empty when they agree."""
    banned = set(expect_none or [])
    problems = [f"expect_none: {_describe(result, a)} happened: {a.text}" for a in result.actions if a.kind in banned]
    for i, exp in enumerate(expect):
        if not isinstance(exp, dict) or "kind" not in exp:
            raise ScenarioError(f"expect.{i}: each expectation needs at least a kind")
    kinds = {e["kind"] for e in expect}
    got = [a for a in result.actions if a.kind in kinds]
    i = j = 0
    while i < len(got) or j < len(expect):
        if j >= len(expect):
            problems.append(f"unexpected {_describe(result, got[i])}: {got[i].text}")
            i += 1
            continue
        if i >= len(got):
            problems.append(f"expect.{j}: wanted {_describe_expected(expect[j])}; the drill produced no more")
            j += 1
            continue
        diff = _diff(result, expect[j], got[i])
        if not diff:
            i, j = i + 1, j + 1
        elif j + 1 < len(expect) and not _diff(result, expect[j + 1], got[i]):
            problems.append(f"expect.{j}: wanted {_describe_expected(expect[j])}; it did not happen")
            j += 1
        elif i + 1 < len(got) and not _diff(result, expect[j], got[i + 1]):
            problems.append(f"unexpected {_describe(result, got[i])}: {got[i].text}")
            i += 1
        else:
            problems.append(
                f"expect.{j}: wanted {_describe_expected(expect[j])}; got {_describe(result, got[i])} ({diff})"
            )
            i, j = i + 1, j + 1
    return problems


def _diff(result: DrillResult, exp: dict[str, Any], a: Action) -> str:
    wrong = []
    if exp["kind"] != a.kind:
        wrong.append(f"kind is {a.kind}")
    if "at" in exp and at_of(result.start, exp["at"], "expect.at") != a.at:
        wrong.append(f"at is {offset(result.start, a.at)}")
    if "incident" in exp:
        ref = exp["incident"]
        if isinstance(ref, int) and 0 < ref <= len(result.incidents):
            want = result.incidents[ref - 1]
        else:
            want = result.refs.get(str(ref), ref)
        if want != a.incident:
            wrong.append(f"incident is {a.incident}")
    for key, value in exp.items():
        if key in ("kind", "at", "incident"):
            continue
        if key == "text_contains":
            if str(value).lower() not in a.text.lower():
                wrong.append(f"text is {a.text!r}")
            continue
        if key not in a.fields:
            wrong.append(f"it has no {key}")
        elif not _same(value, a.fields[key]):
            wrong.append(f"{key} is {a.fields[key]!r}")
    return "; ".join(wrong)

"""One benchmark report: run every benchmark in bench/ and write bench/RESULTS.md.

    .venv/bin/python -m bench.report            # the full run (`make bench`; meant to stay under 20 minutes on 2 cores)
    .venv/bin/python -m bench.report --quick    # smaller counts, a smoke run of a few minutes
    .venv/bin/python -m bench.report --only intake_bench,engine_drill --out /tmp/r.md

Each benchmark runs as its own process with `--json FILE` (and `--quick` when given) and writes its figures
as one flat JSON object (bench/common.py); this module only reads them. RESULTS.md holds the machine
(CPU, cores, RAM, OS, Python, SQLite, PostgreSQL, Alertmanager), the date, the commit, and one table:
figure | warroom | reference (measured in the same run) | ratio | target | met? | command. A figure whose
benchmark is missing, failed or did not measure it reads "not measured"; nothing is carried over from an
earlier run. Every other figure a benchmark wrote follows, listed by benchmark, so nothing is hidden.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bench:
    name: str
    """its module under bench/"""
    what: str
    full_timeout: float
    quick_timeout: float

    @property
    def module(self) -> str:
        return f"bench.{self.name}"

    def command(self, quick: bool) -> str:
        return f"python -m {self.module}" + (" --quick" if quick else "")


BENCHES = (
    Bench("engine_drill", "a 72-hour drill with 50 incidents, in-process and through the CLI", 300, 180),
    Bench("engine_timers", "timer lag at 10,000 and 100,000 pending timers, SQLite and PostgreSQL", 1200, 300),
    Bench("intake_bench", "alert intake beside Alertmanager; paging; storm; PostgreSQL with 2 serves; RSS", 1500, 400),
    Bench("web_bench", "the responders' pages and API with 10,000 incidents and 1,000,000 alerts", 1200, 300),
    Bench("status_bench", "the public status page under 64 connections", 600, 300),
)


@dataclass(frozen=True)
class Target:
    op: str
    """<, <=, >=, =="""
    bound: float | str
    on: str = "value"
    """value or ratio"""

    def text(self, unit: str) -> str:
        sign = {"<": "<", "<=": "≤", ">=": "≥", "==": "="}[self.op]
        if self.on == "ratio":
            return f"{sign} {self.bound:g}x" if isinstance(self.bound, float) else f"{sign} {self.bound}x"
        if isinstance(self.bound, str):
            return f"{sign} {self.bound}"
        return f"{sign} {fmt(self.bound)}{(' ' + unit) if unit else ''}"

    def met(self, value: Any) -> bool:
        if isinstance(self.bound, str) or isinstance(value, str):
            return str(value) == str(self.bound) if self.op == "==" else False
        v = float(value)
        return {"<": v < self.bound, "<=": v <= self.bound, ">=": v >= self.bound, "==": v == self.bound}[self.op]


@dataclass(frozen=True)
class Row:
    bench: str
    key: str
    label: str
    """may name other figures of the same benchmark, as {figure}"""
    unit: str = ""
    ref: str | None = None
    """the reference figure measured in the same run"""
    ref_name: str = ""
    ratio: str | None = None
    """a ratio the benchmark worked out itself (the median of per-round ratios); else value / reference"""
    target: Target | None = None
    detail: str = ""
    """shown after the value when it was measured; may name figures, as {figure}"""


@dataclass(frozen=True)
class Section:
    title: str


AM = "Alertmanager"
AMB = "Alertmanager, batched"
R = Row


def intake_rows(prefix: str) -> list[Row | Section]:
    b = "intake_bench"
    return [
        R(b, f"{prefix}single_req_per_s", "single-alert webhooks accepted", "req/s",
          f"{prefix}am_single_req_per_s", AM, f"{prefix}single_ratio", Target(">=", 0.3, "ratio")),
        R(b, f"{prefix}batch_alerts_per_s", "alerts accepted in batches of 100", "alerts/s",
          f"{prefix}am_batch_alerts_per_s", AM, f"{prefix}batch_ratio", Target(">=", 1.0, "ratio")),
        R(b, f"{prefix}single_applied_alerts_per_s", "single alerts applied (stored, grouped, triaged)", "alerts/s",
          f"{prefix}am_batch_alerts_per_s", AMB, f"{prefix}single_applied_ratio", Target(">=", 1.0, "ratio")),
        R(b, f"{prefix}batch_applied_alerts_per_s", "batched alerts applied", "alerts/s",
          f"{prefix}am_batch_alerts_per_s", AMB, f"{prefix}batch_applied_ratio", Target(">=", 1.0, "ratio")),
        *([R(b, f"{prefix}sqlite_floor_alerts_per_s", "the same alert rows written by SQLite alone (applied's ceiling)",
             "rows/s", f"{prefix}am_batch_alerts_per_s", AMB)] if prefix == "intake_" else []),
        R(b, f"{prefix}single_p99_ms", "single-alert webhook answered, p99", "ms", f"{prefix}am_single_p99_ms", AM),
        R(b, f"{prefix}batch_p99_ms", "batch of 100 answered, p99", "ms", f"{prefix}am_batch_p99_ms", AM),
        R(b, f"{prefix}backlog_peak_s", "backlog's peak, seconds of applying (bound 2 s)", "s"),
        R(b, f"{prefix}drain_after_load_s", "backlog applied after the load's last answer, the longest round",
          "s", target=Target("<=", 2.0)),
        R(b, f"{prefix}pushed_back_503", "webhooks pushed back (503, Retry-After)", ""),
        R(b, f"{prefix}stored", "alerts stored (503s are not retried)", "",
          detail="of {" + prefix + "sent} sent, in {" + prefix + "rounds} round(s)"),
    ]  # fmt: skip


ROWS: list[Row | Section] = [
    Section("Intake on SQLite, one `warroom serve` (medians of the rounds, each beside Alertmanager)"),
    *intake_rows("intake_"),
    Section("Intake on PostgreSQL, two `warroom serve` processes, the load spread over both"),
    *intake_rows("pg2_"),
    Section("Paging and floods"),
    R("intake_bench", "page_delivered_p50_ms", "alert → page at the on-call's receiver, p50", "ms"),
    R("intake_bench", "page_delivered_p99_ms", "alert → page at the on-call's receiver, p99", "ms",
      target=Target("<", 250.0), detail="{page_delivered} of {page_probes} arrived"),
    R("intake_bench", "page_recorded_p99_ms", "alert received → page row recorded, p99", "ms"),
    R("intake_bench", "unrelated_p99_ms", "20 unrelated alerts spread over a {unrelated_flood_seconds} s flood of "
      "{unrelated_flood} single alerts, first send → applied, p99", "ms", target=Target("<", 250.0),
      detail="{unrelated_applied} of {unrelated_sent} applied, {unrelated_declared} declared"),
    R("intake_bench", "pg2_unrelated_p99_ms", "the same on PostgreSQL with two serves, the flood "
      "({pg2_unrelated_flood} alerts) and the 20 spread over both", "ms", target=Target("<", 250.0),
      detail="{pg2_unrelated_applied} of {pg2_unrelated_sent} applied, {pg2_unrelated_declared} declared"),
    R("intake_bench", "storm_correct", "storm of {storm_sent} alerts in {storm_seconds} s for 50 services (so1): "
      "exactly one incident and one page, every alert stored", "", target=Target("==", "yes"),
      detail="{storm_incidents} incident(s), {storm_pages} page(s), {storm_stored} stored"),
    Section("Engine timers ({timers_due_per_phase} due within {timers_window_s} s per phase, "
            "{timers_incidents} open incidents, API read 20/s)"),
    R("engine_timers", "timers_sqlite_10000_lag_p99_ms", "SQLite, 10,000 pending: lag p99", "ms",
      target=Target("<", 1000.0)),
    R("engine_timers", "timers_sqlite_100000_lag_p99_ms", "SQLite, 100,000 pending: lag p99", "ms",
      target=Target("<", 1000.0)),
    R("engine_timers", "timers_postgresql_10000_lag_p99_ms", "PostgreSQL, 10,000 pending: lag p99", "ms",
      target=Target("<", 1000.0)),
    R("engine_timers", "timers_postgresql_100000_lag_p99_ms", "PostgreSQL, 100,000 pending: lag p99", "ms",
      target=Target("<", 1000.0)),
    R("engine_timers", "timers_sqlite_100000_api_p99_ms", "SQLite, 100,000 pending: API read p99", "ms"),
    R("engine_timers", "timers_postgresql_100000_api_p99_ms", "PostgreSQL, 100,000 pending: API read p99", "ms"),
    Section("Drill"),
    R("engine_drill", "drill_in_process_s", "72 h drill, 50 incidents, in-process", "s", target=Target("<", 5.0),
      detail="{drill_actions} actions"),
    R("engine_drill", "drill_cli_s", "the same through `warroom drill`", "s", target=Target("<", 5.0)),
    Section("Responders' pages and API, one `warroom serve` on SQLite with {web_scale} stored, 16 readers"),
    R("web_bench", "web_dashboard_req_per_s", "dashboard `/`", "req/s", target=Target(">=", 500.0)),
    R("web_bench", "web_dashboard_p99_ms", "dashboard `/`, p99", "ms", target=Target("<", 100.0)),
    R("web_bench", "web_incident_list_req_per_s", "`GET /api/v1/incidents`", "req/s", target=Target(">=", 500.0)),
    R("web_bench", "web_incident_list_p99_ms", "`GET /api/v1/incidents`, p99", "ms", target=Target("<", 100.0)),
    R("web_bench", "web_incident_page_req_per_s", "an incident's page", "req/s", target=Target(">=", 500.0)),
    R("web_bench", "web_incident_page_p99_ms", "an incident's page, p99", "ms", target=Target("<", 100.0)),
    R("web_bench", "web_live_all_streams_ms", "live update reaches all {web_live_streams} open streams", "ms",
      target=Target("<", 2000.0)),
    Section("Status page"),
    Section("Memory"),
    R("intake_bench", "rss_serve_mb", "RSS of `warroom serve` answering reads, {rss_alerts_stored} alerts stored "
      "(SQLite)", "MiB", "am_rss_mb", "Alertmanager holding as many", detail="peak {rss_serve_peak_mb} MiB"),
]  # fmt: skip


def fmt(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if value != value:
        return "—"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


DEFAULTS = {
    False: {"storm_sent": 10_000, "storm_seconds": 10, "unrelated_flood_seconds": 30, "timers_due_per_phase": 10_000,
            "timers_window_s": 60, "timers_incidents": 1_000, "rss_alerts_stored": 1_000_000, "web_live_streams": 200,
            "web_scale": "10,000 incidents (100 open) and 1,000,000 alerts"},
    True: {"storm_sent": 2_000, "storm_seconds": 2, "unrelated_flood_seconds": 5, "timers_due_per_phase": 1_666,
           "timers_window_s": 10, "timers_incidents": 200, "rss_alerts_stored": 100_000, "web_live_streams": 50,
           "web_scale": "1,000 incidents (20 open) and 100,000 alerts"},
}  # fmt: skip
"""what a label names when its benchmark did not say (the counts each mode runs with)"""


def label_of(row: Row | Section, figures: dict[str, Any], quick: bool = False, text: str | None = None) -> str:
    if text is None:
        text = row.title if isinstance(row, Section) else row.label
    figures = {**DEFAULTS[quick], **figures}

    class Known(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return "?"

    return text.format_map(Known({k: fmt(v) for k, v in figures.items()}))


# --- running -------------------------------------------------------------------------------------


@dataclass
class Run:
    bench: Bench
    status: str
    """ok | failed (exit N) | timed out | missing | no --json"""
    seconds: float = 0.0
    figures: dict[str, Any] | None = None
    tail: str = ""
    load: str = ""
    """the load average as it started, the machine's other work"""


def supports(bench: Bench) -> tuple[bool, bool, str]:
    """(it takes --json, it takes --quick, why it cannot run: "" when it can), from its file and its --help."""
    if not (ROOT / "bench" / f"{bench.name}.py").exists():
        return False, False, "missing"
    done = subprocess.run([sys.executable, "-m", bench.module, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return False, False, f"failed to start (`--help` exit {done.returncode}: {last[:120]})"
    return "--json" in done.stdout, "--quick" in done.stdout, ""


def run_bench(bench: Bench, quick: bool, folder: Path) -> Run:
    takes_json, takes_quick, why = supports(bench)
    if why:
        return Run(bench, why)
    if not takes_json:
        return Run(bench, "no --json")
    out = folder / f"{bench.name}.json"
    log = folder / f"{bench.name}.log"
    args = [sys.executable, "-m", bench.module, "--json", str(out)] + (["--quick"] if quick and takes_quick else [])
    timeout = bench.quick_timeout if quick else bench.full_timeout
    print(f"report: {' '.join(args[1:])} (at most {timeout:.0f} s) ...", file=sys.stderr, flush=True)
    at_start = load()
    started = time.perf_counter()
    with log.open("wb") as sink:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout)
            status = "ok" if code == 0 else f"failed (exit {code})"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 15)  # the benchmark and the servers it started
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait()
            status = "timed out"
    seconds = time.perf_counter() - started
    figures = json.loads(out.read_text()) if out.exists() else None
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
    print(f"report: {bench.name}: {status} in {seconds:.0f} s", file=sys.stderr, flush=True)
    return Run(bench, status, seconds, figures, tail, at_start)


# --- the machine ---------------------------------------------------------------------------------


def machine() -> list[tuple[str, str]]:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    osname = platform.platform()
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                osname = f"{line.split('=', 1)[1].strip(chr(34))}, Linux {platform.release()}"
    try:
        from bench.common import pg_version

        postgres = pg_version()
    except Exception as exc:
        postgres = f"unreachable ({type(exc).__name__})"
    try:
        from bench.intake_bench import alertmanager_version

        alertmanager = alertmanager_version()
    except Exception as exc:
        alertmanager = f"? ({type(exc).__name__})"
    return [
        ("CPU", cpu),
        ("cores", str(os.cpu_count())),
        ("RAM", mem),
        ("OS", osname),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", postgres),
        ("Alertmanager", alertmanager),
    ]


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short=12", "HEAD") or "?"
    subject = git("log", "-1", "--format=%s")
    subject = subject if len(subject) <= 100 else subject[:99].rsplit(" ", 1)[0] + " …"
    dirty = git("status", "--porcelain", "--untracked-files=no", "--", "warroom", "bench", "pyproject.toml", "uv.lock")
    return f"{head} ({subject})" + (" with uncommitted changes in warroom/ or bench/" if dirty else "")


def load() -> str:
    return ", ".join(f"{n:.2f}" for n in os.getloadavg())


# --- writing -------------------------------------------------------------------------------------


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def table(runs: dict[str, Run], quick: bool) -> list[str]:
    lines = ["| figure | warroom | reference | ratio | target | met? | command |", "|---|---|---|---|---|---|---|"]
    section_figures: dict[str, Any] = {}
    for each in runs.values():
        section_figures.update(each.figures or {})
    for row in ROWS:
        if isinstance(row, Section):
            lines.append(f"| **{cell(label_of(row, section_figures, quick))}** | | | | | | |")
            if row.title == "Status page":
                lines += status_rows(runs.get("status_bench"), quick)
            continue
        run = runs.get(row.bench)
        figures = (run.figures if run else None) or {}
        command = f"`{run.bench.command(quick)}`" if run else f"`python -m bench.{row.bench}`"
        value = figures.get(row.key)
        target = row.target.text(row.unit) if row.target else "—"
        if value is None:
            why = "not measured" if run is None or run.status == "ok" else f"not measured ({run.status})"
            lines.append(f"| {cell(label_of(row, figures, quick))} | {why} | | | {target} | — | {command} |")
            continue
        unit = f" {row.unit}" if row.unit else ""
        ref = figures.get(row.ref) if row.ref else None
        ratio = figures.get(row.ratio) if row.ratio else None
        if ratio is None and isinstance(ref, int | float) and isinstance(value, int | float) and ref:
            ratio = value / ref
        ref_text = f"{fmt(ref)}{unit} ({row.ref_name})" if ref is not None else ("not measured" if row.ref else "—")
        ratio_text = f"{ratio:.2f}x" if isinstance(ratio, int | float) else "—"
        detail = f" ({label_of(row, figures, quick, row.detail)})" if row.detail else ""
        if row.target is None:
            met = "—"
        else:
            checked = ratio if row.target.on == "ratio" else value
            met = "—" if checked is None else ("met" if row.target.met(checked) else "**missed**")
        lines.append(
            f"| {cell(label_of(row, figures, quick))} | {fmt(value)}{unit}{cell(detail)} | {cell(ref_text)} "
            f"| {ratio_text} | {target} "
            f"| {met} | {command} |"
        )
    return lines


def status_rows(run: Run | None, quick: bool) -> list[str]:
    """The status page's figures as its benchmark names them (target: ≥ 10,000 req/s, p99 < 20 ms)."""
    command = f"`{run.bench.command(quick)}`" if run else "`python -m bench.status_bench`"
    if run is None or not run.figures:
        why = "not measured" + (f" ({run.status})" if run is not None and run.status != "ok" else "")
        return [f"| `/status` and `summary.json`, 64 connections | {why} | | | ≥ 10,000 req/s, p99 < 20 ms | — "
                f"| {command} |"]  # fmt: skip
    lines = []
    for key, value in sorted(run.figures.items()):
        if key.startswith("error_") or not isinstance(value, int | float):
            continue
        target, met = "—", "—"
        if key.endswith("req_per_s") or key.endswith("_rps"):
            target, met = "≥ 10,000 req/s", "met" if value >= 10_000 else "**missed**"
        elif key.endswith("p99_ms"):
            target, met = "< 20 ms", "met" if value < 20 else "**missed**"
        if target == "—":
            continue
        lines.append(f"| `{key}` | {fmt(value)} | — | — | {target} | {met} | {command} |")
    return lines or [f"| status page | no throughput figure in its output | | | ≥ 10,000 req/s | — | {command} |"]


def write(path: Path, runs: dict[str, Run], quick: bool, started: datetime, seconds: float, loads: tuple[str, str],
          host: list[tuple[str, str]]) -> str:  # fmt: skip
    lines: list[str] = []
    if quick:
        lines += ["# Benchmark results — QUICK RUN (smaller counts; not comparable with a full run)", ""]
        lines += ["> Written by `python -m bench.report --quick`: a smoke check of the benchmarks, with smaller",
                  "> counts and one round each. Do not read these figures as the project's; `make bench` writes",
                  "> the full report here.", ""]  # fmt: skip
    else:
        lines += ["# Benchmark results", ""]
    lines += [f"Written by {'`python -m bench.report --quick`' if quick else '`make bench` (`python -m bench.report`)'}"
              f" on {started:%Y-%m-%d %H:%M} UTC in {seconds / 60:.1f} min; commit {commit()}.", ""]  # fmt: skip
    lines += ["| machine | |", "|---|---|"]
    lines += [f"| {k} | {cell(v)} |" for k, v in host]
    lines += [f"| load average (1, 5, 15 min) | {loads[0]} at the start; {loads[1]} at the end |", ""]
    lines += ["Every reference is measured in the same run on the same machine (Alertmanager right before warroom "
              "in each intake round); the ratio is warroom / reference (for the intake rates, the median of the "
              "rounds' ratios). A target comes from the issue that set it; — is a figure reported without one. "
              "\"not measured\" means its benchmark is missing, failed or timed out, or did not measure it.",
              ""]  # fmt: skip
    lines += [*table(runs, quick), ""]
    lines += ["## Runs", "", "One after another, each in its own process, with `--json FILE` added.", ""]
    lines += ["| benchmark | what | command | status | took | load average as it began |", "|---|---|---|---|---|---|"]
    for run in runs.values():
        took = f"{run.seconds:.0f} s" if run.seconds else "—"
        lines.append(f"| {run.bench.name} | {run.bench.what} | `{run.bench.command(quick)}` | {run.status} | {took} "
                     f"| {run.load or '—'} |")  # fmt: skip
    lines.append("")
    for run in runs.values():
        if run.status not in ("ok", "missing", "no --json") and run.tail:
            lines += [f"{run.bench.name} ended with:", "", "```", run.tail, "```", ""]
        errors = {k: v for k, v in (run.figures or {}).items() if k.startswith("error_")}
        for k, v in errors.items():
            lines.append(f"- {run.bench.name}: {k.removeprefix('error_')} failed: {' '.join(str(v).split())}")
        if errors:
            lines.append("")
    lines += ["## Every figure", "", "As each benchmark wrote it (`--json`), the ones above included.", ""]
    for run in runs.values():
        if not run.figures:
            continue
        rest = ", ".join(f"`{k}` {fmt(v)}" for k, v in sorted(run.figures.items()) if not k.startswith("error_"))
        lines += [f"- **{run.bench.name}**: {rest}"]
    lines.append("")
    text = "\n".join(lines)
    path.write_text(text, encoding="utf-8")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args()
    chosen = [b for b in BENCHES if not args.only or b.name in args.only.split(",")]
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    first_load = load()
    host = machine()
    runs: dict[str, Run] = {}
    with tempfile.TemporaryDirectory(prefix="warroom-report-") as folder:
        for bench in chosen:
            runs[bench.name] = run_bench(bench, args.quick, Path(folder))
    text = write(args.out, runs, args.quick, started, time.perf_counter() - t0, (first_load, load()), host)
    print(text)
    print(f"report: written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

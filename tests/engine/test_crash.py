"""Crash safety on PostgreSQL: two `warroom worker` processes, one killed with SIGKILL mid-escalation.

Every page must be recorded exactly once: the dead worker's uncommitted page is rolled back and
redone by the survivor once the lease runs out, and nothing is paged twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from warroom.compose import context
from warroom.domain.clock import SystemClock
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.policy.loader import read_policy_file
from warroom.store.db import Database
from warroom.store.engine_models import Effect, Page, Timer
from warroom.store.models import TimelineEntry
from warroom.store.unit import Context

pytestmark = pytest.mark.pg

HERE = Path(__file__).parent
INCIDENTS = 25
# Three tiers a second apart, repeated once: six pages per incident, then the unacknowledged flag.
FAST: dict[str, Any] = {
    "name": "fast",
    "severities": [{"name": "P0", "escalation_policy": "fast"}],
    "targets": {
        "primary": {"via": "person", "ref": "pat"},
        "backup": {"via": "person", "ref": "bo"},
        "lead": {"via": "person", "ref": "lena"},
    },
    "escalation_policies": {
        "fast": {
            "tiers": [
                {"targets": ["primary"], "methods": ["push"], "wait": "1s"},
                {"targets": ["backup"], "methods": ["push"], "wait": "1s"},
                {"targets": ["lead"], "methods": ["phone"], "wait": "1s"},
            ],
            "repeat": 1,
        }
    },
}
EXPECTED = {(tier, rnd, target) for rnd in (0, 1) for tier, target in ((1, "primary"), (2, "backup"), (3, "lead"))}


def _worker(args: list[str], env: dict[str, str], name: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, *args, "--id", name, "--lease", "3", "--interval", "0.2", "--batch", "5"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
        cwd=HERE.parents[1],
    )


def _finished(db: Database) -> int:
    with db.unit() as s:
        return int(
            s.scalar(select(func.count()).select_from(TimelineEntry).where(TimelineEntry.kind == "unacknowledged")) or 0
        )


def _setup(pg_engine_url: str, tmp_path: Path) -> tuple[Context, dict[str, str], list[str]]:
    policy_file = tmp_path / "fast.yaml"
    policy_file.write_text(yaml.safe_dump(FAST), encoding="utf-8")
    ctx = context(Database(pg_engine_url), read_policy_file(policy_file), SystemClock())
    ids = [
        service.declare(ctx, DeclareRequest(severity="P0", title=f"outage {i}", by="mon")).id for i in range(INCIDENTS)
    ]
    env = {
        **os.environ,
        "WARROOM_DATABASE_URL": pg_engine_url,
        "WARROOM_POLICY": str(policy_file),
        "WARROOM_URL": "",
        "CRASH_MARKER": str(tmp_path / "marker"),
    }
    return ctx, env, ids


def _check_exactly_once(ctx: Context, ids: list[str]) -> None:
    with ctx.db.unit() as s:
        for iid in ids:
            pages = [(p.tier, p.round, p.target) for p in s.scalars(select(Page).where(Page.incident_id == iid))]
            assert sorted(pages) == sorted(EXPECTED), f"{iid}: {sorted(pages)}"
            logged = s.scalar(
                select(func.count())
                .select_from(TimelineEntry)
                .where(TimelineEntry.incident_id == iid, TimelineEntry.kind == "page")
            )
            assert logged == len(EXPECTED), f"{iid}: {logged} page entries on the timeline"
            flagged = s.scalar(
                select(func.count())
                .select_from(TimelineEntry)
                .where(TimelineEntry.incident_id == iid, TimelineEntry.kind == "unacknowledged")
            )
            assert flagged == 1
        stuck = s.scalars(select(Timer).where(Timer.state.in_(["pending", "claimed", "failed"]))).all()
        assert stuck == []


def _wait_for(predicate: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_worker_killed_holding_an_uncommitted_page_loses_and_doubles_nothing(
    pg_engine_url: str, tmp_path: Path
) -> None:
    ctx, env, ids = _setup(pg_engine_url, tmp_path)
    marker = tmp_path / "marker"
    doomed = _worker([str(HERE / "crashy_worker.py")], env, "doomed", tmp_path / "doomed.log")
    survivor: subprocess.Popen[bytes] | None = None
    try:
        _wait_for(marker.exists, 30, "the doomed worker to record its first page")
        held = int(marker.read_text())
        survivor = _worker(["-m", "warroom", "worker"], env, "survivor", tmp_path / "survivor.log")
        time.sleep(1.0)  # both are working now; the doomed one sits inside its transaction
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait(10)
        _wait_for(lambda: _finished(ctx.db) == INCIDENTS, 60, "every escalation to finish")
        _check_exactly_once(ctx, ids)
        with ctx.db.unit() as s:
            timer = s.get(Timer, held)
            assert timer is not None and timer.state == "done" and timer.attempts >= 2
            effects = s.scalars(select(Effect).where(Effect.timer_id == held)).all()
            assert effects and {e.worker for e in effects} == {"survivor"}
    finally:
        for proc in (doomed, survivor):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
        ctx.db.dispose()


def test_two_plain_workers_one_killed_at_random_mid_escalation(pg_engine_url: str, tmp_path: Path) -> None:
    ctx, env, ids = _setup(pg_engine_url, tmp_path)
    one = _worker(["-m", "warroom", "worker"], env, "one", tmp_path / "one.log")
    two = _worker(["-m", "warroom", "worker"], env, "two", tmp_path / "two.log")
    try:

        def some_paged() -> bool:
            with ctx.db.unit() as s:
                return int(s.scalar(select(func.count()).select_from(Page)) or 0) >= INCIDENTS

        _wait_for(some_paged, 30, "the first tier to be paged")
        os.kill(one.pid, signal.SIGKILL)
        one.wait(10)
        _wait_for(lambda: _finished(ctx.db) == INCIDENTS, 60, "every escalation to finish")
        _check_exactly_once(ctx, ids)
        two.send_signal(signal.SIGTERM)
        assert two.wait(15) == 0, (tmp_path / "two.log").read_text()
        assert "stopped after" in (tmp_path / "two.log").read_text()
    finally:
        for proc in (one, two):
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        ctx.db.dispose()

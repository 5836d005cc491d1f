"""Engine fixtures: databases on both backends (PostgreSQL marked `pg`), small policies, an engine loop."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import START, fresh_database
from warroom.compose import context
from warroom.domain.clock import FakeClock
from warroom.engine.loop import EngineLoop
from warroom.oncall.directory import Directory
from warroom.policy.loader import parse_policy
from warroom.policy.model import Policy
from warroom.store.db import Database
from warroom.store.unit import Context

ROOT = Path(__file__).resolve().parents[2]
DRILLS = ROOT / "examples" / "drills"

SMALL: dict[str, Any] = {
    "name": "small",
    "severities": [
        {
            "name": "P0",
            "sla": {"ack": "5m", "mitigate": "60m", "resolve": "4h"},
            "escalation_policy": "paging",
            "cadence": {"internal": "every 10m"},
            "resolution": {"quiet_window": "10m"},
            "postmortem": {"need": "required", "due": "48h", "reminders_before": ["24h"]},
        },
        {"name": "P2", "sla": {"ack": "4h"}},
    ],
    "roles": {"incident-commander": {"title": "Incident Commander"}},
    "targets": {
        "primary": {"via": "schedule", "ref": "primary"},
        "backup": {"via": "schedule", "ref": "backup"},
        "lead": {"via": "person", "ref": "lena"},
    },
    "escalation_policies": {
        "paging": {
            "tiers": [
                {"targets": ["primary"], "methods": ["push", "sms"], "wait": "5m"},
                {"targets": ["backup"], "methods": ["push"], "wait": "5m"},
                {"targets": ["lead"], "methods": ["phone"], "wait": "10m"},
            ]
        }
    },
}


def small_policy(**changes: Any) -> Policy:
    """The small policy, with top-level keys replaced."""
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return parse_policy(data, "small")


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)]


@pytest.fixture(params=BACKENDS)
def engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh migrated database, once per backend."""
    yield from fresh_database(request.param, request, tmp_path)


@pytest.fixture
def pg_engine_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database("postgresql", request, tmp_path)


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def make_ctx(engine_url: str, fake_clock: FakeClock) -> Iterator[Callable[..., Context]]:
    made: list[Database] = []

    def make(policy: Policy | None = None) -> Context:
        db = Database(engine_url)
        made.append(db)
        return context(db=db, policy=policy or small_policy(), clock=fake_clock)

    yield make
    for db in made:
        db.dispose()


def loop_for(ctx: Context, worker: str = "w1", lease: float = 30, fixed: dict[str, str] | None = None) -> EngineLoop:
    fixed = fixed if fixed is not None else {"primary": "pat", "backup": "bo"}
    return EngineLoop(
        ctx, worker_id=worker, directory=Directory(fixed), lease=timedelta(seconds=lease), strict=True, batch=100
    )


def advance(ctx: Context, loop: EngineLoop, delta: timedelta) -> None:
    """Move the fake clock forward, firing everything due on the way, in due order."""
    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    end = clock.now() + delta
    while True:
        due = loop.next_due()
        if due is None or due > end:
            break
        clock.set(max(due, clock.now()))
        loop.tick()
    clock.set(end)


def load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data

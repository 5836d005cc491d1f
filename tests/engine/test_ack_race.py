"""An acknowledgement racing a tier change: never a page after the ack is committed.

A firing takes the incident's row lock (the same lock every incident use case takes) and then
re-checks the incident, so either the page commits before the ack, or the firing sees the ack.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.engine.conftest import advance, loop_for, small_policy
from warroom.compose import context
from warroom.domain.clock import FakeClock, SystemClock
from warroom.engine import firing, planner, timers
from warroom.engine.loop import EngineLoop
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.oncall.directory import Directory
from warroom.store.db import Database
from warroom.store.engine_models import Page, Timer
from warroom.store.models import Incident, TimelineEntry
from warroom.store.unit import Context


def _tier2_claimed(ctx: Context) -> tuple[str, int, EngineLoop]:
    """An incident whose tier 1 was paged, with tier 2 now due and claimed by a worker."""
    loop = loop_for(ctx, "w1")
    iid = service.declare(ctx, DeclareRequest(severity="P0", title="x", by="mon")).id
    loop.tick()
    clock = ctx.clock
    assert isinstance(clock, FakeClock)
    clock.advance(timedelta(minutes=5))
    with ctx.db.unit() as s:
        ids = timers.claim(s, "w1", clock.now(), timedelta(minutes=5), 10)
        tier2 = next(i for i in ids if s.get(Timer, i).kind == "page")  # type: ignore[union-attr]
    return iid, tier2, loop


def _pages(ctx: Context, iid: str) -> list[int]:
    with ctx.db.unit() as s:
        rows = s.scalars(select(Page).where(Page.incident_id == iid, Page.kind == "page").order_by(Page.id))
        return [p.tier or 0 for p in rows]


def test_a_tier_firing_during_an_ack_waits_for_it_and_pages_nobody(
    make_ctx: Callable[..., Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_ctx()
    iid, tier2, loop = _tier2_claimed(ctx)
    inside, release = threading.Event(), threading.Event()
    real = planner.on_entries

    def held_ack(*args: Any) -> None:
        real(*args)
        inside.set()
        release.wait(10)  # the ack transaction holds the incident lock here, not yet committed

    monkeypatch.setattr(ctx, "subscribers", tuple(held_ack if s is real else s for s in ctx.subscribers))
    acker = threading.Thread(target=service.acknowledge, args=(ctx, iid, "pat"))
    acker.start()
    assert inside.wait(10)
    outcome: list[str] = []
    firer = threading.Thread(target=lambda: outcome.append(loop.fire(tier2)))
    firer.start()
    time.sleep(0.5)
    assert firer.is_alive(), "the firing must wait for the acknowledgement's transaction"
    release.set()
    acker.join(10)
    firer.join(10)
    assert outcome and outcome[0].startswith("not ours"), outcome  # the ack cancelled the tier
    assert _pages(ctx, iid) == [1]


def test_an_ack_during_a_tier_firing_waits_and_the_page_comes_first(
    make_ctx: Callable[..., Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_ctx()
    iid, tier2, loop = _tier2_claimed(ctx)
    inside, release = threading.Event(), threading.Event()
    real = firing.Firing.page

    def held_page(self: firing.Firing, *args: Any, **kwargs: Any) -> Any:
        row = real(self, *args, **kwargs)
        self.session.flush()
        inside.set()
        release.wait(10)
        return row

    monkeypatch.setattr(firing.Firing, "page", held_page)
    firer = threading.Thread(target=loop.fire, args=(tier2,))
    firer.start()
    assert inside.wait(10)
    acker = threading.Thread(target=service.acknowledge, args=(ctx, iid, "pat"))
    acker.start()
    time.sleep(0.5)
    assert acker.is_alive(), "the acknowledgement must wait for the firing's transaction"
    release.set()
    firer.join(10)
    acker.join(10)
    assert _pages(ctx, iid) == [1, 2]
    with ctx.db.unit() as s:
        entries = list(
            s.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == iid).order_by(TimelineEntry.id))
        )
        ack = next(e for e in entries if e.kind == "acknowledged")
        assert all(e.id < ack.id for e in entries if e.kind == "page")
    advance(ctx, loop, timedelta(hours=1))
    assert _pages(ctx, iid) == [1, 2]


def test_random_acks_against_two_busy_workers_never_leave_a_page_after_the_ack(engine_url: str) -> None:
    """Real time, second-long tiers, two engine loops, acks landing at random moments."""
    policy = small_policy(
        severities=[{"name": "P0", "escalation_policy": "paging"}],
        escalation_policies={
            "paging": {
                "tiers": [
                    {"targets": ["primary"], "methods": ["push"], "wait": "1s"},
                    {"targets": ["backup"], "methods": ["push"], "wait": "1s"},
                    {"targets": ["lead"], "methods": ["phone"], "wait": "1s"},
                ],
                "repeat": 3,
            }
        },
    )
    ctx = context(Database(engine_url), policy, SystemClock())
    stop = threading.Event()
    loops = [
        EngineLoop(ctx, worker_id=f"w{i}", directory=Directory({"primary": "pat", "backup": "bo"}), interval=0.05)
        for i in range(2)
    ]
    runners = [threading.Thread(target=lp.run, args=(stop,)) for lp in loops]
    for r in runners:
        r.start()
    rng = random.Random(7)
    ids: list[str] = []
    acked_at: dict[str, int] = {}
    try:
        ids = [service.declare(ctx, DeclareRequest(severity="P0", title=f"x{i}", by="mon")).id for i in range(16)]
        for iid in rng.sample(ids, len(ids)):
            time.sleep(rng.uniform(0.0, 0.35))
            service.acknowledge(ctx, iid, "pat")
            with ctx.db.unit() as s:  # what had committed by the time the ack returned
                acked_at[iid] = len(s.scalars(select(Page.id).where(Page.incident_id == iid)).all())
        time.sleep(2.5)  # longer than any tier wait: a stray page would have landed by now
    finally:
        stop.set()
        for r in runners:
            r.join(10)
    assert all(lp.stats.failed == 0 for lp in loops)
    with ctx.db.unit() as s:
        for iid in ids:
            inc = s.get(Incident, iid)
            assert inc is not None and inc.acknowledged_at is not None
            pages = list(s.scalars(select(Page).where(Page.incident_id == iid)))
            assert len(pages) == acked_at[iid], f"{iid}: a page was recorded after the acknowledgement"
            assert all(p.created_at <= inc.acknowledged_at for p in pages)
            entries = list(s.scalars(select(TimelineEntry).where(TimelineEntry.incident_id == iid)))
            ack = next(e for e in entries if e.kind == "acknowledged")
            assert all(e.id < ack.id for e in entries if e.kind == "page")
            live = s.scalars(
                select(Timer).where(
                    Timer.incident_id == iid, Timer.kind == "page", Timer.state.in_(["pending", "claimed"])
                )
            )
            assert live.all() == []
    assert sum(acked_at.values()) > len(ids), "some escalations should have gone past tier 1 before the ack"
    ctx.db.dispose()

"""Durable timers on SQLite and PostgreSQL: idempotent scheduling, claims, leases, retries, effects."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from tests.engine.conftest import advance, loop_for
from warroom.domain.clock import FakeClock
from warroom.engine import loop as loop_mod
from warroom.engine import timers
from warroom.engine.timers import Plan
from warroom.incidents import service
from warroom.incidents.schemas import DeclareRequest
from warroom.store.engine_models import Effect, Page, Timer
from warroom.store.models import TimelineEntry
from warroom.store.notify_models import Outbox
from warroom.store.unit import Context


def _plan(ctx: Context, key: str, minutes: float, kind: str = "noop") -> None:
    now = ctx.clock.now()
    with ctx.db.unit() as s:
        timers.schedule(s, None, [Plan(key, kind, now + timedelta(minutes=minutes))], now)


def _state(ctx: Context, key: str) -> Timer:
    with ctx.db.unit() as s:
        row = s.scalars(select(Timer).where(Timer.key == key)).one()
        s.expunge(row)
        return row


def test_scheduling_is_idempotent_by_key_and_revives_a_cancelled_timer(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx()
    _plan(ctx, "k1", 5)
    _plan(ctx, "k1", 50)  # same key: the first plan stands
    assert _state(ctx, "k1").due_at == ctx.clock.now() + timedelta(minutes=5)
    with ctx.db.unit() as s:
        s.execute(update(Timer).values(state="cancelled"))
    _plan(ctx, "k1", 7)
    row = _state(ctx, "k1")
    assert (row.state, row.due_at) == ("pending", ctx.clock.now() + timedelta(minutes=7))
    with ctx.db.unit() as s:
        assert s.scalar(select(func.count()).select_from(Timer)) == 1


def test_claim_takes_due_rows_earliest_first_and_holds_them(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx()
    _plan(ctx, "later", 1)
    _plan(ctx, "now", 0)
    _plan(ctx, "past", -1)
    now = ctx.clock.now()
    with ctx.db.unit() as s:
        ids = timers.claim(s, "w1", now, timedelta(seconds=30), 10)
    with ctx.db.unit() as s:
        keys = [s.get(Timer, i).key for i in ids]  # type: ignore[union-attr]
    assert keys == ["past", "now"]
    with ctx.db.unit() as s:
        assert timers.claim(s, "w2", now + timedelta(seconds=10), timedelta(seconds=30), 10) == []
    row = _state(ctx, "past")
    assert (row.state, row.claimed_by, row.attempts) == ("claimed", "w1", 1)


def test_an_expired_lease_is_reclaimed_and_the_old_worker_backs_off(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx()
    view = service.declare(ctx, DeclareRequest(severity="P0", title="API down", by="mon"))
    first = loop_for(ctx, "w1", lease=30)
    second = loop_for(ctx, "w2", lease=30)
    now = ctx.clock.now()
    with ctx.db.unit() as s:
        (tier1,) = [i for i in timers.claim(s, "w1", now, timedelta(seconds=30), 10)]
    # w1 "crashes" here; after its lease another worker takes the timer over.
    assert isinstance(ctx.clock, FakeClock)
    ctx.clock.advance(timedelta(seconds=31))
    with ctx.db.unit() as s:
        assert tier1 in timers.claim(s, "w2", ctx.clock.now(), timedelta(seconds=30), 10)
    assert first.fire(tier1).startswith("not ours")
    assert second.fire(tier1) == "paged tier 1"
    with ctx.db.unit() as s:
        pages = list(s.scalars(select(Page).where(Page.incident_id == view.id)))
        assert [(p.person, p.tier) for p in pages] == [("pat", 1)]
        assert s.get(Timer, tier1).attempts == 2  # type: ignore[union-attr]


def test_a_retried_firing_never_doubles_its_effect(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx()
    view = service.declare(ctx, DeclareRequest(severity="P0", title="API down", by="mon"))
    loop = loop_for(ctx)
    assert loop.tick() >= 1
    with ctx.db.unit() as s:
        tier1 = s.scalars(select(Timer).where(Timer.kind == "page", Timer.state == "done")).one()
        # As if the timer's completion had been lost: the same worker holds it again and fires it again.
        tier1.state, tier1.claimed_by = "claimed", "w1"
        tier1_id = tier1.id
    assert loop.fire(tier1_id) == "paged tier 1"
    with ctx.db.unit() as s:
        assert s.scalar(select(func.count()).select_from(Page).where(Page.incident_id == view.id)) == 1
        pages_logged = s.scalar(select(func.count()).select_from(TimelineEntry).where(TimelineEntry.kind == "page"))
        assert pages_logged == 1
        assert s.scalar(select(func.count()).select_from(Effect).where(Effect.kind == "page")) == 1


def test_a_failing_timer_is_retried_with_backoff_then_marked_failed(
    make_ctx: Callable[..., Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_ctx()

    def broken(*_: object) -> str:
        raise RuntimeError("delivery exploded")

    monkeypatch.setitem(loop_mod.HANDLERS, "boom", broken)
    _plan(ctx, "b", 0, kind="boom")
    loop = loop_for(ctx)
    loop.strict = False
    assert loop.tick() == 1
    row = _state(ctx, "b")
    assert row.state == "pending" and row.attempts == 1 and "delivery exploded" in row.outcome
    assert row.due_at == ctx.clock.now() + timedelta(seconds=2)
    for _ in range(10):
        advance(ctx, loop, timedelta(minutes=5))
    row = _state(ctx, "b")
    assert (row.state, row.attempts) == ("failed", timers.MAX_ATTEMPTS)
    assert loop.stats.failed == timers.MAX_ATTEMPTS


def test_a_failing_timer_in_a_chunk_holds_back_none_of_the_others(
    make_ctx: Callable[..., Context], monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = make_ctx()
    calls: list[str] = []

    def ok(fx: object, t: Timer, inc: object) -> str:
        calls.append(t.key)
        return "done " + t.key

    def broken(*_: object) -> str:
        raise RuntimeError("delivery exploded")

    monkeypatch.setitem(loop_mod.HANDLERS, "fine", ok)
    monkeypatch.setitem(loop_mod.HANDLERS, "boom", broken)
    for key, kind in [("a", "fine"), ("b", "boom"), ("c", "fine")]:
        _plan(ctx, key, 0, kind=kind)
    loop = loop_for(ctx)
    loop.strict = False
    assert loop.tick() == 3  # one chunk of three: it rolls back whole, then each fires on its own
    assert [(_state(ctx, k).state, _state(ctx, k).outcome) for k in ("a", "c")] == [
        ("done", "done a"),
        ("done", "done c"),
    ]
    row = _state(ctx, "b")
    assert (row.state, row.attempts) == ("pending", 1) and "delivery exploded" in row.outcome
    assert calls == ["a", "a", "c"]  # a's work in the failed chunk was rolled back, then done once on its own
    assert (loop.stats.fired, loop.stats.failed) == (2, 1)


def test_a_chunk_of_firings_queues_every_message_its_entries_call_for(make_ctx: Callable[..., Context]) -> None:
    """Many reminders in few transactions: each timeline entry is routed once, none is mistaken for another."""
    ctx = make_ctx()
    ids = [service.declare(ctx, DeclareRequest(severity="P2", title=f"slow {n}", by="mon")).id for n in range(5)]
    now = ctx.clock.now()
    with ctx.db.unit() as s:
        for n in range(200):
            plan = Plan(f"r{n}", "reminder", now, {"audience": "internal", "event": "declared"})
            timers.schedule(s, ids[n % 5], [plan], now)
    loop = loop_for(ctx)
    while loop.tick():
        pass
    with ctx.db.unit() as s:
        entries = s.execute(
            select(TimelineEntry.incident_id, TimelineEntry.id).where(
                TimelineEntry.kind == "reminder", TimelineEntry.actor == "warroom"
            )
        ).all()
        keys = set(s.scalars(select(Outbox.event_key).where(Outbox.kind == "reminder")))
    wanted = {f"reminder:{incident}:{entry}" for incident, entry in entries}
    assert len(wanted) >= 200 and wanted <= keys


def test_concurrent_claims_never_share_a_timer(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx()
    now = ctx.clock.now()
    with ctx.db.unit() as s:
        timers.schedule(s, None, [Plan(f"t{i}", "noop", now - timedelta(seconds=i)) for i in range(200)], now)
    got: list[list[int]] = []
    lock = threading.Lock()

    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        mine: list[int] = []
        barrier.wait(10)
        while True:
            with ctx.db.unit() as s:
                ids = timers.claim(s, name, now, timedelta(seconds=60), 7)
            if not ids:
                break
            mine.extend(ids)
        with lock:
            got.append(mine)

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    claimed = [i for chunk in got for i in chunk]
    assert len(claimed) == 200 and len(set(claimed)) == 200
    if ctx.db.dialect == "postgresql":  # SKIP LOCKED lets them work side by side; SQLite takes turns
        assert sum(1 for chunk in got if chunk) >= 2, "the claims should have been spread over the workers"


def test_next_due_covers_pending_rows_and_expiring_leases(make_ctx: Callable[..., Context]) -> None:
    ctx = make_ctx()
    loop = loop_for(ctx)
    assert loop.next_due() is None
    _plan(ctx, "a", 3)
    assert loop.next_due() == ctx.clock.now() + timedelta(minutes=3)
    _plan(ctx, "b", 0)
    with ctx.db.unit() as s:
        timers.claim(s, "gone", ctx.clock.now(), timedelta(seconds=20), 1)
    assert loop.next_due() == ctx.clock.now() + timedelta(seconds=20)
